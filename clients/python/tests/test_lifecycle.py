"""A job's life with a Python producer and Python workers: retries, the dead set, priorities,
delays, timeouts, cancel, progress, pause and resume, queue limits and the admin requests
(lifecycle_test.cpp and inspect_test.cpp, from Python)."""

import time

import pytest

import corsair
from conftest import collect, scaled, wait_registered, wait_until


def test_a_job_failing_twice_then_succeeding_ends_done_on_attempt_3_with_both_errors_recorded(cluster):
    cluster.start_broker("--data-dir", "")
    cluster.py_worker("q", "w")
    producer = cluster.producer()
    result = producer.run("q", "fail:2", backoff=0.05, backoff_jitter_pct=0, timeout=scaled(15))
    assert (result.state, result.attempt, result.result) == ("done", 3, b"w:fail:2")
    status = producer.status(result.id)
    assert [e["attempt"] for e in status.errors] == [1, 2]
    assert all("failed on purpose" in e["error"] for e in status.errors)


def test_a_permanent_failure_goes_to_the_dead_set_after_one_attempt_and_retry_brings_it_back(cluster):
    cluster.start_broker("--data-dir", "")
    handle = cluster.py_worker("q", "w")
    producer = cluster.producer()
    result = producer.run("q", "permanent", max_attempts=5, timeout=scaled(10))
    assert (result.state, result.attempt, result.error) == ("failed", 1, "this job can never succeed")
    dead = producer.dead("q")
    assert dead.total == 1 and dead.jobs[0]["id"] == result.id
    assert producer.list("q", "failed").jobs[0]["id"] == result.id
    with pytest.raises(corsair.Conflict):
        producer.cancel(result.id)  # wrong_state: dead jobs are purged, not cancelled
    producer.retry(result.id)
    # Resubmitting the id re-targets its RESULT here (§12): the retried job's second ending arrives.
    producer.submit("q", "permanent", id=result.id, max_attempts=5)
    again = producer.wait(result.id, scaled(10))
    assert (again.state, again.attempt) == ("failed", 2)
    assert producer.dead("q").total == 1
    assert producer.purge("q", result.id) == 1
    assert producer.dead("q").total == 0
    assert sum(1 for r in handle.record if r[0] == result.id and r[2] == "started") == 2


def test_priorities_reorder_a_backlog(cluster):
    cluster.start_broker("--data-dir", "")
    producer = cluster.producer()
    producer.queue_settings("prio", create=True, paused=True)
    ids = {priority: producer.submit("prio", f"p{priority}", priority=priority) for priority in (0, -5, 10, 3)}
    wait_until(lambda: producer.list("prio", "pending").total == 4, 5, "the backlog")
    handle = cluster.py_worker("prio", "w", capacity=1)
    wait_registered(cluster, "w")
    producer.resume("prio")
    collect(producer, 4)
    order = [job_id for job_id, _, outcome in handle.record if outcome == "started"]
    assert order == [ids[10], ids[3], ids[0], ids[-5]]


def test_a_delayed_job_does_not_run_early(cluster):
    cluster.start_broker("--data-dir", "")
    cluster.py_worker("q", "w")
    producer = cluster.producer()
    started = time.monotonic()
    result = producer.run("q", "later", delay=1.0, timeout=scaled(10))
    assert result.ok and time.monotonic() - started >= 0.95


def test_a_job_exceeding_its_timeout_is_stopped_and_retried(cluster):
    cluster.start_broker("--data-dir", "")
    handle = cluster.py_worker("q", "w")
    producer = cluster.producer()
    result = producer.run("q", "sleep:5000", attempt_timeout=0.3, max_attempts=2, backoff=0.05, timeout=scaled(15))
    assert (result.state, result.attempt) == ("failed", 2)
    assert "timed out" in result.error
    wait_until(lambda: sum(1 for r in handle.record if r[2] == "stopped") == 2, 5, "both attempts stopped")
    assert handle.worker.counters["abandoned"] == 2


def test_cancel_of_pending_and_running_jobs(cluster):
    cluster.start_broker("--data-dir", "")
    handle = cluster.py_worker("q", "w", capacity=1)
    producer = cluster.producer()
    running = producer.submit("q", "sleep:10000")
    pending = producer.submit("q", "never")
    wait_until(lambda: producer.status(running).state == "running", 10, "the job to run")
    producer.cancel(pending)
    producer.cancel(running)
    results = collect(producer, 2)
    assert {r.state for r in results.values()} == {"cancelled"}
    wait_until(lambda: (running, 1, "stopped") in handle.record, 5, "the handler to be told to stop")
    assert all(r[0] != pending for r in handle.record)
    with pytest.raises(corsair.Conflict):
        producer.cancel(running)


