"""The Python Worker against a real broker: sharing a queue with the C++ worker, capacity and
heartbeats while handlers are busy, batches and packed batches, names, limits, jobs held ready
(prefetch, RECALL), and SIGTERM drains."""

import signal
import time

from conftest import collect, scaled, wait_registered, wait_until


def test_a_python_worker_and_a_cpp_worker_share_one_queue(cluster):
    cluster.start_broker("--data-dir", "")
    cluster.py_worker("shared", "py", capacity=2)
    cluster.cpp_worker("cpp", "shared", 2, "--builtin", "sleep")
    wait_registered(cluster, "py", "cpp")
    producer = cluster.producer()
    ids = producer.submit_many("shared", ["20"] * 60)
    results = collect(producer, 60)
    assert set(results) == set(ids) and all(r.ok for r in results.values())
    # No attempt failed. A job's lease number passes 1 only when the broker recalled it from the
    # C++ worker's prefetch (held ready, never started) for an idle Python worker.
    counters = cluster.stats().counters
    assert counters["attempts_failed"] == 0
    assert sum(r.attempt - 1 for r in results.values()) == counters["jobs_recalled"]
    by = {"py" if r.result.startswith(b"py:") else "cpp" for r in results.values()}
    assert by == {"py", "cpp"}


def test_capacity_bounds_the_jobs_run_at_once_and_heartbeats_go_on_while_every_handler_is_busy(cluster):
    cluster.start_broker("--data-dir", "", "--heartbeat", "250ms", "--liveness", "4")
    handle = cluster.py_worker("q", "w", capacity=3)
    producer = cluster.producer()
    ids = producer.submit_many("q", ["sleep:1500"] * 5)
    seen_running = []
    deadline = time.monotonic() + scaled(20)
    while producer.awaiting_results and time.monotonic() < deadline:
        producer.events(0.1)
        started = sum(1 for r in handle.record if r[2] == "started")
        ended = sum(1 for r in handle.record if r[2] == "done" or r[2] == "stopped")
        seen_running.append(started - ended)
    assert producer.awaiting_results == 0
    assert max(seen_running) == 3
    for job_id in ids:
        assert producer.status(job_id).attempt == 1  # nobody declared the worker dead
    assert cluster.stats().counters["workers_dead"] == 0


def test_the_brokers_shorter_heartbeat_interval_is_adopted_at_once_not_after_the_workers_own(cluster):
    # issue 16 point 1: a worker that keeps its own 5 s schedule after READY is declared dead
    # 1 s into its connection by a broker with --heartbeat 250ms --liveness 4.
    cluster.start_broker("--data-dir", "", "--heartbeat", "250ms", "--liveness", "4")
    cluster.py_worker("q", "w", heartbeat_interval=5.0)
    result = cluster.producer().run("q", "sleep:2000", timeout=scaled(10))
    assert result.ok and result.attempt == 1
    assert cluster.stats().counters["workers_dead"] == 0


def test_an_idle_worker_heartbeats_at_the_brokers_idle_interval_and_at_the_interval_while_it_holds_a_job(cluster):
    # §9: --heartbeat 100ms with --idle-heartbeat-factor 20 makes an idle interval of 2 s.
    cluster.start_broker("--data-dir", "", "--heartbeat", "100ms", "--idle-heartbeat-factor", "20")
    handle = cluster.py_worker("q", "w")
    wait_registered(cluster, "w")
    # Idle, it stays silent for many intervals without being declared dead.
    wait_until(lambda: cluster.stats().worker("w").get("last_heartbeat_ms", 0) >= 500, scaled(10),
               "the idle worker to stay silent for five intervals")
    before = handle.worker.counters["heartbeats"]
    result = cluster.producer().run("q", "sleep:1500", timeout=scaled(10))
    assert result.ok and result.attempt == 1
    # Holding the job for 1.5 s at the 100 ms interval: about 15 (at the idle interval, at most one).
    assert handle.worker.counters["heartbeats"] - before >= 5
    assert cluster.stats().counters["workers_dead"] == 0


