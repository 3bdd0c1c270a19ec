#!/usr/bin/python3
"""Holds corsair-broker to the system call filter of its unit (packaging/systemd/corsair-broker.service).

Runs the real broker under strace, as its unit would run it (NOTIFY_SOCKET and WATCHDOG_USEC set,
the HTTP side on), through everything it does in service: startup and journal recovery, a worker
and a hundred jobs, an HTTP /metrics scrape, a journal compaction (a forked child), SIGHUP and a
SIGTERM drain. Then checks that every system call it made is allowed by the unit's
SystemCallFilter= lines, as systemd-analyze expands their groups, and that no mapping broke
MemoryDenyWriteExecute= (a mapping both writable and executable, or made executable later).
A call outside the filter would get EPERM under systemd, which no test here would otherwise see.

Usage: check_syscalls.py UNIT BROKER_BIN WORKER_BIN CLI_BIN
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

DEADLINE_S = 60 * float(os.environ.get("CORSAIR_TEST_TIME_SCALE", "1") or "1")


def expand(group, seen=None):
    """The system calls of a systemd-analyze group such as @system-service, nested groups expanded."""
    seen = set() if seen is None else seen
    if group in seen:
        return set()
    seen.add(group)
    out = subprocess.run(["systemd-analyze", "syscall-filter", group], check=True, capture_output=True, text=True)
    calls = set()
    for line in out.stdout.splitlines()[1:]:
        word = line.strip()
        if not word or word.startswith("#"):
            continue
        calls |= expand(word, seen) if word.startswith("@") else {word}
    return calls


def allowed_by(unit_path):
    """The calls the unit's SystemCallFilter= lines allow: the allow-lists, less the ~deny-lists."""
    allowed, denied = set(), set()
    with open(unit_path) as unit:
        for line in unit:
            if not line.startswith("SystemCallFilter="):
                continue
            value = line.split("=", 1)[1].strip()
            target = denied if value.startswith("~") else allowed
            for word in value.lstrip("~").split():
                target |= expand(word) if word.startswith("@") else {word}
    if not allowed:
        sys.exit(f"{unit_path} has no allow-list SystemCallFilter=: nothing to hold the broker to")
    return allowed - denied


def wait_for(condition, what):
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    sys.exit(f"timed out waiting for {what}")


def exercise(broker_bin, worker_bin, cli_bin, scratch, trace):
    """Runs the broker under strace through a service's life; returns its log."""
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(os.path.join(scratch, "notify"))
    env = dict(os.environ, NOTIFY_SOCKET=os.path.join(scratch, "notify"), WATCHDOG_USEC="400000")
    log_path = os.path.join(scratch, "broker.log")
    log = open(log_path, "w")
    broker = subprocess.Popen(
        ["strace", "-f", "-qq", "-o", trace, broker_bin, "--producers", "tcp://127.0.0.1:*", "--workers",
         "tcp://127.0.0.1:*", "--http", "127.0.0.1:0", "--heartbeat", "200ms", "--data-dir",
         os.path.join(scratch, "data"), "--compact-min-bytes", "0", "--compact-ratio", "1"],
        env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    worker = None
    try:
        line = broker.stdout.readline()
        match = re.match(r"corsair-broker ready producers=(\S+) workers=(\S+) http=(\S+)", line)
        if not match:
            sys.exit(f"no ready line from the broker: {line!r}")
        producers, workers, http = match.groups()
        # Signals go to the broker itself: strace would take them as its own.
        with open(f"/proc/{broker.pid}/task/{broker.pid}/children") as children:
            broker_pid = int(children.read().split()[0])
        notify.settimeout(DEADLINE_S)
        if b"READY=1" not in notify.recv(4096):
            sys.exit("the first notification is not READY=1")
        worker = subprocess.Popen([worker_bin, "--broker", workers, "--queue", "q", "--builtin", "echo",
                                   "--capacity", "4"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        jobs = os.path.join(scratch, "jobs")
        with open(jobs, "w") as f:
            f.writelines(f"job {i}\n" for i in range(100))
        # The broker runs under strace -f, many times slower on a busy machine than alone: the CLI
        # waits as long as the rest of this check, not its default 10 s.
        subprocess.run([cli_bin, "submit", "--broker", producers, "q", "--file", jobs, "--wait",
                        "--wait-timeout", f"{DEADLINE_S:g}s"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=DEADLINE_S)
        with urllib.request.urlopen(f"http://{http}/metrics", timeout=DEADLINE_S) as response:
            response.read()
        wait_for(lambda: "journal compacted" in open(log_path).read(), "a journal compaction")
        os.kill(broker_pid, signal.SIGHUP)
        wait_for(lambda: "signal received signal=HUP" in open(log_path).read(), "SIGHUP to be taken")
        os.kill(broker_pid, signal.SIGTERM)
        if broker.wait(timeout=DEADLINE_S) != 0:
            sys.exit(f"the broker exited {broker.returncode}; see {log_path}")
    finally:
        for process in (worker, broker):
            if process and process.poll() is None:
                process.kill()
                process.wait()
        notify.close()
    return open(log_path).read()


CALL = re.compile(r"^\d+\s+([a-z0-9_]+)\((.*)")


def main():
    unit, broker_bin, worker_bin, cli_bin = sys.argv[1:5]
    allowed = allowed_by(unit)
    with tempfile.TemporaryDirectory(prefix="corsair-syscalls-") as scratch:
        trace = os.path.join(scratch, "trace")
        exercise(broker_bin, worker_bin, cli_bin, scratch, trace)
        used, counts, write_execute = set(), {}, []
        with open(trace) as lines:
            for line in lines:
                match = CALL.match(line)
                if not match:
                    continue
                name, args = match.groups()
                used.add(name)
                counts[name] = counts.get(name, 0) + 1
                if name in ("mmap", "mprotect", "pkey_mprotect") and "PROT_EXEC" in args and \
                        (name != "mmap" or "PROT_WRITE" in args):
                    write_execute.append(line.strip())
    # The broker is started by strace's own fork: its first execve is strace's, allowed anyway.
    outside = sorted(used - allowed)
    print(f"{len(used)} distinct system calls, {sum(counts.values())} calls; "
          f"the unit's filter allows {len(allowed)}")
    print("used: " + " ".join(f"{name}:{counts[name]}" for name in sorted(used)))
    if outside:
        print("outside SystemCallFilter=: " + " ".join(outside))
    for line in write_execute:
        print("against MemoryDenyWriteExecute=: " + line)
    sys.exit(1 if outside or write_execute else 0)


if __name__ == "__main__":
    main()
