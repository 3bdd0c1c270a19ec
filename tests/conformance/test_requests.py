"""Producer requests: §5.4-5.7 STATUS and STATS, §5.16-5.22 CANCEL, RETRY, PURGE, DEAD, QUEUE, OK,
§5.28-5.31 LIST, CLEAR and DELETE_QUEUE."""

import pytest

import wire
from flows import accepted, ended_cancelled, ended_dead, ended_done, leased

spec = pytest.mark.spec



def ok(reply, command, id_, count=None):
    assert reply.command == wire.OK, reply
    assert reply.get("command") == command and reply.get("id", "") == id_
    if count is not None:
        assert reply.get("count", 0) == count, reply


def refused(reply, code, command, id_):
    assert reply.command == wire.ERROR and reply.get("code") == code, reply
    assert reply.get("command") == command and reply.get("id") == id_, reply


@spec("5.4")
def test_status_of_an_unknown_job_is_unknown_job_with_id_and_command(session):
    refused(session.producer().status("no-such-job"), "unknown_job", "STATUS", "no-such-job")


@spec("5.5")
def test_status_reply_of_a_pending_job(session):
    producer = session.producer()
    queue, job = session.name("q"), session.name("j")
    accepted(producer.submit(job, queue, b"p", priority=7, max_attempts=4))
    reply = producer.status(job)
    assert reply.get("state") == "pending" and reply.get("attempt") == 0 and reply.get("queue") == queue
    assert reply.get("priority") == 7 and reply.get("max_attempts") == 4 and reply.payload == b""


@spec("5.5")
def test_status_reply_of_a_running_job_names_its_worker_and_attempt(session):
    producer, worker = session.producer(), session.worker()
    queue, job_id = session.name("q"), session.name("j")
    accepted(producer.submit(job_id, queue))
    worker.ready([queue], name="conformance-w")
    job = worker.job(job_id)
    reply = producer.status(job_id)
    assert reply.get("state") == "running" and reply.get("attempt") == job.get("attempt")
    assert reply.get("worker") == "conformance-w"


@spec("5.5")
def test_status_reply_of_a_done_job_carries_the_result(session):
    producer, _, job = ended_done(session, result=b"out")
    reply = producer.status(job.get("id"))
    assert reply.get("state") == "done" and reply.payload == b"out" and reply.get("attempt") == 1


@spec("5.5")
def test_status_reply_of_a_delayed_job_says_when_it_is_ready(session):
    producer = session.producer()
    job = session.name("j")
    accepted(producer.submit(job, session.name("q"), delay_ms=60000))
    reply = producer.status(job)
    assert reply.get("state") == "delayed" and 0 < reply.get("ready_in_ms", 0) <= 60000


@spec("5.4")
def test_status_with_payload_answers_with_the_jobs_own_payload(session):
    producer = session.producer()
    job = session.name("j")
    accepted(producer.submit(job, session.name("q"), b"job payload"))
    reply = producer.status(job, payload=True)
    assert reply.get("job_payload") is True and reply.payload == b"job payload"


@spec("5.4")
def test_status_with_payload_of_an_ended_job_is_wrong_state(session):
    producer, _, job = ended_done(session)
    refused(producer.status(job.get("id"), payload=True), "wrong_state", "STATUS", job.get("id"))


@spec("5.6")
def test_stats_ignores_any_keys_and_answers_with_queues_and_workers(session):
    producer, worker = session.producer(), session.worker()
    queue = session.name("q")
    worker.ready([queue], capacity=3, name=session.name("w"))
    accepted(producer.submit(session.name("j"), session.name("q2")))
    reply = producer.ask(wire.STATS, {"anything": [1, 2]})
    assert reply.command == wire.STATS_REPLY
    assert isinstance(reply.get("counters", {}), dict)
    body = wire.unpack_body(reply.payload)
    names = [q["name"] for q in body["queues"]]
    assert names == sorted(names), "queues sorted by name"
    assert queue in names
    workers = [w.get("name", "") for w in body["workers"]]
    assert workers == sorted(workers), "workers sorted by name"
    mine = [w for w in body["workers"] if queue in w["queues"]]
    assert len(mine) == 1 and mine[0].get("capacity") == 3


