"""§3 Framing, its order of checks and header reading rules; §15 Versioning."""

import msgpack
import pytest

import peers
import wire
from wire import SIGNATURE, pack, pack_pairs

spec = pytest.mark.spec


def decode_error(session, frames, endpoint="producers"):
    """Sends raw frames and returns the ERROR that answers them."""
    connection = session.producer() if endpoint == "producers" else session.worker()
    connection.send_frames(frames)
    return connection.expect(wire.ERROR, what="the ERROR answering a malformed message")


def submit_header(**fields):
    return pack({"id": "x", "queue": "q", **fields})


# (frames, the code they must get) — one row per rule of §3's "Order of checks".
MALFORMED = {
    "one frame": ([SIGNATURE], "bad_frame_count"),
    "two frames": ([SIGNATURE, bytes([wire.STATS])], "bad_frame_count"),
    "a signature of 3 bytes": ([b"CSR", bytes([wire.STATS]), b"\x80"], "bad_signature"),
    "a signature of 5 bytes": ([b"CSR\x01\x01", bytes([wire.STATS]), b"\x80"], "bad_signature"),
    "a signature not starting CSR": ([b"ZMQ\x01", bytes([wire.STATS]), b"\x80"], "bad_signature"),
    "an empty delimiter frame first (a REQ socket)": ([b"", SIGNATURE, bytes([wire.STATS]), b"\x80"],
                                                      "bad_signature"),
    "version 2": ([b"CSR\x02", bytes([wire.STATS]), b"\x80"], "unsupported_version"),
    "version 0": ([b"CSR\x00", bytes([wire.STATS]), b"\x80"], "unsupported_version"),
    "command 0x00": ([SIGNATURE, b"\x00", b"\x80"], "unknown_command"),
    "command 0x22": ([SIGNATURE, b"\x22", b"\x80"], "unknown_command"),
    "command 0xff": ([SIGNATURE, b"\xff", b"\x80"], "unknown_command"),
    "a command frame of 2 bytes": ([SIGNATURE, b"\x06\x06", b"\x80"], "unknown_command"),
    "an empty command frame": ([SIGNATURE, b"", b"\x80"], "unknown_command"),
    "STATS with a payload frame": ([SIGNATURE, bytes([wire.STATS]), b"\x80", b""], "bad_frame_count"),
    "SUBMIT without its payload frame": ([SIGNATURE, bytes([wire.SUBMIT]), submit_header()], "bad_frame_count"),
    "SUBMIT with two payload frames": ([SIGNATURE, bytes([wire.SUBMIT]), submit_header(), b"", b""],
                                       "bad_frame_count"),
    "an empty header frame": ([SIGNATURE, bytes([wire.STATS]), b""], "bad_header"),
    "a header that is an array": ([SIGNATURE, bytes([wire.STATS]), pack([1, 2])], "bad_header"),
    "a header that is a str": ([SIGNATURE, bytes([wire.STATS]), pack("map")], "bad_header"),
    "a header with bytes after the map": ([SIGNATURE, bytes([wire.STATS]), b"\x80\x80"], "bad_header"),
    "a truncated header": ([SIGNATURE, bytes([wire.STATS]), b"\x81\xa2id"], "bad_header"),
    "a header over 64 KiB": ([SIGNATURE, bytes([wire.STATS]), pack({"pad": "x" * 65536})], "bad_header"),
    "an array of 1025 entries": ([SIGNATURE, bytes([wire.STATS]), pack({"pad": [0] * 1025})], "bad_header"),
    "a map of 1025 entries": ([SIGNATURE, bytes([wire.STATS]), pack({f"k{i}": 0 for i in range(1025)})],
                              "bad_header"),
    "9 levels of nesting": ([SIGNATURE, bytes([wire.STATS]), pack({"a": [[[[[[[[0]]]]]]]]})], "bad_header"),
}


@spec("3")
@pytest.mark.parametrize("case", list(MALFORMED), ids=list(MALFORMED))
def test_a_malformed_message_is_answered_with_the_code_of_its_first_fault(session, case):
    frames, code = MALFORMED[case]
    error = decode_error(session, frames)
    assert error.get("code") == code, error


