"""What a Producer hands back: events about submitted jobs and the broker's replies, as dataclasses.

Fields of replies keep the wire's names and units (§5: ``*_ms`` are milliseconds); nested lists
(queues, workers, dead jobs, error histories) are the broker's maps as they came.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Mapping, Optional, Union

from .errors import BrokerError


@dataclasses.dataclass
class Accepted:
    """The broker took a SUBMIT. `job_id` is the job it stands for: `id`, or the live job holding
    its unique_key; `existed` says nothing new was queued."""

    id: str
    job_id: str
    existed: bool = False


@dataclasses.dataclass
class Result:
    """How a job ended: `state` is ``done``, ``failed`` or ``cancelled``; `result` holds the
    result bytes when done, `error` why it failed or was cancelled. `id` is the id submitted,
    `job_id` the broker's job (different only when a unique_key matched another job)."""

    id: str
    job_id: str
    state: str
    attempt: int
    result: bytes = b""
    error: str = ""

    @property
    def ok(self) -> bool:
        """True when the job is done."""
        return self.state == "done"


@dataclasses.dataclass
class Progress:
    """A running job's worker reported how far it is."""

    id: str
    job_id: str
    attempt: int
    percent: int
    message: str = ""


@dataclasses.dataclass
class Refused:
    """The broker refused a SUBMIT: nothing was queued. `error` is the typed ERROR."""

    id: str
    error: BrokerError

    @property
    def ok(self) -> bool:
        return False


Event = Union[Accepted, Result, Progress, Refused]


def _get(header: Mapping[str, Any], key: str, default: Any) -> Any:
    value = header.get(key, default)
    return value if isinstance(value, type(default)) or default is None else default


@dataclasses.dataclass
class JobStatus:
    """A STATUS_REPLY (§5.5). `result` is the result bytes of a done job; `payload` the job's own
    payload when asked for with ``payload=True``."""

    id: str
    state: str
    attempt: int
    queue: str = ""
    counted_attempts: int = 0
    worker: str = ""
    held_ready: bool = False  # running, but its worker holds it ready, not started (READY prefetch)
    error: str = ""
    priority: int = 0
    max_attempts: int = 0
    progress: Optional[int] = None
    progress_message: str = ""
    ready_in_ms: int = 0
    errors: List[Dict[str, Any]] = dataclasses.field(default_factory=list)
    created_ms: Optional[int] = None
    started_ms: Optional[int] = None
    finished_ms: Optional[int] = None
    broker_instance: int = 0
    result: bytes = b""
    payload: Optional[bytes] = None

    @classmethod
    def from_message(cls, header: Mapping[str, Any], frame: bytes) -> "JobStatus":
        attempt = _get(header, "attempt", 0)
        has_payload = header.get("job_payload") is True
        return cls(
            id=_get(header, "id", ""),
            state=_get(header, "state", ""),
            attempt=attempt,
            queue=_get(header, "queue", ""),
            counted_attempts=_get(header, "counted_attempts", attempt),
            worker=_get(header, "worker", ""),
            held_ready=header.get("held_ready") is True,
            error=_get(header, "error", ""),
            priority=_get(header, "priority", 0),
            max_attempts=_get(header, "max_attempts", 0),
            progress=_get(header, "progress", None),
            progress_message=_get(header, "progress_message", ""),
            ready_in_ms=_get(header, "ready_in_ms", 0),
            errors=list(_get(header, "errors", [])),
            created_ms=_get(header, "created_ms", None),
            started_ms=_get(header, "started_ms", None),
            finished_ms=_get(header, "finished_ms", None),
            broker_instance=_get(header, "broker_instance", 0),
            result=b"" if has_payload else frame,
            payload=frame if has_payload else None,
        )


@dataclasses.dataclass
class Stats:
    """A STATS_REPLY (§5.7): broker-wide `counters`, and per-queue and per-worker maps."""

    counters: Dict[str, int]
    queues: List[Dict[str, Any]]
    workers: List[Dict[str, Any]]
    max_payload_bytes: Optional[int] = None
    uptime_ms: int = 0
    version: str = ""
    broker_instance: int = 0
    last_job_ended_at_ms: Optional[int] = None
    body: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def queue(self, name: str) -> Dict[str, Any]:
        """The entry of queue `name` ({} when the broker lists no such queue)."""
        return next((q for q in self.queues if q.get("name") == name), {})

    def worker(self, name: str) -> Dict[str, Any]:
        """The entry of worker `name` ({} when no such worker is registered)."""
        return next((w for w in self.workers if w.get("name") == name), {})

    @classmethod
    def from_message(cls, header: Mapping[str, Any], body: Mapping[str, Any]) -> "Stats":
        return cls(
            counters=dict(_get(header, "counters", {})),
            queues=list(_get(body, "queues", [])),
            workers=list(_get(body, "workers", [])),
            max_payload_bytes=_get(header, "max_payload_bytes", None),
            uptime_ms=_get(header, "uptime_ms", 0),
            version=_get(header, "version", ""),
            broker_instance=_get(header, "broker_instance", 0),
            last_job_ended_at_ms=_get(header, "last_job_ended_at_ms", None),
            body=dict(body),
        )


QUEUE_SETTING_FIELDS = (
    "paused",
    "max_length",
    "max_attempts",
    "backoff_ms",
    "backoff_max_ms",
    "backoff_jitter_pct",
    "timeout_ms",
    "dead_max_count",
    "dead_max_age_ms",
)


@dataclasses.dataclass
class QueueSettings:
    """A queue's settings as the broker answers QUEUE (§5.21); `created` says this request made it."""

    queue: str
    created: bool = False
    paused: bool = False
    max_length: int = 0
    max_attempts: int = 0
    backoff_ms: int = 0
    backoff_max_ms: int = 0
    backoff_jitter_pct: int = 0
    timeout_ms: int = 0
    dead_max_count: int = 0
    dead_max_age_ms: int = 0

    @classmethod
    def from_header(cls, header: Mapping[str, Any]) -> "QueueSettings":
        settings = cls(queue=_get(header, "queue", ""), created=header.get("created") is True)
        for name in QUEUE_SETTING_FIELDS:
            default = getattr(settings, name)
            setattr(settings, name, _get(header, name, default))
        return settings


@dataclasses.dataclass
class DeadSet:
    """A DEAD_REPLY (§5.20): `total` dead jobs, the newest `jobs` first (maps of §5.20)."""

    queue: str
    total: int
    jobs: List[Dict[str, Any]]


@dataclasses.dataclass
class ListPage:
    """A LIST_REPLY (§5.29): one page of `jobs`; pass `next` as `after` for the next page ("" at the end)."""

    queue: str
    state: str
    total: int
    next: str
    jobs: List[Dict[str, Any]]