@spec("5.7")
def test_stats_counts_a_queues_pending_jobs(session):
    producer = session.producer()
    queue = session.name("q")
    for _ in range(3):
        accepted(producer.submit(session.name("j"), queue))
    body = wire.unpack_body(producer.stats().payload)
    entry = next(q for q in body["queues"] if q["name"] == queue)
    assert entry.get("pending", 0) == 3 and entry.get("in_flight", 0) == 0


@spec("5.16")
def test_cancel_of_a_pending_job_ends_it_cancelled(session):
    producer = session.producer()
    job = session.name("j")
    accepted(producer.submit(job, session.name("q"), wants_result=True))
    ok(producer.ask(wire.CANCEL, {"id": job}), "CANCEL", job, 1)
    assert producer.result(job).get("state") == "cancelled"
    assert producer.status(job).get("state") == "cancelled"


@spec("5.16")
def test_cancel_of_a_running_job_sends_abandon_cancelled_to_its_worker(session):
    producer, worker, job = leased(session, wants_result=True)
    ok(producer.ask(wire.CANCEL, {"id": job.get("id")}), "CANCEL", job.get("id"), 1)
    abandon = worker.expect(wire.ABANDON)
    assert abandon.get("id") == job.get("id") and abandon.get("attempt") == job.get("attempt")
    assert abandon.get("reason") == "cancelled"
    assert producer.result(job.get("id")).get("state") == "cancelled"


@spec("5.16")
def test_cancel_refusals(session):
    producer = session.producer()
    refused(producer.ask(wire.CANCEL, {"id": "no-such"}), "unknown_job", "CANCEL", "no-such")
    done_producer, _, done_job = ended_done(session)
    refused(done_producer.ask(wire.CANCEL, {"id": done_job.get("id")}), "wrong_state", "CANCEL", done_job.get("id"))
    dead_producer, _, dead_job = ended_dead(session)
    refused(dead_producer.ask(wire.CANCEL, {"id": dead_job.get("id")}), "wrong_state", "CANCEL", dead_job.get("id"))
    cancel_producer, cancelled = ended_cancelled(session)
    refused(cancel_producer.ask(wire.CANCEL, {"id": cancelled}), "wrong_state", "CANCEL", cancelled)


@spec("5.17")
def test_retry_needs_exactly_one_of_id_and_queue(session):
    producer = session.producer()
    producer.send(wire.RETRY, {})
    assert producer.expect_error("missing_field").get("message", "").startswith("id")
    producer.send(wire.RETRY, {"id": "", "queue": ""})
    assert producer.expect_error("missing_field").get("message", "").startswith("id")
    producer.send(wire.RETRY, {"id": "a", "queue": "b"})
    assert producer.expect_error("bad_field_value").get("message", "").startswith("id")


@spec("5.17")
def test_retry_of_a_dead_job_puts_it_back_with_attempt_numbers_counting_up(session):
    producer, worker, job = ended_dead(session)
    ok(producer.ask(wire.RETRY, {"id": job.get("id")}), "RETRY", job.get("id"), 1)
    again = worker.job(job.get("id"))
    assert again.get("attempt") == job.get("attempt") + 1


@spec("5.17")
def test_retry_of_a_whole_dead_set_counts_the_jobs(session):
    producer, worker = session.producer(), session.worker()
    queue = session.name("q")
    worker.ready([queue], capacity=2)
    ids = [session.name("j"), session.name("j")]
    for job in ids:
        accepted(producer.submit(job, queue, wants_result=True))
    for job in ids:
        worker.fail(worker.job(job), "x", permanent=True)
        producer.result(job)
    assert producer.ask(wire.DEAD, {"queue": queue}).get("total") == 2
    ok(producer.ask(wire.RETRY, {"queue": queue}), "RETRY", queue, 2)
    assert {worker.job().get("id"), worker.job().get("id")} == set(ids)