@spec("3")
def test_eight_levels_of_nesting_counting_the_header_are_allowed(session):
    producer = session.producer()
    reply = producer.ask(wire.STATS, pack({"a": [[[[[[0]]]]]]}))
    assert reply.command == wire.STATS_REPLY, reply


@spec("3")
def test_a_header_of_exactly_64_kib_is_read(session):
    producer = session.producer()
    header = pack({"pad": "x" * 65528})  # map 1 + "pad" 4 + str16 length 3 + 65528
    assert len(header) == 65536
    assert producer.ask(wire.STATS, header).command == wire.STATS_REPLY


# (frames, code): pairs of faults where §3's order says which one is reported.
ORDER = {
    "two frames beat a bad signature": ([b"XX", bytes([wire.STATS])], "bad_frame_count"),
    "a bad signature beats an unknown command": ([b"XSR\x01", b"\x00", b"\x80"], "bad_signature"),
    "an unsupported version beats an unknown command": ([b"CSR\x07", b"\x00", b"\x80"], "unsupported_version"),
    "an unknown command beats a frame count wrong for any command": ([SIGNATURE, b"\x00", b"\x80", b"", b""],
                                                                     "unknown_command"),
    "the command's frame count beats a bad header": ([SIGNATURE, bytes([wire.STATS]), b"\xc1", b""],
                                                     "bad_frame_count"),
    "a bad header beats a missing field": ([SIGNATURE, bytes([wire.STATUS]), b"\x91\x00"], "bad_header"),
    "a missing field beats a later field's bad type": ([SIGNATURE, bytes([wire.SUBMIT]), pack({"queue": 1}), b""],
                                                       "missing_field"),
    "a bad type beats a later missing field": ([SIGNATURE, bytes([wire.SUBMIT]), pack({"id": 1}), b""],
                                               "bad_field_type"),
    "a bad value beats a later bad type": ([SIGNATURE, bytes([wire.SUBMIT]),
                                            pack({"id": "x" * 129, "queue": 5}), b""], "bad_field_value"),
    "a batch's fields beat its frame count": ([SIGNATURE, bytes([wire.DONES]), pack({"done": [["j", 0]]}), b"",
                                               b""], "bad_field_value"),
}


@spec("3")
@pytest.mark.parametrize("case", list(ORDER), ids=list(ORDER))
def test_the_first_fault_in_the_order_of_checks_is_reported(session, case):
    frames, code = ORDER[case]
    endpoint = "workers" if frames[1:2] == [bytes([wire.DONES])] else "producers"
    error = decode_error(session, frames, endpoint)
    assert error.get("code") == code, error


@spec("3")
def test_the_field_checks_follow_the_table_order_and_name_the_field(session):
    # SUBMIT's priority comes before delay_ms/run_at_ms in §5.1; the cross-field check comes last.
    frames = wire.frames_of(wire.SUBMIT, {"id": "j", "queue": "q", "priority": 5000, "delay_ms": 1,
                                          "run_at_ms": 1}, [b""])
    error = decode_error(session, frames)
    assert error.get("code") == "bad_field_value" and error.get("message", "").startswith("priority"), error


@spec("2")
def test_a_submit_over_max_payload_bytes_is_answered_with_the_limit_not_cut_off(session):
    producer = session.producer()
    limit = producer.stats().get("max_payload_bytes", 8 << 20)
    if limit + 1 > (8 << 20) + (64 << 10):
        pytest.skip("the broker's --max-payload is above what its socket reads (§2): cannot be probed")
    job = session.name("j")
    error = producer.submit(job, session.name("q"), b"x" * (limit + 1))
    assert error.command == wire.ERROR and error.get("code") == "payload_too_large", error
    assert error.get("id") == job and error.get("command") == "SUBMIT"
    assert error.get("max_payload_bytes") == limit
    assert producer.status(job).get("code") == "unknown_job"


