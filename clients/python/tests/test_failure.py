"""Failures with Python clients: workers killed or stopped, brokers killed and restarted with
their journal, while producers wait (failure_test.cpp and drain_test.cpp, from Python)."""

import signal

from conftest import collect, scaled, wait_registered, wait_until

FAST = ("--heartbeat", "250ms", "--liveness", "4")


def started(record_path) -> int:
    return record_path.read_text().count("started") if record_path.exists() else 0


def ended(record_path) -> int:
    """Attempts the handler finished, whether it ran to the end or saw its lease revoked."""
    lines = record_path.read_text().splitlines() if record_path.exists() else []
    return sum(line.endswith((" done", " stopped")) for line in lines)


def test_a_python_worker_killed_with_sigkill_holding_jobs_has_them_requeued_and_done_once(cluster, tmp_path):
    cluster.start_broker(*FAST)
    record = tmp_path / "record"
    cluster.py_worker_process("victim", "q", 3, "--record", str(record))
    wait_registered(cluster, "victim")
    producer = cluster.producer()
    ids = producer.submit_many("q", ["hold:victim"] * 3)
    wait_until(lambda: started(record) == 3, 10, "the victim to hold three jobs")
    cluster.processes[-1].kill()
    survivor = cluster.py_worker("q", "survivor", capacity=3)
    results = collect(producer, 3)
    assert set(results) == set(ids)
    assert all((r.state, r.attempt, r.result) == ("done", 2, b"survivor:hold:victim") for r in results.values())
    assert sorted(r[0] for r in survivor.record if r[2] == "started") == sorted(ids)
    status = producer.status(ids[0])
    assert "worker victim died holding the job" in status.errors[0]["error"]


def test_a_sigstopped_python_worker_is_declared_dead_its_jobs_are_redone_and_its_late_results_discarded(cluster, tmp_path):
    cluster.start_broker(*FAST)
    record = tmp_path / "record"
    frozen = cluster.py_worker_process("frozen", "q", 2, "--record", str(record))
    wait_registered(cluster, "frozen")
    producer = cluster.producer()
    ids = producer.submit_many("q", ["sleep:1500"] * 2)
    wait_until(lambda: started(record) == 2, 10, "the frozen worker to hold two jobs")
    frozen.signal(signal.SIGSTOP)
    wait_until(lambda: cluster.stats().counters["workers_dead"] == 1, 10, "the broker to declare it dead")
    cluster.py_worker("q", "thawed-elsewhere", capacity=2)
    results = collect(producer, 2)
    assert all(r.result == b"thawed-elsewhere:sleep:1500" and r.attempt == 2 for r in results.values())
    frozen.signal(signal.SIGCONT)
    # Its late DONEs are answered ERROR unknown_worker (the broker forgot it): it announces itself
    # again, its stale leases are abandoned, and the recorded results stay the other worker's. The
    # ABANDON for a lease can reach it before that handler's thread is scheduled after SIGCONT (the
    # first DONE's round trip is enough on a loaded machine): that handler then ends "stopped".
    wait_until(lambda: ended(record) == 2, 10, "the frozen worker's handlers to end late")
    wait_registered(cluster, "frozen")
    for job_id in ids:
        status = producer.status(job_id)
        assert (status.state, status.attempt, status.worker, status.result) == (
            "done", 2, "thawed-elsewhere", b"thawed-elsewhere:sleep:1500")


def test_python_workers_reconnect_by_themselves_to_a_broker_restarted_on_the_same_ports(cluster):
    broker = cluster.start_broker(*FAST)
    handle = cluster.py_worker("q", "w", reconnect_min=0.2)
    producer = cluster.producer()
    assert producer.run("q", "before", timeout=scaled(10)).ok
    broker.kill()
    broker.start(same_ports=True)
    result = producer.run("q", "after", timeout=scaled(20))
    assert result.ok and result.result == b"w:after"
    # Either its DEALER reconnected under it and the broker's unknown_worker made it send READY
    # again on the same socket, or it noticed the silence and opened a new one.
    assert handle.worker.counters["connections"] + handle.worker.counters["ready_again"] >= 2