@spec("5.17")
def test_retry_refusals(session):
    producer = session.producer()
    refused(producer.ask(wire.RETRY, {"id": "no-such"}), "unknown_job", "RETRY", "no-such")
    job = session.name("j")
    accepted(producer.submit(job, session.name("q")))
    refused(producer.ask(wire.RETRY, {"id": job}), "wrong_state", "RETRY", job)
    done_producer, _, done_job = ended_done(session)
    refused(done_producer.ask(wire.RETRY, {"id": done_job.get("id")}), "wrong_state", "RETRY", done_job.get("id"))


@spec("6")
def test_retry_and_purge_of_an_unknown_queue_are_unknown_queue(session):
    producer = session.producer()
    refused(producer.ask(wire.RETRY, {"queue": "no-such-queue"}), "unknown_queue", "RETRY", "no-such-queue")
    refused(producer.ask(wire.PURGE, {"queue": "no-such-queue"}), "unknown_queue", "PURGE", "no-such-queue")


@spec("5.18")
def test_purge_of_a_dead_job_removes_it_and_status_still_says_failed(session):
    producer, _, job = ended_dead(session)
    ok(producer.ask(wire.PURGE, {"queue": job.get("queue"), "id": job.get("id")}), "PURGE", job.get("id"), 1)
    assert producer.ask(wire.DEAD, {"queue": job.get("queue")}).get("total", 0) == 0
    assert producer.status(job.get("id")).get("state") == "failed"


@spec("5.18")
def test_purge_of_a_whole_dead_set_answers_with_the_queue_and_count(session):
    producer, _, job = ended_dead(session)
    ok(producer.ask(wire.PURGE, {"queue": job.get("queue")}), "PURGE", job.get("queue"), 1)
    ok(producer.ask(wire.PURGE, {"queue": job.get("queue")}), "PURGE", job.get("queue"), 0)


@spec("5.18")
def test_purge_of_an_unknown_id_is_unknown_job(session):
    producer = session.producer()
    queue = session.name("q")
    producer.queue(queue, create=True)
    refused(producer.ask(wire.PURGE, {"queue": queue, "id": "no-such"}), "unknown_job", "PURGE", "no-such")


@spec("5.18")
def test_purge_of_a_pending_job_is_wrong_state(session):
    producer = session.producer()
    queue, job = session.name("q"), session.name("j")
    accepted(producer.submit(job, queue))
    refused(producer.ask(wire.PURGE, {"queue": queue, "id": job}), "wrong_state", "PURGE", job)


@spec("5.18")
def test_purge_of_a_done_job_is_wrong_state(session):
    producer, _, job = ended_done(session)
    refused(producer.ask(wire.PURGE, {"queue": job.get("queue"), "id": job.get("id")}), "wrong_state", "PURGE",
            job.get("id"))


@spec("5.18")
def test_purge_of_a_cancelled_job_is_wrong_state(session):
    producer, job = ended_cancelled(session)
    queue = producer.status(job).get("queue")
    refused(producer.ask(wire.PURGE, {"queue": queue, "id": job}), "wrong_state", "PURGE", job)


@spec("5.18")
def test_a_second_purge_of_the_same_job_is_wrong_state(session):
    producer, _, job = ended_dead(session)
    ok(producer.ask(wire.PURGE, {"queue": job.get("queue"), "id": job.get("id")}), "PURGE", job.get("id"), 1)
    refused(producer.ask(wire.PURGE, {"queue": job.get("queue"), "id": job.get("id")}), "wrong_state", "PURGE",
            job.get("id"))


@spec("5.18")
def test_purge_naming_a_job_of_another_queue_is_unknown_job(session):
    producer, _, job = ended_dead(session)
    other = session.name("q")
    producer.queue(other, create=True)
    refused(producer.ask(wire.PURGE, {"queue": other, "id": job.get("id")}), "unknown_job", "PURGE", job.get("id"))
    assert producer.ask(wire.DEAD, {"queue": job.get("queue")}).get("total") == 1


