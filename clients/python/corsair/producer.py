"""Producer: submits jobs to a Corsair broker over one DEALER and collects their outcomes.

It owns its socket, so it must be used from the thread that created it (checked on every call).
Nothing runs in the background: the socket is pumped while a call waits (submit on a full window,
events(), results(), wait(), and the blocking requests).

Reliability (docs/protocol.md §8), as the C++ producer does it:

- a SUBMIT not answered within `resend_after` (plus `accept_within` for one that carries it) is
  sent again with the same id: the broker deduplicates by id (§12);
- while results are awaited and the broker has been quiet for `check_after`, the oldest accepted
  awaited jobs are asked about with STATUS. A STATUS_REPLY in a final state delivers the result;
  an ERROR ``unknown_job`` means the broker lost its state, so every awaited job is submitted
  again, same ids;
- ACCEPTED and STATUS_REPLY carry ``broker_instance``: a new value means the broker restarted
  (its journal kept the jobs, not this connection as the place for their RESULTs), so every
  awaited job is submitted again with ``wants_result`` and the broker answers ``existed: true``
  and sends the results here;
- payloads are kept until a job is accepted (or, if its result is awaited, until it arrives).

Packed batches (§3.1): every SUBMIT and SUBMITS says ``reads_packed``, so RESULTS may come with
every result in one frame, and the broker's ACCEPTED says whether it reads packed SUBMITS. Once
one did, SUBMITS go packed when the frame fits; a broker from before packing that took its place
answers ERROR ``bad_frame_count`` "SUBMITS...", and those jobs go again unpacked. A broker restart
forgets what the previous broker said.

The DEALER is never replaced: ZeroMQ reconnects it to a restarted broker by itself, and
``ZMQ_IMMEDIATE`` is left unset (§2).
"""

from __future__ import annotations

import collections
import math
import os
import threading
import time
from typing import Any, Callable, Deque, Dict, Iterable, Iterator, List, Optional, Set, Tuple, Union

import zmq

from . import protocol as p
from .curve import CurveKeys, apply_curve, silence_hint
from .errors import BrokerError, BrokerTimeout, LimitExceeded, broker_error
from .job_options import Seconds, check_name, job_fields, milliseconds
from .replies import (
    Accepted,
    DeadSet,
    Event,
    JobStatus,
    ListPage,
    Progress,
    QueueSettings,
    Refused,
    Result,
    Stats,
)
from .protocol import Command, Message

_CHECKS_PER_ROUND = 8
_MAX_CHECK_SCAN = 4096
_MAX_RECEIVES_PER_PUMP = 4096
_TRY_LATER_SUBMIT = frozenset({"shutting_down", "queue_full", "storage_unavailable"})


class _Job:
    """One submitted job this producer still tracks (until accepted, or until its result)."""

    __slots__ = (
        "id",
        "queue",
        "payload",
        "wants_result",
        "fields",
        "sends_accept_within",
        "accepted",
        "job_id",
        "sent_at",
        "queued",
        "reported",
        "batched",
    )

    def __init__(self, id: str, queue: str, payload: bytes, wants_result: bool, fields: Dict[str, Any], aw: bool):
        self.id = id
        self.queue = queue
        self.payload = payload
        self.wants_result = wants_result
        self.fields = fields
        self.sends_accept_within = aw
        self.accepted = False
        self.job_id = ""  # set when a unique_key made the broker answer for another job
        self.sent_at = 0.0
        self.queued = False
        self.reported = False
        self.batched = False  # its last SUBMIT went in a SUBMITS