def test_a_broker_killed_mid_job_gets_the_job_back_from_the_python_worker_which_completes_it_once_on_attempt_1(
    cluster, tmp_path
):
    broker = cluster.start_broker(*FAST)
    handle = cluster.py_worker("q", "w", reconnect_min=0.2)
    producer = cluster.producer(check_after=0.5)
    job_id = producer.submit("q", "sleep:2500")
    wait_until(lambda: any(r[2] == "started" for r in handle.record), 10, "the job to start")
    broker.kill()
    broker.start(same_ports=True)
    result = producer.wait(job_id, scaled(30))
    assert (result.state, result.attempt, result.result) == ("done", 1, b"w:sleep:2500")
    assert [r for r in handle.record if r[2] == "started"] == [(job_id, 1, "started")]


def test_sigterm_drains_the_broker_and_the_python_workers_it_disconnects_come_back_after_its_restart(cluster):
    broker = cluster.start_broker(*FAST, "--drain-timeout", "200ms")
    handle = cluster.py_worker("q", "w", reconnect_min=0.2)
    producer = cluster.producer(check_after=0.5)
    job_id = producer.submit("q", "sleep:2000")
    wait_until(lambda: any(r[2] == "started" for r in handle.record), 10, "the job to start")
    assert broker.terminate() == 0  # the drain times out with the job still running
    broker.start(same_ports=True)
    result = producer.wait(job_id, scaled(30))
    assert (result.state, result.attempt) == ("done", 1)  # re-adopted from the worker's READY
    assert producer.run("q", "more", timeout=scaled(10)).ok


def test_a_broker_killed_and_restarted_with_its_journal_while_a_python_producer_waits_loses_and_doubles_nothing(
    cluster,
):
    broker = cluster.start_broker(*FAST)
    cluster.cpp_worker("cpp", "q", 4, "--builtin", "sleep")
    cluster.py_worker("q", "py", capacity=4, reconnect_min=0.2)
    producer = cluster.producer(check_after=0.5, window=100)
    ids = producer.submit_many("q", ["30"] * 150)
    collected = {}
    for event in producer.results(timeout=scaled(30)):
        collected[event.id] = event
        if len(collected) == 40:
            break
    broker.kill()
    broker.start(same_ports=True)
    ids += producer.submit_many("q", ["30"] * 50)
    for event in producer.results(timeout=scaled(60)):
        assert event.id not in collected, f"result of {event.id} arrived twice"
        collected[event.id] = event
    assert set(collected) == set(ids)
    assert all(r.ok for r in collected.values())
    assert producer.resubmissions > 0  # it noticed the new broker_instance and re-attached
    # Nothing doubled: the restarted broker holds each job once, all done.
    assert sum(q["submitted"] for q in cluster.stats().queues) <= 200
    for job_id in ids[::10]:
        assert producer.status(job_id).state == "done"


def test_a_producer_waiting_on_results_rides_through_a_restart_of_a_broker_without_a_journal(cluster):
    broker = cluster.start_broker(*FAST, "--data-dir", "")
    producer = cluster.producer(check_after=0.5)
    producer.queue_settings("q", create=True, paused=True)
    ids = producer.submit_many("q", [f"job {i}" for i in range(20)])
    while producer.awaiting_acceptance:
        producer.events(0.2)
    broker.kill()
    broker.start(same_ports=True)  # it has forgotten every job
    cluster.py_worker("q", "w", capacity=4)
    results = collect(producer, 20)
    # STATUS answered unknown_job, so every awaited job was submitted again under its id.
    assert set(results) == set(ids) and all(r.ok and r.attempt == 1 for r in results.values())
    assert producer.resubmissions >= 20


def test_a_result_reached_while_the_broker_is_down_is_kept_and_delivered_to_the_restarted_broker(cluster):
    broker = cluster.start_broker(*FAST)
    handle = cluster.py_worker("q", "w", reconnect_min=0.2, reconnect_max=0.5)
    producer = cluster.producer(check_after=0.5)
    job_id = producer.submit("q", "sleep:1500")
    wait_until(lambda: (job_id, 1, "started") in handle.record, 10, "the job to start")
    broker.kill()
    wait_until(lambda: (job_id, 1, "done") in handle.record, 10, "the job to end while the broker is down")
    wait_until(lambda: handle.worker.counters["connections"] >= 2, 10, "the worker to notice and reconnect")
    broker.start(same_ports=True)
    result = producer.wait(job_id, scaled(30))
    # READY named the lease in `holding`, the broker re-adopted it, the kept DONE was delivered.
    assert (result.state, result.attempt, result.result) == ("done", 1, b"w:sleep:1500")
    assert [r for r in handle.record if r[2] == "started"] == [(job_id, 1, "started")]