def test_a_worker_with_batch_takes_jobs_and_sends_results_in_batches(cluster):
    cluster.start_broker("--data-dir", "")
    producer = cluster.producer()
    producer.queue_settings("b", create=True, paused=True)
    ids = producer.submit_many("b", [str(i) for i in range(300)])
    wait_until(lambda: producer.list("b", "pending").total == 300, 10, "the backlog")
    handle = cluster.py_worker("b", "w", capacity=32, batch=32)
    wait_registered(cluster, "w")
    producer.resume("b")
    results = collect(producer, 300)
    assert set(results) == set(ids)
    assert handle.worker.counters["job_batches"] > 0
    assert handle.worker.counters["done_batches"] > 0
    assert handle.worker.counters["jobs"] == 300


def test_jobs_dones_results_and_submits_travel_packed_between_python_clients_and_the_broker(cluster):
    # §3.1: each side says it reads packed batches (READY, HEARTBEAT, SUBMIT, ACCEPTED), so every
    # batch of small payloads goes in one frame; one over 256 KiB goes a frame per payload.
    cluster.start_broker("--data-dir", "")
    producer = cluster.producer()
    producer.queue_settings("pk", create=True, paused=True)
    producer.submit_wait("pk", "first", timeout=scaled(5))  # its ACCEPTED says the broker reads packed SUBMITS
    payloads = [f"job {i} " * (i % 4) for i in range(300)]  # some empty
    ids = producer.submit_many("pk", payloads)
    assert producer.packed_submits >= 1
    wait_until(lambda: producer.list("pk", "pending").total == 301, 10, "the backlog")
    handle = cluster.py_worker("pk", "w", capacity=32, batch=32)
    wait_registered(cluster, "w")
    producer.resume("pk")
    results = collect(producer, 300)
    assert [results[job].result for job in ids] == [f"w:{payload}".encode() for payload in payloads]
    counters = handle.worker.counters
    assert counters["job_batches"] > 0 and counters["packed_job_batches"] == counters["job_batches"]
    assert counters["done_batches"] > 0 and counters["packed_done_batches"] == counters["done_batches"]
    assert producer.packed_results > 0

    packed_submits = producer.packed_submits
    large = [str(i) * 40_000 for i in range(10)]  # 400 kB in one SUBMITS
    large_ids = producer.submit_many("pk", large)
    assert producer.packed_submits == packed_submits
    results = collect(producer, 10)
    assert [results[job].result for job in large_ids] == [f"w:{payload}".encode() for payload in large]


def test_a_worker_packs_its_dones_only_for_a_broker_whose_heartbeat_says_it_reads_them():
    # A scripted broker: JOBS, then DISCONNECT before the jobs end, so that their results wait for
    # the next connection and go out together, in one DONES, once its HEARTBEAT answers READY.
    import threading

    import zmq

    import corsair
    from corsair import protocol as p

    for reads_packed in (False, True):
        router = zmq.Context.instance().socket(zmq.ROUTER)
        router.setsockopt(zmq.LINGER, 0)
        endpoint = f"tcp://127.0.0.1:{router.bind_to_random_port('tcp://127.0.0.1')}"
        release = threading.Event()
        worker = corsair.Worker(endpoint, name="w", capacity=4, batch=8, reconnect_min=0.05, reconnect_max=0.1)
        worker.add_handler("q", lambda job: job.payload + b"!" if release.wait(scaled(10)) else b"")
        thread = threading.Thread(target=worker.run, kwargs={"handle_signals": False}, daemon=True)
        thread.start()

        def receive(command):
            deadline = time.monotonic() + scaled(5)
            while time.monotonic() < deadline:
                if router.poll(20):
                    frames = router.recv_multipart()
                    message = p.decode(frames[1:])
                    if message.command in command:
                        return frames[0], frames[1:], message
            raise AssertionError(f"no {command} from the worker")

        def send(peer, frames):
            router.send_multipart([peer, *frames])

        # A broker before packing sends no reads_packed in HEARTBEAT.
        heartbeat = {"interval_ms": 1000, "liveness": 10, "batch": 8}
        if reads_packed:
            heartbeat["reads_packed"] = True
        try:
            peer, _, ready = receive({p.Command.READY})
            assert ready.header["reads_packed"] is True
            send(peer, p.encode(p.Command.HEARTBEAT, heartbeat))
            leases = [["a", "q", 1], ["b", "q", 1], ["c", "q", 1]]
            jobs, _ = p.encode_batch(p.Command.JOBS, {"jobs": leases}, [b"a", b"", b"ccc"], pack=reads_packed)
            send(peer, jobs)
            send(peer, p.encode(p.Command.DISCONNECT, {"reason": "test"}))
            peer, _, ready = receive({p.Command.READY})
            assert sorted(ready.header["holding"]) == [["a", 1], ["b", 1], ["c", 1]]
            release.set()
            wait_until(lambda: worker.counters["done"] == 3, 5, "the three jobs to end unsent")
            send(peer, p.encode(p.Command.HEARTBEAT, heartbeat))
            _, frames, dones = receive({p.Command.DONE, p.Command.DONES})
            assert dones.command == p.Command.DONES
            results = dict(zip((entry[0] for entry in dones.header["done"]), dones.payloads))
            assert results == {"a": b"a!", "b": b"!", "c": b"ccc!"}
            assert (dones.header.get("packed") is True, len(frames)) == ((True, 4) if reads_packed else (False, 6))
            assert worker.counters["packed_done_batches"] == worker.counters["packed_job_batches"] == int(reads_packed)
        finally:
            release.set()
            worker.request_stop()
            thread.join(scaled(10))
            router.close(0)


