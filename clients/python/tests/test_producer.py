"""The Python Producer against a real broker and C++ or Python workers: every SUBMIT option,
the window, lazy acceptance, limits and refusals, and the admin requests."""

import time

import pytest

import corsair
from conftest import collect, scaled, wait_registered, wait_until


def test_a_job_submitted_from_python_runs_on_a_cpp_worker_and_its_result_comes_back(cluster):
    cluster.start_broker("--data-dir", "")
    cluster.cpp_worker("cpp", "echo")
    producer = cluster.producer()
    result = producer.run("echo", b"hello", timeout=scaled(10))
    assert result.ok and result.result == b"hello" and result.attempt == 1
    assert result.id == result.job_id


def test_three_python_workers_complete_1000_pipelined_jobs_and_each_result_arrives_once(cluster):
    cluster.start_broker("--data-dir", "")
    for name in ("a", "b", "c"):
        cluster.py_worker("work", name, capacity=4)
    producer = cluster.producer(window=200)
    ids = producer.submit_many("work", [f"job {i}" for i in range(1000)])
    results = collect(producer, 1000)
    assert set(results) == set(ids)
    assert all(r.ok and r.result.decode().endswith(f":job {i}") for i, r in enumerate(results[i] for i in ids))
    ran_by = {r.result.split(b":")[0] for r in results.values()}
    assert ran_by == {b"a", b"b", b"c"}
    assert producer.awaiting_acceptance == 0 and producer.awaiting_results == 0


def test_with_accept_within_a_quick_jobs_result_stands_for_its_accepted_and_a_slow_jobs_accepted_still_comes(cluster):
    cluster.start_broker("--data-dir", "")
    cluster.py_worker("q", "w", capacity=2)
    wait_registered(cluster, "w")
    producer = cluster.producer(accept_within=1.0)
    quick = producer.submit("q", "quick")
    slow = producer.submit("q", "sleep:1500")
    events = []
    deadline = time.monotonic() + scaled(10)
    while producer.awaiting_results and time.monotonic() < deadline:
        events += producer.events(0.5)
    kinds = [(type(e).__name__, e.id) for e in events if not isinstance(e, corsair.Progress)]
    # Each job is acknowledged before its result either way; the slow one's ACCEPTED came after 1 s.
    assert kinds.index(("Accepted", quick)) < kinds.index(("Result", quick))
    assert kinds.index(("Accepted", slow)) < kinds.index(("Result", slow))
    assert cluster.stats().counters.get("accepts_folded", 0) >= 1


def test_a_window_over_max_in_flight_learns_the_limit_and_loses_no_job(cluster):
    cluster.start_broker("--data-dir", "", "--max-in-flight", "5")
    cluster.py_worker("q", "w", capacity=8)
    producer = cluster.producer(window=100, accept_within=1.0, resend_after=0.3)
    ids = producer.submit_many("q", [str(i) for i in range(300)])
    results = collect(producer, 300)
    assert set(results) == set(ids) and all(r.ok for r in results.values())
    assert cluster.stats().counters["in_flight_refusals"] >= 1
    assert cluster.stats().queue("q")["submitted"] == 300


def test_a_payload_over_max_payload_is_refused_at_once_and_a_larger_result_fails_its_job_for_good(cluster):
    cluster.start_broker("--data-dir", "", "--max-payload", "1000")
    cluster.py_worker("q", "w")
    producer = cluster.producer()
    with pytest.raises(corsair.LimitExceeded) as refused:
        producer.submit_wait("q", b"x" * 2000, timeout=scaled(5))
    assert refused.value.code == "payload_too_large" and refused.value.max_payload_bytes == 1000
    # Now known: refused here, before sending.
    with pytest.raises(corsair.LimitExceeded):
        producer.submit("q", b"x" * 1001)
    result = producer.run("q", "big:5000", timeout=scaled(10))
    assert result.state == "failed" and "result too large" in result.error and result.attempt == 1


