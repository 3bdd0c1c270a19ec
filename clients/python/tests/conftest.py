"""Fixtures: a real corsair-broker on ephemeral loopback ports, C++ and Python workers beside it.

The binaries come from CORSAIR_BROKER_BIN, CORSAIR_WORKER_BIN and CORSAIR_CLI_BIN (CTest passes
them). The broker binds tcp://127.0.0.1:* and its endpoints are read back from its ready line.
Every process is stopped by PID and reaped when its test ends; every wait has a deadline,
scaled by CORSAIR_TEST_TIME_SCALE as the C++ tests' are.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import pytest

HERE = Path(__file__).resolve().parent
PACKAGE_ROOT = HERE.parent
sys.path.insert(0, str(PACKAGE_ROOT))
sys.path.insert(0, str(HERE))

import corsair  # noqa: E402
from handlers import make_handler  # noqa: E402

TIME_SCALE = float(os.environ.get("CORSAIR_TEST_TIME_SCALE", "1") or 1)


def scaled(seconds: float) -> float:
    """A timeout stretched for slow builds (sanitizers, valgrind)."""
    return seconds * TIME_SCALE


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, what: str = "condition", step: float = 0.02):
    """Polls `predicate` until it is truthy and returns its value; fails the test after `timeout`."""
    deadline = time.monotonic() + scaled(timeout)
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


def binary(variable: str) -> str:
    path = os.environ.get(variable, "")
    if not path:
        pytest.skip(f"{variable} is not set (CTest passes it; see clients/python/README.md)")
    return path


class Process:
    """A child process, SIGKILLed by PID and reaped by stop() if still running."""

    def __init__(self, argv: List[str], log_path: Path, stdout=subprocess.DEVNULL, env=None) -> None:
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.popen = subprocess.Popen(argv, stdout=stdout, stderr=self._log, env=env)
        self.pid = self.popen.pid
        self._buffer = b""

    def read_line(self, timeout: float) -> Optional[str]:
        """The next stdout line, or None if none comes within `timeout` seconds."""
        deadline = time.monotonic() + scaled(timeout)
        fd = self.popen.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    return None
                chunk = os.read(fd, 4096)
                if not chunk:
                    return None
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def signal(self, signum: int) -> None:
        if self.popen.poll() is None:
            os.kill(self.pid, signum)

    def wait(self, timeout: float) -> int:
        """Blocks until the process exits (fails the test after `timeout`); returns its status."""
        try:
            return self.popen.wait(scaled(timeout))
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self.argv[0]} (pid {self.pid}) did not exit within {timeout} s")

    def kill(self) -> None:
        """SIGKILL by PID and reap."""
        if self.popen.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
        self.popen.wait(scaled(10))

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.kill(self.pid, signal.SIGCONT)  # a stopped process cannot die of SIGKILL until reaped
        self.kill()
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class Broker:
    """corsair-broker with its journal in `data_dir`, restartable on the same ports."""

    def __init__(self, scratch: Path, flags: List[str]) -> None:
        self.scratch = scratch
        self.flags = flags
        self.process: Optional[Process] = None
        self.producers = ""
        self.workers = ""
        self.starts = 0

    def start(self, same_ports: bool = False) -> None:
        """(Re)starts the broker, on the same ports as before with `same_ports`."""
        if self.process is not None:
            self.process.stop()
        producers = self.producers if same_ports else "tcp://127.0.0.1:*"
        workers = self.workers if same_ports else "tcp://127.0.0.1:*"
        argv = [binary("CORSAIR_BROKER_BIN"), "--producers", producers, "--workers", workers, "--http", ""]
        if "--data-dir" not in self.flags:
            argv += ["--data-dir", str(self.scratch / "data")]
        argv += self.flags
        self.starts += 1
        self.process = Process(argv, self.scratch / "broker.log", stdout=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            line = self.process.read_line(deadline - time.monotonic())
            if line is None:
                break
            if line.startswith("corsair-broker ready "):
                fields = dict(part.split("=", 1) for part in line.split()[2:])
                self.producers, self.workers = fields["producers"], fields["workers"]
                return
        pytest.fail(f"corsair-broker printed no ready line; log:\n{self.process.log()}")

    def kill(self) -> None:
        """SIGKILL the broker and reap it."""
        self.process.kill()

    def terminate(self, timeout: float = 20.0) -> int:
        """SIGTERM the broker and wait for it to drain and exit."""
        self.process.signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def log(self) -> str:
        return self.process.log() if self.process else ""


class PyWorker:
    """A corsair.Worker run on a thread of the test process."""

    def __init__(self, worker: corsair.Worker, record: List[tuple]) -> None:
        self.worker = worker
        self.record = record
        self.error: Optional[BaseException] = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.worker.run(handle_signals=False)
        except BaseException as e:  # reported by the test that waits on it
            self.error = e

    def stop(self) -> None:
        if self.thread.is_alive():
            self.worker.request_stop()
            self.thread.join(scaled(10))


class Cluster:
    """A broker and the workers and producers of one test."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.broker: Optional[Broker] = None
        self.processes: List[Process] = []
        self.py_workers: List[PyWorker] = []
        self.producers: List[corsair.Producer] = []

    def start_broker(self, *flags: str) -> Broker:
        """Starts a broker with `flags` on new ports, stopping the test's previous one."""
        if self.broker is not None and self.broker.process is not None:
            self.broker.process.stop()
        self.broker = Broker(self.scratch, list(flags))
        self.broker.start()
        return self.broker

    def cpp_worker(self, name: str, queue: str, capacity: int = 1, *args: str) -> Process:
        """corsair-worker --id NAME serving QUEUE (default handler: --builtin echo)."""
        handler = list(args) or ["--builtin", "echo"]
        argv = [binary("CORSAIR_WORKER_BIN"), "--broker", self.broker.workers, "--queue", queue, "--id", name]
        argv += ["--capacity", str(capacity), *handler]
        process = Process(argv, self.scratch / f"worker-{name}.log")
        self.processes.append(process)
        return process

    def py_worker_process(self, name: str, queue: str, capacity: int = 1, *args: str) -> Process:
        """tests/worker_main.py in a process of its own (for SIGKILL, SIGSTOP, SIGTERM)."""
        argv = [sys.executable, str(HERE / "worker_main.py"), "--endpoint", self.broker.workers]
        argv += ["--queue", queue, "--name", name, "--capacity", str(capacity), *args]
        env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT), PYTHONUNBUFFERED="1")
        process = Process(argv, self.scratch / f"pyworker-{name}.log", stdout=subprocess.PIPE, env=env)
        self.processes.append(process)
        return process

    def py_worker(self, queues, name: str, capacity: int = 1, **options) -> PyWorker:
        """A Worker on a thread, serving each queue with tests/handlers.py's handler."""
        worker = corsair.Worker(self.broker.workers, name=name, capacity=capacity, **options)
        record: List[tuple] = []
        for queue in [queues] if isinstance(queues, str) else queues:
            worker.add_handler(queue, make_handler(name, record))
        handle = PyWorker(worker, record)
        self.py_workers.append(handle)
        return handle

    def producer(self, **options) -> corsair.Producer:
        producer = corsair.Producer(self.broker.producers, **options)
        self.producers.append(producer)
        return producer

    def cli(self, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
        """Runs the corsair CLI against the broker's producer endpoint."""
        argv = [binary("CORSAIR_CLI_BIN"), *args]
        env = dict(os.environ)
        if self.broker is not None:
            env["CORSAIR_PRODUCER_ENDPOINT"] = self.broker.producers
        return subprocess.run(argv, capture_output=True, text=True, timeout=scaled(timeout), env=env)

    def stats(self) -> corsair.Stats:
        with corsair.Producer(self.broker.producers) as producer:
            return producer.stats(timeout=scaled(5))

    def close(self) -> None:
        for producer in self.producers:
            producer.close()
        for handle in self.py_workers:
            handle.stop()
        for process in self.processes:
            process.stop()
        if self.broker is not None and self.broker.process is not None:
            self.broker.process.stop()


@pytest.fixture
def cluster(tmp_path: Path):
    """A Cluster whose processes are all stopped by PID when the test ends."""
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.close()


def wait_registered(cluster: Cluster, *names: str, timeout: float = 10.0) -> corsair.Stats:
    """Waits until the broker lists every worker in `names`; returns that STATS."""

    def listed():
        stats = cluster.stats()
        return stats if all(stats.worker(name) for name in names) else None

    return wait_until(listed, timeout, f"workers {names} to register", step=0.05)


def collect(producer: corsair.Producer, count: int, timeout: float = 30.0) -> Dict[str, corsair.Result]:
    """The next `count` results by id; fails on a refusal, a duplicate or the timeout."""
    results: Dict[str, corsair.Result] = {}
    for event in producer.results(timeout=scaled(timeout)):
        assert isinstance(event, corsair.Result), event
        assert event.id not in results, f"result of {event.id} arrived twice"
        results[event.id] = event
        if len(results) == count:
            break
    assert len(results) == count
    return results