@spec("5.19")
def test_dead_of_an_unknown_queue_is_unknown_queue(session):
    refused(session.producer().ask(wire.DEAD, {"queue": "no-such-queue"}), "unknown_queue", "DEAD", "no-such-queue")


@spec("5.19")
@pytest.mark.parametrize("limit", [0, 10001])
def test_dead_limit_out_of_range_is_bad_field_value(session, limit):
    producer = session.producer()
    producer.send(wire.DEAD, {"queue": "q", "limit": limit})
    assert producer.expect_error("bad_field_value").get("message", "").startswith("limit")


@spec("5.20")
def test_dead_reply_lists_the_newest_dead_jobs_first_with_their_errors(session):
    producer, worker = session.producer(), session.worker()
    queue = session.name("q")
    worker.ready([queue])
    ids = []
    for n in range(3):
        job = session.name("j")
        ids.append(job)
        accepted(producer.submit(job, queue, b"12345", wants_result=True))
        worker.fail(worker.job(job), f"error {n}", permanent=True)
        producer.result(job)
    reply = producer.ask(wire.DEAD, {"queue": queue, "limit": 2})
    assert reply.command == wire.DEAD_REPLY and reply.get("queue") == queue and reply.get("total") == 3
    jobs = wire.unpack_body(reply.payload)["jobs"]
    assert [j["id"] for j in jobs] == [ids[2], ids[1]]
    assert jobs[0].get("payload_bytes") == 5 and jobs[0].get("attempts") == 1
    assert [e.get("error") for e in jobs[0].get("errors", [])] == ["error 2"]


@spec("5.21")
def test_queue_of_an_unknown_queue_without_create_is_unknown_queue_and_creates_nothing(session):
    producer = session.producer()
    queue = session.name("q")
    refused(producer.queue(queue), "unknown_queue", "QUEUE", queue)
    refused(producer.queue(queue, paused=True), "unknown_queue", "QUEUE", queue)
    refused(producer.queue(queue), "unknown_queue", "QUEUE", queue)


@spec("5.21")
def test_queue_create_answers_every_setting_with_the_defaults(session):
    producer = session.producer()
    queue = session.name("q")
    reply = producer.queue(queue, create=True, max_attempts=5)
    assert reply.command == wire.QUEUE and reply.get("created") is True
    for field in ("paused", "max_length", "max_attempts", "backoff_ms", "backoff_max_ms", "backoff_jitter_pct",
                  "timeout_ms", "dead_max_count", "dead_max_age_ms"):
        assert field in reply.header, f"QUEUE answers every field; {field} missing"
    assert reply.get("max_attempts") == 5 and reply.get("paused") is False
    again = producer.queue(queue, create=True)
    assert again.get("created", False) is False and again.get("max_attempts") == 5


@spec("5.21")
@pytest.mark.parametrize("field,value", [("max_attempts", 0), ("max_attempts", 101), ("backoff_ms", 0),
                                         ("backoff_jitter_pct", 101), ("timeout_ms", 604800001),
                                         ("dead_max_age_ms", 0), ("dead_max_age_ms", 31536000001)])
def test_a_queue_setting_outside_its_limits_is_bad_field_value(session, field, value):
    producer = session.producer()
    producer.send(wire.QUEUE, {"queue": "q", field: value})
    assert producer.expect_error("bad_field_value").get("message", "").startswith(field)


@spec("5.21")
def test_a_paused_queue_dispatches_nothing_until_resumed(session):
    producer, worker = session.producer(), session.worker()
    queue, job = session.name("q"), session.name("j")
    assert producer.queue(queue, create=True, paused=True).get("paused") is True
    worker.ready([queue])
    accepted(producer.submit(job, queue))
    assert not [m for m in worker.barrier() if m.command in (wire.JOB, wire.JOBS)]
    assert producer.status(job).get("state") == "pending"
    assert producer.queue(queue, paused=False).get("paused") is False
    worker.job(job)


