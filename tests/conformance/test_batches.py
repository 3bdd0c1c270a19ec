"""Batches: §5.25 JOBS, §5.26 DONES, §5.27 RESULTS and §5.33 SUBMITS."""

import pytest

import wire
from flows import accepted, jobs_in, submit_many

spec = pytest.mark.spec


def leases_until(worker, count):
    """Reads JOB and JOBS messages until `count` leases have arrived: [(id, queue, attempt, payload)]."""
    leases = []
    messages = []
    while len(leases) < count:
        message = worker.expect(lambda m: m.command in (wire.JOB, wire.JOBS), what=f"{count - len(leases)} more JOBs")
        messages.append(message)
        if message.command == wire.JOB:
            leases.append((message.get("id"), message.get("queue"), message.get("attempt"), message.payload))
        else:
            for entry, payload in zip(message.get("jobs"), message.payloads):
                leases.append((entry[0], entry[1], entry[2], payload))
    return leases, messages


@spec("5.25")
def test_a_worker_that_set_batch_gets_jobs_with_one_payload_frame_per_entry_in_order(session):
    producer, worker = session.producer(), session.worker()
    queue = session.name("q")
    ids = submit_many(session, producer, queue, 6)
    worker.ready([queue], capacity=8, batch=4)
    leases, messages = leases_until(worker, 6)
    assert [lease[0] for lease in leases] == ids
    assert all(lease[1] == queue and lease[2] == 1 for lease in leases)
    assert [lease[3] for lease in leases] == [f"payload {n}".encode() for n in range(6)]
    batches = [m for m in messages if m.command == wire.JOBS]
    assert batches, "six waiting jobs for a batch worker came as at least one JOBS"
    assert all(len(m.get("jobs")) <= 4 for m in batches), "no JOBS over the worker's batch"


@spec("5.25")
def test_jobs_never_exceeds_the_workers_credit(session):
    producer, worker = session.producer(), session.worker()
    queue = session.name("q")
    submit_many(session, producer, queue, 5)
    worker.ready([queue], capacity=2, batch=16)
    leases_until(worker, 2)
    assert jobs_in(worker.barrier()) == []


@spec("5.25")
def test_a_worker_without_batch_gets_single_jobs(session):
    producer, worker = session.producer(), session.worker()
    queue = session.name("q")
    submit_many(session, producer, queue, 3)
    worker.ready([queue], capacity=3)
    _, messages = leases_until(worker, 3)
    assert [m.command for m in messages] == [wire.JOB] * 3


@spec("5.26")
def test_dones_completes_each_entry_and_discards_a_stale_one(session):
    producer, worker = session.producer(), session.worker()
    queue = session.name("q")
    ids = submit_many(session, producer, queue, 3, wants_result=True)
    answer = worker.ready([queue], capacity=3, batch=8)
    assert answer.get("batch", 0) >= 3, "the broker takes DONES of 3"
    leases, _ = leases_until(worker, 3)
    entries = [[leases[0][0], 1], [leases[1][0], 9], [leases[2][0], 1]]
    worker.send(wire.DONES, {"done": entries}, [b"r0", b"stale", b"r2"])
    assert [m for m in worker.barrier() if m.command == wire.ERROR] == []
    results = {}
    while len(results) < 2:
        message = producer.expect(lambda m: m.command in (wire.RESULT, wire.RESULTS))
        if message.command == wire.RESULT:
            results[message.get("id")] = message.payload
        else:
            results.update({e[0]: p for e, p in zip(message.get("results"), message.payloads)})
    assert results == {ids[0]: b"r0", ids[2]: b"r2"}
    assert producer.status(ids[1]).get("state") == "running"


@spec("5.26")
def test_dones_with_a_frame_count_other_than_one_per_entry_is_bad_frame_count(session):
    worker = session.worker()
    worker.ready([session.name("q")], batch=4)
    worker.send(wire.DONES, {"done": [["a", 1], ["b", 1]]}, [b"only one"])
    worker.expect_error("bad_frame_count")


@spec("5.26")
@pytest.mark.parametrize("entry,code", [(["a"], "bad_field_type"), (["a", 1, 2], "bad_field_type"),
                                        (["a", 0], "bad_field_value"), (["", 1], "bad_field_value")])
def test_a_malformed_dones_entry_refuses_the_whole_message_naming_done(session, entry, code):
    worker = session.worker()
    worker.ready([session.name("q")], batch=4)
    worker.send(wire.DONES, {"done": [entry]}, [b""])
    assert worker.expect_error(code).get("message", "").startswith("done")


@spec("5.27")
def test_results_batch_brings_the_results_of_one_dones_in_one_results(session):
    producer, worker = session.producer(), session.worker()
    queue = session.name("q")
    ids = submit_many(session, producer, queue, 3, wants_result=True, results_batch=8)
    worker.ready([queue], capacity=3, batch=8)
    leases, _ = leases_until(worker, 3)
    worker.send(wire.DONES, {"done": [[lease[0], lease[2]] for lease in leases]}, [b"a", b"b", b"c"])
    results = producer.expect(lambda m: m.command in (wire.RESULT, wire.RESULTS))
    assert results.command == wire.RESULTS, results
    entries = results.get("results")
    assert [e[0] for e in entries] == ids and all(e[1] == "done" and e[2] == 1 and e[3] == "" for e in entries)
    assert results.payloads == [b"a", b"b", b"c"]