def test_a_second_worker_under_a_name_in_use_is_refused_and_gets_in_once_the_first_is_gone(cluster):
    cluster.start_broker("--data-dir", "")
    first = cluster.py_worker("q", "dup")
    wait_registered(cluster, "dup")
    second = cluster.py_worker("q", "dup", reconnect_min=0.1, reconnect_max=0.2)
    wait_until(lambda: second.worker.counters["connections"] >= 2, 10, "the second worker to be refused and retry")
    first.stop()
    producer = cluster.producer()
    producer.submit_many("q", ["x"] * 3)
    collect(producer, 3)
    assert second.worker.counters["done"] == 3 and first.worker.counters["done"] == 0
    assert second.error is None


def test_a_worker_past_max_workers_retries_and_joins_once_there_is_room(cluster):
    cluster.start_broker("--data-dir", "", "--max-workers", "1")
    first = cluster.py_worker("q", "one")
    wait_registered(cluster, "one")
    second = cluster.py_worker("q", "two", reconnect_min=0.1, reconnect_max=0.2)
    wait_until(lambda: cluster.stats().counters["worker_limit_refusals"] >= 1, 10, "a refusal")
    assert not cluster.stats().worker("two")
    first.stop()
    wait_registered(cluster, "two")
    assert second.error is None


def test_sigterm_drains_a_python_worker_in_flight_jobs_finish_then_it_leaves(cluster, tmp_path):
    cluster.start_broker("--data-dir", "")
    record = tmp_path / "record"
    process = cluster.py_worker_process("py", "q", 2, "--record", str(record))
    wait_registered(cluster, "py")
    producer = cluster.producer()
    ids = producer.submit_many("q", ["sleep:1000"] * 2)
    wait_until(lambda: record.exists() and record.read_text().count("started") == 2, 10, "both jobs to start")
    process.signal(signal.SIGTERM)
    results = collect(producer, 2)
    assert set(results) == set(ids)
    assert all(r.ok and r.attempt == 1 and r.result == b"py:sleep:1000" for r in results.values())
    assert process.wait(10) == 0
    assert not cluster.stats().worker("py")
    assert cluster.stats().counters["jobs_requeued"] == 0
    later = producer.submit("q", "after the drain")
    assert producer.status(later).state == "pending"


