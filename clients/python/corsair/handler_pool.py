"""HandlerPool: the threads that run a Worker's handlers, and the Job a handler sees.

A handler never touches the worker's broker socket. Each pool thread owns one inproc PUSH socket
connected to the worker's outcome pipe and sends every outcome and progress report over it as
frames; the worker's I/O thread, which owns the broker socket, reads them. So a slow handler
never delays a heartbeat. Threads are daemons: a handler that never returns cannot keep the
process alive after the worker has stopped.
"""

from __future__ import annotations

import collections
import threading
import traceback
from typing import Callable, Deque, Dict, List, Optional, Tuple, Union

import zmq

from . import protocol as p
from .errors import NotStarted, PermanentFailure

# Outcome kinds on the pipe (frame 0).
DONE, FAILED, FAILED_PERMANENTLY, NOT_STARTED, PROGRESS = b"D", b"F", b"X", b"N", b"P"


class Job:
    """One attempt of one job, as a handler sees it.

    `id`, `queue`, `attempt` (with `id`, the lease's fencing token: use it to deduplicate side
    effects, since a job may run more than once), `payload` (bytes), `max_result_bytes` (the
    broker's limit: a larger result fails the job for good). `stopped` is set when the broker
    revokes the lease (timeout or cancel) or the worker stops without draining: a long handler
    should check it and give up; whatever it returns then is dropped.
    """

    __slots__ = ("id", "queue", "attempt", "payload", "max_result_bytes", "stopped", "_pipe")

    def __init__(self, id: str, queue: str, attempt: int, payload: bytes, max_result_bytes: int) -> None:
        self.id = id
        self.queue = queue
        self.attempt = attempt
        self.payload = payload
        self.max_result_bytes = max_result_bytes
        self.stopped = threading.Event()
        self._pipe: Optional[Callable[[List[bytes]], None]] = None

    @property
    def text(self) -> str:
        """The payload decoded as UTF-8 (undecodable bytes replaced)."""
        return self.payload.decode("utf-8", "replace")

    def progress(self, percent: int, message: str = "") -> None:
        """Reports how far the job is (PROGRESS: kept on the job, forwarded to a waiting producer).
        `percent` is clamped to 0..100 and `message` cut to 256 bytes. Never blocks on the
        network; the worker sends at most one report per job every 100 ms, the latest winning."""
        if self._pipe is None or self.stopped.is_set():
            return
        percent = max(0, min(100, int(percent)))
        text = p.utf8_cut(str(message), p.MAX_PROGRESS_MESSAGE_BYTES)
        self._pipe([PROGRESS, self.id.encode(), str(self.attempt).encode(), str(percent).encode(), text.encode()])


Handler = Callable[[Job], Union[bytes, str, None]]


def _error_text(error: BaseException) -> str:
    """str(error), or its type and repr when that is empty (a bare ``raise KeyError()``)."""
    text = str(error) or traceback.format_exception_only(type(error), error)[-1].strip()
    return p.utf8_cut(text, p.MAX_ERROR_TEXT_BYTES)


def run_handler(handler: Handler, job: Job) -> List[bytes]:
    """Runs one attempt and returns its outcome frames: DONE with the result, or FAILED /
    FAILED_PERMANENTLY (PermanentFailure, or a result over the limit) / NOT_STARTED with the
    error text."""
    key = [job.id.encode(), str(job.attempt).encode()]
    try:
        result = p.as_bytes(handler(job))
    except PermanentFailure as e:
        return [FAILED_PERMANENTLY, *key, _error_text(e).encode()]
    except NotStarted as e:
        return [NOT_STARTED, *key, _error_text(e).encode()]
    except BaseException as e:  # anything else, SystemExit included, is a retryable failure
        return [FAILED, *key, _error_text(e).encode()]
    if len(result) > job.max_result_bytes:
        error = f"result too large: {len(result)} bytes, over the broker's limit of {job.max_result_bytes} bytes"
        return [FAILED_PERMANENTLY, *key, error.encode()]
    return [DONE, *key, result]


class HandlerPool:
    """`threads` daemon threads running handlers; outcomes go to the inproc endpoint `pipe`.

    Jobs wait for a thread in arrival order; one still waiting (held ready, READY `prefetch`) can
    be taken back, for a RECALL or a drain. submit(), take_back(), take_waiting() and stop() are
    called by the worker's I/O thread only.
    """

    def __init__(self, context: zmq.Context, pipe: str, threads: int, handlers: Dict[str, Handler]) -> None:
        self._context = context
        self._pipe_endpoint = pipe
        self._handlers = handlers
        self._waiting: Deque[Job] = collections.deque()
        self._wake = threading.Condition()
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._serve, name=f"corsair-handler-{i}", daemon=True) for i in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Job) -> None:
        """Queues one attempt; it runs as soon as a thread is free."""
        with self._wake:
            self._waiting.append(job)
            self._wake.notify()

    def take_back(self, key: Tuple[str, int]) -> Optional[Job]:
        """Removes the attempt `key` (id, attempt) if no thread has taken it yet; None if one has."""
        with self._wake:
            for job in self._waiting:
                if (job.id, job.attempt) == key:
                    self._waiting.remove(job)
                    return job
        return None

    def take_waiting(self) -> List[Job]:
        """Removes and returns every attempt no thread has taken yet, oldest first."""
        with self._wake:
            waiting = list(self._waiting)
            self._waiting.clear()
        return waiting

    def stop(self, timeout: float) -> bool:
        """Drops what waits (the broker gives those leases to other workers), lets the threads
        finish what they run and exit; True if all did within `timeout` s."""
        with self._wake:
            self._stopping = True
            self._waiting.clear()
            self._wake.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        return not any(thread.is_alive() for thread in self._threads)

    def _next(self) -> Optional[Job]:
        with self._wake:
            while not self._waiting and not self._stopping:
                self._wake.wait()
            return self._waiting.popleft() if self._waiting else None

    def _serve(self) -> None:
        pipe = self._context.socket(zmq.PUSH)
        pipe.setsockopt(zmq.LINGER, 1000)
        pipe.setsockopt(zmq.SNDHWM, 0)
        pipe.connect(self._pipe_endpoint)
        send: Callable[[List[bytes]], None] = pipe.send_multipart
        try:
            while True:
                job = self._next()
                if job is None:
                    return
                if job.stopped.is_set():
                    # Abandoned while it waited: never started; the I/O thread drops this outcome.
                    send([FAILED, job.id.encode(), str(job.attempt).encode(), b"abandoned before it started"])
                    continue
                job._pipe = send
                outcome = run_handler(self._handlers[job.queue], job)
                job._pipe = None
                send(outcome)
        finally:
            pipe.close()
