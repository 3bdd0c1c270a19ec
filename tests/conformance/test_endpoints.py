"""§2 Transport (two endpoints) and §6 Errors: wrong_endpoint, unexpected_command, unknown_worker."""

import pytest

import wire

spec = pytest.mark.spec


PRODUCER_COMMANDS = {
    "SUBMIT": (wire.SUBMIT, {"id": "j-wrong-endpoint", "queue": "q"}, [b""]),
    "STATS": (wire.STATS, {}, None),
    "STATUS": (wire.STATUS, {"id": "j"}, None),
    "QUEUE": (wire.QUEUE, {"queue": "q"}, None),
    "CANCEL": (wire.CANCEL, {"id": "j"}, None),
}
WORKER_COMMANDS = {
    "READY": (wire.READY, {"queues": ["q"], "capacity": 1}, None),
    "HEARTBEAT": (wire.HEARTBEAT, {}, None),
    "DONE": (wire.DONE, {"id": "j", "attempt": 1}, [b""]),
    "FAIL": (wire.FAIL, {"id": "j", "attempt": 1}, None),
    "PROGRESS": (wire.PROGRESS, {"id": "j", "attempt": 1, "percent": 5}, None),
    "DRAIN": (wire.DRAIN, {}, None),
}


@spec("6")
@pytest.mark.parametrize("name", list(WORKER_COMMANDS))
def test_a_worker_command_on_the_producer_endpoint_gets_wrong_endpoint(session, name):
    producer = session.producer()
    command, header, payloads = WORKER_COMMANDS[name]
    producer.send(command, header, payloads)
    error = producer.expect_error("wrong_endpoint", command=name)
    assert error.get("message"), "the message names the endpoint to use"


@spec("6")
@pytest.mark.parametrize("name", list(PRODUCER_COMMANDS))
@pytest.mark.parametrize("after_ready", [False, True], ids=["before READY", "after READY"])
def test_a_producer_command_on_the_worker_endpoint_gets_wrong_endpoint_whether_or_not_ready_was_sent(
        session, name, after_ready):
    worker = session.worker()
    if after_ready:
        assert worker.ready([session.name("q")]).command == wire.HEARTBEAT
    command, header, payloads = PRODUCER_COMMANDS[name]
    worker.send(command, header, payloads)
    error = worker.expect_error("wrong_endpoint", command=name)
    if command == wire.SUBMIT:
        assert error.get("id") == header["id"], "a SUBMIT's id is carried"


@spec("6")
def test_a_broker_to_client_command_sent_to_the_broker_is_an_unexpected_command(session):
    producer = session.producer()
    producer.send(wire.ACCEPTED, {"id": "x"})
    assert producer.expect_error("unexpected_command").get("command") == "ACCEPTED"
    worker = session.worker()
    worker.ready([session.name("q")])
    worker.send(wire.JOB, {"id": "x", "queue": "q", "attempt": 1}, [b""])
    assert worker.expect_error("unexpected_command").get("command") == "JOB"


@spec("6")
def test_a_broker_to_client_command_before_ready_is_an_unexpected_command_too(session):
    # §6 Order of checks: the endpoint check comes before the READY check.
    worker = session.worker()
    worker.send(wire.JOB, {"id": "x", "queue": "q", "attempt": 1}, [b""])
    assert worker.expect_error().get("code") == "unexpected_command"


@spec("2")
def test_a_command_is_interpreted_by_the_endpoint_it_arrives_on(session):
    # QUEUE is sent by both broker and producer; on the producer endpoint it is a request.
    producer = session.producer()
    queue = session.name("q")
    reply = producer.queue(queue, create=True)
    assert reply.command == wire.QUEUE and reply.get("queue") == queue and reply.get("created") is True


NOT_READY = {
    "HEARTBEAT": (wire.HEARTBEAT, {}, None),
    "DRAIN": (wire.DRAIN, {}, None),
    "PROGRESS": (wire.PROGRESS, {"id": "j-nr", "attempt": 1, "percent": 1}, None),
    "DONE": (wire.DONE, {"id": "j-nr", "attempt": 1}, [b""]),
    "FAIL": (wire.FAIL, {"id": "j-nr", "attempt": 1}, None),
}


@spec("6")
@pytest.mark.parametrize("name", list(NOT_READY))
def test_a_worker_message_before_ready_gets_unknown_worker(session, name):
    worker = session.worker()
    command, header, payloads = NOT_READY[name]
    worker.send(command, header, payloads)
    worker.expect_error("unknown_worker")


@spec("6")
@pytest.mark.parametrize("name", list(NOT_READY))
def test_unknown_worker_names_the_refused_command_and_its_id(session, name):
    worker = session.worker()
    command, header, payloads = NOT_READY[name]
    worker.send(command, header, payloads)
    error = worker.expect_error("unknown_worker")
    assert error.get("command") == name
    assert error.get("id", "") == header.get("id", "")


@spec("6")
def test_a_disconnect_from_an_unknown_connection_is_ignored_without_reply(session):
    worker = session.worker()
    worker.send(wire.DISCONNECT, {"reason": "bye"})
    assert worker.barrier() == []


@spec("5.9")
def test_after_disconnect_the_connection_is_unknown_and_may_send_ready_again(session):
    worker = session.worker()
    queue = session.name("q")
    worker.ready([queue])
    worker.heartbeating = False
    worker.send(wire.DISCONNECT, {"reason": "leaving"})
    worker.send(wire.HEARTBEAT, {})
    worker.expect_error("unknown_worker")
    assert worker.ready([queue]).command == wire.HEARTBEAT
