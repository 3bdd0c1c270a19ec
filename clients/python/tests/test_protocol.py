"""The package's pure parts, without a broker: the bytes of protocol.md §17's worked example,
what the decoder refuses, packed batches (§3.1), the error families, the reconnect schedule and
zcert files."""

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


def test_a_packed_frame_is_the_sizes_little_endian_then_the_payloads_as_section_3_1_shows():
    assert p.pack_payloads([b"xyz", b""]) == bytes.fromhex("03000000 00000000 78797a".replace(" ", ""))
    assert p.pack_payloads([b""]) == b"\x00\x00\x00\x00"
    assert p.packed_frame_bytes([b"xyz", b""]) == 11
    assert p.unpack_payloads(bytes.fromhex("0300000000000000 78797a".replace(" ", "")), 2) == [b"xyz", b""]


def test_every_batch_packed_decodes_to_the_same_entries_and_payloads_as_unpacked():
    payloads = [b"p0", b"", bytes(range(256)), b"\x00" * 1000]
    headers = {
        p.Command.JOBS: {"jobs": [[f"j{i}", "q", 1] for i in range(4)]},
        p.Command.DONES: {"done": [[f"j{i}", 1] for i in range(4)]},
        p.Command.RESULTS: {"results": [[f"j{i}", "done", 1, ""] for i in range(4)]},
        p.Command.SUBMITS: {"queue": "q", "reads_packed": True, "ids": [f"j{i}" for i in range(4)]},
    }
    for command, header in headers.items():
        frames, packed = p.encode_batch(command, header, payloads, pack=True)
        assert packed and len(frames) == 4 and frames[3] == p.pack_payloads(payloads)
        assert list(p.decode(frames).header)[-1] == "packed"  # last, after the batch's own fields
        unpacked, packed = p.encode_batch(command, header, payloads, pack=False)
        assert not packed and len(unpacked) == 3 + len(payloads)
        for message in (p.decode(frames), p.decode(unpacked)):
            assert message.command == command and message.payloads == payloads
        assert p.decode(frames).header == dict(header, packed=True) and p.decode(unpacked).header == header


def test_a_batch_is_packed_only_when_its_frame_fits_256_kib():
    header = {"done": [["a", 1], ["b", 1]]}
    fits = [b"x" * (p.MAX_PACKED_FRAME_BYTES - 8 - 1), b"y"]
    frames, packed = p.encode_batch(p.Command.DONES, header, fits, pack=True)
    assert packed and len(frames[3]) == p.MAX_PACKED_FRAME_BYTES == 256 * 1024
    over = [fits[0] + b"x", b"y"]
    frames, packed = p.encode_batch(p.Command.DONES, header, over, pack=True)
    assert not packed and frames[3:] == over and "packed" not in p.decode(frames).header
    assert p.decode(frames).payloads == over


def test_the_decoder_refuses_a_packed_batch_whose_frames_or_sizes_do_not_add_up():
    def dones(frames_after, **fields):
        return p.encode(p.Command.DONES, dict({"done": [["a", 1], ["b", 1]], "packed": True}, **fields), frames_after)

    assert p.decode(dones([p.pack_payloads([b"a", b"bb"])])).payloads == [b"a", b"bb"]
    for frames in (
        dones([p.pack_payloads([b"a", b"bb"]) + b"!"]),  # a byte over
        dones([p.pack_payloads([b"a", b"bb"])[:-1]]),  # a byte short
        dones([b"\x01\x00\x00\x00\x02\x00\x00"]),  # shorter than its sizes
        dones([b"\x64\x00\x00\x00\x00\x00\x00\x00ab"]),  # a size past the end
        dones([b"\xff\xff\xff\xff\x00\x00\x00\x00"]),  # a size of 4 GiB
        dones([b"\x01\x00\x00\x00\x01\x00\x00\x00", b"a", b"b"]),  # packed, yet a frame each
        dones([b"a", b"b"]),  # packed, a frame each and no sizes
        dones([]),  # packed, and no frame after the header
        dones([p.pack_payloads([b"a", b"b"])], packed=1),  # packed not a bool
        dones([p.pack_payloads([b"a", b"b"])], packed=None),
        p.encode(p.Command.DONES, {"done": [], "packed": True}, [b""]),  # no entries
        p.encode(p.Command.DONES, {"done": [["a", 1]], "packed": "yes"}, [b"r"]),  # not a bool, unpacked
    ):
        with pytest.raises(p.MalformedMessage):
            p.decode(frames)
    # packed: false is the unpacked form, a frame per payload.
    assert p.decode(dones([b"a", b"bb"], packed=False)).payloads == [b"a", b"bb"]


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
