"""§13 Results retention and §19 Job lifecycle (delays, backoff, dead set, retry)."""

import time

import pytest

import wire
from flows import accepted, ended_cancelled, ended_dead, ended_done, leased

spec = pytest.mark.spec


@spec("13")
def test_an_ended_jobs_outcome_is_retained_and_returned_by_status(session):
    producer, _, job = ended_done(session, result=b"kept bytes")
    reply = producer.status(job.get("id"))
    assert reply.get("state") == "done" and reply.payload == b"kept bytes"
    cancel_producer, cancelled = ended_cancelled(session)
    assert cancel_producer.status(cancelled).get("state") == "cancelled"


@spec("13")
def test_a_dead_job_reports_failed_with_its_error_history(session):
    producer, _, job = ended_dead(session, error="gone wrong")
    reply = producer.status(job.get("id"))
    assert reply.get("state") == "failed" and reply.get("error") == "gone wrong"
    assert [e.get("error") for e in reply.get("errors", [])] == ["gone wrong"]


@spec("13")
def test_an_outcome_is_forgotten_after_the_result_ttl_and_its_id_makes_a_new_job(session, broker):
    if broker.result_ttl_ms is None:
        pytest.skip("needs --result-ttl-ms (the broker's --result-ttl) or --broker-bin")
    if broker.result_ttl_ms > 10000:
        pytest.skip("the broker's result TTL is over 10 s")
    producer, _, job = ended_done(session)
    ended_at = time.monotonic()
    assert producer.status(job.get("id")).get("state") == "done"
    deadline = ended_at + broker.result_ttl_ms / 1000 + session.timeout
    while (reply := producer.status(job.get("id"))).command == wire.STATUS_REPLY:
        assert time.monotonic() < deadline, "the outcome outlived the result TTL"
        session.wait(0.05)
    assert reply.get("code") == "unknown_job"
    assert time.monotonic() - ended_at >= broker.result_ttl_ms / 1000 * 0.9, "forgotten before the result TTL"
    again = accepted(producer.submit(job.get("id"), job.get("queue"), b"payload"))
    assert again.get("existed", False) is False


@spec("19.4")
def test_a_delayed_job_becomes_pending_once_its_delay_is_over(session):
    producer, worker = session.producer(), session.worker()
    queue, job = session.name("q"), session.name("j")
    worker.ready([queue])
    submitted = time.monotonic()
    accepted(producer.submit(job, queue, delay_ms=300))
    state = producer.status(job).get("state")
    if time.monotonic() - submitted < 0.15:  # a loaded machine may take longer than the delay to ask
        assert state == "delayed"
    worker.job(job)
    assert time.monotonic() - submitted >= 0.29


@spec("19.4")
def test_a_job_with_run_at_ms_runs_at_that_time(session):
    producer, worker = session.producer(), session.worker()
    queue, job = session.name("q"), session.name("j")
    worker.ready([queue])
    run_at = int(time.time() * 1000) + 300
    accepted(producer.submit(job, queue, run_at_ms=run_at))
    state = producer.status(job).get("state")
    if time.time() * 1000 < run_at - 150:
        assert state == "delayed"
    worker.job(job)
    assert time.time() * 1000 >= run_at - 20, "dispatched before its run_at_ms"


@spec("19.2")
def test_a_failed_attempt_waits_its_backoff_delayed(session):
    producer, worker, job = leased(session, backoff_ms=600, backoff_jitter_pct=0)
    failed_at = time.monotonic()
    worker.fail(job, "try later")
    worker.barrier()
    state = producer.status(job.get("id")).get("state")
    if time.monotonic() - failed_at < 0.3:  # a loaded machine may take longer than the backoff to ask
        assert state == "delayed"
    again = worker.job(job.get("id"))
    assert again.get("attempt") == 2 and time.monotonic() - failed_at >= 0.59


@spec("19.3")
def test_a_retried_dead_job_sends_another_result_when_it_ends_again(session):
    producer, worker, job = ended_dead(session)
    assert producer.ask(wire.RETRY, {"id": job.get("id")}).command == wire.OK
    assert producer.status(job.get("id")).get("state") in ("pending", "running")
    again = worker.job(job.get("id"))
    worker.done(again, b"second time")
    result = producer.result(job.get("id"))
    assert result.get("state") == "done" and result.payload == b"second time"


@spec("19.1")
def test_a_job_moves_through_pending_running_and_done(session):
    producer, worker = session.producer(), session.worker()
    queue, job = session.name("q"), session.name("j")
    accepted(producer.submit(job, queue))
    assert producer.status(job).get("state") == "pending"
    worker.ready([queue])
    leased_job = worker.job(job)
    assert producer.status(job).get("state") == "running"
    worker.done(leased_job)
    producer.wait_state(job, "done")
