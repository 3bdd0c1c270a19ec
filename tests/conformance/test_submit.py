"""§5.1 SUBMIT, §5.2 ACCEPTED, §5.3 RESULT and §12 Idempotent submission and unique keys."""

import time

import pytest

import wire
from flows import accepted, ended_done, leased

spec = pytest.mark.spec

# (field, a value just outside its limits) from §5.1's table; each is bad_field_value naming it.
OUT_OF_LIMITS = [
    ("id", "j" * 129), ("queue", "q" * 129), ("priority", 1001), ("priority", -1001), ("max_attempts", 0),
    ("max_attempts", 101), ("backoff_ms", 0), ("backoff_ms", 86400001), ("backoff_max_ms", 0),
    ("backoff_max_ms", 86400001), ("backoff_jitter_pct", 101), ("timeout_ms", 604800001),
    ("delay_ms", 31536000001), ("unique_key", "k" * 129), ("accept_within_ms", 60001), ("results_batch", 1025),
]
AT_LIMITS = [
    ("priority", 1000), ("priority", -1000), ("max_attempts", 1), ("max_attempts", 100), ("backoff_ms", 86400000),
    ("backoff_max_ms", 1), ("backoff_jitter_pct", 0), ("backoff_jitter_pct", 100), ("timeout_ms", 0),
    ("timeout_ms", 604800000), ("delay_ms", 31536000000), ("unique_key", ""), ("unique_key", "k" * 128),
    ("accept_within_ms", 0), ("results_batch", 1024),
]


@spec("5.1")
@pytest.mark.parametrize("field,value", OUT_OF_LIMITS, ids=[f"{f}={str(v)[:12]}" for f, v in OUT_OF_LIMITS])
def test_a_submit_field_outside_its_limits_is_bad_field_value(session, field, value):
    producer = session.producer()
    fields = {"id": session.name("j"), "queue": session.name("q"), field: value}
    producer.send(wire.SUBMIT, fields, [b""])
    error = producer.expect_error("bad_field_value")
    assert error.get("message", "").startswith(field), error


@spec("5.1")
@pytest.mark.parametrize("field,value", AT_LIMITS, ids=[f"{f}={str(v)[:12]}" for f, v in AT_LIMITS])
def test_a_submit_field_at_its_limits_is_accepted(session, field, value):
    producer = session.producer()
    accepted(producer.submit(session.name("j"), session.name("q"), b"", **{field: value}))


@spec("5.1")
def test_ids_and_queue_names_of_128_bytes_are_accepted(session):
    producer = session.producer()
    job, queue = (session.name("j") + "x" * 128)[:128], (session.name("q") + "y" * 128)[:128]
    assert accepted(producer.submit(job, queue)).get("id") == job


@spec("5.1")
def test_delay_ms_together_with_run_at_ms_is_bad_field_value_naming_run_at_ms(session):
    producer = session.producer()
    producer.send(wire.SUBMIT, {"id": "j", "queue": "q", "delay_ms": 5, "run_at_ms": int(time.time() * 1000) + 60000},
                  [b""])
    assert producer.expect_error("bad_field_value").get("message", "").startswith("run_at_ms")


@spec("5.1")
@pytest.mark.parametrize("offset_ms", [-60000, 31536000000 + 86400000], ids=["in the past", "over 365 days ahead"])
def test_a_run_at_ms_out_of_range_is_refused_with_id_and_command(session, offset_ms):
    producer = session.producer()
    job = session.name("j")
    error = producer.submit(job, session.name("q"), b"", run_at_ms=int(time.time() * 1000) + offset_ms)
    assert error.command == wire.ERROR and error.get("code") == "bad_field_value", error
    assert error.get("id") == job and error.get("command") == "SUBMIT"
    assert error.get("message", "").startswith("run_at_ms")


@spec("5.2")
def test_accepted_names_the_job_and_says_it_is_new(session):
    producer = session.producer()
    job = session.name("j")
    reply = accepted(producer.submit(job, session.name("q"), b"x"))
    assert reply.get("id") == job and reply.get("existed", False) is False
    assert reply.get("job_id", job) in (job, "")
    instance = reply.get("broker_instance", 0)
    assert isinstance(instance, int) and instance >= 0


@spec("5.2")
def test_broker_instance_is_the_same_in_accepted_stats_and_status(session):
    producer = session.producer()
    job = session.name("j")
    instance = accepted(producer.submit(job, session.name("q"))).get("broker_instance", 0)
    if instance == 0:
        pytest.skip("the broker does not tell broker_instance")
    assert producer.stats().get("broker_instance") == instance
    assert producer.status(job).get("broker_instance") == instance


