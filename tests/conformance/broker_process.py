"""Starts a corsair-broker for the suite (with --broker-bin) and stops it by PID.

The broker binds tcp://127.0.0.1:0 on both endpoints and prints one ready line,
`corsair-broker ready producers=EP workers=EP`, which gives the ports it picked.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from typing import List, Optional


class BrokerProcess:
    """One broker child process; `stop()` ends it by its PID and reaps it."""

    def __init__(self, binary: str, flags: List[str], ready_timeout: float = 10.0):
        self.log_dir = tempfile.mkdtemp(prefix="corsair-conformance-")
        self.log_path = os.path.join(self.log_dir, "broker.log")
        argv = [binary, "--producers", "tcp://127.0.0.1:0", "--workers", "tcp://127.0.0.1:0",
                "--data-dir", "", "--http", "", *flags]
        environment = dict(os.environ, CORSAIR_HUGE_PAGES="0")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, env=environment)
        self.producers, self.workers = self._read_ready_line(ready_timeout)

    def _read_ready_line(self, timeout: float):
        deadline = time.monotonic() + timeout
        pending = b""
        while time.monotonic() < deadline:
            readable, _, _ = select.select([self.process.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not readable:
                break
            chunk = os.read(self.process.stdout.fileno(), 4096)
            if not chunk:
                break
            pending += chunk
            for line in pending.decode(errors="replace").splitlines():
                parts = dict(p.split("=", 1) for p in line.split()[2:] if "=" in p)
                if line.startswith("corsair-broker ready ") and "producers" in parts and "workers" in parts:
                    return parts["producers"], parts["workers"]
        self.stop()
        raise RuntimeError(f"corsair-broker printed no ready line in {timeout} s; see {self.log_path}")

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as log:
            return log.read()

    def stop(self, timeout: float = 10.0) -> Optional[int]:
        """SIGTERM, then SIGKILL if it has not exited within `timeout`; returns its exit code. The
        log goes with it unless CORSAIR_KEEP_SCRATCH=1 (as for the C++ tests' ScratchDir)."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout)
        self.process.stdout.close()
        if os.environ.get("CORSAIR_KEEP_SCRATCH") != "1":
            shutil.rmtree(self.log_dir, ignore_errors=True)
        return self.process.returncode
