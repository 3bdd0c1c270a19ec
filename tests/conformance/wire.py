"""The Corsair wire format, written from docs/protocol.md alone (§3 Framing, §4 Command table).

Stands alone on purpose: the conformance suite must not borrow a codec from the implementation
it checks. Encoding is plain msgpack (str keys, the shortest integer encodings); decoding keeps
the header as a dict and leaves every judgement to the tests.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional, Sequence

import msgpack

SIGNATURE = b"CSR\x01"

# §4: command codes.
SUBMIT, ACCEPTED, RESULT, STATUS, STATUS_REPLY, STATS, STATS_REPLY, ERROR = range(0x01, 0x09)
CANCEL, RETRY, PURGE, DEAD, DEAD_REPLY, QUEUE, OK = range(0x09, 0x10)
READY, JOB, DONE, FAIL, HEARTBEAT, DRAIN, DISCONNECT, PROGRESS, ABANDON = range(0x10, 0x19)
JOBS, DONES, RESULTS, LIST, LIST_REPLY, CLEAR, DELETE_QUEUE = range(0x19, 0x20)
RECALL, SUBMITS = 0x20, 0x21

NAMES = {
    SUBMIT: "SUBMIT", ACCEPTED: "ACCEPTED", RESULT: "RESULT", STATUS: "STATUS", STATUS_REPLY: "STATUS_REPLY",
    STATS: "STATS", STATS_REPLY: "STATS_REPLY", ERROR: "ERROR", CANCEL: "CANCEL", RETRY: "RETRY", PURGE: "PURGE",
    DEAD: "DEAD", DEAD_REPLY: "DEAD_REPLY", QUEUE: "QUEUE", OK: "OK", READY: "READY", JOB: "JOB", DONE: "DONE",
    FAIL: "FAIL", HEARTBEAT: "HEARTBEAT", DRAIN: "DRAIN", DISCONNECT: "DISCONNECT", PROGRESS: "PROGRESS",
    ABANDON: "ABANDON", JOBS: "JOBS", DONES: "DONES", RESULTS: "RESULTS", LIST: "LIST", LIST_REPLY: "LIST_REPLY",
    CLEAR: "CLEAR", DELETE_QUEUE: "DELETE_QUEUE", RECALL: "RECALL", SUBMITS: "SUBMITS",
}

# §3: the commands whose message has exactly one payload frame, and the batches (one per entry).
WITH_PAYLOAD = {SUBMIT, RESULT, STATUS_REPLY, STATS_REPLY, DEAD_REPLY, LIST_REPLY, JOB, DONE}
BATCHES = {JOBS: "jobs", DONES: "done", RESULTS: "results", SUBMITS: "ids"}

# §3 and §6: the codes a message that cannot be decoded is answered with.
DECODE_ERRORS = {"bad_frame_count", "bad_signature", "unsupported_version", "unknown_command", "bad_header",
                 "missing_field", "bad_field_type", "bad_field_value", "payload_too_large"}


def pack(header: Any) -> bytes:
    """msgpack with str for Python str and bin for bytes, as §18 requires."""
    return msgpack.packb(header, use_bin_type=True)


def pack_pairs(pairs: Sequence[tuple]) -> bytes:
    """A map in exactly this order, duplicate or non-str keys included (§3's reading rules)."""
    return msgpack.Packer(use_bin_type=True).pack_map_pairs(list(pairs))


def packed_frame(payloads: Sequence[bytes]) -> bytes:
    """§3.1: the sizes, 4 bytes little-endian each, then the payloads back to back."""
    return b"".join(len(p).to_bytes(4, "little") for p in payloads) + b"".join(payloads)


def unpacked(frame: bytes, count: int) -> List[bytes]:
    """§3.1: the `count` payloads of a packed frame; WireViolation unless its sizes cover it exactly."""
    if len(frame) < 4 * count:
        raise WireViolation(f"packed frame of {len(frame)} bytes for {count} sizes")
    sizes = [int.from_bytes(frame[4 * i:4 * i + 4], "little") for i in range(count)]
    if 4 * count + sum(sizes) != len(frame):
        raise WireViolation(f"packed sizes {sizes} do not cover a frame of {len(frame)} bytes")
    payloads, at = [], 4 * count
    for size in sizes:
        payloads.append(frame[at:at + size])
        at += size
    return payloads


def frames_of(command: int, header: Any, payloads: Optional[Sequence[bytes]] = None) -> List[bytes]:
    """The frames of one message: a dict header is packed, bytes are sent as they are."""
    head = header if isinstance(header, (bytes, bytearray)) else pack(header)
    return [SIGNATURE, bytes([command]), bytes(head), *(payloads or [])]


@dataclasses.dataclass
class Message:
    """One message as received: the command code, the header map and the frames after it."""

    command: int
    header: Dict[str, Any]
    payloads: List[bytes]
    frames: List[bytes]

    @property
    def name(self) -> str:
        return NAMES.get(self.command, f"0x{self.command:02x}")

    @property
    def payload(self) -> bytes:
        return self.payloads[0] if self.payloads else b""

    def get(self, key: str, default: Any = None) -> Any:
        return self.header.get(key, default)

    def __repr__(self) -> str:
        sizes = [len(p) for p in self.payloads]
        return f"{self.name}{self.header!r} payload_sizes={sizes}"


class WireViolation(AssertionError):
    """The broker sent something §3 does not allow."""


def decode(frames: List[bytes]) -> Message:
    """Reads what the broker sent, checking the framing rules a broker must keep (§3)."""
    if len(frames) < 3:
        raise WireViolation(f"{len(frames)} frames from the broker")
    if frames[0] != SIGNATURE:
        raise WireViolation(f"signature frame {frames[0]!r}")
    if len(frames[1]) != 1:
        raise WireViolation(f"command frame of {len(frames[1])} bytes")
    command = frames[1][0]
    if command not in NAMES:
        raise WireViolation(f"unknown command 0x{command:02x} from the broker")
    try:
        header = msgpack.unpackb(frames[2], raw=False, strict_map_key=False)
    except Exception as error:  # noqa: BLE001 - any failure to read is the broker's fault
        raise WireViolation(f"{NAMES[command]} header is not msgpack: {error}") from error
    if not isinstance(header, dict):
        raise WireViolation(f"{NAMES[command]} header is not a map: {header!r}")
    payloads = frames[3:]
    if command in WITH_PAYLOAD and len(payloads) != 1:
        raise WireViolation(f"{NAMES[command]} with {len(frames)} frames, not 4")
    if command in BATCHES and header.get("packed") is True:
        entries = header.get(BATCHES[command], [])
        if len(payloads) != 1 or not entries:
            raise WireViolation(f"packed {NAMES[command]} with {len(entries)} entries and {len(payloads)} frames")
        return Message(command, header, unpacked(payloads[0], len(entries)), list(frames))
    if command in BATCHES:
        entries = header.get(BATCHES[command], [])
        if len(payloads) != len(entries) or not payloads:
            raise WireViolation(f"{NAMES[command]} with {len(entries)} entries and {len(payloads)} payload frames")
    if command not in WITH_PAYLOAD and command not in BATCHES and payloads:
        raise WireViolation(f"{NAMES[command]} with {len(frames)} frames, not 3")
    return Message(command, header, list(payloads), list(frames))


def unpack_body(body: bytes) -> Dict[str, Any]:
    """The msgpack body of STATS_REPLY, DEAD_REPLY and LIST_REPLY (§5.7, §5.20, §5.29)."""
    value = msgpack.unpackb(body, raw=False, strict_map_key=False)
    if not isinstance(value, dict):
        raise WireViolation(f"reply body is not a map: {value!r}")
    return value
