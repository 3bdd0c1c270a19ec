#!/usr/bin/python3
"""The soak of issue 14: broker, workers and a producer at half the measured maximum throughput,
with the journal on, a random worker killed (SIGKILL) and replaced every few seconds.

    python3 bench/soak.py --build build --duration 1h --out /work/soak-run

It builds nothing: it runs corsair-broker, corsair-worker, corsair-soak-producer and (for the
broker's counters at the end, if present) corsair from the build dir. First it measures the
maximum throughput with a short run on a broker of its own (or takes --rate), then soaks:
a broker with --data-dir OUT/data and its default flags, --workers corsair-worker --builtin echo,
and corsair-soak-producer submitting at the rate (every job max_attempts 100, so a kill never
dead-letters one). Every --sample-every it writes a row of OUT/soak.csv: the broker's RSS
(/proc/PID/status VmRSS) and open fds (/proc/PID/fd), the p50/p99 of SUBMIT -> RESULT over
the producer's last window, the journal's bytes on disk, jobs done, worker kills so far and
the machine's load average. At the end OUT/soak.svg charts RSS, fds, p99 and journal size over
time, and a verdict compares the last --compare window with the one right after --warmup and
judges the RSS trend after the warm-up (OUT/verdict.txt).

Exit status: 0 all held; 1 a job was lost, doubled, not done or refused (as the producer saw
the wire), or the producer failed; 3 every job came back exactly once but RSS, fds, p99 or the
journal grew past the thresholds printed with the verdict (or RSS kept rising). Python standard library only. Every process
it starts is stopped by PID at the end, on an error and on Ctrl-C.
"""
import argparse
import csv
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from xml.sax.saxutils import escape

# Verdict thresholds: the last window against the window right after the warm-up.
RSS_GROWTH = 0.10          # median RSS may grow at most 10 % ...
RSS_SLACK_KIB = 16 * 1024  # ... or 16 MiB, whichever is larger
RSS_SLOPE = 0.05           # and its trend after the warm-up may add at most 5 % (or 16 MiB) per hour
FD_SLACK = 8               # the most open fds may grow by at most 8
P99_FACTOR = 2.0           # the median of the windows' p99 may at most double ...
P99_SLACK_MS = 5.0         # ... plus 5 ms (a loaded 2-core machine moves single windows a lot)
JOURNAL_FACTOR = 1.5       # the largest journal may grow at most 1.5 times (compaction bounds it)

COLUMNS = ["t_s", "window_end_s", "broker_rss_kib", "broker_fds", "journal_bytes", "p50_ms", "p99_ms", "window_jobs_s",
           "submitted", "done", "in_flight", "kills", "workers_alive", "loadavg_1m",
           "fsyncs", "fsync_p99_ms", "fsync_slowest_ms", "compactions_started", "compaction_pause_ms",
           "heap_trimmed_mib"]


def parse_duration(text):
    """The duration grammar of docs/protocol.md §16 (us, ms, s, m, h, d terms), in seconds."""
    units = {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400}
    terms = re.findall(r"(\d+(?:\.\d+)?)(us|ms|s|m|h|d)", text)
    if text == "0":
        return 0.0
    if not terms or "".join(n + u for n, u in terms) != text:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 1h, 2m30s)")
    return sum(float(n) * units[u] for n, u in terms)


