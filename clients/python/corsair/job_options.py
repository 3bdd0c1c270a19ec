"""A job's optional SUBMIT fields (docs/protocol.md §5.1), checked against their limits.

Durations are seconds (int or float), as elsewhere in Python; the wire carries milliseconds.
The per-attempt limit the wire calls ``timeout_ms`` is `attempt_timeout` here, so that `timeout`
keeps meaning how long a call waits, everywhere in this package.
"""

from __future__ import annotations

import datetime
import math
import time
from typing import Any, Dict, Optional, Union

from . import protocol as p

Seconds = Union[int, float]
When = Union[datetime.datetime, int, float]

OPTION_NAMES = (
    "priority",
    "max_attempts",
    "backoff",
    "backoff_max",
    "backoff_jitter_pct",
    "attempt_timeout",
    "delay",
    "run_at",
    "unique_key",
)


def milliseconds(name: str, seconds: Seconds, low: int, high: int) -> int:
    """`seconds` as whole milliseconds within [low, high]; ValueError naming `name` otherwise."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or math.isnan(seconds):
        raise ValueError(f"{name} must be a number of seconds")
    value = int(round(seconds * 1000))
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low / 1000:g} s and {high / 1000:g} s")
    return value


def unix_ms(when: When) -> int:
    """A datetime (naive = local time) or a Unix time in seconds as Unix milliseconds."""
    if isinstance(when, datetime.datetime):
        return int(round(when.timestamp() * 1000))
    if isinstance(when, bool) or not isinstance(when, (int, float)):
        raise ValueError("run_at must be a datetime or a Unix time in seconds")
    return int(round(when * 1000))


def _bounded_int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer between {low} and {high}")
    return value


def job_fields(
    priority: int = 0,
    max_attempts: Optional[int] = None,
    backoff: Optional[Seconds] = None,
    backoff_max: Optional[Seconds] = None,
    backoff_jitter_pct: Optional[int] = None,
    attempt_timeout: Optional[Seconds] = None,
    delay: Seconds = 0,
    run_at: Optional[When] = None,
    unique_key: str = "",
) -> Dict[str, Any]:
    """The SUBMIT header fields for these options, only those that are set (§3: the encoder
    writes lifecycle fields only when set). Raises ValueError naming the first bad option.

    `run_at` is returned as ``run_at_ms``; the caller drops it from a resend once it has passed.
    """
    fields: Dict[str, Any] = {}
    if _bounded_int("priority", priority, p.MIN_PRIORITY, p.MAX_PRIORITY):
        fields["priority"] = priority
    if max_attempts is not None:
        fields["max_attempts"] = _bounded_int("max_attempts", max_attempts, 1, p.MAX_ATTEMPTS_LIMIT)
    if backoff is not None:
        fields["backoff_ms"] = milliseconds("backoff", backoff, 1, p.MAX_BACKOFF_MS)
    if backoff_max is not None:
        fields["backoff_max_ms"] = milliseconds("backoff_max", backoff_max, 1, p.MAX_BACKOFF_MS)
    if backoff_jitter_pct is not None:
        fields["backoff_jitter_pct"] = _bounded_int("backoff_jitter_pct", backoff_jitter_pct, 0, 100)
    if attempt_timeout is not None:
        fields["timeout_ms"] = milliseconds("attempt_timeout", attempt_timeout, 0, p.MAX_TIMEOUT_MS)
    delay_ms = milliseconds("delay", delay, 0, p.MAX_DELAY_MS)
    if delay_ms:
        fields["delay_ms"] = delay_ms
    if run_at is not None:
        if delay_ms:
            raise ValueError("run_at and delay exclude each other")
        at = unix_ms(run_at)
        now = int(time.time() * 1000)
        if not now < at <= now + p.MAX_DELAY_MS:
            raise ValueError("run_at must be in the future and at most 365 days ahead")
        fields["run_at_ms"] = at
    if not isinstance(unique_key, str) or len(unique_key.encode()) > p.MAX_UNIQUE_KEY_BYTES:
        raise ValueError(f"unique_key must be a str of at most {p.MAX_UNIQUE_KEY_BYTES} bytes")
    if unique_key:
        fields["unique_key"] = unique_key
    return fields


def check_name(what: str, name: Any, limit: int) -> str:
    """`name` if it is a str of 1..limit UTF-8 bytes; ValueError otherwise."""
    if not isinstance(name, str) or not 1 <= len(name.encode("utf-8", "surrogateescape")) <= limit:
        raise ValueError(f"{what} must be a str of 1 to {limit} bytes")
    return name
