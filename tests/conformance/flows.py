"""Short sequences several tests start from: a job submitted and leased, done, dead, cancelled."""

from __future__ import annotations

from typing import Tuple

import wire
from peers import Message, Producer, Session, Worker


def accepted(reply: Message) -> Message:
    assert reply.command == wire.ACCEPTED, f"expected ACCEPTED, got {reply!r}"
    return reply


def submit_many(session: Session, producer: Producer, queue: str, count: int, **fields) -> list:
    """`count` jobs submitted to `queue` one SUBMIT each, payloads "payload 0", "payload 1", ...; their ids."""
    ids = [session.name("j") for _ in range(count)]
    for n, job in enumerate(ids):
        accepted(producer.submit(job, queue, f"payload {n}".encode(), **fields))
    return ids


def leased(session: Session, payload: bytes = b"payload", capacity: int = 1, **submit_fields
           ) -> Tuple[Producer, Worker, Message]:
    """A fresh queue with one job submitted and leased to a fresh worker: (producer, worker, JOB)."""
    producer, worker = session.producer(), session.worker()
    queue, job_id = session.name("q"), session.name("j")
    accepted(producer.submit(job_id, queue, payload, **submit_fields))
    worker.ready([queue], capacity=capacity)
    return producer, worker, worker.job(job_id)


def ended_done(session: Session, result: bytes = b"result") -> Tuple[Producer, Worker, Message]:
    producer, worker, job = leased(session, wants_result=True)
    worker.done(job, result)
    producer.result(job.get("id"))
    return producer, worker, job


def ended_dead(session: Session, error: str = "broken") -> Tuple[Producer, Worker, Message]:
    producer, worker, job = leased(session, wants_result=True)
    worker.fail(job, error, permanent=True)
    assert producer.result(job.get("id")).get("state") == "failed"
    return producer, worker, job


def ended_cancelled(session: Session) -> Tuple[Producer, str]:
    producer = session.producer()
    queue, job_id = session.name("q"), session.name("j")
    accepted(producer.submit(job_id, queue, b""))
    ok = producer.ask(wire.CANCEL, {"id": job_id})
    assert ok.command == wire.OK, ok
    return producer, job_id


def jobs_in(messages):
    """The leases granted in these messages, JOB or JOBS entries alike: [(id, attempt)]."""
    granted = []
    for m in messages:
        if m.command == wire.JOB:
            granted.append((m.get("id"), m.get("attempt")))
        elif m.command == wire.JOBS:
            granted.extend((entry[0], entry[2]) for entry in m.get("jobs"))
    return granted