def test_a_broker_at_max_queues_refuses_a_new_queue_and_keeps_serving_the_old(cluster):
    cluster.start_broker("--data-dir", "", "--max-queues", "1")
    cluster.py_worker("old", "w")
    producer = cluster.producer()
    assert producer.run("old", "still here", timeout=scaled(10)).ok
    refused_id = producer.submit("new", "x")
    (event,) = list(producer.results(timeout=scaled(5)))
    assert isinstance(event, corsair.Refused) and event.id == refused_id
    assert isinstance(event.error, corsair.LimitExceeded) and event.error.code == "too_many_queues"
    with pytest.raises(corsair.LimitExceeded):
        producer.queue_settings("other", create=True)


def test_unknown_jobs_and_queues_are_typed_errors(cluster):
    cluster.start_broker("--data-dir", "")
    producer = cluster.producer()
    for call in (lambda: producer.status("nope"), lambda: producer.cancel("nope"), lambda: producer.retry("nope")):
        with pytest.raises(corsair.NotFound) as e:
            call()
        assert e.value.code == "unknown_job" and e.value.id == "nope"
    with pytest.raises(corsair.NotFound) as e:
        producer.dead("no-such-queue")
    assert e.value.code == "unknown_queue"
    with pytest.raises(ValueError):
        producer.submit("q", "x", priority=5000)
    with pytest.raises(ValueError):
        producer.submit("q", "x", delay=1, run_at=time.time() + 60)


def test_a_producer_on_the_worker_endpoint_and_a_worker_on_the_producer_endpoint_are_told_where_to_go(cluster):
    broker = cluster.start_broker("--data-dir", "")
    with corsair.Producer(broker.workers) as producer:
        with pytest.raises(corsair.AccessDenied) as e:
            producer.stats(timeout=scaled(5))
        assert e.value.code == "wrong_endpoint"
    worker = corsair.Worker(broker.producers, name="lost")
    worker.add_handler("q", lambda job: b"")
    with pytest.raises(corsair.AccessDenied):
        worker.run(handle_signals=False)


def test_an_unreachable_broker_is_a_timeout(cluster, tmp_path):
    with corsair.Producer("tcp://127.0.0.1:9") as producer:
        with pytest.raises(corsair.BrokerTimeout):
            producer.stats(timeout=0.3)
        with pytest.raises(corsair.BrokerTimeout):
            producer.submit_wait("q", "x", timeout=0.3)


def test_binary_bytes_survive_the_round_trip(cluster):
    cluster.start_broker("--data-dir", "")
    cluster.cpp_worker("cpp", "bin")
    payload = bytes(range(256)) * 3 + b"\x00\xff"
    assert cluster.producer().run("bin", payload, timeout=scaled(10)).result == payload


def test_the_same_id_resubmitted_is_one_job_and_other_bytes_under_it_are_a_conflict(cluster):
    cluster.start_broker("--data-dir", "")
    producer = cluster.producer()
    first = producer.submit_wait("q", "same", id="job-1", timeout=scaled(5))
    again = producer.submit_wait("q", "same", id="job-1", timeout=scaled(5))
    assert (first.existed, again.existed, again.job_id) == (False, True, "job-1")
    with pytest.raises(corsair.Conflict) as e:
        producer.submit_wait("q", "other", id="job-1", timeout=scaled(5))
    assert e.value.code == "id_conflict"
    assert cluster.stats().queue("q")["pending"] == 1


def test_two_submits_with_the_same_unique_key_make_one_job_and_both_get_its_result(cluster):
    cluster.start_broker("--data-dir", "")
    producer = cluster.producer()
    producer.queue_settings("u", create=True, paused=True)
    first = producer.submit("u", "one", unique_key="k")
    second = producer.submit("u", "two", unique_key="k")
    accepted = {}
    while len(accepted) < 2:
        for event in producer.events(scaled(5)):
            if isinstance(event, corsair.Accepted):
                accepted[event.id] = event
    assert accepted[second].existed and accepted[second].job_id == first
    cluster.py_worker("u", "w")
    producer.resume("u")
    results = collect(producer, 2)
    assert results[first].result == results[second].result == b"w:one"
    assert results[second].job_id == first
    assert cluster.stats().queue("u")["submitted"] == 1