class Producer:
    """A connection to a broker's producer endpoint.

    ``Producer("tcp://127.0.0.1:5555")`` connects lazily and never blocks. Use it as a context
    manager, or call close(). Durations are in seconds.

    Options: `window` most submits awaiting acceptance before submit() blocks; `resend_after`
    resend a SUBMIT not answered by then; `accept_within` sent as ``accept_within_ms`` on
    pipelined submits awaiting a result (the broker may then let the RESULT stand for the
    ACCEPTED, §5.1); `results_batch` lets the broker send RESULTS of up to that many;
    `submit_batch` most jobs submit_many() sends in one SUBMITS (§5.33; 0 or 1: one SUBMIT each); `check_after`
    silence before awaited jobs are checked with STATUS; `silence_limit` how long a full window
    may wait on a silent broker before BrokerTimeout (None: for ever); `retry_try_later` resend
    SUBMITs refused with queue_full, shutting_down or storage_unavailable instead of reporting
    them; `on_progress` called with each Progress while the producer pumps; `curve` CURVE keys.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        window: int = 1000,
        resend_after: Seconds = 3.0,
        accept_within: Seconds = 0.1,
        results_batch: int = 64,
        submit_batch: int = 64,
        check_after: Seconds = 2.0,
        silence_limit: Optional[Seconds] = None,
        retry_try_later: bool = False,
        max_payload_bytes: int = 0,
        on_progress: Optional[Callable[[Progress], None]] = None,
        curve: Optional[CurveKeys] = None,
        context: Optional[zmq.Context] = None,
    ) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self._accept_within_ms = milliseconds("accept_within", accept_within, 0, p.MAX_ACCEPT_WITHIN_MS)
        if not 0 <= results_batch <= p.MAX_BATCH_ENTRIES:
            raise ValueError(f"results_batch must be between 0 and {p.MAX_BATCH_ENTRIES}")
        if not 0 <= submit_batch <= p.MAX_BATCH_ENTRIES:
            raise ValueError(f"submit_batch must be between 0 and {p.MAX_BATCH_ENTRIES}")
        self.submit_batch = submit_batch
        self.window = window
        self.resend_after = float(resend_after)
        self.results_batch = results_batch
        self.check_after = float(check_after)
        self.silence_limit = silence_limit
        self.retry_try_later = retry_try_later
        self.on_progress = on_progress
        self._own_max_payload = max_payload_bytes
        self._owner = threading.get_ident()
        self._context = context or zmq.Context.instance()
        self._sock = self._context.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 100)
        self._sock.setsockopt(zmq.MAXMSGSIZE, p.CLIENT_MAX_MESSAGE_BYTES)
        apply_curve(self._sock, curve)
        self._silence_hint = silence_hint(curve)
        self._sock.connect(endpoint)
        self.endpoint = endpoint
        self._prefix = os.urandom(8).hex()
        self._sequence = 0
        self._jobs: Dict[str, _Job] = {}
        self._unanswered = (collections.OrderedDict(), collections.OrderedDict())  # by sends_accept_within
        self._awaited: "collections.OrderedDict[str, _Job]" = collections.OrderedDict()
        self._aliases: Dict[str, Set[str]] = {}
        self._unaccepted = 0
        self._outbox: Deque[Union[_Job, List[bytes]]] = collections.deque()
        # Refused with too_many_in_flight: sent again, in order, as acknowledgements make room.
        self._held: Deque[_Job] = collections.deque()
        self._events: Deque[Event] = collections.deque()
        self._finished: Dict[str, Result] = {}
        self._waited: Set[str] = set()  # ids wait() returned: their other events are dropped
        self._compact_at = 1024
        self._pending: Optional[Callable[[Message], bool]] = None
        self._answer: Optional[Message] = None
        self._broker_instance = 0
        self._broker_max_payload: Optional[int] = None
        self._broker_max_in_flight: Optional[int] = None
        self._broker_reads_submits = True  # until a broker from before SUBMITS says otherwise (§15)
        self._broker_reads_packed = False  # until an ACCEPTED says it reads packed SUBMITS (§3.1)
        now = time.monotonic()
        self._last_heard = now
        self._last_check = now
        self._silent_since = now
        self._pumped_at = now
        self.resubmissions = 0
        self.dropped_messages = 0
        # Batches that travelled packed (§3.1): SUBMITS sent, RESULTS received.
        self.packed_submits = 0
        self.packed_results = 0

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        """Closes the socket; jobs still tracked are forgotten locally (the broker keeps them)."""
        if not self._sock.closed:
            self._sock.close(linger=100)

    def __enter__(self) -> "Producer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _check_thread(self) -> None:
        if threading.get_ident() != self._owner:
            raise RuntimeError("a Producer must be used from the thread that created it")

    # ------------------------------------------------------------------ submitting

    def new_job_id(self) -> str:
        """A job id unique across processes: 64 random bits in hex, "-", a sequence number."""
        self._sequence += 1
        return f"{self._prefix}-{self._sequence}"

    def submit(
        self,
        queue: str,
        payload: Union[bytes, str] = b"",
        *,
        id: Optional[str] = None,
        wants_result: bool = True,
        **options: Any,
    ) -> str:
        """Sends a SUBMIT now (pipelined) and returns the job's id (`id`, or a new one).

        Blocks, pumping the socket, only while `window` submits await acceptance. The outcome
        arrives through events(), results() or wait(), under this id. `options` are those of
        job_options.job_fields: priority, max_attempts, backoff, backoff_max, backoff_jitter_pct,
        attempt_timeout, delay (seconds), run_at (datetime or Unix seconds), unique_key. Raises
        ValueError on a bad option, LimitExceeded for a payload over the broker's known limit.
        """
        self._check_thread()
        job = self._track(queue, payload, id, wants_result, options, wants_result and self._accept_within_ms > 0)
        self._wait_for_window()
        self._queue_submit(job)
        self._flush_outbox()
        return job.id

    def submit_many(
        self, queue: str, payloads: Iterable[Union[bytes, str]], *, wants_result: bool = True, **options: Any
    ) -> List[str]:
        """submit() for each payload with the same options; returns the ids in order.

        The jobs leave as SUBMITS of up to `submit_batch` jobs (§5.33), each still accepted or
        refused on its own; jobs with a unique_key go as single SUBMITs. Blocks, as submit() does,
        while the window is full."""
        self._check_thread()
        aw = wants_result and self._accept_within_ms > 0
        ids: List[str] = []
        for payload in payloads:
            job = self._track(queue, payload, None, wants_result, options, aw)
            self._wait_for_window()
            self._queue_submit(job)
            ids.append(job.id)
            if len(self._outbox) >= max(self.submit_batch, 1):
                self._flush_outbox()
        self._flush_outbox()
        return ids

    def submit_wait(
        self,
        queue: str,
        payload: Union[bytes, str] = b"",
        *,
        id: Optional[str] = None,
        wants_result: bool = False,
        timeout: Seconds = 10.0,
        **options: Any,
    ) -> Accepted:
        """Submits one job and blocks for its ACCEPTED (resending meanwhile). Raises the broker's
        BrokerError if it refuses the job, BrokerTimeout if no answer comes within `timeout`."""
        self._check_thread()
        job = self._track(queue, payload, id, wants_result, options, False)
        self._queue_submit(job)
        deadline = time.monotonic() + timeout
        while True:
            for event in list(self._events):
                if event.id == job.id and isinstance(event, (Accepted, Refused)):
                    self._events.remove(event)
                    if isinstance(event, Refused):
                        raise event.error
                    return event
            if time.monotonic() >= deadline:
                self._forget(job)
                raise BrokerTimeout(f"no ACCEPTED for job {job.id} within {timeout} s" + self._silence_hint)
            self._pump(deadline)

    def run(self, queue: str, payload: Union[bytes, str] = b"", *, timeout: Seconds = 60.0, **options: Any) -> Result:
        """Submits one job and blocks for its Result (done, failed or cancelled alike)."""
        job_id = self.submit(queue, payload, wants_result=True, **options)
        return self.wait(job_id, timeout)

    def _track(
        self, queue: str, payload: Any, id: Optional[str], wants_result: bool, options: Dict[str, Any], aw: bool
    ) -> _Job:
        check_name("queue", queue, p.MAX_QUEUE_NAME_BYTES)
        data = p.as_bytes(payload)
        if len(data) > p.DEFAULT_MAX_PAYLOAD_BYTES and self._broker_max_payload is None:
            # §8: every broker reads 8 MiB; past that, a frame over its ZMQ_MAXMSGSIZE would cost
            # the connection with no reply, so learn its limit first (one STATS).
            self.stats()
        limit = self._payload_limit()
        if limit is not None and len(data) > limit:
            raise LimitExceeded("payload_too_large", f"payload of {len(data)} bytes over the limit of {limit} bytes")
        fields = job_fields(**options)
        job_id = self.new_job_id() if id is None else check_name("id", id, p.MAX_JOB_ID_BYTES)
        if job_id in self._jobs:
            raise ValueError(f"job {job_id} is already in flight on this producer")
        job = _Job(job_id, queue, data, wants_result, fields, aw)
        self._jobs[job_id] = job
        self._waited.discard(job_id)  # its new events are not those wait() already returned
        self._unaccepted += 1
        if wants_result:
            self._awaited[job_id] = job
        return job

    def _payload_limit(self) -> Optional[int]:
        limits = [x for x in (self._own_max_payload or None, self._broker_max_payload) if x]
        return min(limits) if limits else None

    def _wait_for_window(self) -> None:
        while self._unaccepted > self._window_limit():
            now = time.monotonic()
            if self.silence_limit is not None and now - max(self._last_heard, self._silent_since) > self.silence_limit:
                raise BrokerTimeout(f"the window stayed full while the broker was silent for {self.silence_limit} s" + self._silence_hint)
            self._pump(now + 0.5)

    def _window_limit(self) -> int:
        # The job just tracked counts already, hence "more than the limit" blocks.
        return min(self.window, self._broker_max_in_flight or self.window)

    def _queue_submit(self, job: _Job) -> None:
        if not job.queued:
            job.queued = True
            self._outbox.append(job)

    def _send_submit(self, job: _Job) -> bool:
        header: Dict[str, Any] = {"id": job.id, "queue": job.queue, "wants_result": job.wants_result}
        header.update(job.fields)
        at = header.get("run_at_ms")
        if at is not None and at <= time.time() * 1000:
            del header["run_at_ms"]  # its time has come: the job is ready at once, as it would have been
        if job.sends_accept_within:
            header["accept_within_ms"] = self._accept_within_ms
        if job.wants_result and self.results_batch:
            header["results_batch"] = self.results_batch
        # RESULTS may come packed, and the ACCEPTED says whether SUBMITS may go packed (§3.1).
        header["reads_packed"] = True
        if not self._send(p.encode(Command.SUBMIT, header, [job.payload])):
            return False
        self._note_sent(job, False)
        return True

    def _note_sent(self, job: _Job, batched: bool) -> None:
        job.queued = False
        job.batched = batched
        job.sent_at = time.monotonic()
        unanswered = self._unanswered[job.sends_accept_within]
        unanswered.pop(job.id, None)
        unanswered[job.id] = job

    def _is_queued(self, job: _Job) -> bool:
        return self._jobs.get(job.id) is job and not job.accepted and job.queued

    def _batchable(self) -> Tuple[List[_Job], int]:
        """The queued jobs at the outbox's front that can share one SUBMITS header (same queue,
        fields and answer fields, no unique_key), up to submit_batch and 60 KiB of ids; and how
        many outbox entries they span."""
        batch: List[_Job] = []
        scanned = 0
        if self.submit_batch < 2 or not self._broker_reads_submits:
            return batch, scanned
        id_bytes = 0
        for item in self._outbox:
            if not isinstance(item, _Job):
                break
            if not self._is_queued(item):
                item.queued = False  # spent (accepted or forgotten meanwhile): a resubmission queues it again
            else:
                if "unique_key" in item.fields:
                    break
                if batch:
                    first = batch[0]
                    if (item.queue, item.wants_result, item.sends_accept_within, item.fields) != (
                        first.queue, first.wants_result, first.sends_accept_within, first.fields
                    ):
                        break
                id_bytes += len(item.id.encode()) + 2
                if len(batch) == self.submit_batch or id_bytes > p.MAX_HEADER_BYTES - 4096:
                    break
                batch.append(item)
            scanned += 1
        return batch, scanned

    def _send_submits(self, jobs: List[_Job]) -> bool:
        first = jobs[0]
        header: Dict[str, Any] = {"queue": first.queue, "wants_result": first.wants_result}
        header.update(first.fields)
        at = header.get("run_at_ms")
        if at is not None and at <= time.time() * 1000:
            del header["run_at_ms"]
        if first.sends_accept_within:
            header["accept_within_ms"] = self._accept_within_ms
        if first.wants_result and self.results_batch:
            header["results_batch"] = self.results_batch
        header["reads_packed"] = True
        header["ids"] = [job.id for job in jobs]
        payloads = [job.payload for job in jobs]
        frames, packed = p.encode_batch(Command.SUBMITS, header, payloads, pack=self._broker_reads_packed)
        if not self._send(frames):
            return False
        if packed:
            self.packed_submits += 1
        for job in jobs:
            self._note_sent(job, True)
        return True

    def _send(self, frames: List[bytes]) -> bool:
        try:
            self._sock.send_multipart(frames, zmq.NOBLOCK)
            return True
        except zmq.Again:
            return False

    def _flush_outbox(self) -> None:
        while self._outbox:
            item = self._outbox[0]
            if isinstance(item, _Job):
                if not self._is_queued(item):
                    item.queued = False
                else:
                    batch, scanned = self._batchable() if len(self._outbox) > 1 else ([], 0)
                    if len(batch) > 1:
                        if not self._send_submits(batch):
                            return
                        for _ in range(scanned):
                            self._outbox.popleft()
                        continue
                    if not self._send_submit(item):
                        return
            elif not self._send(item):
                return
            self._outbox.popleft()

    # ------------------------------------------------------------------ outcomes

    def events(self, timeout: Seconds = 0.0) -> List[Event]:
        """Pumps the socket for up to `timeout` seconds, returning early once something happened,
        and returns what did: Accepted, Result, Progress and Refused events, in order."""
        self._check_thread()
        deadline = time.monotonic() + timeout
        while True:
            taken = self._take_events()
            if taken or time.monotonic() >= deadline:
                return taken
            self._pump(deadline)

    def _take_events(self) -> List[Event]:
        taken = []
        while self._events:
            event = self._pop_event()
            if event is not None:
                taken.append(event)
        return taken

    def _compact_events(self) -> None:
        """Drops the events of jobs wait() has returned, once they would otherwise pile up
        (a caller that only uses run() and wait() never takes them)."""
        if len(self._events) < self._compact_at:
            return
        kept = collections.deque()
        for event in self._events:
            if event.id in self._waited:
                continue
            if isinstance(event, Result) and self._finished.get(event.id) is not event:
                continue
            kept.append(event)
        self._events = kept
        self._waited.clear()
        self._compact_at = max(1024, 2 * len(kept))

    def _pop_event(self) -> Optional[Event]:
        event = self._events.popleft()
        if isinstance(event, Result):
            if self._finished.get(event.id) is not event:
                return None  # already taken by wait()
            del self._finished[event.id]
        return event

    def results(self, timeout: Optional[Seconds] = None) -> Iterator[Union[Result, Refused]]:
        """Yields each awaited job's Result (and each Refused submit) as it comes, until no result
        is awaited. Raises BrokerTimeout if `timeout` seconds pass first. Progress goes to
        `on_progress`; Accepted events are dropped."""
        self._check_thread()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            while self._events:
                # One at a time: a caller that stops iterating leaves the rest for later.
                event = self._pop_event()
                if isinstance(event, (Result, Refused)):
                    yield event
            if not self._awaited:
                return
            if deadline is not None and time.monotonic() >= deadline:
                raise BrokerTimeout(f"{len(self._awaited)} results still awaited after {timeout} s" + self._silence_hint)
            self._pump(deadline if deadline is not None else time.monotonic() + 1.0)

    def wait(self, id: str, timeout: Seconds = 60.0) -> Result:
        """Blocks until the Result of job `id` (submitted with wants_result) and returns it; a
        failed or cancelled job is a Result, not an exception. Raises the BrokerError if the
        SUBMIT was refused, BrokerTimeout on timeout, KeyError if no result of `id` is awaited."""
        self._check_thread()
        deadline = time.monotonic() + timeout
        while True:
            if id in self._finished:
                self._waited.add(id)
                self._compact_events()
                return self._finished.pop(id)
            for event in self._events:
                if isinstance(event, Refused) and event.id == id:
                    self._events.remove(event)
                    raise event.error
            if id not in self._awaited:
                raise KeyError(f"no result of job {id} is awaited")
            if time.monotonic() >= deadline:
                raise BrokerTimeout(f"no result for job {id} within {timeout} s" + self._silence_hint)
            self._pump(deadline)

    @property
    def awaiting_acceptance(self) -> int:
        """Submits neither accepted nor ended yet: those that fill the window."""
        return self._unaccepted

    @property
    def awaiting_results(self) -> int:
        """Jobs submitted with wants_result whose result has not come yet."""
        return len(self._awaited)

    def _emit(self, event: Event) -> None:
        if isinstance(event, Result):
            self._finished[event.id] = event
        if isinstance(event, Progress) and self.on_progress is not None:
            self.on_progress(event)
        self._events.append(event)

    def _forget(self, job: _Job) -> None:
        if self._jobs.get(job.id) is not job:
            return
        del self._jobs[job.id]
        if not job.accepted:
            self._unaccepted -= 1
        for unanswered in self._unanswered:
            unanswered.pop(job.id, None)
        self._awaited.pop(job.id, None)
        self._unalias(job)

    def _unalias(self, job: _Job) -> None:
        if job.job_id:
            ids = self._aliases.get(job.job_id, set())
            ids.discard(job.id)
            if not ids:
                self._aliases.pop(job.job_id, None)
            job.job_id = ""

    def _awaiting(self, job_id: str) -> List[_Job]:
        """The tracked jobs whose results and progress come under the broker's `job_id`."""
        jobs = []
        own = self._jobs.get(job_id)
        if own is not None and not own.job_id:
            jobs.append(own)
        for id in self._aliases.get(job_id, ()):
            if id in self._jobs:
                jobs.append(self._jobs[id])
        return jobs

    # ------------------------------------------------------------------ the pump

    def _pump(self, deadline: float) -> None:
        """Sends what is due, waits for the broker until `deadline` or a message, reads it all."""
        self._flush_outbox()
        now = time.monotonic()
        self._run_timers(now)
        self._flush_outbox()
        wake = min(deadline, self._next_timer(now))
        flags = zmq.POLLIN | (zmq.POLLOUT if self._outbox else 0)
        timeout_ms = max(0, min(60000, math.ceil((wake - now) * 1000)))
        if now - self._pumped_at > self.check_after:
            self._silent_since = now  # the caller was away: not the broker's silence
        self._pumped_at = now
        self._sock.poll(timeout_ms, flags)
        self._pumped_at = time.monotonic()
        self._receive_available()
        self._flush_outbox()

    def _release_held(self) -> None:
        """Sends SUBMITs refused with too_many_in_flight again while the broker's limit allows."""
        limit = self._broker_max_in_flight or self.window
        while self._held and self._unaccepted - len(self._held) < limit:
            job = self._held.popleft()
            if self._jobs.get(job.id) is job and not job.accepted:
                self.resubmissions += 1
                self._queue_submit(job)

    def _run_timers(self, now: float) -> None:
        self._release_held()
        for aw, unanswered in enumerate(self._unanswered):
            delay = self.resend_after + (self._accept_within_ms / 1000 if aw else 0.0)
            while unanswered:
                job = next(iter(unanswered.values()))
                if job.sent_at + delay > now:
                    break
                unanswered.popitem(last=False)
                self.resubmissions += 1
                self._queue_submit(job)
        if not self._awaited or now - self._last_heard < self.check_after or now - self._last_check < self.check_after:
            return
        # The broker is quiet while results are awaited: make sure it still knows the oldest jobs.
        self._last_check = now
        checked = 0
        for scanned, job in enumerate(self._awaited.values()):
            if scanned >= _MAX_CHECK_SCAN or checked == _CHECKS_PER_ROUND:
                break
            if not job.accepted:
                continue  # its SUBMIT is still being answered or resent
            self._outbox.append(p.encode(Command.STATUS, {"id": job.job_id or job.id}))
            checked += 1

    def _next_timer(self, now: float) -> float:
        wake = math.inf
        for aw, unanswered in enumerate(self._unanswered):
            if unanswered:
                delay = self.resend_after + (self._accept_within_ms / 1000 if aw else 0.0)
                wake = min(wake, next(iter(unanswered.values())).sent_at + delay)
        if self._awaited:
            wake = min(wake, max(self._last_heard, self._last_check) + self.check_after)
        return max(wake, now)

    def _receive_available(self) -> None:
        for _ in range(_MAX_RECEIVES_PER_PUMP):
            try:
                frames = self._sock.recv_multipart(zmq.NOBLOCK, copy=True)
            except zmq.Again:
                return
            try:
                message = p.decode(frames)
            except p.MalformedMessage:
                self.dropped_messages += 1
                continue
            self._last_heard = time.monotonic()
            try:
                self._handle(message)
            except (p.MalformedMessage, KeyError, TypeError, ValueError, AttributeError):
                self.dropped_messages += 1  # a field of the wrong shape: peer input never raises here

    def _handle(self, m: Message) -> None:
        is_answer = self._pending is not None and self._answer is None and self._pending(m)
        if is_answer:
            self._answer = m
        h = m.header
        command = m.command
        if command == Command.ACCEPTED:
            self._note_broker_instance(h.get("broker_instance", 0))  # first: a restart forgets reads_packed
            if h.get("reads_packed") is True:
                self._broker_reads_packed = True
            self._on_accepted(h)
        elif command == Command.RESULT:
            self._deliver(h.get("id", ""), h.get("state", ""), h.get("attempt", 0), m.payload, h.get("error", ""))
        elif command == Command.RESULTS:
            if h.get("packed") is True:
                self.packed_results += 1  # decode() unpacked it already
            for entry, payload in zip(p.lease_entries(h.get("results", []), 4), m.payloads):
                self._deliver(entry[0], entry[1], entry[2], payload, entry[3])
        elif command == Command.STATUS_REPLY:
            self._note_broker_instance(h.get("broker_instance", 0))
            if h.get("state") in p.FINAL_STATES and h.get("job_payload") is not True:
                self._deliver(h.get("id", ""), h["state"], h.get("attempt", 0), m.payload, h.get("error", ""))
        elif command == Command.STATS_REPLY:
            self._note_broker_instance(h.get("broker_instance", 0))
        elif command == Command.PROGRESS:
            self._on_progress(h)
        elif command == Command.ERROR:
            self._on_error(broker_error(h), is_answer)
        elif command not in (Command.OK, Command.DEAD_REPLY, Command.LIST_REPLY, Command.QUEUE):
            self.dropped_messages += 1

    def _on_accepted(self, h: Dict[str, Any]) -> None:
        job = self._jobs.get(h.get("id", ""))
        if job is None or job.accepted:
            return  # a resend's second ACCEPTED, or one after the RESULT
        self._mark_accepted(job, h.get("job_id") or job.id, h.get("existed") is True)
        if not job.wants_result:
            self._forget(job)

    def _mark_accepted(self, job: _Job, job_id: str, existed: bool) -> None:
        job.accepted = True
        self._unaccepted -= 1
        job.payload = job.payload if job.wants_result else b""
        self._unanswered[job.sends_accept_within].pop(job.id, None)
        if job_id != job.id and job.wants_result:
            job.job_id = job_id
            self._aliases.setdefault(job_id, set()).add(job.id)
        if not job.reported:
            job.reported = True
            self._emit(Accepted(job.id, job_id, existed))

    def _deliver(self, job_id: str, state: str, attempt: int, result: bytes, error: str) -> None:
        for job in self._awaiting(job_id):
            if not job.wants_result:
                continue
            if not job.accepted:
                # The RESULT acknowledges the SUBMIT too (its ACCEPTED was held back or lost).
                self._mark_accepted(job, job_id, False)
            self._forget(job)
            self._emit(Result(job.id, job_id, state, attempt, bytes(result), error))

    def _on_progress(self, h: Dict[str, Any]) -> None:
        job_id = h.get("id", "")
        for job in self._awaiting(job_id):
            self._emit(Progress(job.id, job_id, h.get("attempt", 0), h.get("percent", 0), h.get("message", "")))

    def _on_error(self, error: BrokerError, is_answer: bool) -> None:
        if self._refused_submits(error):
            return
        if error.code == "payload_too_large" and error.max_payload_bytes:
            self._broker_max_payload = error.max_payload_bytes
        if error.code == "too_many_in_flight":
            if error.max_in_flight:
                self._broker_max_in_flight = max(1, error.max_in_flight)
            job = self._jobs.get(error.id)
            if job is not None and not job.accepted:
                self._unanswered[job.sends_accept_within].pop(job.id, None)
                if job not in self._held:
                    self._held.append(job)
                return
        if error.code == "unknown_job" and error.command in ("", "STATUS"):
            # An accepted job the broker no longer knows: it lost its state (a restart without a
            # journal). Every awaited job is gone too: submit them all again, same ids.
            if any(job.accepted for job in self._awaiting(error.id)):
                self._resubmit_awaited()
            return
        if is_answer or error.command not in ("", "SUBMIT"):
            return  # refusals of other requests go to their blocking call
        job = self._jobs.get(error.id)
        if job is None or job.accepted:
            return
        if self.retry_try_later and error.code in _TRY_LATER_SUBMIT:
            return  # nothing was queued: its resend timer sends it again, same id
        self._forget(job)
        self._emit(Refused(job.id, error))

    def _refused_submits(self, error: BrokerError) -> bool:
        """Whether `error` is an older broker refusing a whole SUBMITS, whose jobs then go again.

        §15: a broker from before SUBMITS answers ERROR unknown_command with no id and no command;
        its jobs go again as single SUBMITs, and only SUBMITs from now on. §3.1: a broker from
        before packed batches (one that took the place of the broker that said it reads them, its
        restart not yet noticed) answers a packed SUBMITS bad_frame_count "SUBMITS..."; its jobs
        go again unpacked, and SUBMITS stay unpacked until an ACCEPTED says reads_packed again.
        Either way nothing of the batch was queued. False if no SUBMITS awaits an answer."""
        if error.id or error.command:
            return False
        is_before_submits = error.code == "unknown_command" and self._broker_reads_submits
        is_before_packed = (
            error.code == "bad_frame_count" and self._broker_reads_packed and error.message.startswith("SUBMITS")
        )
        if not is_before_submits and not is_before_packed:
            return False
        batched = [job for unanswered in self._unanswered for job in unanswered.values() if job.batched]
        if not batched:
            return False
        if is_before_submits:
            self._broker_reads_submits = False
        else:
            self._broker_reads_packed = False
        for job in batched:
            self._unanswered[job.sends_accept_within].pop(job.id, None)
            self.resubmissions += 1
            self._queue_submit(job)
        return True

    def _note_broker_instance(self, instance: Any) -> None:
        if not isinstance(instance, int) or instance == 0 or instance == self._broker_instance:
            return
        is_restart = self._broker_instance != 0
        self._broker_instance = instance
        if is_restart:
            # A restarted broker may have other limits; and it does not know this connection as
            # the target of the awaited results.
            self._broker_max_payload = None
            self._broker_max_in_flight = None
            self._broker_reads_packed = False  # it may be a broker from before packing (§3.1)
            self._resubmit_awaited()

    def _resubmit_awaited(self) -> None:
        for job in list(self._awaited.values()):
            if job.accepted:
                self._unalias(job)
                job.accepted = False
                self._unaccepted += 1
            elif job.id in self._unanswered[job.sends_accept_within]:
                del self._unanswered[job.sends_accept_within][job.id]
            else:
                continue  # queued for sending already
            self.resubmissions += 1
            self._queue_submit(job)

    # ------------------------------------------------------------------ requests

    def _request(
        self, command: Command, header: Dict[str, Any], matches: Callable[[Message], bool], timeout: Seconds
    ) -> Message:
        """Sends a request and blocks for its answer (§4), resending it every resend_after.
        Raises the broker's ERROR as a BrokerError, BrokerTimeout after `timeout`."""
        self._check_thread()
        if self._pending is not None:
            raise RuntimeError("a request is already waiting on this producer")
        frames = p.encode(command, header)
        self._pending, self._answer = matches, None
        try:
            deadline = time.monotonic() + timeout
            resend_at = time.monotonic()
            while self._answer is None:
                now = time.monotonic()
                if now >= deadline:
                    raise BrokerTimeout(f"no answer to {command.name} within {timeout} s" + self._silence_hint)
                if now >= resend_at:
                    self._outbox.append(frames)
                    resend_at = now + self.resend_after
                self._pump(min(deadline, resend_at))
            answer = self._answer
        finally:
            self._pending, self._answer = None, None
        if answer.command == Command.ERROR:
            raise broker_error(answer.header)
        return answer

    @staticmethod
    def _refusal(m: Message, command: str, id: str) -> bool:
        if m.command != Command.ERROR:
            return False
        h_command, h_id = m.header.get("command", ""), m.header.get("id", "")
        return (h_command == command and h_id in (id, "")) or (h_command == "" and h_id == "")

    def _ok_request(self, command: Command, header: Dict[str, Any], id: str, timeout: Seconds) -> int:
        name = command.name

        def matches(m: Message) -> bool:
            is_ok = m.command == Command.OK and m.header.get("command") == name and m.header.get("id") == id
            return is_ok or self._refusal(m, name, id)

        return self._request(command, header, matches, timeout).header.get("count", 0)

    def status(self, id: str, *, payload: bool = False, timeout: Seconds = 5.0) -> JobStatus:
        """The broker's STATUS_REPLY for job `id`; with `payload` the job's own payload (in
        JobStatus.payload) while the broker holds it. Raises NotFound (unknown_job), Conflict
        (wrong_state: payload asked of an ended job), BrokerTimeout."""
        check_name("id", id, p.MAX_JOB_ID_BYTES)
        header: Dict[str, Any] = {"id": id, "payload": True} if payload else {"id": id}

        def matches(m: Message) -> bool:
            return (m.command == Command.STATUS_REPLY and m.header.get("id") == id) or self._refusal(m, "STATUS", id)

        answer = self._request(Command.STATUS, header, matches, timeout)
        return JobStatus.from_message(answer.header, answer.payload)

    def stats(self, *, timeout: Seconds = 5.0) -> Stats:
        """The broker's STATS_REPLY: counters, queues and workers. Learns its max_payload_bytes."""
        def matches(m: Message) -> bool:
            return m.command == Command.STATS_REPLY or self._refusal(m, "STATS", "")

        answer = self._request(Command.STATS, {}, matches, timeout)
        stats = Stats.from_message(answer.header, p.decode_body(answer.payload))
        if stats.max_payload_bytes:
            self._broker_max_payload = stats.max_payload_bytes
        return stats

    def cancel(self, id: str, *, timeout: Seconds = 5.0) -> None:
        """Cancels a pending, delayed or running job (a running one's worker gets ABANDON); the
        producer awaiting it gets a Result ``cancelled``. Raises NotFound, Conflict (wrong_state)."""
        self._ok_request(Command.CANCEL, {"id": check_name("id", id, p.MAX_JOB_ID_BYTES)}, id, timeout)

    def retry(self, id: str, *, timeout: Seconds = 5.0) -> None:
        """Puts one dead job back in its queue with a fresh round of attempts. Raises NotFound, Conflict."""
        self._ok_request(Command.RETRY, {"id": check_name("id", id, p.MAX_JOB_ID_BYTES)}, id, timeout)

    def retry_all(self, queue: str, *, timeout: Seconds = 5.0) -> int:
        """Puts a queue's whole dead set back; returns how many jobs."""
        check_name("queue", queue, p.MAX_QUEUE_NAME_BYTES)
        return self._ok_request(Command.RETRY, {"queue": queue}, queue, timeout)

    def purge(self, queue: str, id: str = "", *, timeout: Seconds = 5.0) -> int:
        """Removes a queue's dead set, or only its dead job `id`; returns how many jobs."""
        check_name("queue", queue, p.MAX_QUEUE_NAME_BYTES)
        header = {"queue": queue, "id": id} if id else {"queue": queue}
        return self._ok_request(Command.PURGE, header, id or queue, timeout)

    def dead(self, queue: str, limit: int = 100, *, timeout: Seconds = 5.0) -> DeadSet:
        """Up to `limit` jobs of a queue's dead set, newest first, and its total. Raises NotFound."""
        check_name("queue", queue, p.MAX_QUEUE_NAME_BYTES)
        if not 1 <= limit <= p.MAX_DEAD_LISTED:
            raise ValueError(f"limit must be between 1 and {p.MAX_DEAD_LISTED}")

        def matches(m: Message) -> bool:
            return (m.command == Command.DEAD_REPLY and m.header.get("queue") == queue) or self._refusal(
                m, "DEAD", queue
            )

        answer = self._request(Command.DEAD, {"queue": queue, "limit": limit}, matches, timeout)
        body = p.decode_body(answer.payload)
        return DeadSet(queue, answer.header.get("total", 0), list(body.get("jobs", [])))

    def queue_settings(self, queue: str, *, create: bool = False, timeout: Seconds = 5.0, **settings: Any) -> QueueSettings:
        """Reads a queue's settings, or changes those given and returns them all (§5.21).

        Settings: paused (bool), max_length, max_attempts, backoff_jitter_pct, dead_max_count
        (ints), backoff, backoff_max, attempt_timeout, dead_max_age (seconds). With `create` the queue is
        made if missing (QueueSettings.created says so); otherwise an unknown queue raises NotFound.
        """
        check_name("queue", queue, p.MAX_QUEUE_NAME_BYTES)
        header: Dict[str, Any] = {"queue": queue}
        if create:
            header["create"] = True
        header.update(_queue_fields(settings))

        def matches(m: Message) -> bool:
            return (m.command == Command.QUEUE and m.header.get("queue") == queue) or self._refusal(m, "QUEUE", queue)

        return QueueSettings.from_header(self._request(Command.QUEUE, header, matches, timeout).header)

    def pause(self, queue: str, *, timeout: Seconds = 5.0) -> QueueSettings:
        """Stops dispatch from a queue (SUBMITs are still accepted)."""
        return self.queue_settings(queue, paused=True, timeout=timeout)

    def resume(self, queue: str, *, timeout: Seconds = 5.0) -> QueueSettings:
        """Dispatches a paused queue's jobs again."""
        return self.queue_settings(queue, paused=False, timeout=timeout)

    def list(self, queue: str, state: str, *, after: str = "", limit: int = 100, timeout: Seconds = 5.0) -> ListPage:
        """One page of a queue's jobs in `state` (pending, delayed, running or failed)."""
        check_name("queue", queue, p.MAX_QUEUE_NAME_BYTES)
        if state not in p.LISTED_STATES:
            raise ValueError(f"state must be one of {sorted(p.LISTED_STATES)}")
        header: Dict[str, Any] = {"queue": queue, "state": state, "limit": limit}
        if after:
            header["after"] = after

        def matches(m: Message) -> bool:
            is_reply = m.command == Command.LIST_REPLY and (m.header.get("queue"), m.header.get("state")) == (queue, state)
            return is_reply or self._refusal(m, "LIST", queue)

        answer = self._request(Command.LIST, header, matches, timeout)
        h = answer.header
        jobs = list(p.decode_body(answer.payload).get("jobs", []))
        return ListPage(queue, state, h.get("total", 0), h.get("next", ""), jobs)

    def clear(self, queue: str, *, pending: bool = True, delayed: bool = False, timeout: Seconds = 5.0) -> int:
        """Removes a queue's pending (and with `delayed` its delayed) jobs; returns how many."""
        check_name("queue", queue, p.MAX_QUEUE_NAME_BYTES)
        return self._ok_request(Command.CLEAR, {"queue": queue, "pending": pending, "delayed": delayed}, queue, timeout)

    def delete_queue(self, queue: str, *, force: bool = False, timeout: Seconds = 5.0) -> int:
        """Deletes a queue; one holding jobs is refused (Conflict) unless `force`. Returns jobs removed."""
        check_name("queue", queue, p.MAX_QUEUE_NAME_BYTES)
        header: Dict[str, Any] = {"queue": queue, "force": True} if force else {"queue": queue}
        return self._ok_request(Command.DELETE_QUEUE, header, queue, timeout)


