"""§14 Limits and the refusals of §6 that need a broker with small limits (too_many_queues,
too_many_workers, too_many_in_flight, a lowered max_payload_bytes) or a broker that stops
(shutting_down). Each test starts a broker
of its own, so they run only with --broker-bin."""

import os
import signal

import pytest

import wire
from flows import accepted

spec = pytest.mark.spec


@spec("6")
def test_a_submit_naming_a_new_queue_past_max_queues_is_too_many_queues(start_broker):
    session = start_broker("--max-queues", "2")
    producer = session.producer()
    accepted(producer.submit("a1", "qa"))
    accepted(producer.submit("b1", "qb"))
    accepted(producer.submit("a2", "qa"))
    error = producer.submit("c1", "qc")
    assert error.get("code") == "too_many_queues" and error.get("id") == "c1" and error.get("command") == "SUBMIT"
    names = [q["name"] for q in wire.unpack_body(producer.stats().payload)["queues"]]
    assert "qc" not in names, "nothing was created"


@spec("5.21")
def test_a_queue_create_past_max_queues_is_too_many_queues_with_the_queue_as_id(start_broker):
    session = start_broker("--max-queues", "1")
    producer = session.producer()
    producer.queue("first", create=True)
    error = producer.queue("second", create=True)
    assert error.get("code") == "too_many_queues" and error.get("id") == "second" and error.get("command") == "QUEUE"


@spec("5.9")
def test_a_ready_naming_a_new_queue_past_max_queues_is_refused_and_not_registered(start_broker):
    session = start_broker("--max-queues", "1")
    worker = session.worker()
    assert worker.ready(["only"]).command == wire.HEARTBEAT
    other = session.worker()
    error = other.ready(["only", "another"])
    assert error.command == wire.ERROR and error.get("code") == "too_many_queues" and error.get("command") == "READY"
    other.send(wire.HEARTBEAT, {})
    other.expect_error("unknown_worker")


@spec("5.9")
def test_a_ready_past_max_workers_is_too_many_workers_and_an_announce_again_is_never_refused(start_broker):
    session = start_broker("--max-workers", "1")
    first, second = session.worker(), session.worker()
    assert first.ready(["q"], name="one").command == wire.HEARTBEAT
    error = second.ready(["q"], name="two")
    assert error.get("code") == "too_many_workers" and error.get("command") == "READY" and error.get("id") == "two"
    assert first.ready(["q"], capacity=2, name="one").command == wire.HEARTBEAT


@spec("6")
def test_a_submit_past_max_in_flight_is_too_many_in_flight_and_a_resend_is_answered(start_broker):
    session = start_broker("--max-in-flight", "1")
    producer = session.producer()
    producer.send(wire.SUBMIT, {"id": "held", "queue": "q", "wants_result": True, "accept_within_ms": 60000}, [b""])
    error = producer.submit("refused", "q")
    assert error.get("code") == "too_many_in_flight" and error.get("id") == "refused"
    assert error.get("command") == "SUBMIT" and error.get("max_in_flight") == 1
    again = producer.submit("held", "q")
    assert again.command == wire.ACCEPTED and again.get("existed") is True


@spec("2")
def test_a_lowered_max_payload_is_told_in_heartbeat_stats_and_the_refusal(start_broker):
    session = start_broker("--max-payload", "1k")
    producer, worker = session.producer(), session.worker()
    assert worker.ready(["q"]).get("max_payload_bytes") == 1024
    assert producer.stats().get("max_payload_bytes") == 1024
    accepted(producer.submit("fits", "q", b"x" * 1024))
    error = producer.submit("big", "q", b"x" * 1025)
    assert error.get("code") == "payload_too_large" and error.get("max_payload_bytes") == 1024


@spec("3")
def test_a_submit_over_max_payload_is_decoded_first_so_header_and_field_faults_win(start_broker):
    # §3: the broker's frame limit is what its socket reads; max_payload_bytes is SUBMIT's own
    # rule (§5.1 case 2), checked after the header and its fields, with the job id.
    session = start_broker("--max-payload", "1k")
    producer = session.producer()
    big = b"x" * 4096
    producer.send_frames([wire.SIGNATURE, bytes([wire.SUBMIT]), b"\xc1", big])
    error = producer.expect(wire.ERROR, what="the ERROR answering a broken header with a large payload")
    assert error.get("code") == "bad_header" and error.get("id") == "" and error.get("command") == "", error
    producer.send(wire.SUBMIT, {"id": "j", "queue": "q", "priority": 5000}, [big])
    error = producer.expect(wire.ERROR, what="the ERROR answering a bad field with a large payload")
    assert error.get("code") == "bad_field_value" and error.get("message", "").startswith("priority"), error
    error = producer.submit("j", "q", big)
    assert error.get("code") == "payload_too_large" and error.get("id") == "j", error
    assert error.get("command") == "SUBMIT" and error.get("max_payload_bytes") == 1024


@spec("5.1")
def test_a_resend_of_a_known_job_with_a_payload_over_max_payload_is_refused(start_broker):
    # §5.1: case 2 (the payload) comes before case 3 (a known id).
    session = start_broker("--max-payload", "1k")
    producer = session.producer()
    accepted(producer.submit("j", "q", b"small"))
    error = producer.submit("j", "q", b"x" * 2048)
    assert error.get("code") == "payload_too_large" and error.get("id") == "j", error
    assert producer.status("j").get("state") == "pending"


@spec("5.11")
def test_a_result_over_a_lowered_max_payload_fails_the_job_for_good_and_returns_the_credit(start_broker):
    session = start_broker("--max-payload", "1k")
    producer, worker = session.producer(), session.worker()
    accepted(producer.submit("j", "q", wants_result=True, max_attempts=3))
    accepted(producer.submit("next", "q"))
    worker.ready(["q"])
    worker.done(worker.job("j"), b"r" * 1025)
    result = producer.result("j")
    assert result.get("state") == "failed" and "result too large" in result.get("error", "")
    worker.job("next")


@spec("6")
def test_a_submit_while_the_broker_drains_is_shutting_down_and_workers_get_disconnect(start_broker):
    session = start_broker("--drain-timeout", "30s")
    producer, worker = session.producer(), session.worker()
    accepted(producer.submit("running", "q", wants_result=True))
    worker.ready(["q"])
    job = worker.job("running")
    os.kill(session.broker_process.process.pid, signal.SIGTERM)
    refusal = None
    for attempt in range(500):  # the signal is handled asynchronously: SUBMIT until it shows
        reply = producer.submit(f"late{attempt}", "q")
        if reply.command == wire.ERROR:
            refusal = reply
            break
        session.wait(0.01)
    assert refusal is not None and refusal.get("code") == "shutting_down", refusal
    assert refusal.get("id", "").startswith("late") and refusal.get("command") == "SUBMIT"
    worker.done(job, b"finished during the drain")
    assert producer.result("running").get("state") == "done"
    disconnect = worker.expect(wire.DISCONNECT)
    assert disconnect.get("reason") == "broker shutting down"
