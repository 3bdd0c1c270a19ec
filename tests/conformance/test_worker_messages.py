"""Worker messages: §5.9 READY, §5.10 JOB, §5.11 DONE, §5.12 FAIL, §5.13 HEARTBEAT, §5.14 DRAIN,
§5.15 DISCONNECT, §5.23 PROGRESS and §5.24 ABANDON."""

import pytest

import wire
from flows import accepted, jobs_in, leased

spec = pytest.mark.spec

READY_OUT_OF_LIMITS = [
    ("capacity 0", {"queues": ["q"], "capacity": 0}, "capacity"),
    ("capacity 10001", {"queues": ["q"], "capacity": 10001}, "capacity"),
    ("65 queues", {"queues": [f"q{i}" for i in range(65)], "capacity": 1}, "queues"),
    ("no queue", {"queues": [], "capacity": 1}, "queues"),
    ("an empty queue name", {"queues": [""], "capacity": 1}, "queues"),
    ("a name of 257 bytes", {"queues": ["q"], "capacity": 1, "name": "n" * 257}, "name"),
    ("batch 1025", {"queues": ["q"], "capacity": 1, "batch": 1025}, "batch"),
    ("a holding entry of one value", {"queues": ["q"], "capacity": 1, "holding": [["j"]]}, "holding"),
    ("a holding entry with attempt 0", {"queues": ["q"], "capacity": 1, "holding": [["j", 0]]}, "holding"),
    ("idle_heartbeat as an integer", {"queues": ["q"], "capacity": 1, "idle_heartbeat": 1}, "idle_heartbeat"),
]


@spec("5.9")
@pytest.mark.parametrize("case,header,field", READY_OUT_OF_LIMITS, ids=[c[0] for c in READY_OUT_OF_LIMITS])
def test_a_ready_outside_its_limits_is_refused_naming_the_field(session, case, header, field):
    worker = session.worker()
    worker.send(wire.READY, header)
    error = worker.expect_error()
    assert error.get("code") in ("bad_field_value", "bad_field_type"), error
    assert error.get("message", "").startswith(field), error


@spec("5.9")
def test_an_empty_queues_array_is_checked_after_capacity_and_name(session):
    worker = session.worker()
    worker.send(wire.READY, {"queues": []})
    assert worker.expect_error("missing_field").get("message", "").startswith("capacity")


@spec("5.9")
def test_ready_is_answered_at_once_with_a_heartbeat_carrying_interval_and_liveness(session):
    worker = session.worker()
    answer = worker.ready([session.name("q")], capacity=2, name=session.name("w"))
    assert answer.command == wire.HEARTBEAT, answer
    assert 10 <= answer.get("interval_ms") <= 60000 and 1 <= answer.get("liveness") <= 100


@spec("5.9")
def test_duplicate_queues_in_ready_are_ignored(session):
    producer, worker = session.producer(), session.worker()
    queue, job = session.name("q"), session.name("j")
    assert worker.ready([queue, queue], capacity=1).command == wire.HEARTBEAT
    accepted(producer.submit(job, queue))
    worker.job(job)


@spec("5.13")
def test_the_brokers_heartbeat_carries_all_five_fields(session):
    worker = session.worker()
    answer = worker.ready([session.name("q")], batch=8)
    for field in ("interval_ms", "liveness", "batch", "max_payload_bytes", "idle_interval_ms"):
        assert field in answer.header, f"HEARTBEAT without {field}: {answer!r}"
    assert 1 <= answer.get("batch") <= 1024 and answer.get("max_payload_bytes") >= 1
    # §9: the idle interval is never below the interval, and at most 10 minutes.
    assert answer.get("interval_ms") <= answer.get("idle_interval_ms") <= 600000


@spec("5.13")
def test_a_heartbeat_field_out_of_limits_from_a_worker_is_refused(session):
    worker = session.worker()
    worker.ready([session.name("q")])
    worker.send(wire.HEARTBEAT, {"interval_ms": 5})
    assert worker.expect_error("bad_field_value").get("message", "").startswith("interval_ms")