def test_every_submit_option_reaches_the_broker(cluster):
    cluster.start_broker("--data-dir", "")
    producer = cluster.producer()
    producer.queue_settings("opts", create=True, paused=True)
    job = producer.submit_wait(
        "opts", "x", priority=7, max_attempts=9, backoff=0.5, backoff_max=2, backoff_jitter_pct=0,
        attempt_timeout=30, unique_key="key-1", timeout=scaled(5),
    )
    status = producer.status(job.job_id)
    assert (status.state, status.priority, status.max_attempts, status.queue) == ("pending", 7, 9, "opts")
    delayed = producer.submit_wait("opts", "later", delay=60, timeout=scaled(5))
    at = producer.submit_wait("opts", "at", run_at=time.time() + 120, timeout=scaled(5))
    assert producer.status(delayed.job_id).state == "delayed"
    assert 100_000 < producer.status(at.job_id).ready_in_ms <= 121_000
    assert producer.status(job.job_id, payload=True).payload == b"x"


def test_status_tells_a_job_its_worker_holds_ready_from_the_one_it_runs(cluster):
    # corsair-worker at capacity 1 holds a job ready (its pace unknown yet: one): the second job waits.
    cluster.start_broker("--data-dir", "")
    cluster.cpp_worker("cpp", "held", 1, "--builtin", "sleep")
    wait_registered(cluster, "cpp")
    producer = cluster.producer()
    first = producer.submit_wait("held", "3000", timeout=scaled(5))
    second = producer.submit_wait("held", "3000", timeout=scaled(5))
    wait_until(lambda: producer.status(second.job_id).state == "running", scaled(10), "both jobs leased")
    running, ready = producer.status(first.job_id), producer.status(second.job_id)
    assert (running.state, running.worker, running.held_ready) == ("running", "cpp", False)
    assert (ready.state, ready.worker, ready.held_ready) == ("running", "cpp", True)


def test_a_job_larger_than_8_mib_runs_under_a_raised_max_payload_and_is_refused_locally_by_a_default_broker(cluster):
    cluster.start_broker("--data-dir", "", "--max-payload", "16MiB")
    cluster.py_worker("big", "w")
    producer = cluster.producer()
    payload = b"p" * (9 * 1024 * 1024)
    result = producer.run("big", payload, timeout=scaled(30))
    assert result.ok and result.result == b"w:" + payload
    cluster.start_broker("--data-dir", "")
    with corsair.Producer(cluster.broker.producers) as default:
        with pytest.raises(corsair.LimitExceeded):
            default.submit("big", payload)  # the STATS it asked first told it 8 MiB
        assert default.stats().max_payload_bytes == 8 * 1024 * 1024


def test_stats_lists_a_python_worker_with_its_name_capacity_and_queues(cluster):
    cluster.start_broker("--data-dir", "")
    cluster.py_worker(["a", "b"], "listed", capacity=5)
    entry = wait_registered(cluster, "listed").worker("listed")
    assert (entry["capacity"], sorted(entry["queues"]), entry["address"]) == (5, ["a", "b"], "127.0.0.1")


def test_a_full_window_on_a_silent_broker_ends_in_a_timeout_after_the_silence_limit(cluster):
    with corsair.Producer("tcp://127.0.0.1:9", window=1, silence_limit=0.5) as producer:
        producer.submit("q", "first")
        started = time.monotonic()
        with pytest.raises(corsair.BrokerTimeout):
            producer.submit("q", "second")
        assert 0.4 < time.monotonic() - started < scaled(5)


