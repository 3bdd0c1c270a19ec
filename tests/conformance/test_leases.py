"""§10 Leases and fencing, and §11 Credit."""

import pytest

import wire
from flows import accepted, jobs_in, leased

spec = pytest.mark.spec


@spec("10")
def test_a_done_for_another_attempt_is_discarded_without_reply(session):
    producer, worker, job = leased(session, wants_result=True)
    worker.done(job, b"stale", attempt=job.get("attempt") + 7)
    assert [m for m in worker.barrier() if m.command == wire.ERROR] == []
    assert producer.status(job.get("id")).get("state") == "running"
    worker.done(job, b"current")
    assert producer.result(job.get("id")).payload == b"current"


@spec("10")
def test_a_done_from_a_worker_that_does_not_hold_the_lease_is_discarded(session):
    producer, holder, job = leased(session, wants_result=True)
    other = session.worker()
    other.ready([session.name("q")])
    other.done(job, b"not mine")
    other.fail(job, "not mine either", permanent=True)
    assert [m for m in other.barrier() if m.command == wire.ERROR] == []
    status = producer.status(job.get("id"))
    assert status.get("state") == "running" and status.get("errors", []) == []
    holder.done(job, b"mine")
    assert producer.result(job.get("id")).payload == b"mine"


@spec("10")
def test_a_done_for_a_lease_revoked_by_its_timeout_is_stale(session):
    producer, worker, job = leased(session, wants_result=True, timeout_ms=100, backoff_ms=1, backoff_jitter_pct=0)
    worker.expect(wire.ABANDON)
    second = worker.job(job.get("id"))
    worker.done(job, b"late")
    worker.done(second, b"second")
    result = producer.result(job.get("id"))
    assert result.get("attempt") == 2 and result.payload == b"second"


@spec("10")
def test_the_attempt_number_always_increases_across_retries_give_backs_and_retry_from_the_dead_set(session):
    producer, worker, job = leased(session, wants_result=True, max_attempts=2, backoff_ms=1, backoff_jitter_pct=0)
    queue, job_id = job.get("queue"), job.get("id")
    seen = [job.get("attempt")]
    worker.fail(job, "retry me")
    job = worker.job(job_id)
    seen.append(job.get("attempt"))
    worker.fail(job, "", not_started=True)
    job = worker.job(job_id)
    seen.append(job.get("attempt"))
    worker.heartbeating = False
    worker.send(wire.DISCONNECT, {})
    successor = session.worker()
    successor.ready([queue])
    job = successor.job(job_id)
    seen.append(job.get("attempt"))
    successor.fail(job, "out of attempts")
    assert producer.result(job_id).get("state") == "failed", "two counted attempts of two"
    assert producer.ask(wire.RETRY, {"id": job_id}).command == wire.OK
    job = successor.job(job_id)
    seen.append(job.get("attempt"))
    assert seen == [1, 2, 3, 4, 5], seen


@spec("10")
def test_leases_given_back_are_not_held_against_max_attempts(session):
    producer, worker, job = leased(session, wants_result=True, max_attempts=1)
    worker.fail(job, "", not_started=True)
    job = worker.job(job.get("id"))
    worker.heartbeating = False
    worker.send(wire.DISCONNECT, {})
    successor = session.worker()
    successor.ready([job.get("queue")])
    job = successor.job(job.get("id"))
    assert job.get("attempt") == 3
    status = producer.status(job.get("id"))
    assert status.get("attempt") == 3 and status.get("counted_attempts", 3) < 3
    successor.fail(job, "the one counted attempt")
    assert producer.result(job.get("id")).get("state") == "failed"


@spec("5.5")
def test_status_of_an_ended_job_tells_counted_attempts_when_leases_were_given_back(session):
    producer, worker, job = leased(session, wants_result=True, max_attempts=1)
    worker.fail(job, "", not_started=True)
    job = worker.job(job.get("id"))
    worker.done(job, b"")
    producer.result(job.get("id"))
    status = producer.status(job.get("id"))
    assert status.get("attempt") == 2 and status.get("counted_attempts") == 1, status


@spec("10")
def test_a_worker_reconnecting_under_its_name_and_instance_keeps_the_leases_it_names(session):
    producer = session.producer()
    queue, kept, lost = session.name("q"), session.name("j"), session.name("j")
    name = session.name("w")
    accepted(producer.submit(kept, queue, wants_result=True))
    accepted(producer.submit(lost, queue))
    first = session.worker()
    first.ready([queue], capacity=2, name=name, instance=77)
    leases = {first.job().get("id"): 1, first.job().get("id"): 1}
    assert set(leases) == {kept, lost}
    first.heartbeating = False
    second = session.worker()
    answer = second.ready([queue], capacity=2, name=name, instance=77, holding=[[kept, 1]])
    assert answer.command == wire.HEARTBEAT
    again = second.job(lost)
    assert again.get("attempt") == 2, "the lease not named is requeued at once"
    assert producer.status(lost).get("errors", []) == [], "uncounted"
    second.send(wire.DONE, {"id": kept, "attempt": 1}, [b"kept"])
    assert producer.result(kept).payload == b"kept"


@spec("10")
def test_a_worker_back_after_being_declared_dead_finds_its_lease_abandoned(session):
    producer, worker, job = leased(session)
    worker.heartbeating = False
    producer.wait_state(job.get("id"), "pending", timeout=worker.liveness_window_s() * 2 + session.timeout)
    back = session.worker()
    back.send(wire.READY, {"queues": [job.get("queue")], "capacity": 1,
                           "holding": [[job.get("id"), job.get("attempt")]]})
    abandon = back.expect(wire.ABANDON)
    assert abandon.get("id") == job.get("id") and abandon.get("reason") == "unknown_lease"


