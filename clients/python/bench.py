#!/usr/bin/python3
"""Jobs per second for the Python client, against a real broker on loopback.

Scenarios (each: a fresh broker with --data-dir '' so that the client, not the journal, is
measured; then `--jobs` jobs end to end, results awaited):

  producer    one Python Producer, window pipelined, wants_result, to C++ workers
              (corsair-worker --builtin noop --inline)
  workers     N Python worker processes (a no-op handler) at capacity C, fed by the C++ CLI
              (corsair submit --file --wait); and, for reference, one C++ worker fed the same way

Usage: bench.py --bin-dir build [--jobs 20000] [--workers 1,2] [--capacity 1,8] [--runs 3]
Each scenario runs --runs times (each on a fresh broker); every run is printed, then the median.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corsair  # noqa: E402


class Broker:
    """corsair-broker on ephemeral ports; killed by PID on exit."""

    def __init__(self, bin_dir: Path, scratch: Path) -> None:
        argv = [str(bin_dir / "broker/corsair-broker"), "--producers", "tcp://127.0.0.1:*", "--workers",
                "tcp://127.0.0.1:*", "--data-dir", "", "--http", ""]
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=open(scratch / "broker.log", "ab"))
        line = self.process.stdout.readline().decode()
        fields = dict(part.split("=", 1) for part in line.split()[2:])
        self.producers, self.workers = fields["producers"], fields["workers"]

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


def wait_workers(endpoint: str, count: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    with corsair.Producer(endpoint) as producer:
        while len(producer.stats().workers) < count:
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not register")
            time.sleep(0.05)


def bench_producer(bin_dir: Path, scratch: Path, jobs: int, window: int) -> float:
    broker = Broker(bin_dir, scratch)
    workers = []
    try:
        for i in range(2):
            argv = [str(bin_dir / "worker/corsair-worker"), "--broker", broker.workers, "--queue", "bench", "--id",
                    f"cpp{i}", "--capacity", "64", "--builtin", "noop", "--inline"]
            workers.append(subprocess.Popen(argv, stderr=subprocess.DEVNULL))
        wait_workers(broker.producers, 2)
        with corsair.Producer(broker.producers, window=window) as producer:
            payload = b"x" * 100
            started = time.monotonic()
            for _ in range(jobs):
                producer.submit("bench", payload)
            done = sum(1 for result in producer.results(timeout=120) if result.ok)
            elapsed = time.monotonic() - started
        assert done == jobs, f"{done} of {jobs} done"
        return jobs / elapsed
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
        broker.close()


def run_python_worker(endpoint: str, name: str, capacity: int) -> None:
    worker = corsair.Worker(endpoint, name=name, capacity=capacity)
    worker.add_handler("bench", lambda job: b"")
    worker.run()


def bench_workers(bin_dir: Path, scratch: Path, jobs: int, count: int, capacity: int, cpp: bool = False) -> float:
    broker = Broker(bin_dir, scratch)
    workers = []
    try:
        for i in range(count):
            argv = [sys.executable, str(Path(__file__).resolve()), "--serve", broker.workers, f"py{i}", str(capacity)]
            if cpp:  # the reference: the same feed into C++ workers
                argv = [str(bin_dir / "worker/corsair-worker"), "--broker", broker.workers, "--queue", "bench",
                        "--id", f"cpp{i}", "--capacity", str(capacity), "--builtin", "noop", "--inline"]
            workers.append(subprocess.Popen(argv, stderr=subprocess.DEVNULL))
        wait_workers(broker.producers, count)
        lines = scratch / "jobs.txt"
        lines.write_text("x\n" * jobs)
        argv = [str(bin_dir / "producer/corsair"), "submit", "bench", "--file", str(lines), "--wait", "--json",
                "--broker", broker.producers]
        started = time.monotonic()
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        elapsed = time.monotonic() - started
        assert done.returncode == 0, done.stderr[-500:]
        assert done.stdout.count('"done"') == jobs
        return jobs / elapsed
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
        broker.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin-dir", type=Path, default=Path("build"))
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--window", type=int, default=1000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--capacity", default="1,8")
    parser.add_argument("--runs", type=int, default=3, help="runs per scenario; the median is reported (3)")
    parser.add_argument("--serve", nargs=3, metavar=("ENDPOINT", "NAME", "CAPACITY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        run_python_worker(args.serve[0], args.serve[1], int(args.serve[2]))
        return 0
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    with tempfile.TemporaryDirectory(prefix="corsair-pybench-") as scratch:
        def measure(label: str, run: Callable[[], float]) -> None:
            rates = [run() for _ in range(args.runs)]
            runs = " · ".join(f"{rate:,.0f}" for rate in rates)
            print(f"{label:<62} {statistics.median(rates):>9,.0f} jobs/s (median; runs {runs})", flush=True)

        measure(f"Python producer, window {args.window}, 2 C++ noop workers",
                lambda: bench_producer(args.bin_dir, Path(scratch), args.jobs, args.window))
        for count in (int(x) for x in args.workers.split(",")):
            for capacity in (int(x) for x in args.capacity.split(",")):
                measure(f"{count} Python worker(s), capacity {capacity}, fed by corsair submit --file",
                        lambda count=count, capacity=capacity: bench_workers(args.bin_dir, Path(scratch), args.jobs,
                                                                              count, capacity))
        measure("reference: 1 C++ noop worker, capacity 8, fed by corsair submit",
                lambda: bench_workers(args.bin_dir, Path(scratch), args.jobs, 1, 8, cpp=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