def test_submit_many_sends_submits_each_entry_answered_on_its_own(cluster):
    cluster.start_broker("--data-dir", "")
    producer = cluster.producer(submit_batch=16)
    producer.queue_settings("full", create=True, max_length=5)
    ids = producer.submit_many("full", [f"job {i}" for i in range(8)], wants_result=False)
    accepted, refused = set(), {}
    deadline = time.monotonic() + scaled(10)
    while len(accepted) + len(refused) < 8 and time.monotonic() < deadline:
        for event in producer.events(0.1):
            if isinstance(event, corsair.Accepted):
                accepted.add(event.id)
            elif isinstance(event, corsair.Refused):
                refused[event.id] = event.error.code
    # One SUBMITS of 8: the first 5 fill the queue, the other 3 are refused one by one.
    assert accepted == set(ids[:5])
    assert refused == {job: "queue_full" for job in ids[5:]}
    cluster.cpp_worker("echo", "work", 16)
    many = producer.submit_many("work", [f"p{i}" for i in range(300)], priority=3)
    results = collect(producer, 300)
    assert set(results) == set(many)
    assert all(results[job].result == f"p{i}".encode() for i, job in enumerate(many))
    assert producer.status(many[0]).priority == 3


def test_results_come_packed_from_a_cpp_worker_and_submits_go_packed_once_the_broker_said_it_reads_them(cluster):
    cluster.start_broker("--data-dir", "")
    producer = cluster.producer()
    producer.queue_settings("pk", create=True, paused=True)
    producer.submit_wait("pk", "first", timeout=scaled(5))  # its ACCEPTED says the broker reads packed SUBMITS
    payloads = [bytes([i % 256]) * (i % 7) for i in range(300)]  # binary, some empty
    ids = producer.submit_many("pk", payloads)
    assert producer.packed_submits >= 1
    wait_until(lambda: producer.list("pk", "pending").total == 301, 10, "the backlog")
    cluster.cpp_worker("cpp", "pk", 32)
    producer.resume("pk")
    results = collect(producer, 300)
    assert [results[job].result for job in ids] == payloads
    assert producer.packed_results > 0


class ScriptedBroker:
    """A ROUTER on a free loopback port that a test answers by hand: it reads what a Producer
    sends (pumping the producer meanwhile, since nothing runs in its background) and replies."""

    def __init__(self):
        import zmq

        self.router = zmq.Context.instance().socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        self.endpoint = f"tcp://127.0.0.1:{self.router.bind_to_random_port('tcp://127.0.0.1')}"
        self.peer = b""
        self.frames = []  # those of the last SUBMIT or SUBMITS, from the signature on
        self.header = {}

    def next_submit(self, producer):
        """The next SUBMIT or SUBMITS: (command, ids, payloads)."""
        from corsair import protocol as p

        deadline = time.monotonic() + scaled(5)
        while time.monotonic() < deadline:
            producer.events(0.01)
            if self.router.poll(10):
                frames = self.router.recv_multipart()
                self.peer = frames[0]
                message = p.decode(frames[1:])
                self.frames, self.header = frames[1:], message.header
                if message.command == p.Command.SUBMITS:
                    return message.command, message.header["ids"], message.payloads
                if message.command == p.Command.SUBMIT:
                    return message.command, [message.header["id"]], message.payloads
        raise AssertionError("no SUBMIT or SUBMITS before the deadline")

    def send(self, command, header):
        from corsair import protocol as p

        self.router.send_multipart([self.peer, *p.encode(command, header)])

    def close(self):
        self.router.close(0)


def test_submit_many_falls_back_to_single_submits_for_a_broker_from_before_submits():
    from corsair import protocol as p

    broker = ScriptedBroker()
    producer = corsair.Producer(broker.endpoint, submit_batch=8)
    try:
        ids = producer.submit_many("q", [b"a", b"b", b"c"], wants_result=False)
        assert broker.next_submit(producer) == (p.Command.SUBMITS, ids, [b"a", b"b", b"c"])
        # What a broker of revision 3 answers to a command it does not know (§15).
        broker.send(p.Command.ERROR, {"code": "unknown_command", "message": "?"})
        for job, payload in zip(ids, [b"a", b"b", b"c"]):
            assert broker.next_submit(producer) == (p.Command.SUBMIT, [job], [payload])
        later = producer.submit_many("q", [b"x", b"y"], wants_result=False)
        for job in later:
            assert broker.next_submit(producer)[:2] == (p.Command.SUBMIT, [job])
    finally:
        producer.close()
        broker.close()


