"""Corsair client: a Producer and a Worker for the Corsair job broker, in pure Python.

Speaks the wire protocol of docs/protocol.md (version 1) over pyzmq and msgpack::

    from corsair import Worker

    worker = Worker("tcp://127.0.0.1:5556", capacity=4)

    @worker.handler("thumbnails")
    def thumbnail(job):
        return make_thumbnail(job.payload)

    worker.run()  # SIGTERM drains
"""

from .curve import CurveKeys
from .errors import (
    AccessDenied,
    BrokerError,
    BrokerTimeout,
    Conflict,
    CorsairError,
    LimitExceeded,
    MalformedRequest,
    NotFound,
    NotStarted,
    PermanentFailure,
    RetryableFailure,
    TryLater,
)
from .handler_pool import Job
from .producer import Producer
from .replies import Accepted, DeadSet, JobStatus, ListPage, Progress, QueueSettings, Refused, Result, Stats
from .worker import Worker, default_worker_name

__version__ = "0.1.0"
PROTOCOL_VERSION = 1

__all__ = [
    "AccessDenied",
    "Accepted",
    "BrokerError",
    "BrokerTimeout",
    "Conflict",
    "CorsairError",
    "CurveKeys",
    "DeadSet",
    "Job",
    "JobStatus",
    "LimitExceeded",
    "ListPage",
    "MalformedRequest",
    "NotFound",
    "NotStarted",
    "PermanentFailure",
    "Producer",
    "Progress",
    "QueueSettings",
    "Refused",
    "Result",
    "RetryableFailure",
    "Stats",
    "TryLater",
    "Worker",
    "default_worker_name",
]