@spec("3")
def test_errors_answering_a_malformed_message_carry_an_empty_id_and_command(session):
    # A SUBMIT with an id the broker could read, but a bad type further on: still empty (§6).
    error = decode_error(session, wire.frames_of(wire.SUBMIT, {"id": "j1", "queue": 7}, [b""]))
    assert error.get("code") == "bad_field_type"
    assert error.get("id", "") == "" and error.get("command", "") == ""
    assert error.get("message", "").startswith("queue"), error


@spec("3")
def test_unknown_keys_are_ignored_whatever_their_value(session):
    producer = session.producer()
    queue, job = session.name("q"), session.name("j")
    header = {"id": job, "queue": queue, "zz_future": {"nested": [1, None, 2.5, b"bin"]}, "also": None}
    assert producer.submit(job, queue, b"", **{k: v for k, v in header.items() if k not in ("id", "queue")}
                           ).command == wire.ACCEPTED


@spec("3")
def test_entries_whose_key_is_not_a_str_are_skipped(session):
    producer = session.producer()
    queue, job = session.name("q"), session.name("j")
    header = pack_pairs([(1, "one"), (b"queue", 5), ("id", job), ("queue", queue)])
    reply = producer.ask(wire.SUBMIT, header, [b""], like={"id": job})
    assert reply.command == wire.ACCEPTED, reply


@spec("3")
def test_the_first_of_two_entries_with_the_same_key_counts(session):
    producer = session.producer()
    queue, job = session.name("q"), session.name("j")
    header = pack_pairs([("id", job), ("queue", queue), ("queue", 12345)])
    reply = producer.ask(wire.SUBMIT, header, [b""], like={"id": job})
    assert reply.command == wire.ACCEPTED, reply
    assert producer.status(job).get("queue") == queue


@spec("3")
def test_keys_are_case_sensitive(session):
    error = decode_error(session, wire.frames_of(wire.SUBMIT, {"ID": "j", "queue": "q"}, [b""]))
    assert error.get("code") == "missing_field" and error.get("message", "").startswith("id"), error


TYPE_RULES = {
    "nil for an optional field": ({"wants_result": None}, "bad_field_type"),
    "bin for a str": ({"id": b"j"}, "bad_field_type"),
    "an empty required str": ({"id": ""}, "bad_field_value"),
    "a negative uint": ({"max_attempts": -1}, "bad_field_value"),
    "a float for a uint, even 1.0": ({"max_attempts": 1.0}, "bad_field_type"),
    "a float for an int": ({"priority": 1.0}, "bad_field_type"),
    "0 for a bool": ({"wants_result": 0}, "bad_field_type"),
    "1 for a bool": ({"wants_result": 1}, "bad_field_type"),
    "a str for a bool": ({"wants_result": "true"}, "bad_field_type"),
}


@spec("3")
@pytest.mark.parametrize("case", list(TYPE_RULES), ids=list(TYPE_RULES))
def test_each_type_rule_is_enforced(session, case):
    fields, code = TYPE_RULES[case]
    header = {"id": "j", "queue": "q", **fields}
    error = decode_error(session, wire.frames_of(wire.SUBMIT, header, [b""]))
    assert error.get("code") == code, error
    assert error.get("message", "").startswith(next(iter(fields))), error


@spec("3")
def test_a_non_negative_value_in_a_signed_encoding_is_a_valid_uint(session):
    # capacity 2 as int8 (0xd0 0x02) and max_attempts 3 as int64: "also int8..64 when the value is not negative".
    worker = session.worker()
    queue = session.name("q")
    header = (b"\x82\xa6queues\x91" + msgpack.packb(queue) + b"\xa8capacity\xd0\x02")
    worker.send_frames([SIGNATURE, bytes([wire.READY]), header])
    assert worker.expect_heartbeat_or_error().command == wire.HEARTBEAT
    producer = session.producer()
    job = session.name("j")
    header = b"\x83\xa2id" + msgpack.packb(job) + b"\xa5queue" + msgpack.packb(queue) + \
        b"\xacmax_attempts\xd3" + (3).to_bytes(8, "big")
    assert producer.ask(wire.SUBMIT, header, [b""], like={"id": job}).command == wire.ACCEPTED