@spec("5.1")
def test_a_full_queue_refuses_a_new_job_with_queue_full(session):
    producer = session.producer()
    queue = session.name("q")
    assert producer.queue(queue, create=True, max_length=1).get("max_length") == 1
    accepted(producer.submit(session.name("j"), queue))
    job = session.name("j")
    error = producer.submit(job, queue)
    assert error.get("code") == "queue_full" and error.get("id") == job and error.get("command") == "SUBMIT"
    assert producer.status(job).get("code") == "unknown_job", "nothing was queued"


@spec("5.1")
def test_a_known_id_is_answered_before_the_queue_full_and_run_at_checks(session):
    producer = session.producer()
    queue, job = session.name("q"), session.name("j")
    producer.queue(queue, create=True, max_length=1)
    accepted(producer.submit(job, queue, b"same"))
    again = producer.submit(job, queue, b"same", run_at_ms=1)
    assert again.command == wire.ACCEPTED and again.get("existed") is True, again


@spec("5.1")
def test_a_unique_key_hit_is_answered_before_the_queue_full_check(session):
    producer = session.producer()
    queue, first = session.name("q"), session.name("j")
    producer.queue(queue, create=True, max_length=1)
    accepted(producer.submit(first, queue, unique_key="k"))
    reply = producer.submit(session.name("j"), queue, b"other", unique_key="k")
    assert reply.command == wire.ACCEPTED and reply.get("existed") is True and reply.get("job_id") == first


@spec("5.1")
def test_lazy_acceptance_sends_no_accepted_when_the_result_comes_first(session):
    producer, worker = session.producer(), session.worker()
    queue, job = session.name("q"), session.name("j")
    worker.ready([queue])
    producer.send(wire.SUBMIT, {"id": job, "queue": queue, "wants_result": True, "accept_within_ms": 60000}, [b"x"])
    leased_job = worker.job(job)
    worker.done(leased_job, b"r")
    result = producer.result(job)
    assert result.get("state") == "done" and result.payload == b"r"
    assert not [m for m in producer.barrier() if m.command == wire.ACCEPTED and m.get("id") == job]


@spec("5.1")
def test_lazy_acceptance_sends_accepted_no_later_than_asked(session):
    producer = session.producer()
    job = session.name("j")
    started = time.monotonic()
    producer.send(wire.SUBMIT, {"id": job, "queue": session.name("q"), "wants_result": True,
                                "accept_within_ms": 200}, [b""])
    reply = producer.expect(lambda m: m.command == wire.ACCEPTED and m.get("id") == job)
    assert reply.get("existed", False) is False
    assert time.monotonic() - started < 0.2 + session.timeout / 5, "sent after accept_within_ms (plus slack)"


@spec("5.3")
def test_result_carries_id_state_attempt_and_the_result_bytes(session):
    producer, worker, job = leased(session, wants_result=True)
    worker.done(job, b"the result")
    result = producer.result(job.get("id"))
    assert result.get("state") == "done" and result.get("attempt") == job.get("attempt") == 1
    assert result.payload == b"the result" and result.get("error", "") == ""


@spec("5.3")
def test_a_job_failed_for_good_gets_one_result_failed_with_its_error(session):
    producer, worker, job = leased(session, wants_result=True)
    worker.fail(job, "bad input", permanent=True)
    result = producer.result(job.get("id"))
    assert result.get("state") == "failed" and result.get("error") == "bad input" and result.payload == b""


@spec("5.3")
def test_a_job_cancelled_before_it_ran_gets_result_cancelled_with_attempt_0(session):
    producer = session.producer()
    job = session.name("j")
    accepted(producer.submit(job, session.name("q"), wants_result=True))
    assert producer.ask(wire.CANCEL, {"id": job}).command == wire.OK
    result = producer.result(job)
    assert result.get("state") == "cancelled" and result.get("attempt") == 0 and result.get("error") == "cancelled"


@spec("5.3")
def test_the_result_goes_to_the_connection_of_the_latest_submit_with_wants_result(session):
    first, second = session.producer(), session.producer()
    worker = session.worker()
    queue, job = session.name("q"), session.name("j")
    accepted(first.submit(job, queue, b"p", wants_result=True))
    assert accepted(second.submit(job, queue, b"p", wants_result=True)).get("existed") is True
    worker.ready([queue])
    worker.done(worker.job(job), b"r")
    assert second.result(job).get("state") == "done"
    assert not [m for m in first.barrier() if m.command == wire.RESULT]


@spec("12")
def test_a_resubmission_with_the_same_queue_and_payload_creates_nothing(session):
    producer = session.producer()
    queue, job = session.name("q"), session.name("j")
    accepted(producer.submit(job, queue, b"same"))
    again = accepted(producer.submit(job, queue, b"same", priority=5, delay_ms=100000))
    assert again.get("existed") is True and again.get("job_id", job) == job
    status = producer.status(job)
    assert status.get("state") == "pending" and status.get("priority", 0) == 0, \
        "the second SUBMIT's settings are ignored"