@spec("11")
def test_the_broker_never_has_more_jobs_outstanding_than_the_capacity(session):
    producer, worker = session.producer(), session.worker()
    queue = session.name("q")
    for _ in range(5):
        accepted(producer.submit(session.name("j"), queue))
    worker.ready([queue], capacity=2)
    held = [worker.job(), worker.job()]
    granted = jobs_in(worker.barrier())
    assert granted == [], f"a third lease at capacity 2: {granted}"
    worker.done(held[0])
    worker.job()
    assert jobs_in(worker.barrier()) == [], "one DONE returns one credit"


@spec("11")
def test_a_stale_done_returns_no_credit(session):
    producer, worker, job = leased(session)
    waiting = session.name("j")
    accepted(producer.submit(waiting, job.get("queue")))
    worker.done(job, b"", attempt=job.get("attempt") + 1)
    assert jobs_in(worker.barrier()) == []
    worker.done(job, b"")
    assert worker.job(waiting).get("attempt") == 1


@spec("11")
def test_ready_again_on_the_same_connection_changes_the_capacity_and_leases_stand(session):
    producer, worker, job = leased(session, wants_result=True)
    queue = job.get("queue")
    for _ in range(2):
        accepted(producer.submit(session.name("j"), queue))
    worker.ready([queue], capacity=3)
    worker.job()
    worker.job()
    worker.done(job, b"first")
    assert producer.result(job.get("id")).payload == b"first"


@spec("11")
def test_held_leases_named_on_reconnect_count_against_the_capacity(session):
    producer = session.producer()
    queue, held = session.name("q"), session.name("j")
    name = session.name("w")
    accepted(producer.submit(held, queue))
    first = session.worker()
    first.ready([queue], capacity=2, name=name, instance=99)
    first.job(held)
    first.heartbeating = False
    for _ in range(3):
        accepted(producer.submit(session.name("j"), queue))
    second = session.worker()
    second.ready([queue], capacity=2, name=name, instance=99, holding=[[held, 1]])
    second.job()
    assert jobs_in(second.barrier()) == [], "holding 1 of capacity 2 leaves credit 1"


@spec("11")
def test_each_queue_hands_out_its_highest_priority_first_then_first_in_first_out(session):
    producer, worker = session.producer(), session.worker()
    queue = session.name("q")
    order = []
    for priority in (0, 5, 0, 5, -3):
        job = session.name("j")
        order.append((priority, job))
        accepted(producer.submit(job, queue, priority=priority))
    worker.ready([queue])
    expected = [job for _, job in sorted(order, key=lambda pj: -pj[0])]
    for job in expected:
        leased_job = worker.job()
        assert leased_job.get("id") == job
        worker.done(leased_job)


@spec("11")
def test_the_least_recently_used_idle_worker_is_served_first(session):
    producer = session.producer()
    queue = session.name("q")
    first, second = session.worker(), session.worker()
    first.ready([queue])
    second.ready([queue])
    job = session.name("j")
    accepted(producer.submit(job, queue))
    served = first if [m for m in first.barrier() if m.command == wire.JOB] else second
    other = second if served is first else first
    served.send(wire.DONE, {"id": job, "attempt": 1}, [b""])
    producer.wait_state(job, "done")
    job2 = session.name("j")
    accepted(producer.submit(job2, queue))
    other.job(job2)


@spec("11")
def test_a_worker_with_credit_is_offered_jobs_from_every_queue_it_serves(session):
    producer, worker = session.producer(), session.worker()
    queues = [session.name("q"), session.name("q")]
    jobs = {}
    for queue in queues:
        jobs[queue] = session.name("j")
        accepted(producer.submit(jobs[queue], queue))
    worker.ready(queues, capacity=2)
    assert {worker.job().get("id"), worker.job().get("id")} == set(jobs.values())


@spec("11")
def test_a_job_held_ready_is_recalled_for_an_idle_worker_and_given_back_uncharged(session):
    producer, holder = session.producer(), session.worker()
    queue = session.name("q")
    running, ready = session.name("running"), session.name("ready")
    holder.ready([queue], capacity=1, prefetch=1)
    accepted(producer.submit(running, queue, b"long", wants_result=True))
    first = holder.job(running)
    accepted(producer.submit(ready, queue, b"short", wants_result=True))
    held = holder.job(ready)  # beyond capacity 1: held ready, not started
    assert held.get("attempt") == 1
    idle = session.worker()
    idle.ready([queue], capacity=1)
    recall = holder.expect(wire.RECALL)  # §5.32: the one lease beyond capacity
    assert (recall.get("id"), recall.get("attempt")) == (ready, 1)
    holder.fail(held, "recalled", not_started=True)
    moved = idle.job(ready)
    assert moved.get("attempt") == 2
    idle.done(moved, b"fast")
    result = producer.result(ready)
    assert result.payload == b"fast" and result.get("attempt") == 2
    assert producer.status(ready).get("counted_attempts", 2) == 1
    holder.done(first, b"slow")
    assert producer.result(running).payload == b"slow"


@spec("11")
def test_a_worker_without_prefetch_never_holds_more_than_its_capacity_nor_gets_a_recall(session):
    producer, worker = session.producer(), session.worker()
    queue = session.name("q")
    worker.ready([queue], capacity=1)
    first, second = session.name("a"), session.name("b")
    accepted(producer.submit(first, queue, b"1"))
    accepted(producer.submit(second, queue, b"2"))
    job = worker.job(first)
    assert [m for m in worker.barrier() if m.command in (wire.JOB, wire.JOBS, wire.RECALL)] == []
    worker.done(job, b"")
    worker.job(second)
