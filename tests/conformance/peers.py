"""Raw producer and worker connections for the conformance tests, one DEALER each (§2).

A `Session` holds every connection of one test. Every wait is bounded by a deadline and, while it
waits, sends each registered worker's HEARTBEAT when it is due (§9), so that a test never loses
a worker to liveness by waiting on another connection. Single-threaded: the test's thread owns
every socket.
"""

from __future__ import annotations

import itertools
import time
import uuid
from typing import Any, Callable, Dict, List, Optional, Sequence

import zmq

import wire
from wire import Message

_names = itertools.count(1)
_POLL_SLICE_S = 0.01


class Timeout(AssertionError):
    """An expected message did not arrive before its deadline."""


class Connection:
    """One DEALER to one broker endpoint; keeps messages received but not yet asked for."""

    def __init__(self, session: "Session", endpoint: str):
        self.session = session
        self.socket = session.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.MAXMSGSIZE, (1 << 30) + (64 << 10))  # §2: kClientMaxMessageBytes
        self.socket.connect(endpoint)
        self.inbox: List[Message] = []

    def send(self, command: int, header: Any, payloads: Optional[Sequence[bytes]] = None) -> None:
        self.send_frames(wire.frames_of(command, header, payloads))

    def send_frames(self, frames: Sequence[bytes]) -> None:
        self.socket.send_multipart(list(frames))

    def _receive_one(self, deadline: float) -> Optional[Message]:
        while True:
            self.session.pump()
            left = deadline - time.monotonic()
            if self.socket.poll(int(max(0.0, min(left, _POLL_SLICE_S)) * 1000)):
                message = wire.decode(self.socket.recv_multipart())
                if self._keeps(message):
                    return message
                continue
            if left <= 0:
                return None

    def _keeps(self, message: Message) -> bool:
        return True

    def expect(self, match: Callable[[Message], bool] | int, timeout: Optional[float] = None,
               what: str = "") -> Message:
        """The first message (kept earlier, or arriving before the deadline) that matches."""
        predicate = match if callable(match) else (lambda m, code=match: m.command == code)
        for i, message in enumerate(self.inbox):
            if predicate(message):
                return self.inbox.pop(i)
        deadline = time.monotonic() + (timeout if timeout is not None else self.session.timeout)
        while True:
            message = self._receive_one(deadline)
            if message is None:
                label = what or (wire.NAMES.get(match, str(match)) if isinstance(match, int) else "a message")
                raise Timeout(f"no {label} before the deadline; kept meanwhile: {self.inbox!r}")
            if predicate(message):
                return message
            self.inbox.append(message)

    def receive_all(self, within: float) -> List[Message]:
        """Everything that arrives within `within` seconds, after what was kept."""
        deadline = time.monotonic() + within
        while (message := self._receive_one(deadline)) is not None:
            self.inbox.append(message)
        kept, self.inbox = self.inbox, []
        return kept

    def take(self, command: int) -> List[Message]:
        """The kept messages of this command, removed from the inbox."""
        taken = [m for m in self.inbox if m.command == command]
        self.inbox = [m for m in self.inbox if m.command != command]
        return taken

    def expect_error(self, code: Optional[str] = None, command: Optional[str] = None,
                     timeout: Optional[float] = None) -> Message:
        """The next ERROR (with `command`, when given); asserts its code."""
        error = self.expect(lambda m: m.command == wire.ERROR and (command is None or m.get("command") == command),
                            timeout, what=f"ERROR {code or ''} {command or ''}")
        if code is not None:
            assert error.get("code") == code, f"expected ERROR {code}, got {error!r}"
        return error

    def barrier(self) -> List[Message]:
        """Sends a message the broker must answer, waits for the answer and returns what came before.

        A broker handles one connection's messages in order, so everything it sent in answer to
        what this connection sent earlier is in the returned list.
        """
        self.send_frames([wire.SIGNATURE, b"\x00", b"\x80"])  # §3: unknown_command, always answered
        self.expect(lambda m: m.command == wire.ERROR and m.get("code") == "unknown_command" and not m.get("command"),
                    what="the barrier's ERROR unknown_command")
        kept, self.inbox = self.inbox, []
        return kept

    def close(self) -> None:
        self.socket.close(0)