def test_progress_reaches_the_producer_and_status(cluster):
    cluster.start_broker("--data-dir", "")
    cluster.py_worker("q", "w")
    seen = []
    producer = cluster.producer(on_progress=seen.append)
    job_id = producer.submit("q", "progress:1500")
    wait_until(lambda: producer.events(0.1) is not None and seen, 10, "a progress event")
    assert (seen[0].id, seen[0].percent, seen[0].message) == (job_id, 40, "forty")
    status = producer.status(job_id)
    assert (status.progress, status.progress_message, status.worker) == (40, "forty", "w")
    assert producer.wait(job_id, scaled(10)).ok


def test_pause_holds_jobs_and_resume_releases_them(cluster):
    cluster.start_broker("--data-dir", "")
    cluster.py_worker("q", "w")
    producer = cluster.producer()
    assert producer.run("q", "warm", timeout=scaled(10)).ok
    assert producer.pause("q").paused
    job_id = producer.submit("q", "held")
    with pytest.raises(corsair.BrokerTimeout):
        producer.wait(job_id, 0.7)
    assert producer.status(job_id).state == "pending"
    assert not producer.resume("q").paused
    assert producer.wait(job_id, scaled(10)).ok


def test_queue_full_at_the_limit_loses_nothing(cluster):
    cluster.start_broker("--data-dir", "")
    producer = cluster.producer(retry_try_later=True, resend_after=0.2)
    producer.queue_settings("small", create=True, max_length=5)
    ids = producer.submit_many("small", [str(i) for i in range(20)])
    wait_until(lambda: cluster.stats().counters.get("queue_full_refusals", 0) > 0, 10, "a queue_full refusal")
    cluster.py_worker("small", "w", capacity=2)
    results = collect(producer, 20)
    assert set(results) == set(ids) and all(r.ok for r in results.values())
    assert cluster.stats().queue("small")["submitted"] == 20


def test_queue_full_without_retry_is_reported_as_try_later(cluster):
    cluster.start_broker("--data-dir", "")
    producer = cluster.producer()
    producer.queue_settings("tiny", create=True, max_length=1)
    producer.submit_wait("tiny", "one", timeout=scaled(5))
    with pytest.raises(corsair.TryLater) as e:
        producer.submit_wait("tiny", "two", timeout=scaled(5))
    assert e.value.code == "queue_full"


def test_queues_are_created_listed_cleared_and_deleted_explicitly(cluster):
    cluster.start_broker("--data-dir", "")
    producer = cluster.producer()
    with pytest.raises(corsair.NotFound):
        producer.queue_settings("typo")
    created = producer.queue_settings("made", create=True, paused=True, max_attempts=7, backoff=2, attempt_timeout=60)
    assert created.created and (created.max_attempts, created.backoff_ms, created.timeout_ms) == (7, 2000, 60000)
    assert not producer.queue_settings("made").created
    ids = producer.submit_many("made", [str(i) for i in range(5)], wants_result=False)
    producer.submit_wait("made", "later", delay=60, timeout=scaled(5))
    wait_until(lambda: producer.list("made", "pending").total == 5, 5, "five pending")
    first = producer.list("made", "pending", limit=2)
    second = producer.list("made", "pending", after=first.next, limit=10)
    assert [j["id"] for j in first.jobs + second.jobs] == ids
    assert producer.clear("made") == 5
    assert producer.list("made", "delayed").total == 1
    with pytest.raises(corsair.Conflict):
        producer.delete_queue("made")
    assert producer.delete_queue("made", force=True) == 1
    with pytest.raises(corsair.NotFound):
        producer.list("made", "pending")


def test_retry_all_and_purge_a_whole_dead_set(cluster):
    cluster.start_broker("--data-dir", "")
    cluster.py_worker("q", "w", capacity=3)
    producer = cluster.producer()
    ids = producer.submit_many("q", ["permanent"] * 3)
    collect(producer, 3)
    assert producer.dead("q", limit=2).total == 3 and len(producer.dead("q", limit=2).jobs) == 2
    assert producer.retry_all("q") == 3
    wait_until(lambda: producer.dead("q").total == 3, 10, "three deaths again")
    assert producer.purge("q") == 3
    assert producer.retry_all("q") == 0
    assert all(producer.status(i).state == "failed" for i in ids)