_SECONDS_SETTINGS = {
    "backoff": ("backoff_ms", 1, p.MAX_BACKOFF_MS),
    "backoff_max": ("backoff_max_ms", 1, p.MAX_BACKOFF_MS),
    "attempt_timeout": ("timeout_ms", 0, p.MAX_TIMEOUT_MS),
    "dead_max_age": ("dead_max_age_ms", 1, p.MAX_DELAY_MS),
}
_INT_SETTINGS = {
    "max_length": (0, 2**64 - 1),
    "max_attempts": (1, p.MAX_ATTEMPTS_LIMIT),
    "backoff_jitter_pct": (0, 100),
    "dead_max_count": (0, 2**64 - 1),
}


def _queue_fields(settings: Dict[str, Any]) -> Dict[str, Any]:
    fields: Dict[str, Any] = {}
    for name, value in settings.items():
        if value is None:
            continue
        if name == "paused":
            fields["paused"] = bool(value)
        elif name in _SECONDS_SETTINGS:
            wire, low, high = _SECONDS_SETTINGS[name]
            fields[wire] = milliseconds(name, value, low, high)
        elif name in _INT_SETTINGS:
            low, high = _INT_SETTINGS[name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name} must be an integer between {low} and {high}")
            fields[name] = value
        else:
            raise TypeError(f"unknown queue setting {name!r}")
    return fields
