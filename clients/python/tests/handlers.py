"""The handler every test worker runs, driven by the payload so that one worker serves every test.

Payloads (text): ``sleep:MS`` sleeps MS ms (giving up when the lease is revoked); ``fail:N``
fails attempts 1..N, then succeeds; ``permanent`` raises PermanentFailure; ``progress:MS``
reports 40 % then sleeps MS ms; ``big:N`` returns N bytes; ``hold:NAME`` holds the job 60 s on worker NAME and returns at once
on any other; ``not_started:NAME`` raises NotStarted on worker NAME; anything else is echoed. A result is
``NAME:PAYLOAD``, so a test can tell which worker ran a job. Each attempt is recorded in `record`
as (id, attempt, outcome) and, with a `record_file`, appended to it as a line.
"""

from __future__ import annotations

import os
from typing import Callable, List, Optional

import corsair


def make_handler(name: str, record: List[tuple], record_file: Optional[str] = None) -> Callable:
    def note(job: corsair.Job, outcome: str) -> None:
        record.append((job.id, job.attempt, outcome))
        if record_file:
            fd = os.open(record_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, f"{job.id} {job.attempt} {outcome}\n".encode())
            finally:
                os.close(fd)

    def handle(job: corsair.Job):
        text = job.text
        note(job, "started")
        if text.startswith("hold:"):
            if text == f"hold:{name}" and job.stopped.wait(60):
                note(job, "stopped")
                return "stopped"
        elif text.startswith("sleep:") or text.startswith("progress:"):
            if text.startswith("progress:"):
                job.progress(40, "forty")
            if job.stopped.wait(int(text.split(":", 1)[1]) / 1000):
                note(job, "stopped")
                return "stopped"
        elif text.startswith("fail:") and job.attempt <= int(text.split(":", 1)[1]):
            note(job, "failed")
            raise corsair.RetryableFailure(f"attempt {job.attempt} failed on purpose")
        elif text == f"not_started:{name}":
            note(job, "not_started")
            raise corsair.NotStarted("this host lacks what the job needs")
        elif text == "permanent":
            note(job, "failed")
            raise corsair.PermanentFailure("this job can never succeed")
        elif text.startswith("big:"):
            note(job, "done")
            return b"x" * int(text.split(":", 1)[1])
        note(job, "done")
        return f"{name}:{text}"

    return handle