def test_a_worker_whose_ready_would_pass_max_queues_is_refused_and_backs_off_instead_of_looping(cluster):
    cluster.start_broker("--data-dir", "", "--max-queues", "1")
    producer = cluster.producer()
    producer.queue_settings("only", create=True)
    handle = cluster.py_worker(["only", "another"], "w", reconnect_min=0.2, reconnect_max=0.4)
    wait_until(lambda: handle.worker.counters["connections"] >= 3, 10, "three refused connections")
    assert not cluster.stats().worker("w")
    assert handle.worker.counters["ready_again"] == 0  # no READY loop on one socket


def test_a_job_its_worker_could_not_start_goes_to_another_worker_without_using_up_an_attempt(cluster):
    cluster.start_broker("--data-dir", "")
    sick = cluster.py_worker("q", "sick")
    wait_registered(cluster, "sick")
    producer = cluster.producer()
    job_id = producer.submit("q", "not_started:sick", max_attempts=1)
    wait_until(lambda: sick.worker.counters["failed"] == 1, 10, "the sick worker to give the job back")
    healthy = cluster.py_worker("q", "healthy")
    result = producer.wait(job_id, scaled(10))
    # With max_attempts 1 a counted failure would have sent it to the dead set.
    assert (result.state, result.attempt, result.result) == ("done", 2, b"healthy:not_started:sick")
    assert cluster.stats().counters["attempts_not_started"] == 1
    # After its pause the sick worker takes jobs again. The healthy one, quick and just done, would
    # be served first (docs/jobs.md, Dispatch), so it leaves.
    healthy.stop()
    wait_until(lambda: not cluster.stats().worker("healthy"), 10, "the healthy worker to leave")
    wait_until(lambda: producer.run("q", "x", timeout=scaled(5)) and sick.worker.counters["done"] > 0, 15,
               "the sick worker to serve again", step=0.2)


def test_a_python_worker_holds_a_job_ready_and_gives_it_back_when_the_broker_recalls_it_for_an_idle_worker(cluster):
    # §11: capacity 1 and the default prefetch. "short" waits behind "long" on "holder" until
    # "idle" arrives; the broker asks it back and hands it over, "long" runs on.
    cluster.start_broker("--data-dir", "")
    holder = cluster.py_worker("q", "holder")
    wait_registered(cluster, "holder")
    assert cluster.stats().worker("holder")["prefetch"] == 32
    producer = cluster.producer()
    long_job = producer.submit("q", "sleep:60000")
    short_job = producer.submit("q", "sleep:0")
    wait_until(lambda: producer.status(short_job).state == "running", scaled(10), "both jobs leased")
    assert producer.status(short_job).held_ready and not producer.status(long_job).held_ready
    assert [r[0] for r in holder.record] == [long_job]  # "short" has not started

    cluster.py_worker("q", "idle")
    wait_until(lambda: producer.status(short_job).state == "done", scaled(10), "the recalled job to run")
    status = producer.status(short_job)
    assert status.worker == "idle" and status.attempt == 2
    assert holder.worker.counters["recalled"] == 1
    counters = cluster.stats().counters
    assert counters["jobs_recalled"] == 1 and counters["attempts_not_started"] == 0
    assert producer.status(long_job).state == "running"
    assert [r[0] for r in holder.record] == [long_job]  # never ran "short"


def test_a_draining_python_worker_gives_back_the_job_it_holds_ready_at_once_and_finishes_the_one_it_runs(
        cluster, tmp_path):
    cluster.start_broker("--data-dir", "")
    record = tmp_path / "record"
    process = cluster.py_worker_process("py", "q", 1, "--record", str(record))
    wait_registered(cluster, "py")
    producer = cluster.producer()
    running = producer.submit("q", "sleep:1500")
    held = producer.submit("q", "sleep:0")
    wait_until(lambda: record.exists() and "started" in record.read_text(), scaled(10), "the first job to start")
    wait_until(lambda: producer.status(held).state == "running", scaled(10), "the second job leased, held ready")
    process.signal(signal.SIGTERM)
    # Back in its queue while "running" still runs: no other worker, so it waits there.
    wait_until(lambda: producer.status(held).state == "pending", scaled(5), "the held job given back")
    assert producer.status(running).state == "running"
    assert producer.wait(running, timeout=scaled(10)).ok
    assert process.wait(10) == 0
    assert held not in record.read_text()  # never started here
    counters = cluster.stats().counters
    assert counters["attempts_not_started"] == 1 and counters["jobs_requeued"] == 1  # the held job, uncounted
    cluster.py_worker("q", "next")
    assert producer.wait(held, timeout=scaled(10)).ok
    status = producer.status(held)
    assert status.worker == "next" and status.attempt == 2 and status.counted_attempts == 1