def test_submits_go_packed_once_an_accepted_says_so_and_unpacked_again_for_a_broker_before_packing():
    # §3.1, with a scripted broker whose broker_instance changes as a restarted one's would: what
    # an ACCEPTED said is forgotten at each restart.
    from corsair import protocol as p

    broker = ScriptedBroker()
    producer = corsair.Producer(broker.endpoint, submit_batch=8)

    def accept(jobs, instance, reads_packed):
        for job in jobs:
            header = {"id": job, "existed": False, "job_id": job, "broker_instance": instance}
            if reads_packed:
                header["reads_packed"] = True
            broker.send(p.Command.ACCEPTED, header)
        deadline = time.monotonic() + scaled(5)
        while producer.awaiting_acceptance and time.monotonic() < deadline:
            producer.events(0.01)
        assert producer.awaiting_acceptance == 0

    def submit_many(payloads, packed):
        ids = producer.submit_many("q", payloads, wants_result=False)
        assert broker.next_submit(producer) == (p.Command.SUBMITS, ids, payloads)
        assert broker.header["reads_packed"] is True
        assert (broker.header.get("packed") is True, len(broker.frames)) == (packed, 4 if packed else 3 + len(ids))
        return ids

    try:
        accept(submit_many([b"a", b"b"], packed=False), 1, reads_packed=True)  # not told yet
        told = submit_many([b"c", b"", b"eee"], packed=True)
        assert producer.packed_submits == 1
        # What a broker from before packing, in the place of the one that said it, answers (§3.1).
        broker.send(p.Command.ERROR, {"code": "bad_frame_count", "message": "SUBMITS"})
        assert broker.next_submit(producer) == (p.Command.SUBMITS, told, [b"c", b"", b"eee"])
        assert "packed" not in broker.header and len(broker.frames) == 6 and producer.resubmissions == 3
        accept(told, 2, reads_packed=False)
        accept(submit_many([b"f", b"g"], packed=False), 2, reads_packed=False)
        # A broker that reads them again (a new instance), then a restart into one that does not say.
        accept(submit_many([b"h", b"i"], packed=False), 3, reads_packed=True)
        accept(submit_many([b"j", b"k"], packed=True), 4, reads_packed=False)
        submit_many([b"l", b"m"], packed=False)
        assert producer.packed_submits == 2
        # A bad_frame_count of an unpacked SUBMITS is no broker before packing: nothing is sent again.
        broker.send(p.Command.ERROR, {"code": "bad_frame_count", "message": "SUBMITS"})
        deadline = time.monotonic() + 0.3  # well within resend_after
        while time.monotonic() < deadline:
            producer.events(0.01)
        assert not broker.router.poll(0) and producer.resubmissions == 3
    finally:
        producer.close()
        broker.close()


def test_a_job_accepted_while_its_resubmission_waits_is_resubmitted_after_the_next_restart():
    # The broker restarts twice (broker_instance 1, 2, 3); see protocol.md §8.
    from corsair import protocol as p

    broker = ScriptedBroker()
    producer = corsair.Producer(broker.endpoint, submit_batch=8)

    def accept(job, instance):
        broker.send(p.Command.ACCEPTED, {"id": job, "existed": False, "job_id": job, "broker_instance": instance})

    try:
        ids = producer.submit_many("q", [b"a", b"b", b"c"])
        assert broker.next_submit(producer)[1] == ids
        for job in ids:
            accept(job, 1)
        deadline = time.monotonic() + scaled(5)
        while producer.awaiting_acceptance and time.monotonic() < deadline:
            producer.events(0.01)
        assert producer.awaiting_acceptance == 0
        # One message: a new instance (all three queued again), and the middle job accepted.
        accept(ids[1], 2)
        assert broker.next_submit(producer)[1] == [ids[0], ids[2]]
        accept(ids[0], 3)
        assert broker.next_submit(producer)[1] == [ids[1], ids[2]]
    finally:
        producer.close()
        broker.close()
