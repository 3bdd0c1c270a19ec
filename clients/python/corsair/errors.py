"""Typed errors: one class per family of the protocol's error codes (docs/protocol.md §6).

Every ERROR the broker sends becomes a `BrokerError` of the family its code belongs to, so a
caller can catch what it can act on (``except TryLater``) without comparing strings. Codes this
client does not know are read as ``internal`` (§5.8), which is a `TryLater`.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional


class CorsairError(Exception):
    """Base class of every error this package raises on purpose."""


class BrokerTimeout(CorsairError):
    """The broker did not answer in time: the request may or may not have been applied."""


class BrokerError(CorsairError):
    """An ERROR from the broker. `code`, `message`, `id` and `command` are its fields (§5.8)."""

    codes: frozenset = frozenset()

    def __init__(
        self,
        code: str,
        message: str = "",
        id: str = "",
        command: str = "",
        max_payload_bytes: Optional[int] = None,
        max_in_flight: Optional[int] = None,
    ) -> None:
        self.code = code
        self.message = message
        self.id = id
        self.command = command
        self.max_payload_bytes = max_payload_bytes
        self.max_in_flight = max_in_flight
        where = f" ({command} {id})" if command or id else ""
        super().__init__(f"{code}{where}: {message}" if message else f"{code}{where}")


class MalformedRequest(BrokerError):
    """The broker could not read a request, or it came to the wrong side: a client bug; do not resend it."""

    codes = frozenset(
        {
            "bad_frame_count",
            "bad_signature",
            "unsupported_version",
            "unknown_command",
            "bad_header",
            "missing_field",
            "bad_field_type",
            "bad_field_value",
            "unexpected_command",
        }
    )


class NotFound(BrokerError):
    """The job, queue or worker named is not known to the broker (unknown_job, unknown_queue, unknown_worker)."""

    codes = frozenset({"unknown_job", "unknown_queue", "unknown_worker"})


class Conflict(BrokerError):
    """The request does not fit the job's state or reuses a name (wrong_state, id_conflict)."""

    codes = frozenset({"wrong_state", "id_conflict"})


class LimitExceeded(BrokerError):
    """A fixed limit of the broker refused it (payload_too_large, too_many_queues): resending cannot help."""

    codes = frozenset({"payload_too_large", "too_many_queues"})


class TryLater(BrokerError):
    """Refused for now, nothing was done: send it again later, same id (shutting_down, queue_full,
    storage_unavailable, too_many_in_flight, too_many_workers, internal and unknown codes)."""

    codes = frozenset(
        {"shutting_down", "queue_full", "storage_unavailable", "too_many_in_flight", "too_many_workers", "internal"}
    )


class AccessDenied(BrokerError):
    """This client may not talk to this endpoint: wrong endpoint, or its CURVE key's role forbids
    the command (wrong_endpoint, forbidden). Only the operator can fix it."""

    codes = frozenset({"wrong_endpoint", "forbidden"})


FAMILIES = (MalformedRequest, NotFound, Conflict, LimitExceeded, TryLater, AccessDenied)
_BY_CODE: Dict[str, type] = {code: family for family in FAMILIES for code in family.codes}


def broker_error(header: Mapping[str, Any]) -> BrokerError:
    """The typed error for an ERROR header; an unknown code reads as ``internal`` (§5.8)."""
    code = header.get("code") if isinstance(header.get("code"), str) else "internal"
    if code not in _BY_CODE:
        code = "internal"
    family = _BY_CODE[code]

    def text(key: str) -> str:
        value = header.get(key, "")
        return value if isinstance(value, str) else ""

    def number(key: str) -> Optional[int]:
        value = header.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return family(
        code,
        text("message"),
        text("id"),
        text("command"),
        number("max_payload_bytes"),
        number("max_in_flight"),
    )


class PermanentFailure(Exception):
    """Raised by a handler when another attempt cannot succeed: FAIL with ``permanent: true``,
    the job goes to the dead set at once."""


class RetryableFailure(Exception):
    """Raised by a handler for a failure worth another attempt (any other exception is too): the
    broker retries after a backoff while attempts remain."""


class NotStarted(Exception):
    """Raised by a handler that could not start the job at all, through no fault of the job (a
    resource of this worker host is missing or busy): FAIL with ``not_started: true``. The broker
    gives the lease back uncounted, at the head of its queue (§5.12); this worker first stops
    taking jobs for a pause (1 s, doubling to 16 s while it keeps happening) so that the job goes
    to another worker."""
