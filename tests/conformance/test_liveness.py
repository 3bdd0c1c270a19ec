"""§9 Heartbeats and liveness, timed by the interval and liveness the broker's HEARTBEAT tells."""

import time

import pytest

import wire
from flows import accepted, leased

spec = pytest.mark.spec



def silence(worker):
    """The worker stops heartbeating; returns when it last spoke (its last HEARTBEAT or now)."""
    worker.heartbeating = False
    return time.monotonic()


def requeued_to(session, job, worker_window):
    """A second worker that takes the job once the broker declared its holder dead."""
    successor = session.worker()
    successor.ready([job.get("queue")])
    return successor, successor.job(job.get("id"), timeout=worker_window * 2 + session.timeout)


@spec("9")
def test_the_broker_heartbeats_every_interval(session):
    worker = session.worker()
    worker.ready([session.name("q")])
    window = worker.interval_s * 6
    started = time.monotonic()
    worker.receive_all(window)
    heard = [t for t in worker.heartbeats_heard if t >= started]
    assert len(heard) >= 4, f"{len(heard)} HEARTBEATs in {window:.2f} s at an interval of {worker.interval_s} s"


@spec("9")
def test_a_silent_worker_is_declared_dead_after_liveness_intervals_and_its_job_runs_again(session):
    producer, worker, job = leased(session)
    window = worker.liveness_window_s()
    last_spoke = silence(worker)
    _, successor = requeued_to(session, job, window)
    waited = time.monotonic() - last_spoke
    assert successor.get("attempt") == job.get("attempt") + 1
    assert waited >= window * 0.9, f"declared dead after {waited:.2f} s, before liveness x interval ({window} s)"
    errors = producer.status(job.get("id")).get("errors", [])
    assert errors and "died holding the job" in errors[-1].get("error", ""), errors


@spec("9")
def test_a_job_out_of_attempts_when_its_worker_dies_fails_for_good(session):
    producer, worker, job = leased(session, wants_result=True, max_attempts=1)
    silence(worker)
    result = producer.result(job.get("id"), timeout=worker.liveness_window_s() * 2 + session.timeout)
    assert result.get("state") == "failed" and "died holding the job" in result.get("error", ""), result


@spec("9")
def test_a_worker_declared_dead_that_speaks_again_gets_unknown_worker(session):
    producer, worker, job = leased(session)
    silence(worker)
    requeued_to(session, job, worker.liveness_window_s())
    worker.send(wire.HEARTBEAT, {})
    worker.expect_error("unknown_worker")


@spec("9")
def test_any_valid_message_is_a_sign_of_life(session):
    producer, worker, job = leased(session)
    worker.heartbeating = False
    deadline = time.monotonic() + worker.liveness_window_s() * 1.5
    while time.monotonic() < deadline:
        worker.send(wire.PROGRESS, {"id": job.get("id"), "attempt": job.get("attempt"), "percent": 1})
        session.wait(worker.interval_s / 2)
    status = producer.status(job.get("id"))
    assert status.get("state") == "running" and status.get("attempt") == job.get("attempt")
    assert not [m for m in worker.receive_all(0) if m.command in (wire.ERROR, wire.ABANDON)]


@spec("9")
def test_a_message_that_fails_to_decode_is_no_sign_of_life(session):
    producer, worker, job = leased(session)
    worker.heartbeating = False
    deadline = time.monotonic() + worker.liveness_window_s() * 2 + session.timeout
    while producer.status(job.get("id")).get("attempt") == job.get("attempt") and \
            producer.status(job.get("id")).get("state") == "running":
        assert time.monotonic() < deadline, "a worker sending only malformed messages was never declared dead"
        worker.send_frames([wire.SIGNATURE, b"\x00", b"\x80"])
        session.wait(worker.interval_s / 2)


@spec("9")
def test_a_job_taken_back_from_a_dead_worker_goes_ahead_of_the_pending_jobs_of_its_priority(session):
    producer, worker, job = leased(session)
    waiting = session.name("j")
    accepted(producer.submit(waiting, job.get("queue")))
    silence(worker)
    producer.wait_state(job.get("id"), "pending", timeout=worker.liveness_window_s() * 2 + session.timeout)
    successor = session.worker()
    successor.ready([job.get("queue")])
    assert successor.job().get("id") == job.get("id")


@spec("10")
def test_a_late_done_from_a_worker_declared_dead_gets_unknown_worker_and_changes_nothing(session):
    producer, worker, job = leased(session, wants_result=True)
    silence(worker)
    successor, second = requeued_to(session, job, worker.liveness_window_s())
    worker.done(job, b"late")
    worker.expect_error("unknown_worker")
    assert producer.status(job.get("id")).get("state") == "running"
    successor.done(second, b"current")
    result = producer.result(job.get("id"))
    assert result.get("attempt") == second.get("attempt") and result.payload == b"current"


@spec("10")
def test_unknown_worker_answering_a_late_done_names_the_done_and_its_job(session):
    producer, worker, job = leased(session)
    silence(worker)
    requeued_to(session, job, worker.liveness_window_s())
    worker.done(job, b"late")
    error = worker.expect_error("unknown_worker")
    assert error.get("command") == "DONE" and error.get("id") == job.get("id"), error


@spec("4")
def test_producers_receive_no_heartbeat(session):
    worker, producer = session.worker(), session.producer()
    worker.ready([session.name("q")])
    producer.stats()
    assert [m for m in producer.receive_all(worker.interval_s * 3) if m.command == wire.HEARTBEAT] == []
