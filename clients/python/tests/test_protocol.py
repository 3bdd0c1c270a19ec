"""The package's pure parts, without a broker: the bytes of protocol.md §17's worked example,
what the decoder refuses, the error families, the reconnect schedule and zcert files."""

import pytest

import corsair
from corsair import protocol as p
from corsair.curve import read_certificate
from corsair.errors import broker_error
from corsair.job_options import job_fields
from corsair.worker import reconnect_delay


def test_a_plain_submit_and_a_ready_are_the_bytes_of_the_worked_example():
    submit = p.encode(p.Command.SUBMIT, {"id": "j1", "queue": "q", "wants_result": True}, [b"hi"])
    assert submit[:2] == [b"CSR\x01", b"\x01"] and submit[3] == b"hi"
    assert submit[2] == bytes.fromhex("83a26964a26a31a57175657565a171ac77616e74735f726573756c74c3")
    ready = p.encode(p.Command.READY, {"queues": ["q"], "capacity": 4, "name": "w1"})
    assert ready[2] == bytes.fromhex("83a6717565756573 91a171 a86361706163697479 04 a46e616d65 a27731".replace(" ", ""))
    assert p.encode(p.Command.HEARTBEAT, {})[2] == b"\x80"


def test_the_decoder_refuses_what_section_3_does_not_allow():
    good = p.encode(p.Command.JOB, {"id": "j", "queue": "q", "attempt": 1}, [b"x"])
    assert p.decode(good).header["attempt"] == 1
    for frames in (
        good[:2],  # too few frames
        [b"CSX\x01", *good[1:]],  # signature
        [b"CSR\x02", *good[1:]],  # version
        [good[0], b"\x11\x00", *good[2:]],  # command frame of 2 bytes
        [*good[:2], b"\xc1", good[3]],  # not msgpack
        [*good[:2], b"\x91\x01", good[3]],  # an array, not a map
        good[:3],  # JOB without its payload frame
        p.encode(p.Command.JOBS, {"jobs": [["a", "q", 1], ["b", "q", 1]]}, [b"only one"]),
    ):
        with pytest.raises(p.MalformedMessage):
            p.decode(frames)


def test_each_error_code_raises_its_familys_class_and_unknown_codes_read_as_internal():
    families = {
        "bad_field_value": corsair.MalformedRequest,
        "unexpected_command": corsair.MalformedRequest,
        "unknown_job": corsair.NotFound,
        "unknown_queue": corsair.NotFound,
        "wrong_state": corsair.Conflict,
        "id_conflict": corsair.Conflict,
        "payload_too_large": corsair.LimitExceeded,
        "too_many_queues": corsair.LimitExceeded,
        "queue_full": corsair.TryLater,
        "too_many_in_flight": corsair.TryLater,
        "forbidden": corsair.AccessDenied,
        "wrong_endpoint": corsair.AccessDenied,
    }
    for code, family in families.items():
        error = broker_error({"code": code, "message": "m", "id": "j", "command": "SUBMIT"})
        assert type(error) is family and (error.code, error.id, error.command) == (code, "j", "SUBMIT")
    unknown = broker_error({"code": "new_in_version_2"})
    assert isinstance(unknown, corsair.TryLater) and unknown.code == "internal"
    assert broker_error({"code": "payload_too_large", "max_payload_bytes": 5}).max_payload_bytes == 5


def test_job_options_become_the_submit_fields_only_when_set_and_are_checked_against_their_limits():
    assert job_fields() == {}
    fields = job_fields(priority=-3, max_attempts=4, backoff=1.5, attempt_timeout=0, delay=2, unique_key="k")
    assert fields == {"priority": -3, "max_attempts": 4, "backoff_ms": 1500, "timeout_ms": 0, "delay_ms": 2000,
                      "unique_key": "k"}
    for bad in ({"priority": 1001}, {"max_attempts": 0}, {"backoff": 0}, {"delay": -1}, {"unique_key": "k" * 129},
                {"run_at": 1.0}, {"priority": True}):
        with pytest.raises(ValueError):
            job_fields(**bad)


def test_the_reconnect_backoff_doubles_up_to_its_cap_and_is_jittered_down_by_at_most_half():
    assert [reconnect_delay(n, 1.0, 3.0, 1.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 3.0, 3.0]
    assert reconnect_delay(1, 1.0, 3.0, 0.0) == 0.5
    assert reconnect_delay(9, 1.0, 3.0, 0.0) == 1.5


def test_a_zcert_file_is_read_with_quotes_and_a_hash_inside_a_key(tmp_path):
    path = tmp_path / "k.key_secret"
    path.write_text('#   comment\nmetadata\n    role = "worker"\ncurve\n    public-key = "ab#cd"\n    secret-key = "x=y"\n')
    assert read_certificate(str(path)) == {"public-key": "ab#cd", "secret-key": "x=y"}