def test_a_stopped_python_worker_never_runs_the_jobs_it_held_ready(cluster):
    # request_stop() sends DISCONNECT: the broker gives the held job to another worker, so this
    # one must drop it unrun rather than run it after the fact.
    cluster.start_broker("--data-dir", "")
    first = cluster.py_worker("q", "first")
    wait_registered(cluster, "first")
    producer = cluster.producer()
    producer.submit("q", "sleep:1500")
    held = producer.submit("q", "echo me")
    wait_until(lambda: producer.status(held).held_ready, scaled(10), "the second job held ready")
    first.stop()
    assert not first.thread.is_alive()
    assert all(r[0] != held for r in first.record)
    cluster.py_worker("q", "second")
    assert producer.wait(held, timeout=scaled(10)).ok
    assert producer.status(held).worker == "second"
    assert all(r[0] != held for r in first.record)


def test_a_python_worker_draining_while_cut_off_from_the_broker_drops_the_jobs_it_held_ready_unrun(cluster):
    cluster.start_broker("--data-dir", "", "--heartbeat", "200ms")
    handle = cluster.py_worker("q", "w", drain_timeout=10.0)
    wait_registered(cluster, "w")
    producer = cluster.producer()
    producer.submit("q", "sleep:3000")
    held = producer.submit("q", "echo me")
    wait_until(lambda: producer.status(held).held_ready, scaled(10), "the second job held ready")
    cluster.broker.process.signal(signal.SIGSTOP)
    try:
        wait_until(lambda: handle.worker._state == "waiting", scaled(10), "the worker to give up on the broker")
        handle.worker.request_drain()
        wait_until(lambda: not handle.thread.is_alive(), scaled(15), "the drain to end")
    finally:
        cluster.broker.process.signal(signal.SIGCONT)
    assert all(r[0] != held for r in handle.record)


def test_jobs_held_ready_that_cannot_start_either_do_not_lengthen_the_pause(cluster):
    # The first NotStarted pauses the worker for 1 s (DRAIN, then READY again). The jobs it held
    # ready are given back with it; those a thread had already taken fail the same way within the
    # pause and neither lengthen it nor double the next (before: 16 s after a burst of them).
    cluster.start_broker("--data-dir", "")
    handle = cluster.py_worker("q", "sick")
    wait_registered(cluster, "sick")
    producer = cluster.producer()
    for job_id in producer.submit_many("q", ["warm-up"] * 200):
        assert producer.wait(job_id, timeout=scaled(10)).ok
    # Instant jobs: several held ready, the whole prefetch (32) on a quiet machine; the depth is
    # the jobs the worker gets through in 10 ms at its measured pace, so a loaded machine (ASan)
    # gives fewer (17 seen).
    assert cluster.stats().worker("sick")["ready_depth"] > 1
    producer.submit_many("q", ["not_started:sick"] * 20)

    def not_started(attempt):
        return any(r[2] == "not_started" and r[1] == attempt for r in list(handle.record))

    wait_until(lambda: not_started(1), scaled(10), "the first job that cannot start")
    paused_at = time.monotonic()
    # After the pause the broker leases the given-back jobs to it again, as attempt 2.
    wait_until(lambda: not_started(2), scaled(5), "the pause to end")
    assert time.monotonic() - paused_at < scaled(4)


def test_more_handler_threads_than_the_capacity_are_not_started():
    # An extra thread would start a job held ready, past the capacity announced in READY (§11).
    import corsair
    assert corsair.Worker("tcp://127.0.0.1:1", capacity=2, threads=8).threads == 2
    assert corsair.Worker("tcp://127.0.0.1:1", capacity=4, threads=2).threads == 2