QUEUE_NAMES = {
    "a control character": "bad\x01name",
    "a space": "bad name",
    "a no-break space": "bad\u00a0name",
    "a zero-width space": "bad\u200bname",
    "a direction override": "bad\u202ename",
    "a byte-order mark": "\ufeffbad",
    "129 bytes": "q" * 129,
}


@spec("3")
@pytest.mark.parametrize("case", list(QUEUE_NAMES), ids=list(QUEUE_NAMES))
def test_a_queue_name_outside_the_grammar_cannot_create_a_queue(session, case):
    error = decode_error(session, wire.frames_of(wire.SUBMIT, {"id": "j", "queue": QUEUE_NAMES[case]}, [b""]))
    assert error.get("code") == "bad_field_value" and error.get("message", "").startswith("queue"), error


@spec("3")
def test_a_queue_name_of_invalid_utf8_cannot_create_a_queue(session):
    header = b"\x82\xa2id\xa1j\xa5queue\xa2\xff\xfe"
    error = decode_error(session, [SIGNATURE, bytes([wire.SUBMIT]), header, b""])
    assert error.get("code") == "bad_field_value" and error.get("message", "").startswith("queue"), error


@spec("3")
def test_a_ready_naming_a_queue_outside_the_grammar_is_refused(session):
    error = decode_error(session, wire.frames_of(wire.READY, {"queues": ["ok", "not ok"], "capacity": 1}),
                         endpoint="workers")
    assert error.get("code") == "bad_field_value" and error.get("message", "").startswith("queues"), error


@spec("3")
def test_requests_about_existing_queues_take_any_name_of_1_to_128_bytes(session):
    producer = session.producer()
    name = "no such\x01queue"
    for command, header in [(wire.DEAD, {"queue": name}), (wire.QUEUE, {"queue": name}),
                            (wire.LIST, {"queue": name, "state": "pending"}), (wire.CLEAR, {"queue": name}),
                            (wire.DELETE_QUEUE, {"queue": name}), (wire.PURGE, {"queue": name})]:
        reply = producer.ask(command, header)
        assert reply.command == wire.ERROR and reply.get("code") == "unknown_queue", (wire.NAMES[command], reply)


@spec("15")
def test_unsupported_version_is_answered_in_version_1(session):
    producer = session.producer()
    producer.send_frames([b"CSR\x02", bytes([wire.STATS]), b"\x80"])
    error = producer.expect(wire.ERROR)
    assert error.frames[0] == SIGNATURE and error.get("code") == "unsupported_version"


@spec("4")
def test_a_producer_request_of_each_kind_gets_exactly_one_answer(session):
    producer = session.producer()
    queue, job = session.name("q"), session.name("j")
    requests = [(wire.SUBMIT, {"id": job, "queue": queue}, [b"p"]), (wire.STATUS, {"id": job}, None),
                (wire.STATS, {}, None), (wire.DEAD, {"queue": queue}, None), (wire.QUEUE, {"queue": queue}, None),
                (wire.LIST, {"queue": queue, "state": "pending"}, None), (wire.RETRY, {"queue": queue}, None),
                (wire.PURGE, {"queue": queue}, None), (wire.CANCEL, {"id": job}, None),
                (wire.CLEAR, {"queue": queue}, None), (wire.DELETE_QUEUE, {"queue": queue, "force": True}, None)]
    for command, header, payloads in requests:
        producer.send(command, header, payloads)
    answers = []
    for command, header, _ in requests:
        answers.append(producer.expect(peers.answer_matcher(command, header), what=wire.NAMES[command]))
    assert [m.command for m in answers] == [wire.ACCEPTED, wire.STATUS_REPLY, wire.STATS_REPLY, wire.DEAD_REPLY,
                                            wire.QUEUE, wire.LIST_REPLY] + [wire.OK] * 5, answers
    assert [m for m in producer.barrier() if m.command not in (wire.RESULT, wire.PROGRESS)] == []