@spec("5.9")
def test_a_second_worker_with_a_name_in_use_is_refused_with_id_conflict(session):
    name = session.name("w")
    first, second = session.worker(), session.worker()
    assert first.ready([session.name("q")], name=name).command == wire.HEARTBEAT
    error = second.ready([session.name("q")], name=name)
    assert error.command == wire.ERROR and error.get("code") == "id_conflict", error
    assert error.get("command") == "READY" and error.get("id") == name


@spec("5.9")
def test_the_same_name_and_instance_on_a_new_connection_takes_the_old_ones_place(session):
    name = session.name("w")
    first, second = session.worker(), session.worker()
    first.ready([session.name("q")], name=name, instance=424242)
    assert second.ready([session.name("q")], name=name, instance=424242).command == wire.HEARTBEAT
    first.heartbeating = False
    first.send(wire.HEARTBEAT, {})
    first.expect_error("unknown_worker")


@spec("5.9")
def test_anonymous_workers_are_not_compared(session):
    first, second = session.worker(), session.worker()
    assert first.ready([session.name("q")]).command == wire.HEARTBEAT
    assert second.ready([session.name("q")]).command == wire.HEARTBEAT


@spec("5.9")
def test_a_holding_entry_the_broker_does_not_know_gets_abandon_unknown_lease_before_the_heartbeat(session):
    worker = session.worker()
    worker.send(wire.READY, {"queues": [session.name("q")], "capacity": 2, "holding": [["never-leased", 3]]})
    worker.wants_heartbeat = True
    first = worker.expect(lambda m: m.command in (wire.ABANDON, wire.HEARTBEAT, wire.ERROR))
    assert first.command == wire.ABANDON, first
    assert first.get("id") == "never-leased" and first.get("attempt") == 3 and first.get("reason") == "unknown_lease"
    assert worker.expect(wire.HEARTBEAT).command == wire.HEARTBEAT


@spec("5.10")
def test_job_carries_id_queue_attempt_1_and_the_payload(session):
    _, _, job = leased(session, payload=b"\x00binary\xff")
    assert job.get("attempt") == 1 and job.get("queue") and job.payload == b"\x00binary\xff"


@spec("5.11")
def test_a_result_over_max_payload_bytes_fails_the_job_for_good(session):
    producer, worker, job = leased(session, wants_result=True)
    limit = worker.broker_heartbeat.get("max_payload_bytes", 8 << 20)
    if limit + 1 > (8 << 20) + (64 << 10):
        pytest.skip("the broker's --max-payload is above what its socket reads (§2)")
    worker.done(job, b"r" * (limit + 1))
    result = producer.result(job.get("id"))
    assert result.get("state") == "failed" and "result too large" in result.get("error", ""), result
    assert producer.ask(wire.DEAD, {"queue": job.get("queue")}).get("total") == 1


@spec("5.12")
def test_a_fail_with_attempts_left_runs_the_job_again_after_its_backoff(session):
    producer, worker, job = leased(session, backoff_ms=1, backoff_jitter_pct=0)
    worker.fail(job, "transient")
    again = worker.job(job.get("id"))
    assert again.get("attempt") == 2
    status = producer.status(job.get("id"))
    assert [e.get("attempt") for e in status.get("errors", [])] == [1]
    assert status.get("errors")[0].get("error") == "transient"


@spec("5.12")
def test_a_fail_on_the_last_attempt_sends_the_job_to_the_dead_set(session):
    producer, worker, job = leased(session, wants_result=True, max_attempts=1)
    worker.fail(job, "broken")
    result = producer.result(job.get("id"))
    assert result.get("state") == "failed" and result.get("error") == "broken" and result.get("attempt") == 1


@spec("5.12")
def test_a_permanent_fail_skips_the_remaining_attempts(session):
    producer, worker, job = leased(session, wants_result=True, max_attempts=5)
    worker.fail(job, "bad input", permanent=True)
    assert producer.result(job.get("id")).get("state") == "failed"


@spec("5.12")
def test_a_fail_not_started_gives_the_lease_back_uncounted_with_the_next_attempt_number(session):
    producer, worker, job = leased(session, max_attempts=1)
    worker.fail(job, "no such command", not_started=True, permanent=True)
    again = worker.job(job.get("id"))
    assert again.get("attempt") == 2, "the next lease carries attempt + 1"
    status = producer.status(job.get("id"))
    assert status.get("state") == "running" and status.get("errors", []) == []