@spec("5.27")
def test_a_connection_without_results_batch_gets_single_results(session):
    producer, worker = session.producer(), session.worker()
    queue = session.name("q")
    ids = submit_many(session, producer, queue, 3, wants_result=True)
    worker.ready([queue], capacity=3, batch=8)
    leases, _ = leases_until(worker, 3)
    worker.send(wire.DONES, {"done": [[lease[0], lease[2]] for lease in leases]}, [b"a", b"b", b"c"])
    for job in ids:
        producer.result(job)
    assert not [m for m in producer.barrier() if m.command == wire.RESULTS]


@spec("5.33")
def test_submits_queues_each_entry_and_answers_each_with_its_own_accepted(session):
    producer, worker = session.producer(), session.worker()
    queue = session.name("q")
    ids = [session.name("j") for _ in range(3)]
    producer.send(wire.SUBMITS, {"queue": queue, "wants_result": True, "priority": 5, "ids": ids},
                  [b"p0", b"p1", b"p2"])
    answers = [producer.expect(lambda m, job=job: m.command == wire.ACCEPTED and m.get("id") == job) for job in ids]
    assert all(a.get("existed") is False and a.get("job_id") == a.get("id") for a in answers)
    worker.ready([queue], capacity=3)
    leases = []
    while len(leases) < 3:
        message = worker.expect(lambda m: m.command in (wire.JOB, wire.JOBS))
        if message.command == wire.JOB:
            leases.append((message.get("id"), message.payload))
        else:
            leases.extend((e[0], p) for e, p in zip(message.get("jobs"), message.payloads))
    assert leases == list(zip(ids, [b"p0", b"p1", b"p2"]))
    assert all(producer.status(job).get("priority") == 5 for job in ids)
    worker.send(wire.DONE, {"id": ids[1], "attempt": 1}, [b"r1"])
    assert producer.result(ids[1]).payload == b"r1"


@spec("5.33")
def test_a_refused_submits_entry_leaves_the_others_queued(session):
    producer = session.producer()
    queue = session.name("q")
    producer.queue(queue, create=True, max_length=1)
    ids = [session.name("j") for _ in range(2)]
    producer.send(wire.SUBMITS, {"queue": queue, "ids": ids}, [b"a", b"b"])
    assert producer.expect(lambda m: m.command == wire.ACCEPTED and m.get("id") == ids[0])
    refusal = producer.expect_error("queue_full", command="SUBMIT")
    assert refusal.get("id") == ids[1]
    assert producer.status(ids[0]).get("state") == "pending"


@spec("5.33")
def test_a_known_id_in_submits_is_answered_existed(session):
    producer = session.producer()
    queue = session.name("q")
    known, fresh = session.name("j"), session.name("j")
    accepted(producer.submit(known, queue, b"x"))
    producer.send(wire.SUBMITS, {"queue": queue, "ids": [known, fresh]}, [b"x", b"y"])
    first = producer.expect(lambda m: m.command == wire.ACCEPTED and m.get("id") == known)
    second = producer.expect(lambda m: m.command == wire.ACCEPTED and m.get("id") == fresh)
    assert first.get("existed") is True and second.get("existed") is False


@spec("5.33")
@pytest.mark.parametrize("header,payloads,code,field", [
    ({"queue": "q", "ids": ["a", "b"]}, [b"only one"], "bad_frame_count", None),
    ({"queue": "q", "ids": []}, [b""], "bad_field_value", "ids"),
    ({"queue": "q", "ids": [""]}, [b""], "bad_field_value", "ids"),
    ({"queue": "q", "ids": [7]}, [b""], "bad_field_type", "ids"),
    ({"queue": "q", "ids": ["a"], "unique_key": "k"}, [b""], "bad_field_value", "unique_key"),
    ({"ids": ["a"]}, [b""], "missing_field", "queue"),
])
def test_a_malformed_submits_is_refused_whole_and_queues_nothing(session, header, payloads, code, field):
    producer = session.producer()
    queue = session.name("q")
    header = dict(header)
    if "queue" in header:
        header["queue"] = queue
    header["ids"] = [session.name("j") if entry == "a" else entry for entry in header["ids"]]
    producer.send(wire.SUBMITS, header, payloads)
    error = producer.expect_error(code)
    assert error.get("id", "") == "" and error.get("command", "") == ""
    if field is not None:
        assert error.get("message", "").startswith(field)
    for entry in header["ids"]:
        if isinstance(entry, str) and entry:
            assert producer.ask(wire.STATUS, {"id": entry}).get("code") == "unknown_job"