def parse_args():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(here, "build"), help="build dir holding the binaries")
    p.add_argument("--duration", type=parse_duration, default=parse_duration("1h"), help="soak length (default 1h)")
    p.add_argument("--rate", type=float, default=0, help="jobs/s; default: half the measured maximum")
    p.add_argument("--measure-for", type=parse_duration, default=15.0, help="length of the maximum's run (15s)")
    p.add_argument("--workers", type=int, default=4, help="workers running at once (4)")
    p.add_argument("--capacity", type=int, default=16, help="each worker's --capacity (16)")
    p.add_argument("--kill-every", type=parse_duration, default=5.0, help="SIGKILL a random worker this often (5s)")
    p.add_argument("--sample-every", type=parse_duration, default=10.0, help="one CSV row this often (10s)")
    p.add_argument("--warmup", type=parse_duration, help="left out of the verdict (default min(10m, duration/6))")
    p.add_argument("--compare", type=parse_duration, help="length of the compared windows (same default)")
    p.add_argument("--payload-bytes", type=int, default=64, help="job payload size (64)")
    p.add_argument("--seed", type=int, default=14, help="seed of the kill schedule (14)")
    p.add_argument("--broker-flag", action="append", default=[], metavar="FLAG",
                   help="one more corsair-broker flag (repeatable), e.g. --broker-flag=--compact-ratio=2")
    p.add_argument("--out", required=True, help="output dir (CSV, chart, verdict, logs, the journal)")
    args = p.parse_args()
    sixth = min(600.0, args.duration / 6)
    args.warmup = sixth if args.warmup is None else args.warmup
    args.compare = sixth if args.compare is None else args.compare
    return args


class Processes:
    """Every process the soak started, so that each is stopped by its PID, whatever happens."""

    def __init__(self):
        self.children = []

    def start(self, argv, log_path, stdout=None):
        log = open(log_path, "ab")
        child = subprocess.Popen(argv, stdout=stdout if stdout is not None else log, stderr=log,
                                 stdin=subprocess.DEVNULL)
        log.close()
        self.children.append(child)
        return child

    def kill(self, child, sig=signal.SIGKILL):
        if child.poll() is None:
            os.kill(child.pid, sig)
        child.wait()
        self.children.remove(child)

    def stop(self, child, timeout=40.0):
        """SIGTERM, then SIGKILL after `timeout` seconds."""
        if child.poll() is None:
            os.kill(child.pid, signal.SIGTERM)
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(child.pid, signal.SIGKILL)
        child.wait()
        if child in self.children:
            self.children.remove(child)

    def stop_all(self):
        for child in reversed(list(self.children)):
            self.stop(child, timeout=10.0)