@spec("5.22")
def test_ok_names_the_request_and_its_id(session):
    producer = session.producer()
    queue = session.name("q")
    producer.queue(queue, create=True)
    ok(producer.ask(wire.CLEAR, {"queue": queue}), "CLEAR", queue, 0)


@spec("5.28")
def test_list_refusals(session):
    producer = session.producer()
    refused(producer.ask(wire.LIST, {"queue": "no-such-queue", "state": "pending"}), "unknown_queue", "LIST",
            "no-such-queue")
    producer.send(wire.LIST, {"queue": "q", "state": "done"})
    assert producer.expect_error("bad_field_value").get("message", "").startswith("state")
    producer.send(wire.LIST, {"queue": "q", "state": "pending", "limit": 0})
    assert producer.expect_error("bad_field_value").get("message", "").startswith("limit")


@spec("5.28")
def test_list_pages_pending_jobs_in_dispatch_order(session):
    producer = session.producer()
    queue = session.name("q")
    low, high, low2 = session.name("j"), session.name("j"), session.name("j")
    accepted(producer.submit(low, queue))
    accepted(producer.submit(high, queue, priority=10))
    accepted(producer.submit(low2, queue))
    first = producer.ask(wire.LIST, {"queue": queue, "state": "pending", "limit": 2})
    assert first.command == wire.LIST_REPLY and first.get("total") == 3 and first.get("state") == "pending"
    assert [j["id"] for j in wire.unpack_body(first.payload)["jobs"]] == [high, low]
    assert first.get("next")
    second = producer.ask(wire.LIST, {"queue": queue, "state": "pending", "limit": 2, "after": first.get("next")})
    assert [j["id"] for j in wire.unpack_body(second.payload)["jobs"]] == [low2]
    assert second.get("next", "") == ""


@spec("5.30")
def test_clear_removes_pending_jobs_and_ends_them_cancelled(session):
    producer = session.producer()
    queue, pending, delayed = session.name("q"), session.name("j"), session.name("j")
    accepted(producer.submit(pending, queue, wants_result=True))
    accepted(producer.submit(delayed, queue, delay_ms=60000))
    ok(producer.ask(wire.CLEAR, {"queue": queue}), "CLEAR", queue, 1)
    result = producer.result(pending)
    assert result.get("state") == "cancelled" and result.get("error") == "purged from its queue"
    assert producer.status(delayed).get("state") == "delayed"
    ok(producer.ask(wire.CLEAR, {"queue": queue, "pending": False, "delayed": True}), "CLEAR", queue, 1)


@spec("5.30")
def test_clear_with_neither_pending_nor_delayed_is_bad_field_value(session):
    producer = session.producer()
    producer.send(wire.CLEAR, {"queue": "q", "pending": False})
    assert producer.expect_error("bad_field_value").get("message", "").startswith("pending")


@spec("5.31")
def test_delete_queue_refuses_a_queue_holding_jobs_unless_forced(session):
    producer, worker, job = leased(session, wants_result=True)
    queue = job.get("queue")
    refused(producer.ask(wire.DELETE_QUEUE, {"queue": queue}), "wrong_state", "DELETE_QUEUE", queue)
    ok(producer.ask(wire.DELETE_QUEUE, {"queue": queue, "force": True}), "DELETE_QUEUE", queue, 1)
    assert worker.expect(wire.ABANDON).get("reason") == "cancelled"
    assert producer.result(job.get("id")).get("state") == "cancelled"
    refused(producer.queue(queue), "unknown_queue", "QUEUE", queue)
    refused(producer.ask(wire.DELETE_QUEUE, {"queue": queue}), "unknown_queue", "DELETE_QUEUE", queue)
    assert producer.status(job.get("id")).get("state") == "cancelled"
