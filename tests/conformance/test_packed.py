"""Packed batches: §3.1, and the `reads_packed` fields of §5.1, §5.2, §5.9 and §5.13."""

import pytest

import wire
from flows import accepted, submit_many

spec = pytest.mark.spec


def batches_until(worker, count):
    """JOB and JOBS messages until `count` leases have arrived."""
    messages, leases = [], 0
    while leases < count:
        message = worker.expect(lambda m: m.command in (wire.JOB, wire.JOBS), what=f"{count - leases} more JOBs")
        messages.append(message)
        leases += 1 if message.command == wire.JOB else len(message.get("jobs"))
    return messages


@spec("3.1")
def test_a_worker_that_reads_packed_gets_jobs_with_every_payload_in_one_frame(session):
    producer, worker = session.producer(), session.worker()
    queue = session.name("q")
    ids = submit_many(session, producer, queue, 4)
    answer = worker.ready([queue], capacity=4, batch=4, reads_packed=True)
    assert answer.get("reads_packed") is True, "the broker's HEARTBEAT says it reads packed DONES"
    messages = batches_until(worker, 4)
    batches = [m for m in messages if m.command == wire.JOBS]
    assert batches, "four waiting jobs for a batch worker came as at least one JOBS"
    assert all(m.get("packed") is True and len(m.frames) == 4 for m in batches), batches
    leases = []
    for m in messages:
        if m.command == wire.JOB:
            leases.append((m.get("id"), m.payload))
        else:
            leases.extend((e[0], p) for e, p in zip(m.get("jobs"), m.payloads))
    assert leases == [(job, f"payload {n}".encode()) for n, job in enumerate(ids)]


@spec("3.1")
def test_a_worker_that_does_not_say_reads_packed_gets_a_frame_per_payload(session):
    producer, worker = session.producer(), session.worker()
    queue = session.name("q")
    submit_many(session, producer, queue, 4)
    worker.ready([queue], capacity=4, batch=4)
    batches = [m for m in batches_until(worker, 4) if m.command == wire.JOBS]
    assert batches and all("packed" not in m.header and len(m.frames) == 3 + len(m.get("jobs")) for m in batches)


@spec("3.1")
def test_packed_dones_complete_each_entry_and_results_come_packed_to_a_producer_that_reads_them(session):
    producer, worker = session.producer(), session.worker()
    queue = session.name("q")
    ids = submit_many(session, producer, queue, 3, wants_result=True, results_batch=8, reads_packed=True)
    worker.ready([queue], capacity=3, batch=8, reads_packed=True)
    leases = []
    for m in batches_until(worker, 3):
        leases.extend([(m.get("id"), m.get("attempt"))] if m.command == wire.JOB else
                      [(e[0], e[2]) for e in m.get("jobs")])
    results = [b"", b"two", bytes(range(256))]
    worker.send_frames(wire.frames_of(wire.DONES, {"done": [list(lease) for lease in leases], "packed": True},
                                      [wire.packed_frame(results)]))
    message = producer.expect(lambda m: m.command in (wire.RESULT, wire.RESULTS))
    assert message.command == wire.RESULTS and message.get("packed") is True and len(message.frames) == 4, message
    assert [e[0] for e in message.get("results")] == ids
    assert message.payloads == results


@spec("3.1")
def test_accepted_says_reads_packed_only_to_a_submit_that_said_it(session):
    producer = session.producer()
    queue = session.name("q")
    told = accepted(producer.submit(session.name("j"), queue, b"x", reads_packed=True))
    untold = accepted(producer.submit(session.name("j"), queue, b"y"))
    assert told.get("reads_packed") is True
    assert "reads_packed" not in untold.header


@spec("3.1")
def test_a_packed_submits_queues_each_entry_with_its_payload(session):
    producer, worker = session.producer(), session.worker()
    queue = session.name("q")
    ids = [session.name("j") for _ in range(3)]
    payloads = [b"p0", b"", b"\x00\xff"]
    producer.send_frames(wire.frames_of(wire.SUBMITS, {"queue": queue, "ids": ids, "packed": True},
                                        [wire.packed_frame(payloads)]))
    for job in ids:
        producer.expect(lambda m, job=job: m.command == wire.ACCEPTED and m.get("id") == job)
    worker.ready([queue], capacity=3)
    leases = [(m.get("id"), m.payload) for m in batches_until(worker, 3)]
    assert leases == list(zip(ids, payloads))


@spec("3.1")
@pytest.mark.parametrize("frames_after,code", [
    ([wire.packed_frame([b"a"]) + b"!"], "bad_frame_count"),               # a byte over
    ([wire.packed_frame([b"a", b"bb"])[:-1]], "bad_frame_count"),          # a byte short
    ([b"\x01\x00\x00"], "bad_frame_count"),                                 # shorter than its sizes
    ([b"\x64\x00\x00\x00\x00\x00\x00\x00ab"], "bad_frame_count"),           # a size past the end
    ([b"\xff\xff\xff\xff\x00\x00\x00\x00"], "payload_too_large"),           # a size over the payload limit
    ([b"a", b"bb"], "bad_frame_count"),                                     # packed, yet a frame each
])
def test_a_malformed_packed_submits_is_refused_whole_and_queues_nothing(session, frames_after, code):
    producer = session.producer()
    queue = session.name("q")
    ids = [session.name("j"), session.name("j")]
    producer.send_frames(wire.frames_of(wire.SUBMITS, {"queue": queue, "ids": ids, "packed": True}, frames_after))
    refusal = producer.expect_error(code)
    assert refusal.get("message", "").startswith("SUBMITS"), refusal
    assert refusal.get("id", "") == "" and refusal.get("command", "") == ""
    for job in ids:
        assert producer.ask(wire.STATUS, {"id": job}).get("code") == "unknown_job"


@spec("3.1")
def test_packed_that_is_not_a_bool_is_bad_field_type(session):
    worker = session.worker()
    worker.ready([session.name("q")], batch=4, reads_packed=True)
    worker.send_frames(wire.frames_of(wire.DONES, {"done": [["a", 1]], "packed": 1}, [wire.packed_frame([b"r"])]))
    assert "packed" in worker.expect_error("bad_field_type").get("message", "")