class Cluster:
    """One broker (journal in data_dir, default flags) and its replaceable workers."""

    def __init__(self, procs, bins, out, name, data_dir, args):
        self.procs, self.bins, self.out, self.name, self.args = procs, bins, out, name, args
        out_path = os.path.join(out, f"{name}-broker.out")
        with open(out_path, "wb") as stdout:
            self.broker = procs.start([bins["broker"], "--producers", "tcp://127.0.0.1:*", "--workers",
                                       "tcp://127.0.0.1:*", "--data-dir", data_dir, "--http", "127.0.0.1:0",
                                       *args.broker_flag],
                                      os.path.join(out, f"{name}-broker.log"), stdout=stdout)
        self.producers, self.worker_ep = self._wait_ready(out_path)
        self.workers, self.started = [], 0
        for _ in range(args.workers):
            self.start_worker()

    def _wait_ready(self, out_path, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(out_path) as f:
                for line in f:
                    m = re.match(r"corsair-broker ready producers=(\S+) workers=(\S+) http=(\S+)", line)
                    if m:
                        self.http = m.group(3)
                        return m.group(1), m.group(2)
            if self.broker.poll() is not None:
                raise RuntimeError(f"broker {self.name} exited with {self.broker.returncode}; see its log")
            time.sleep(0.05)
        raise RuntimeError(f"no ready line from broker {self.name} within {timeout:.0f} s")

    def start_worker(self):
        self.started += 1
        argv = [self.bins["worker"], "--broker", self.worker_ep, "--queue", "soak", "--capacity",
                str(self.args.capacity), "--id", f"{self.name}-w{self.started}", "--builtin", "echo"]
        self.workers.append(self.procs.start(argv, os.path.join(self.out, f"{self.name}-workers.log")))

    def kill_random_worker(self, rng):
        victim = self.workers.pop(rng.randrange(len(self.workers)))
        self.procs.kill(victim, signal.SIGKILL)
        self.start_worker()

    def stop(self):
        for worker in list(self.workers):
            self.procs.stop(worker)
        self.workers = []
        self.procs.stop(self.broker)


class ProducerReader:
    """Runs corsair-soak-producer and keeps its latest soak-window and its soak-final/max lines."""

    def __init__(self, procs, bins, out, name, endpoint, rate, duration, args):
        argv = [bins["producer"], "--broker", endpoint, "--rate", f"{rate:.0f}", "--duration", f"{duration:.3f}s",
                "--report-every", f"{args.sample_every:.3f}s", "--payload-bytes", str(args.payload_bytes),
                "--window", "2000" if rate == 0 else "200000", "--drain-timeout", "120s"]
        self.log = open(os.path.join(out, f"{name}-producer.out"), "w")
        self.child = procs.start(argv, os.path.join(out, f"{name}-producer.log"), stdout=subprocess.PIPE)
        self.window, self.final, self.max = {}, None, None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for raw in self.child.stdout:
            line = raw.decode(errors="replace").strip()
            self.log.write(line + "\n")
            self.log.flush()
            fields = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
            if line.startswith("soak-window"):
                self.window = fields
            elif line.startswith("soak-final"):
                self.final = fields
            elif line.startswith("soak-max"):
                self.max = fields

    def wait(self):
        code = self.child.wait()
        self.thread.join(10)
        self.log.close()
        return code


def binaries(build):
    bins = {"broker": os.path.join(build, "broker", "corsair-broker"),
            "worker": os.path.join(build, "worker", "corsair-worker"),
            "producer": os.path.join(build, "bench", "corsair-soak-producer"),
            "cli": os.path.join(build, "producer", "corsair")}
    for key in ("broker", "worker", "producer"):
        if not os.access(bins[key], os.X_OK):
            sys.exit(f"soak: {bins[key]} is missing; build it first (cmake --build {build} --target "
                     f"corsair-broker corsair-worker corsair-soak-producer)")
    return bins


def measure_maximum(procs, bins, args):
    """The maximum: a producer with 2000 jobs in flight against a fresh broker and workers, no kills."""
    cluster = Cluster(procs, bins, args.out, "measure", os.path.join(args.out, "measure-data"), args)
    try:
        producer = ProducerReader(procs, bins, args.out, "measure", cluster.producers, 0, args.measure_for, args)
        code = producer.wait()
        procs.children.remove(producer.child)
        if code != 0 or producer.max is None:
            raise RuntimeError(f"the measuring run failed (exit {code}); see {args.out}/measure-producer.*")
        return float(producer.max["max_jobs_s"])
    finally:
        cluster.stop()


def read_proc(pid):
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                pass  # a compaction replaced it meanwhile
    return total


class JournalWatch:
    """What the journal did since the last sample: fsyncs from the broker's /metrics histogram
    (the window's p99 and slowest, as bucket bounds), and from its log the compactions started
    (with the loop's pause at the fork) and the memory heap trims gave back (info lines only)."""

    def __init__(self, http, log_path):
        self.url, self.log_path = f"http://{http}/metrics", log_path
        self.buckets, self.log_offset = {}, 0

    def _buckets(self):
        try:
            with urllib.request.urlopen(self.url, timeout=5) as response:
                text = response.read().decode()
        except OSError:
            return None
        buckets = {}
        for m in re.finditer(r'^corsair_journal_fsync_seconds_bucket\{le="([^"]+)"\} (\d+)$', text, re.M):
            buckets[float(m.group(1))] = int(m.group(2))
        return buckets

    def _new_log_lines(self):
        with open(self.log_path, "rb") as f:
            f.seek(self.log_offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.log_offset += end
        return data[:end].decode(errors="replace").splitlines()

    def sample(self):
        row = {}
        buckets = self._buckets()
        if buckets:
            bounds = sorted(buckets)
            delta = [buckets[b] - self.buckets.get(b, 0) for b in bounds]  # cumulative counts
            total = delta[-1]
            row["fsyncs"] = total
            if total > 0:
                p99 = next(b for b, c in zip(bounds, delta) if c >= 0.99 * total)
                slowest = next(b for b, c in zip(bounds, delta) if c == total)
                row["fsync_p99_ms"] = "inf" if p99 == float("inf") else f"{p99 * 1000:g}"
                row["fsync_slowest_ms"] = "inf" if slowest == float("inf") else f"{slowest * 1000:g}"
            self.buckets = buckets
        pauses, trimmed = [], 0
        for line in self._new_log_lines():
            if "journal compaction started" in line:
                m = re.search(r"paused_us=(\d+)", line)
                pauses.append(int(m.group(1)) / 1000 if m else 0)
            elif "heap trimmed" in line:
                m = re.search(r"released_bytes=(\d+)", line)
                trimmed += int(m.group(1)) if m else 0
        row["compactions_started"] = len(pauses)
        row["compaction_pause_ms"] = f"{max(pauses):.1f}" if pauses else ""
        row["heap_trimmed_mib"] = f"{trimmed / 2**20:.1f}" if trimmed else ""
        return row


def sample(t, cluster, producer, data_dir, kills, journal):
    rss, fds = read_proc(cluster.broker.pid)
    w = producer.window
    return {"t_s": f"{t:.1f}", "window_end_s": w.get("t_s", ""), "broker_rss_kib": rss, "broker_fds": fds, "journal_bytes": dir_bytes(data_dir),
            "p50_ms": w.get("p50_ms", ""), "p99_ms": w.get("p99_ms", ""), "window_jobs_s": w.get("rate_jobs_s", ""),
            "submitted": w.get("submitted", ""), "done": w.get("results", ""), "in_flight": w.get("in_flight", ""),
            "kills": kills, "workers_alive": sum(1 for c in cluster.workers if c.poll() is None),
            # The machine may be shared: its load explains a slow window better than a guess.
            "loadavg_1m": f"{os.getloadavg()[0]:.2f}", **journal.sample()}


def soak(procs, bins, args, rate):
    """Runs the soak; returns (rows, producer exit code, producer's final fields, kills)."""
    data_dir = os.path.join(args.out, "data")
    cluster = Cluster(procs, bins, args.out, "soak", data_dir, args)
    rng, rows, kills = random.Random(args.seed), [], 0
    producer = ProducerReader(procs, bins, args.out, "soak", cluster.producers, rate, args.duration, args)
    journal = JournalWatch(cluster.http, os.path.join(args.out, "soak-broker.log"))
    start = time.monotonic()
    # Samples come 2 s after each of the producer's windows closes, so that each row holds the
    # window just ended. Kills come every --kill-every on average, jittered by the seeded rng.
    next_kill, next_sample = start + args.kill_every, start + args.sample_every + 2.0
    with open(os.path.join(args.out, "soak.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        while producer.child.poll() is None:
            now = time.monotonic()
            if now >= next_kill and now - start < args.duration:
                cluster.kill_random_worker(rng)
                kills += 1
                next_kill += args.kill_every * rng.uniform(0.5, 1.5)
            if now >= next_sample:
                rows.append(sample(now - start, cluster, producer, data_dir, kills, journal))
                writer.writerow(rows[-1])
                f.flush()
                next_sample += args.sample_every
            time.sleep(max(0.0, min(next_kill, next_sample) - time.monotonic()) if next_kill > now else 0.05)
        rows.append(sample(time.monotonic() - start, cluster, producer, data_dir, kills, journal))
        writer.writerow(rows[-1])
    code = producer.wait()
    procs.children.remove(producer.child)
    save_broker_stats(bins, cluster, args.out)
    cluster.stop()
    return rows, code, producer.final or {}, kills


def save_broker_stats(bins, cluster, out):
    """The broker's own counters at the end (corsair stats --json), if the CLI was built."""
    if not os.access(bins["cli"], os.X_OK):
        return
    with open(os.path.join(out, "broker-stats.json"), "wb") as f:
        subprocess.run([bins["cli"], "stats", "--broker", cluster.producers, "--json"], stdout=f,
                       stderr=subprocess.DEVNULL, timeout=30, check=False)


def broker_counters(out):
    try:
        with open(os.path.join(out, "broker-stats.json")) as f:
            counters = json.loads(f.readline())["counters"]
    except (OSError, ValueError, KeyError):
        return "broker counters: not read (no corsair CLI or no answer)"
    names = ("jobs_submitted", "jobs_done", "jobs_failed", "jobs_requeued", "workers_dead", "stale_completions",
             "results_kept", "results_evicted", "duplicate_submits")
    return "broker counters: " + ", ".join(f"{n} {counters.get(n)}" for n in names)


def windows(rows, args):
    """The rows right after the warm-up, and the last rows, each `compare` seconds long."""
    t = [float(r["t_s"]) for r in rows]
    end = min(t[-1], args.duration)
    early = [r for r, x in zip(rows, t) if args.warmup <= x < args.warmup + args.compare]
    late = [r for r, x in zip(rows, t) if end - args.compare <= x <= end]
    return early, late


def column(rows, name):
    return [float(r[name]) for r in rows if r[name] not in ("", None)]


def slope_per_hour(rows, name, after):
    """Least-squares slope of a column against time after `after` seconds, per hour."""
    points = [(float(r["t_s"]), float(r[name])) for r in rows if float(r["t_s"]) >= after and r[name] != ""]
    if len(points) < 2:
        return 0.0
    mt = statistics.fmean(t for t, _ in points)
    mv = statistics.fmean(v for _, v in points)
    den = sum((t - mt) ** 2 for t, _ in points)
    return 3600 * sum((t - mt) * (v - mv) for t, v in points) / den if den else 0.0


def verdict(rows, final, code, kills, rate, maximum, args):
    """Lines of the verdict, and the exit status it gives."""
    early, late = windows(rows, args)
    lines, status = [], 0
    lines.append(f"rate {rate:.0f} jobs/s (maximum measured {maximum:.0f} jobs/s)" if maximum else f"rate {rate:.0f} jobs/s (given)")
    lines.append(f"compared: t={args.warmup:.0f}..{args.warmup + args.compare:.0f} s ({len(early)} samples) "
                 f"against the last {args.compare:.0f} s ({len(late)} samples)")

    def judge(name, held, text):
        nonlocal status
        lines.append(f"{'PASS' if held else 'FAIL'} {name}: {text}")
        if not held and status == 0:
            status = 3

    if early and late:
        rss0, rss1 = statistics.median(column(early, "broker_rss_kib")), statistics.median(column(late, "broker_rss_kib"))
        judge("RSS flat", rss1 <= rss0 + max(rss0 * RSS_GROWTH, RSS_SLACK_KIB),
              f"median {rss0 / 1024:.1f} MiB -> {rss1 / 1024:.1f} MiB (allowed: +max(10 %, 16 MiB))")
        slope = slope_per_hour(rows, "broker_rss_kib", args.warmup)
        judge("RSS trend", slope <= max(rss0 * RSS_SLOPE, RSS_SLACK_KIB),
              f"least-squares slope after the warm-up {slope / 1024:+.1f} MiB/h (allowed: +max(5 %, 16 MiB) per hour)")
        fd0, fd1 = max(column(early, "broker_fds")), max(column(late, "broker_fds"))
        judge("fds flat", fd1 <= fd0 + FD_SLACK, f"most open {fd0:.0f} -> {fd1:.0f} (allowed: +{FD_SLACK})")
        p0, p1 = statistics.median(column(early, "p99_ms")), statistics.median(column(late, "p99_ms"))
        judge("p99 stable", p1 <= p0 * P99_FACTOR + P99_SLACK_MS,
              f"median of window p99s {p0:.1f} ms -> {p1:.1f} ms (allowed: x{P99_FACTOR:g} + {P99_SLACK_MS:g} ms); "
              f"worst window {max(column(rows, 'p99_ms')):.1f} ms")
        j0, j1 = max(column(early, "journal_bytes")), max(column(late, "journal_bytes"))
        judge("journal bounded", j1 <= j0 * JOURNAL_FACTOR,
              f"largest {j0 / 2**20:.0f} MiB -> {j1 / 2**20:.0f} MiB (allowed: x{JOURNAL_FACTOR:g}); "
              f"largest overall {max(column(rows, 'journal_bytes')) / 2**20:.0f} MiB")
    else:
        lines.append("(too short for the resource verdict: no samples in one of the windows)")
    exact = code == 0 and final and all(final.get(k) == "0" for k in
                                        ("missing", "duplicate_results", "not_done", "refused", "unknown_results"))
    lines.append(f"{'PASS' if exact else 'FAIL'} every job done exactly once: submitted {final.get('submitted')}, "
                 f"results {final.get('results')}, missing {final.get('missing')}, duplicate results "
                 f"{final.get('duplicate_results')}, not done {final.get('not_done')}, refused {final.get('refused')} "
                 f"(producer exit {code})")
    lines.append(f"worker kills {kills}; jobs that ran more than once (ended on attempt > 1, at-least-once "
                 f"execution): {final.get('rerun_jobs')}, highest attempt {final.get('max_attempt')}")
    lines.append(slow_windows(rows))
    lines.append(broker_counters(args.out))
    return lines, (1 if not exact else status)


def slow_windows(rows, threshold_ms=1000.0):
    """Where the windows with a p99 over 1 s stand against compactions and the journal's fsyncs:
    a row's compaction and fsync columns cover the 10 s before it, as does its p99."""
    def number(value):
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    slow = [r for r in rows if (number(r.get("p99_ms")) or 0) > threshold_ms]
    with_compaction = [r for r in slow if (number(r.get("compactions_started")) or 0) > 0]
    all_compactions = sum(int(number(r.get("compactions_started")) or 0) for r in rows)
    slowest = [number(r.get("fsync_slowest_ms")) for r in rows if number(r.get("fsync_slowest_ms")) is not None]
    quiet = [number(r.get("fsync_slowest_ms")) for r in rows
             if not number(r.get("compactions_started")) and number(r.get("fsync_slowest_ms")) is not None]
    during = [number(r.get("fsync_slowest_ms")) for r in rows
              if number(r.get("compactions_started")) and number(r.get("fsync_slowest_ms")) is not None]
    text = (f"windows with p99 over {threshold_ms:.0f} ms: {len(slow)} of {len(rows)}, {len(with_compaction)} of them "
            f"with a compaction started ({all_compactions} compactions in all)")
    if slowest:
        text += (f"; slowest fsync per window, median: {statistics.median(quiet) if quiet else 'n/a'} ms without a "
                 f"compaction, {statistics.median(during) if during else 'n/a'} ms with one; worst {max(slowest):g} ms")
    return text


def nice_max(value):
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * step:
            return factor * step
    return 10 * step


def panel(top, title, unit, xs, ys, x_max, spans, colour):
    """One chart of the SVG: a polyline of ys against xs (minutes), the compared windows shaded."""
    left, width, height = 80, 620, 130
    y_max = nice_max(max(ys) * 1.1 if ys else 1)
    px = lambda x: left + x / x_max * width
    py = lambda y: top + height - y / y_max * height
    body = [f'<text x="{left}" y="{top - 8}" font-size="13">{escape(title)} ({escape(unit)})</text>']
    body += [f'<rect x="{px(a):.1f}" y="{top}" width="{px(b) - px(a):.1f}" height="{height}" fill="#f3f3f3"/>'
             for a, b in spans]
    for i in range(5):
        y = y_max * i / 4
        body.append(f'<line x1="{left}" y1="{py(y):.1f}" x2="{left + width}" y2="{py(y):.1f}" stroke="#ddd"/>')
        body.append(f'<text x="{left - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y:g}</text>')
    body.append(f'<line x1="{left}" y1="{top + height}" x2="{left + width}" y2="{top + height}" stroke="black"/>')
    body.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + height}" stroke="black"/>')
    points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys))
    body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
    return body


def chart(rows, args, path, title):
    """OUT/soak.svg: RSS, fds, p99 and journal size against minutes, standard library only."""
    t = [float(r["t_s"]) / 60 for r in rows]
    x_max = max(t[-1], 1e-9)
    w0 = args.warmup / 60
    spans = [(w0, w0 + args.compare / 60), (max(0, min(t[-1], args.duration / 60) - args.compare / 60),
                                             min(t[-1], args.duration / 60))]
    series = [("broker RSS", "MiB", [v / 1024 for v in column(rows, "broker_rss_kib")], "#c0392b"),
              ("broker open fds", "count", column(rows, "broker_fds"), "#2c3e50"),
              ("p99 SUBMIT -> RESULT per window", "ms", column(rows, "p99_ms"), "#8e44ad"),
              ("journal on disk", "MiB", [v / 2**20 for v in column(rows, "journal_bytes")], "#16a085")]
    body = [f'<text x="390" y="22" text-anchor="middle" font-size="15">{escape(title)}</text>']
    for i, (name, unit, ys, colour) in enumerate(series):
        xs = t if len(ys) == len(t) else [float(r["t_s"]) / 60 for r in rows if r.get("p99_ms") not in ("", None)]
        body += panel(60 + i * 175, name, unit, xs, ys, x_max, spans, colour)
    bottom = 60 + 3 * 175 + 130
    for i in range(7):
        x = x_max * i / 6
        body.append(f'<text x="{80 + x / x_max * 620:.1f}" y="{bottom + 18}" text-anchor="middle">{x:.0f}</text>')
    body.append(f'<text x="390" y="{bottom + 40}" text-anchor="middle">minutes (shaded: the two windows the verdict '
                f'compares)</text>')
    height = bottom + 55
    with open(path, "w") as f:
        f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="780" height="{height}" font-family="sans-serif" '
                f'font-size="11">\n<rect width="100%" height="100%" fill="white"/>\n' + "\n".join(body) + "\n</svg>\n")


def main():
    args = parse_args()
    os.makedirs(args.out, exist_ok=True)
    bins = binaries(os.path.abspath(args.build))
    procs = Processes()
    # Ctrl-C and SIGTERM end the run through the finally below, which stops every child by PID.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        maximum = 0.0
        if args.rate > 0:
            rate = args.rate
        else:
            maximum = measure_maximum(procs, bins, args)
            rate = maximum / 2
        print(f"soak: maximum {maximum:.0f} jobs/s, soaking at {rate:.0f} jobs/s for {args.duration:.0f} s, "
              f"{args.workers} workers x capacity {args.capacity}, a kill every {args.kill_every:g} s (seed {args.seed})",
              flush=True)
        rows, code, final, kills = soak(procs, bins, args, rate)
    except KeyboardInterrupt:
        print("soak: interrupted; stopping every process it started", file=sys.stderr)
        return 130
    finally:
        procs.stop_all()
    lines, status = verdict(rows, final, code, kills, rate, maximum, args)
    chart(rows, args, os.path.join(args.out, "soak.svg"),
          f"Soak: {rate:.0f} jobs/s, {args.workers} workers, a SIGKILL every {args.kill_every:g} s")
    with open(os.path.join(args.out, "verdict.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main())