@spec("5.14")
def test_drain_stops_new_jobs_while_held_leases_stand(session):
    producer, worker, job = leased(session, wants_result=True, capacity=2)
    worker.send(wire.DRAIN, {})
    worker.barrier()
    other = session.name("j")
    accepted(producer.submit(other, job.get("queue")))
    assert not [m for m in worker.barrier() if m.command in (wire.JOB, wire.JOBS)]
    worker.done(job, b"r")
    assert producer.result(job.get("id")).get("state") == "done"
    assert producer.status(other).get("state") == "pending"


@spec("5.14")
def test_ready_on_the_same_connection_clears_draining(session):
    producer, worker, job = leased(session, capacity=2)
    worker.send(wire.DRAIN, {})
    worker.barrier()
    other = session.name("j")
    accepted(producer.submit(other, job.get("queue")))
    assert jobs_in(worker.barrier()) == []
    worker.ready([job.get("queue")], capacity=2)
    assert worker.job(other).get("attempt") == 1


@spec("5.15")
def test_disconnect_puts_held_jobs_back_uncounted_and_the_next_lease_has_the_next_attempt(session):
    producer, worker, job = leased(session, max_attempts=1)
    worker.heartbeating = False
    worker.send(wire.DISCONNECT, {"reason": "leaving"})
    producer.wait_state(job.get("id"), "pending")
    successor = session.worker()
    successor.ready([job.get("queue")])
    again = successor.job(job.get("id"))
    assert again.get("attempt") == 2
    assert producer.status(job.get("id")).get("errors", []) == []


@spec("5.23")
def test_progress_is_kept_on_the_job_and_forwarded_unchanged_to_the_waiting_producer(session):
    producer, worker, job = leased(session, wants_result=True)
    worker.send(wire.PROGRESS, {"id": job.get("id"), "attempt": job.get("attempt"), "percent": 40,
                                "message": "4 of 10"})
    forwarded = producer.expect(wire.PROGRESS)
    assert forwarded.header == {"id": job.get("id"), "attempt": job.get("attempt"), "percent": 40,
                                "message": "4 of 10"} or (forwarded.get("percent") == 40 and
                                                          forwarded.get("message") == "4 of 10")
    status = producer.status(job.get("id"))
    assert status.get("progress") == 40 and status.get("progress_message") == "4 of 10"
    worker.done(job, b"")
    producer.result(job.get("id"))
    assert "progress" not in producer.status(job.get("id")).header, "progress is cleared when the lease ends"


@spec("5.23")
def test_progress_for_another_attempt_is_discarded_without_reply(session):
    producer, worker, job = leased(session, wants_result=True)
    worker.send(wire.PROGRESS, {"id": job.get("id"), "attempt": job.get("attempt") + 1, "percent": 50})
    assert worker.barrier() == []
    assert "progress" not in producer.status(job.get("id")).header
    assert not [m for m in producer.barrier() if m.command == wire.PROGRESS]


@spec("5.23")
@pytest.mark.parametrize("header,field", [({"percent": 101}, "percent"), ({"percent": 5, "message": "m" * 257},
                                                                          "message")])
def test_progress_outside_its_limits_is_refused(session, header, field):
    _, worker, job = leased(session)
    worker.send(wire.PROGRESS, {"id": job.get("id"), "attempt": job.get("attempt"), **header})
    assert worker.expect_error("bad_field_value").get("message", "").startswith(field)


@spec("5.24")
def test_a_timed_out_attempt_is_revoked_with_abandon_timeout(session):
    producer, worker, job = leased(session, timeout_ms=100, backoff_ms=1, backoff_jitter_pct=0, max_attempts=2)
    abandon = worker.expect(wire.ABANDON)
    assert abandon.get("id") == job.get("id") and abandon.get("attempt") == 1 and abandon.get("reason") == "timeout"
    again = worker.job(job.get("id"))
    assert again.get("attempt") == 2, "its credit came back with the ABANDON"
    errors = producer.status(job.get("id")).get("errors", [])
    assert errors and errors[0].get("error", "").startswith("timed out after")
