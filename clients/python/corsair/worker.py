"""Worker: serves queues for a Corsair broker, one handler function per queue.

run() turns the calling thread into the worker's I/O thread: it alone owns the DEALER to the
broker (and the inproc pipes), sends heartbeats on time and reads the broker. Handlers run on a
pool of `threads` threads (default: one per unit of capacity) and hand their outcomes back over
an inproc pipe (handler_pool.py), so a busy handler never delays a heartbeat.

The connection follows docs/protocol.md §7: connecting (READY sent) -> ready (the broker
answered; its interval, idle interval and liveness adopted, the next heartbeat rescheduled to
match; holding no lease, it heartbeats at the idle interval, §9) ->
draining -> gone, with reconnects after a jittered backoff when the broker falls silent or says
DISCONNECT. Leases outlive a connection (§10): jobs keep running, the next READY names them in
``holding``, and reports that could not be sent are kept and sent once the broker answers,
unless it abandons them first.

Batches (§5.25, §5.26, §3.1): READY asks for JOBS of up to `batch` jobs and says the worker reads
them packed (every payload in one frame); results go out as DONES once the broker's HEARTBEAT
carries `batch`, packed while its latest HEARTBEAT says ``reads_packed`` and the frame fits.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket as socket_module
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import zmq

from . import protocol as p
from .curve import CurveKeys, apply_curve, silence_hint
from .errors import AccessDenied, broker_error
from .handler_pool import DONE, FAILED_PERMANENTLY, NOT_STARTED, PROGRESS, Handler, HandlerPool, Job
from .job_options import Seconds, check_name
from .protocol import Command

log = logging.getLogger("corsair.worker")

Lease = Tuple[str, int]
Report = Tuple[Command, Dict[str, Any], Optional[bytes]]

_DRAIN, _STOP = b"D", b"S"
_MIN_PROGRESS_INTERVAL = 0.1
_MAX_HOLDING_BYTES = p.MAX_HEADER_BYTES // 2
_DISCONNECT_LINGER_MS = 500
# Pauses after a NotStarted: 1 s doubling to 16 s while start failures follow each other.
_NOT_STARTED_PAUSE_MIN, _NOT_STARTED_PAUSE_MAX = 1.0, 16.0
_GIVEN_BACK_WHILE_DRAINING = "given back unstarted: the worker is draining"
_GIVEN_BACK_WHILE_PAUSED = "given back unstarted: the worker pauses after a job it could not start"


def default_worker_name() -> str:
    """``host:pid``, the conventional worker name."""
    return f"{socket_module.gethostname()}:{os.getpid()}"


def reconnect_delay(tries: int, minimum: float, cap: float, unit_random: float) -> float:
    """The wait before the `tries`-th reconnect in a row: `minimum` doubled per earlier try, at
    most `cap`, then a point in [d/2, d] (equal jitter), as the C++ worker does (§7 Backoff)."""
    delay = min(minimum, cap)
    for _ in range(1, tries):
        if delay >= cap:
            break
        delay = min(delay * 2, cap)
    return delay / 2 + delay / 2 * max(0.0, min(1.0, unit_random))


class _Running:
    __slots__ = ("job", "abandoned", "held_progress", "progress_sent_at")

    def __init__(self, job: Job) -> None:
        self.job = job
        self.abandoned = False
        self.held_progress: Optional[Dict[str, Any]] = None
        self.progress_sent_at = 0.0


class Worker:
    """A worker process's connection to a broker's worker endpoint.

    ``Worker("tcp://127.0.0.1:5556", capacity=4)``; add handlers with add_handler() or the
    handler() decorator, then run(). Durations are in seconds. `name` defaults to host:pid;
    `threads` handler threads (default and at most `capacity`); `prefetch` most jobs held ready beyond the
    capacity (0 to 64, default 32; the broker holds as many as the worker gets through in 10 ms,
    at least one, and asks one back with RECALL for a worker that sits idle); `batch` most jobs
    per JOBS and DONEs per DONES (0 or 1: single messages); `heartbeat_interval` and `liveness` are used until the
    broker's first HEARTBEAT; `reconnect_min`/`reconnect_max` bound the reconnect backoff;
    `drain_timeout` how long a drain waits for running jobs (0: no limit); `curve` CURVE keys.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        name: Optional[str] = None,
        capacity: int = 1,
        threads: Optional[int] = None,
        prefetch: int = 32,
        batch: int = 64,
        heartbeat_interval: Seconds = 1.0,
        liveness: int = p.DEFAULT_LIVENESS,
        reconnect_min: Seconds = 1.0,
        reconnect_max: Seconds = 32.0,
        drain_timeout: Seconds = 30.0,
        curve: Optional[CurveKeys] = None,
        context: Optional[zmq.Context] = None,
    ) -> None:
        if not 1 <= capacity <= p.MAX_CAPACITY:
            raise ValueError(f"capacity must be between 1 and {p.MAX_CAPACITY}")
        if not 0 <= prefetch <= p.MAX_PREFETCH:
            raise ValueError(f"prefetch must be between 0 and {p.MAX_PREFETCH}")
        if not 0.01 <= heartbeat_interval <= 60:
            raise ValueError("heartbeat_interval must be between 0.01 and 60 seconds")
        if not 0 < reconnect_min <= reconnect_max:
            raise ValueError("reconnect backoff must satisfy 0 < reconnect_min <= reconnect_max")
        self.endpoint = endpoint
        self.name = name if name is not None else default_worker_name()
        if len(self.name.encode()) > p.MAX_WORKER_NAME_BYTES:
            raise ValueError(f"worker name longer than {p.MAX_WORKER_NAME_BYTES} bytes")
        self.capacity = capacity
        # Never more threads than the capacity: an extra one would start a job held ready (§11).
        self.threads = min(threads or capacity, capacity)
        self.prefetch = prefetch
        self.batch = max(0, min(batch, capacity + prefetch, p.MAX_BATCH_ENTRIES))
        self._own_interval = float(heartbeat_interval)
        self._own_liveness = liveness
        self.reconnect_min = float(reconnect_min)
        self.reconnect_max = float(reconnect_max)
        self.drain_timeout = float(drain_timeout)
        self._curve = curve
        self._handlers: Dict[str, Handler] = {}
        self._instance = random.getrandbits(64) or 1
        self._owns_context = context is None
        self._context = context or zmq.Context()
        tag = f"{os.getpid()}-{id(self):x}"
        self._control_endpoint = f"inproc://corsair-worker-{tag}-control"
        self._outcome_endpoint = f"inproc://corsair-worker-{tag}-outcomes"
        self._control: Optional[zmq.Socket] = None
        self._started = False
        # What this worker did, for its operator and its tests; written by the I/O thread only.
        self.counters: Dict[str, int] = dict.fromkeys(
            ("jobs", "job_batches", "packed_job_batches", "done", "done_batches", "packed_done_batches", "failed",
             "abandoned", "connections", "ready_again", "heartbeats", "recalled", "given_back"),
            0,
        )

    # ------------------------------------------------------------------ configuration

    def add_handler(self, queue: str, handler: Handler) -> None:
        """Serves `queue` with `handler(job) -> bytes | str | None` (the result). Raising
        PermanentFailure fails the job for good; any other exception is a retryable failure."""
        check_name("queue", queue, p.MAX_QUEUE_NAME_BYTES)
        if self._started:
            raise RuntimeError("add_handler() called after run()")
        self._handlers[queue] = handler
        if len(self._handlers) > p.MAX_QUEUES_PER_WORKER:
            raise ValueError(f"a worker serves at most {p.MAX_QUEUES_PER_WORKER} queues")

    def handler(self, queue: str) -> Callable[[Handler], Handler]:
        """Decorator form of add_handler()."""

        def register(function: Handler) -> Handler:
            self.add_handler(queue, function)
            return function

        return register

    # ------------------------------------------------------------------ control, from any thread

    def request_drain(self) -> None:
        """Asks run() to drain: no more jobs, running ones finish, then DISCONNECT. Thread-safe."""
        self._send_control(_DRAIN)

    def request_stop(self) -> None:
        """Asks run() to stop at once: DISCONNECT (the broker requeues the jobs held). Thread-safe."""
        self._send_control(_STOP)

    def _send_control(self, command: bytes) -> None:
        # A short-lived socket per request: the I/O thread shares nothing but the endpoint.
        try:
            pipe = self._context.socket(zmq.PUSH)
        except zmq.ZMQError:
            return  # run() has ended and closed the context: nothing to tell
        try:
            pipe.setsockopt(zmq.LINGER, 1000)
            pipe.connect(self._control_endpoint)
            pipe.send(command, zmq.NOBLOCK)
        except zmq.ZMQError:
            pass  # run() has not started or has ended: nothing to tell
        finally:
            pipe.close()

    # ------------------------------------------------------------------ run

    def run(self, *, handle_signals: bool = True) -> None:
        """Serves until drained or stopped; blocks the calling thread, which becomes the I/O
        thread. With `handle_signals` (and on the main thread), SIGTERM and SIGINT drain, and a
        second one stops at once. Raises AccessDenied if the broker refuses this worker for
        good (wrong endpoint, or a CURVE key whose role may not serve)."""
        if not self._handlers:
            raise RuntimeError("Worker.run() needs at least one handler")
        if self._started:
            raise RuntimeError("Worker.run() called twice")
        self._started = True
        self._setup()
        previous = self._install_signals() if handle_signals else {}
        try:
            self._open_connection(time.monotonic())
            while self._state != "gone":
                self._turn()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self._teardown()

    def _setup(self) -> None:
        self._control = self._context.socket(zmq.PULL)
        self._control.setsockopt(zmq.LINGER, 0)
        self._control.bind(self._control_endpoint)
        self._outcomes = self._context.socket(zmq.PULL)
        self._outcomes.setsockopt(zmq.LINGER, 0)
        self._outcomes.setsockopt(zmq.RCVHWM, 0)
        self._outcomes.bind(self._outcome_endpoint)
        self._pool = HandlerPool(self._context, self._outcome_endpoint, self.threads, self._handlers)
        self._sock: Optional[zmq.Socket] = None
        self._state = "not_started"
        self._answered = False
        self._running: Dict[Lease, _Running] = {}
        self._unsent: Dict[Lease, Report] = {}
        self._held_dones: List[Tuple[str, int, bytes]] = []
        self._reconnect_tries = 0
        self._ready_refusals = 0
        self._reconnect_at = 0.0
        self._drain_deadline = float("inf")
        self._last_ready_again = -float("inf")
        self._signals = 0
        self._fatal: Optional[BaseException] = None
        self._paused_until: Optional[float] = None  # taking no jobs after a NotStarted
        self._pause = _NOT_STARTED_PAUSE_MIN

    def _teardown(self) -> None:
        for running in self._running.values():
            running.job.stopped.set()
        self._close_connection(0)
        all_ended = self._pool.stop(timeout=max(1.0, min(self.drain_timeout, 5.0)))
        self._control.close()
        self._outcomes.close()
        if self._owns_context and all_ended:
            self._context.term()
        if self._fatal is not None:
            raise self._fatal

    def _install_signals(self) -> Dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}

        def on_signal(signum: int, frame: Any) -> None:
            self._signals += 1
            if self._signals == 1:
                self.request_drain()
            else:
                self.request_stop()

        return {signum: signal.signal(signum, on_signal) for signum in (signal.SIGTERM, signal.SIGINT)}

    def _turn(self) -> None:
        """One turn of the I/O loop: wait for the next event or timer, handle what is at hand."""
        poller = zmq.Poller()
        poller.register(self._control, zmq.POLLIN)
        poller.register(self._outcomes, zmq.POLLIN)
        if self._sock is not None:
            poller.register(self._sock, zmq.POLLIN)
        ready = dict(poller.poll(self._poll_timeout_ms(time.monotonic())))
        if self._control in ready:
            self._handle_control()
            if self._state == "gone":
                return
        if self._outcomes in ready:
            self._handle_outcomes()
        if self._sock is not None and self._sock in ready:
            self._handle_broker()
            if self._fatal is not None:
                self._finish("fatal")
                return
        self._send_held_dones()  # everything at hand has been handled: what ended goes out now
        self._run_timers(time.monotonic())

    def _poll_timeout_ms(self, now: float) -> int:
        wake = now + 1.0
        if self._sock is not None:
            interval = self._heartbeat_interval_now()
            wake = min(wake, self._last_heartbeat + interval, self._last_heard + interval * self._liveness)
        elif self._state == "waiting":
            wake = min(wake, self._reconnect_at)
        if self._state.startswith("draining"):
            wake = min(wake, self._drain_deadline)
        if self._paused_until is not None:
            wake = min(wake, self._paused_until)
        if any(r.held_progress for r in self._running.values()):
            wake = min(wake, now + _MIN_PROGRESS_INTERVAL)
        return max(0, int((wake - now) * 1000 + 0.999))

    def _run_timers(self, now: float) -> None:
        self._send_held_progress(now)
        if self._paused_until is not None and now >= self._paused_until:
            self._paused_until = None
            if self._sock is not None and not self._state.startswith("draining"):
                log.info("taking jobs again after a pause for a job not started")
                self._send_ready()  # a new READY clears the broker's draining (§5.14)
        if self._sock is not None:
            # Both ways at the interval that applies now (§9): a JOB after a long idle stretch
            # makes the next HEARTBEAT due at once.
            interval = self._heartbeat_interval_now()
            if now >= self._last_heard + interval * self._liveness:
                self._connection_lost(now, "heartbeat_timeout")
            elif now >= self._last_heartbeat + interval:
                self._send(Command.HEARTBEAT, {})
                self.counters["heartbeats"] += 1
                self._last_heartbeat = now
        if self._state.startswith("draining"):
            held = any(not r.abandoned for r in self._running.values())
            if not held and (not self._unsent or self._sock is None):
                self._finish("drained")
            elif now >= self._drain_deadline:
                log.warning("drain timed out; the broker will requeue the jobs still held")
                self._finish("drain_timeout")
        if self._state == "waiting" and now >= self._reconnect_at:
            self._open_connection(now)

    def _heartbeat_interval_now(self) -> float:
        """§9: the broker's idle interval while no lease is held (answered, nothing running that
        the broker still leases, no report waiting); the interval otherwise."""
        if self._state != "ready" or self._held_dones or self._unsent:
            return self._interval
        if any(not r.abandoned for r in self._running.values()):
            return self._interval
        return self._idle_interval

    # ------------------------------------------------------------------ the connection

    def _open_connection(self, now: float) -> None:
        sock = self._context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.MAXMSGSIZE, p.CLIENT_MAX_MESSAGE_BYTES)
        apply_curve(sock, self._curve)
        sock.connect(self.endpoint)
        self._sock = sock
        self.counters["connections"] += 1
        self._state = "connecting" if not self._state.startswith("draining") else "draining"
        self._answered = False
        self._broker_batch = 0  # a new broker may not read DONES: wait for its HEARTBEAT
        self._broker_reads_packed = False  # nor packed DONES (§3.1): its HEARTBEAT says
        self._max_result_bytes = p.DEFAULT_MAX_PAYLOAD_BYTES
        # §7: the defaults until the broker's answer; a restarted broker may use other values.
        self._interval = self._own_interval
        self._idle_interval = self._interval  # until the broker tells its own (HEARTBEAT idle_interval_ms)
        self._liveness = self._own_liveness
        self._last_heard = now
        self._last_heartbeat = now  # READY: the next HEARTBEAT is due one interval on
        self._last_ready_again = -float("inf")
        self._send_ready()

    def _close_connection(self, linger_ms: int) -> None:
        if self._sock is None:
            return
        self._sock.close(linger=linger_ms)
        self._sock = None
        self._answered = False
        # §7: the leases stay ours; DONEs not yet sent go out once the next READY is answered.
        for id, attempt, result in self._held_dones:
            self._unsent[(id, attempt)] = (Command.DONE, {"id": id, "attempt": attempt}, result)
        self._held_dones = []

    def _connection_lost(self, now: float, reason: str) -> None:
        self._close_connection(0)
        if self._state.startswith("draining"):
            log.info("broker lost (%s) while draining; not reconnecting", reason)
            self._state = "draining_disconnected"
            return
        window = self._interval * self._liveness
        cap = max(self.reconnect_min, min(window, self.reconnect_max))
        self._reconnect_tries += 1
        delay = reconnect_delay(self._reconnect_tries, self.reconnect_min, cap, random.random())
        self._reconnect_at = now + delay
        self._state = "waiting"
        log.info("broker lost (%s) broker=%s; reconnecting in %.2f s%s", reason, self.endpoint, delay,
                 silence_hint(self._curve) if self._reconnect_tries == 1 else "")

    def _finish(self, reason: str) -> None:
        if self._sock is not None:
            self._send(Command.DISCONNECT, {"reason": reason})
        self._close_connection(_DISCONNECT_LINGER_MS)
        self._state = "gone"
        log.info("worker %s disconnected (%s)", self.name, reason)

    def _send(self, command: Command, header: Dict[str, Any], payloads: Optional[List[bytes]] = None) -> None:
        self._send_frames(command, p.encode(command, header, payloads))

    def _send_frames(self, command: Command, frames: List[bytes]) -> None:
        if self._sock is None:
            return
        if command not in (Command.DONES, Command.DONE):
            self._send_held_dones()
        try:
            self._sock.send_multipart(frames, zmq.NOBLOCK)
        except zmq.Again:
            log.warning("message to broker dropped command=%s reason=send_queue_full", command.name)

    def _send_ready(self) -> None:
        ready: Dict[str, Any] = {"queues": list(self._handlers), "capacity": self.capacity, "name": self.name}
        if self.batch > 1:
            ready["batch"] = self.batch
        if self.prefetch > 0:
            ready["prefetch"] = self.prefetch  # §11: jobs held ready beyond the capacity
        ready["instance"] = self._instance
        ready["holding"] = self._holding()
        ready["idle_heartbeat"] = True  # §9: heartbeat at the broker's idle interval while holding no lease
        ready["reads_packed"] = True  # §3.1: JOBS may carry every payload in one frame
        self._send(Command.READY, ready)
        if self._state.startswith("draining") or self._paused_until is not None:
            self._send(Command.DRAIN, {})  # a fresh registration is neither draining nor paused

    def _holding(self) -> List[List[Any]]:
        held: List[List[Any]] = []
        size = 0
        keys = [k for k, r in self._running.items() if not r.abandoned] + list(self._unsent)
        for id, attempt in keys:
            size += len(id.encode()) + 8
            if size > _MAX_HOLDING_BYTES or len(held) >= p.MAX_HELD_LEASES:
                log.warning("READY names only some held leases named=%d", len(held))
                break
            held.append([id, attempt])
        return held

    # ------------------------------------------------------------------ from the broker

    def _handle_broker(self) -> None:
        now = time.monotonic()
        while self._sock is not None:
            try:
                frames = self._sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                message = p.decode(frames)
            except p.MalformedMessage as e:
                log.warning("bad message from broker: %s", e)
                continue
            self._last_heard = now  # §9: any valid message is a sign of life
            if not self._answered:
                self._on_first_message()
            try:
                self._dispatch(message, now)
            except (p.MalformedMessage, KeyError, TypeError, ValueError, AttributeError) as e:
                log.warning("bad message from broker: %r (%s)", message, e)
            if self._fatal is not None:
                return

    def _on_first_message(self) -> None:
        self._answered = True
        if self._state == "connecting":
            self._state = "ready"
            self._reconnect_tries = 0
            log.info("connected broker=%s name=%s", self.endpoint, self.name)

    def _dispatch(self, m: p.Message, now: float) -> None:
        h = m.header
        if m.command == Command.HEARTBEAT:
            self._on_heartbeat(h, now)
        elif m.command == Command.JOB:
            self._on_job(h.get("id"), h.get("queue"), h.get("attempt"), m.payload)
        elif m.command == Command.JOBS:
            self.counters["job_batches"] += 1
            if h.get("packed") is True:
                self.counters["packed_job_batches"] += 1  # decode() unpacked it already
            for (id, queue, attempt), payload in zip(p.lease_entries(h["jobs"], 3), m.payloads):
                self._on_job(id, queue, attempt, payload)
        elif m.command == Command.ABANDON:
            self._on_abandon((h.get("id", ""), h.get("attempt", 0)), h.get("reason", ""))
        elif m.command == Command.RECALL:
            self._on_recall((h.get("id", ""), h.get("attempt", 0)))
        elif m.command == Command.ERROR:
            self._on_error(h, now)
        elif m.command == Command.DISCONNECT:
            log.info("broker disconnected us reason=%r", h.get("reason", ""))
            self._connection_lost(now, "broker_disconnect")
        else:
            log.warning("unexpected message from broker: %r", m)

    def _on_heartbeat(self, h: Dict[str, Any], now: float) -> None:
        self._ready_refusals = 0
        interval_ms, liveness = h.get("interval_ms"), h.get("liveness")
        if isinstance(interval_ms, int) and p.MIN_HEARTBEAT_INTERVAL_MS <= interval_ms <= p.MAX_HEARTBEAT_INTERVAL_MS:
            self._interval = interval_ms / 1000
        if isinstance(liveness, int) and 1 <= liveness <= 100:
            self._liveness = liveness
        idle_ms = h.get("idle_interval_ms")
        if isinstance(idle_ms, int) and p.MIN_HEARTBEAT_INTERVAL_MS <= idle_ms <= p.MAX_IDLE_HEARTBEAT_INTERVAL_MS:
            self._idle_interval = max(self._interval, idle_ms / 1000)
        else:
            self._idle_interval = self._interval  # a broker before §9's idle interval
        # Adopting a shorter interval must reschedule the next heartbeat too (issue 16 point 1):
        # it is due one interval after the last, read from the adopted values.
        batch = h.get("batch")
        if isinstance(batch, int) and batch > 0:
            self._broker_batch = min(batch, max(self.batch, 1))
        limit = h.get("max_payload_bytes")
        if isinstance(limit, int) and limit > 0:
            self._max_result_bytes = limit
        # The latest HEARTBEAT decides (§3.1): the broker sends the field in every one.
        self._broker_reads_packed = h.get("reads_packed") is True
        # The broker answers READY with a HEARTBEAT, after the ABANDONs of the leases it does not
        # know: what is still kept is its to take.
        self._deliver_unsent()

    def _on_job(self, id: Any, queue: Any, attempt: Any, payload: bytes) -> None:
        if not isinstance(id, str) or not isinstance(queue, str) or not isinstance(attempt, int):
            log.warning("malformed JOB from broker id=%r", id)
            return
        if queue not in self._handlers:
            self._send(Command.FAIL, {"id": id, "attempt": attempt, "error": f"worker {self.name} serves no queue {queue}"})
            return
        key = (id, attempt)
        if key in self._running:
            return  # the lease is already ours and running
        self.counters["jobs"] += 1
        if self._state.startswith("draining") and len(self._running) >= self.capacity:
            # Sent before the broker read our DRAIN, and no slot free: it would only wait here.
            self._give_back_unstarted(key, _GIVEN_BACK_WHILE_DRAINING)
            return
        job = Job(id, queue, attempt, payload, self._max_result_bytes)
        self._running[key] = _Running(job)
        self._pool.submit(job)

    def _on_recall(self, key: Lease) -> None:
        """§5.32: the broker wants a job held ready back for an idle worker. Started (or ended)
        already, it runs on here and the broker waits for its end."""
        running = self._running.get(key)
        if running is None or running.abandoned or self._pool.take_back(key) is None:
            log.debug("recall ignored job=%s attempt=%s reason=started", key[0], key[1])
            return
        self.counters["recalled"] += 1
        self._give_back_unstarted(key, "recalled by the broker before it started")

    def _give_back_unstarted(self, key: Lease, why: str) -> None:
        """FAIL not_started for a job held ready that never ran: the broker leases it to another
        worker, uncounted (§11). Unlike a handler's NotStarted, this worker is not at fault."""
        self._running.pop(key, None)
        self.counters["given_back"] += 1
        report: Report = (Command.FAIL, {"id": key[0], "attempt": key[1], "error": why, "not_started": True}, None)
        if self._answered:
            self._send_report(report)
        else:
            self._unsent[key] = report

    def _on_abandon(self, key: Lease, reason: str) -> None:
        if self._unsent.pop(key, None) is not None:
            log.info("abandoned job=%s attempt=%s reason=%s result=dropped", key[0], key[1], reason)
            return
        running = self._running.get(key)
        if running is None or running.abandoned:
            return
        # The broker has revoked the lease: nothing more may be sent for it.
        running.abandoned = True
        running.held_progress = None
        running.job.stopped.set()
        self.counters["abandoned"] += 1
        log.info("abandoned job=%s attempt=%s reason=%s", key[0], key[1], reason)
        if self._pool.take_back(key) is not None:
            del self._running[key]  # held ready, never started: it never will be

    def _on_error(self, h: Dict[str, Any], now: float) -> None:
        error = broker_error(h)
        if isinstance(error, AccessDenied):
            self._fatal = error
        elif error.code == "unknown_worker":
            # The broker restarted or declared us dead: announce ourselves again on this socket,
            # once per interval however many messages were refused meanwhile.
            if now >= self._last_ready_again + self._interval:
                log.info("broker does not know this worker; sending READY again")
                self._last_ready_again = now
                self.counters["ready_again"] += 1
                self._send_ready()
        elif error.code in ("id_conflict", "too_many_workers", "too_many_queues") and error.command == "READY":
            # Not registered: try again on a new connection after the backoff, which keeps growing
            # while the broker is full (of workers, or of queues: §7 has no row for the latter yet).
            log.error("broker refused this worker: %s", error)
            if error.code != "id_conflict":
                self._reconnect_tries = self._ready_refusals
                self._ready_refusals += 1
            self._connection_lost(now, error.code)
        else:
            log.warning("error from broker: %s", error)

    # ------------------------------------------------------------------ from the handlers

    def _handle_outcomes(self) -> None:
        while True:
            try:
                frames = self._outcomes.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            kind, id, attempt = frames[0], frames[1].decode(), int(frames[2])
            if kind == PROGRESS:
                self._on_progress((id, attempt), int(frames[3]), frames[4].decode())
            else:
                self._end_attempt((id, attempt), kind, frames[3])

    def _end_attempt(self, key: Lease, kind: bytes, body: bytes) -> None:
        running = self._running.pop(key, None)
        if running is None or running.abandoned:
            return  # revoked meanwhile: the broker has moved on
        if running.held_progress is not None and self._answered:
            self._send(Command.PROGRESS, running.held_progress)
        lease = {"id": key[0], "attempt": key[1]}
        self.counters["done" if kind == DONE else "failed"] += 1
        if kind == NOT_STARTED:
            self._give_back_not_started(key, body.decode("utf-8", "replace"))
            return
        self._pause = _NOT_STARTED_PAUSE_MIN  # a job started: start failures no longer follow each other
        if kind == DONE:
            report: Report = (Command.DONE, lease, body)
        else:
            error = body.decode("utf-8", "replace")
            fail = dict(lease, error=error, permanent=True) if kind == FAILED_PERMANENTLY else dict(lease, error=error)
            report = (Command.FAIL, fail, None)
            log.warning("job failed job=%s attempt=%s permanent=%s error=%r", key[0], key[1], kind == FAILED_PERMANENTLY, error[:200])
        if not self._answered:
            self._unsent[key] = report  # sent once the next READY is answered
        else:
            self._send_report(report)

    def _give_back_not_started(self, key: Lease, error: str) -> None:
        """§5.12: FAIL not_started gives the lease back uncounted. DRAIN goes first, so that the
        broker does not hand the freed credit straight back to this worker; READY ends the pause."""
        now = time.monotonic()
        if self._paused_until is None:
            # A new pause. Failures during it (jobs that were already here) belong to it: they
            # neither lengthen it nor double the next one.
            if not self._state.startswith("draining"):
                self._send(Command.DRAIN, {})
                self._give_back_waiting(_GIVEN_BACK_WHILE_PAUSED)  # §11: a draining worker holds nothing ready
            self._paused_until = now + self._pause
            log.warning("job not started; given back uncounted job=%s attempt=%s pause=%.0f s error=%r",
                        key[0], key[1], self._pause, error[:200])
            self._pause = min(self._pause * 2, _NOT_STARTED_PAUSE_MAX)
        else:
            log.warning("job not started; given back uncounted job=%s attempt=%s error=%r", key[0], key[1], error[:200])
        report: Report = (Command.FAIL, {"id": key[0], "attempt": key[1], "error": error, "not_started": True}, None)
        if self._answered:
            self._send_report(report)
        else:
            self._unsent[key] = report

    def _send_report(self, report: Report) -> None:
        command, header, payload = report
        if command == Command.DONE and self._broker_batch > 1:
            self._held_dones.append((header["id"], header["attempt"], payload or b""))
            if len(self._held_dones) >= self._broker_batch:
                self._send_held_dones()
        else:
            self._send(command, header, [payload] if payload is not None else None)

    def _send_held_dones(self) -> None:
        if not self._held_dones or self._sock is None:
            return
        held, self._held_dones = self._held_dones, []
        if len(held) == 1:
            id, attempt, result = held[0]
            self._send(Command.DONE, {"id": id, "attempt": attempt}, [result])
        else:
            self.counters["done_batches"] += 1
            header = {"done": [[id, attempt] for id, attempt, _ in held]}
            results = [result for _, _, result in held]
            frames, packed = p.encode_batch(Command.DONES, header, results, pack=self._broker_reads_packed)
            if packed:
                self.counters["packed_done_batches"] += 1
            self._send_frames(Command.DONES, frames)

    def _deliver_unsent(self) -> None:
        if not self._unsent or not self._answered:
            return
        log.info("delivering results kept across a reconnect count=%d", len(self._unsent))
        unsent, self._unsent = self._unsent, {}
        for report in unsent.values():
            self._send_report(report)

    def _on_progress(self, key: Lease, percent: int, message: str) -> None:
        running = self._running.get(key)
        if running is None or running.abandoned or not self._answered:
            return
        progress = {"id": key[0], "attempt": key[1], "percent": percent, "message": message}
        now = time.monotonic()
        if now >= running.progress_sent_at + _MIN_PROGRESS_INTERVAL:
            running.held_progress = None
            running.progress_sent_at = now
            self._send(Command.PROGRESS, progress)
        else:
            running.held_progress = progress  # a newer report replaces one still held

    def _send_held_progress(self, now: float) -> None:
        for running in self._running.values():
            if running.held_progress is None or now < running.progress_sent_at + _MIN_PROGRESS_INTERVAL:
                continue
            progress, running.held_progress = running.held_progress, None
            if self._answered:
                running.progress_sent_at = now
                self._send(Command.PROGRESS, progress)

    # ------------------------------------------------------------------ control

    def _handle_control(self) -> None:
        while True:
            try:
                command = self._control.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            if command == _STOP:
                self._finish("stopping")
                return
            if command == _DRAIN and not self._state.startswith("draining"):
                self._begin_drain()

    def _begin_drain(self) -> None:
        now = time.monotonic()
        self._drain_deadline = now + self.drain_timeout if self.drain_timeout > 0 else float("inf")
        log.info("draining in_flight=%d", len(self._running))
        if self._sock is None:
            self._state = "draining_disconnected"  # waiting to reconnect: do not
            # Nothing can be given back without a connection: the jobs held ready are dropped
            # unrun, and the broker gives their leases to others when it declares us dead.
            for job in self._pool.take_waiting():
                self._running.pop((job.id, job.attempt), None)
            return
        self._state = "draining"
        self._send(Command.DRAIN, {})
        # DRAIN first, so that the broker hands these to other workers, not back here (§11).
        self._give_back_waiting(_GIVEN_BACK_WHILE_DRAINING)

    def _give_back_waiting(self, why: str) -> None:
        """Gives back every job held ready that no handler thread has taken yet (§11)."""
        given_back = 0
        for job in self._pool.take_waiting():
            key = (job.id, job.attempt)
            running = self._running.get(key)
            if running is None or running.abandoned:
                self._running.pop(key, None)  # the broker took the lease back already
                continue
            self._give_back_unstarted(key, why)
            given_back += 1
        if given_back:
            log.info("jobs given back unstarted count=%d reason=%s", given_back, why)