class Producer(Connection):
    """A connection to the producer endpoint, with one helper per request of §4's table."""

    def ask(self, command: int, header: Any, payloads: Optional[Sequence[bytes]] = None,
            timeout: Optional[float] = None, like: Optional[Dict[str, Any]] = None) -> Message:
        """Sends one request and returns its answer, matched as §4's table says (by the fields of
        `like` when the header is given as raw bytes)."""
        self.send(command, header, payloads)
        return self.expect(answer_matcher(command, like if like is not None else header), timeout,
                           what=f"the answer to {wire.NAMES[command]}")

    def submit(self, job_id: str, queue: str, payload: bytes = b"", **fields: Any) -> Message:
        return self.ask(wire.SUBMIT, {"id": job_id, "queue": queue, **fields}, [payload])

    def status(self, job_id: str, **fields: Any) -> Message:
        return self.ask(wire.STATUS, {"id": job_id, **fields})

    def stats(self) -> Message:
        return self.ask(wire.STATS, {})

    def queue(self, queue: str, **fields: Any) -> Message:
        return self.ask(wire.QUEUE, {"queue": queue, **fields})

    def result(self, job_id: str, timeout: Optional[float] = None) -> Message:
        return self.expect(lambda m: m.command == wire.RESULT and m.get("id") == job_id, timeout,
                           what=f"RESULT for {job_id}")

    def wait_state(self, job_id: str, state: str, timeout: Optional[float] = None) -> Message:
        """Asks STATUS until the job is in `state`, up to the deadline."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.session.timeout)
        while True:
            reply = self.status(job_id)
            if reply.command == wire.STATUS_REPLY and reply.get("state") == state:
                return reply
            if time.monotonic() >= deadline:
                raise Timeout(f"job {job_id} not {state} before the deadline; last answer {reply!r}")
            self.session.wait(0.01)


def answer_matcher(command: int, header: Any) -> Callable[[Message], bool]:
    """What answers this request (§4, Requests and answers): a decode error, or the reply or
    ERROR that names its command and its job or queue."""
    fields = header if isinstance(header, dict) else {}
    name = wire.NAMES[command]
    job_or_queue = fields.get("id") or fields.get("queue", "")
    replies = {wire.SUBMIT: wire.ACCEPTED, wire.STATUS: wire.STATUS_REPLY, wire.STATS: wire.STATS_REPLY,
               wire.DEAD: wire.DEAD_REPLY, wire.QUEUE: wire.QUEUE, wire.LIST: wire.LIST_REPLY}

    def matches(m: Message) -> bool:
        if m.command == wire.ERROR:
            return m.get("command") == name or (not m.get("command") and not m.get("id"))
        if m.command == wire.OK:
            return m.get("command") == name and m.get("id") == job_or_queue
        if command in (wire.SUBMIT, wire.STATUS) and m.command == replies[command]:
            return m.get("id") == fields.get("id")
        if command == wire.STATS:
            return m.command == wire.STATS_REPLY
        if command in (wire.DEAD, wire.QUEUE, wire.LIST) and m.command == replies[command]:
            return m.get("queue") == fields.get("queue")
        return False

    return matches


class Worker(Connection):
    """A connection to the worker endpoint. Once READY is answered it heartbeats every interval."""

    def __init__(self, session: "Session", endpoint: str):
        super().__init__(session, endpoint)
        self.interval_s = 1.0
        self.liveness = 3
        self.heartbeating = False
        self.silent = False
        self.next_heartbeat = 0.0
        self.heartbeats_heard: List[float] = []
        self.broker_heartbeat: Dict[str, Any] = {}
        # Normally the broker's HEARTBEATs are only noted; True while a READY's answer is awaited.
        self.wants_heartbeat = False

    def _keeps(self, message: Message) -> bool:
        if message.command == wire.HEARTBEAT and not self.wants_heartbeat:
            self.heartbeats_heard.append(time.monotonic())
            self.broker_heartbeat = message.header
            return False
        return True

    def ready(self, queues: Sequence[str], capacity: int = 1, **fields: Any) -> Message:
        """Sends READY and returns the broker's answering HEARTBEAT (§5.9); starts heartbeating."""
        self.send(wire.READY, {"queues": list(queues), "capacity": capacity, **fields})
        answer = self.expect_heartbeat_or_error()
        if answer.command == wire.HEARTBEAT:
            self.interval_s = answer.get("interval_ms", 1000) / 1000
            self.liveness = answer.get("liveness", 3)
            self.broker_heartbeat = answer.header
            self.heartbeating = True
            self.next_heartbeat = time.monotonic() + self.interval_s
        return answer

    def expect_heartbeat_or_error(self, timeout: Optional[float] = None) -> Message:
        self.wants_heartbeat = True
        try:
            return self.expect(lambda m: m.command in (wire.HEARTBEAT, wire.ERROR), timeout,
                               what="HEARTBEAT or ERROR answering READY")
        finally:
            self.wants_heartbeat = False

    def heartbeat_if_due(self, now: float) -> None:
        if self.heartbeating and not self.silent and now >= self.next_heartbeat:
            self.send(wire.HEARTBEAT, {})
            self.next_heartbeat = now + self.interval_s

    def job(self, job_id: Optional[str] = None, timeout: Optional[float] = None) -> Message:
        return self.expect(lambda m: m.command == wire.JOB and (job_id is None or m.get("id") == job_id), timeout,
                           what=f"JOB {job_id or ''}")

    def done(self, job: Message, result: bytes = b"", attempt: Optional[int] = None) -> None:
        self.send(wire.DONE, {"id": job.get("id"), "attempt": attempt or job.get("attempt")}, [result])

    def fail(self, job: Message, error: str = "", **fields: Any) -> None:
        self.send(wire.FAIL, {"id": job.get("id"), "attempt": job.get("attempt"), "error": error, **fields})

    def liveness_window_s(self) -> float:
        return self.interval_s * self.liveness


class Session:
    """The connections of one test against one broker; closes them all at the end."""

    def __init__(self, context: zmq.Context, producers: str, workers: str, timeout: float):
        self.context = context
        self.producers = producers
        self.workers = workers
        self.timeout = timeout
        self.connections: List[Connection] = []
        self.prefix = f"cf{uuid.uuid4().hex[:8]}"

    def name(self, what: str = "q") -> str:
        """A queue name or job id no other test (or earlier run) uses."""
        return f"{self.prefix}-{what}{next(_names)}"

    def producer(self) -> Producer:
        connection = Producer(self, self.producers)
        self.connections.append(connection)
        return connection

    def worker(self) -> Worker:
        connection = Worker(self, self.workers)
        self.connections.append(connection)
        return connection

    def pump(self) -> None:
        now = time.monotonic()
        for connection in self.connections:
            if isinstance(connection, Worker):
                connection.heartbeat_if_due(now)

    def wait(self, seconds: float) -> None:
        """Lets time pass while workers keep heartbeating; for tests whose subject is time itself."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.pump()
            time.sleep(min(left, _POLL_SLICE_S))

    def close(self) -> None:
        for connection in self.connections:
            connection.close()
        self.connections.clear()