@spec("12")
@pytest.mark.parametrize("change", ["queue", "payload"])
def test_a_resubmission_with_another_queue_or_payload_is_an_id_conflict(session, change):
    producer = session.producer()
    queue, job = session.name("q"), session.name("j")
    accepted(producer.submit(job, queue, b"one"))
    other_queue = session.name("q") if change == "queue" else queue
    error = producer.submit(job, other_queue, b"two" if change == "payload" else b"one")
    assert error.get("code") == "id_conflict" and error.get("id") == job and error.get("command") == "SUBMIT"
    assert producer.status(job).get("queue") == queue


@spec("12")
def test_an_ended_job_resubmitted_with_another_payload_is_an_id_conflict(session):
    producer, _, job = ended_done(session)
    error = producer.submit(job.get("id"), job.get("queue"), b"not the payload")
    assert error.get("code") == "id_conflict", error


@spec("12")
def test_resubmitting_an_ended_job_with_wants_result_sends_its_result_after_accepted(session):
    _, _, job = ended_done(session, result=b"kept")
    other = session.producer()
    other.send(wire.SUBMIT, {"id": job.get("id"), "queue": job.get("queue"), "wants_result": True}, [b"payload"])
    reply = other.expect(lambda m: m.command in (wire.ACCEPTED, wire.RESULT, wire.ERROR))
    assert reply.command == wire.ACCEPTED and reply.get("existed") is True, reply
    result = other.result(job.get("id"))
    assert result.get("state") == "done" and result.payload == b"kept"


@spec("12")
def test_a_resubmission_with_wants_result_retargets_the_result(session):
    producer, worker, job = leased(session, wants_result=True)
    other = session.producer()
    accepted(other.submit(job.get("id"), job.get("queue"), b"payload", wants_result=True))
    worker.done(job, b"r")
    assert other.result(job.get("id")).get("state") == "done"
    assert not [m for m in producer.barrier() if m.command == wire.RESULT]


@spec("12")
def test_a_unique_key_held_by_a_live_job_answers_with_that_job(session):
    producer = session.producer()
    queue, first, second = session.name("q"), session.name("j"), session.name("j")
    accepted(producer.submit(first, queue, b"a", unique_key="key"))
    reply = accepted(producer.submit(second, queue, b"b", unique_key="key"))
    assert reply.get("existed") is True and reply.get("job_id") == first and reply.get("id") == second
    assert producer.status(second).get("code") == "unknown_job", "nothing new was queued"


@spec("12")
def test_a_unique_key_is_per_queue(session):
    producer = session.producer()
    accepted(producer.submit(session.name("j"), session.name("q"), unique_key="key"))
    other = accepted(producer.submit(session.name("j"), session.name("q"), unique_key="key"))
    assert other.get("existed", False) is False


@spec("12")
def test_a_unique_key_hit_sends_that_jobs_result_to_the_new_connection(session):
    first, other, worker = session.producer(), session.producer(), session.worker()
    queue, holder = session.name("q"), session.name("j")
    accepted(first.submit(holder, queue, b"a", unique_key="key"))
    accepted(other.submit(session.name("j"), queue, b"b", unique_key="key", wants_result=True))
    worker.ready([queue])
    worker.done(worker.job(holder), b"r")
    assert other.result(holder).get("state") == "done"


@spec("12")
@pytest.mark.parametrize("ending", ["done", "cancelled"])
def test_a_unique_key_is_free_again_once_its_job_ends(session, ending):
    producer, worker = session.producer(), session.worker()
    queue, holder = session.name("q"), session.name("j")
    accepted(producer.submit(holder, queue, unique_key="key"))
    if ending == "done":
        worker.ready([queue])
        worker.done(worker.job(holder))
        producer.wait_state(holder, "done")
    else:
        assert producer.ask(wire.CANCEL, {"id": holder}).command == wire.OK
    reply = accepted(producer.submit(session.name("j"), queue, unique_key="key"))
    assert reply.get("existed", False) is False


@spec("12")
def test_the_id_check_comes_before_the_unique_key(session):
    producer = session.producer()
    queue, first, second = session.name("q"), session.name("j"), session.name("j")
    accepted(producer.submit(first, queue, b"a", unique_key="key"))
    accepted(producer.submit(second, queue, b"b"))
    reply = accepted(producer.submit(second, queue, b"b", unique_key="key"))
    assert reply.get("existed") is True and reply.get("job_id", second) == second
