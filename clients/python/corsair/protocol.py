"""The Corsair wire protocol, version 1 (docs/protocol.md): command codes, limits and framing.

Pure functions over frames; no sockets. Every message is ``[signature, command, header]`` plus a
payload frame for the commands that carry one (§3) and, for the batches JOBS, DONES, RESULTS and
SUBMITS, one frame per entry or, when the header says ``packed: true``, one frame holding every
payload (§3.1: the sizes as uint32 little-endian, then the payloads back to back). decode()
unpacks a packed batch, so a receiver sees the same payload list either way; encode_batch()
packs one only for a peer that said it reads packed batches, and only when the frame fits
MAX_PACKED_FRAME_BYTES. Headers are msgpack maps written with ``use_bin_type=True`` so that
``str`` goes out as msgpack str and ``bytes`` as bin, as §3 requires.
"""

from __future__ import annotations

import enum
import struct
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import msgpack

VERSION = 1
SIGNATURE = b"CSR" + bytes([VERSION])


class Command(enum.IntEnum):
    """Command codes of §4."""

    SUBMIT = 0x01
    ACCEPTED = 0x02
    RESULT = 0x03
    STATUS = 0x04
    STATUS_REPLY = 0x05
    STATS = 0x06
    STATS_REPLY = 0x07
    ERROR = 0x08
    CANCEL = 0x09
    RETRY = 0x0A
    PURGE = 0x0B
    DEAD = 0x0C
    DEAD_REPLY = 0x0D
    QUEUE = 0x0E
    OK = 0x0F
    READY = 0x10
    JOB = 0x11
    DONE = 0x12
    FAIL = 0x13
    HEARTBEAT = 0x14
    DRAIN = 0x15
    DISCONNECT = 0x16
    PROGRESS = 0x17
    ABANDON = 0x18
    JOBS = 0x19
    DONES = 0x1A
    RESULTS = 0x1B
    LIST = 0x1C
    LIST_REPLY = 0x1D
    CLEAR = 0x1E
    DELETE_QUEUE = 0x1F
    RECALL = 0x20
    SUBMITS = 0x21


# §3: the commands that always carry exactly one payload frame.
PAYLOAD_COMMANDS = frozenset(
    {
        Command.SUBMIT,
        Command.RESULT,
        Command.STATUS_REPLY,
        Command.STATS_REPLY,
        Command.DEAD_REPLY,
        Command.LIST_REPLY,
        Command.JOB,
        Command.DONE,
    }
)
# §3: one payload frame per entry of the header's list, named here.
BATCH_LISTS = {Command.JOBS: "jobs", Command.DONES: "done", Command.RESULTS: "results", Command.SUBMITS: "ids"}

# §14 limits.
MAX_HEADER_BYTES = 64 * 1024
DEFAULT_MAX_PAYLOAD_BYTES = 8 * 1024 * 1024
MAX_PAYLOAD_LIMIT_BYTES = 1024 * 1024 * 1024
CLIENT_MAX_MESSAGE_BYTES = MAX_PAYLOAD_LIMIT_BYTES + 64 * 1024
MAX_JOB_ID_BYTES = 128
MAX_QUEUE_NAME_BYTES = 128
MAX_WORKER_NAME_BYTES = 256
MAX_QUEUES_PER_WORKER = 64
MAX_ERROR_TEXT_BYTES = 8192
MAX_CAPACITY = 10000
MAX_PREFETCH = 64  # READY prefetch (§11)
MAX_HELD_LEASES = 10000
MIN_PRIORITY, MAX_PRIORITY = -1000, 1000
MAX_ATTEMPTS_LIMIT = 100
MAX_TIMEOUT_MS = 7 * 24 * 3600 * 1000
MAX_DELAY_MS = 365 * 24 * 3600 * 1000
MAX_BACKOFF_MS = 24 * 3600 * 1000
MAX_UNIQUE_KEY_BYTES = 128
MAX_ACCEPT_WITHIN_MS = 60000
MAX_PROGRESS_MESSAGE_BYTES = 256
MAX_DEAD_LISTED = 10000
MAX_BATCH_ENTRIES = 1024
# §3.1 kMaxPackedFrameBytes: a larger batch goes a frame per payload, which moves large payloads
# without copying them into one frame.
MAX_PACKED_FRAME_BYTES = 256 * 1024
DEFAULT_HEARTBEAT_INTERVAL_MS = 1000
DEFAULT_LIVENESS = 3
MIN_HEARTBEAT_INTERVAL_MS = 10
MAX_HEARTBEAT_INTERVAL_MS = 60000
MAX_IDLE_HEARTBEAT_INTERVAL_MS = 600000  # HEARTBEAT idle_interval_ms (§9)

FINAL_STATES = frozenset({"done", "failed", "cancelled"})
LISTED_STATES = frozenset({"pending", "delayed", "running", "failed"})


class MalformedMessage(Exception):
    """A message from the broker that does not follow §3; the receiver drops it."""


class Message:
    """One decoded message: its command, its header map, and its payloads (0, 1 or N; those of a
    packed batch already unpacked, its header still saying ``packed``)."""

    __slots__ = ("command", "header", "payloads")

    def __init__(self, command: int, header: Dict[str, Any], payloads: List[bytes]) -> None:
        self.command = command
        self.header = header
        self.payloads = payloads

    @property
    def payload(self) -> bytes:
        """The single payload frame, or b"" for a command without one."""
        return self.payloads[0] if self.payloads else b""

    def __repr__(self) -> str:
        try:
            name = Command(self.command).name
        except ValueError:
            name = hex(self.command)
        return f"Message({name}, {self.header!r}, {len(self.payloads)} payload frame(s))"


def encode(command: Command, header: Mapping[str, Any], payloads: Optional[Sequence[bytes]] = None) -> List[bytes]:
    """The frames of one message. `payloads` must be given exactly for the commands that carry them."""
    frames = [SIGNATURE, bytes([int(command)]), msgpack.packb(dict(header), use_bin_type=True)]
    if payloads:
        frames.extend(payloads)
    return frames


def packed_frame_bytes(payloads: Sequence[bytes]) -> int:
    """The size of the packed frame of `payloads` (§3.1): 4 bytes of size per payload, then the payloads."""
    return 4 * len(payloads) + sum(len(payload) for payload in payloads)


def pack_payloads(payloads: Sequence[bytes]) -> bytes:
    """The packed frame of a batch's payloads (§3.1): each one's size as a uint32 little-endian,
    in entry order, then the payloads back to back. ``[b"xyz", b""]`` is ``03000000 00000000 78797a``."""
    return struct.pack(f"<{len(payloads)}I", *(len(payload) for payload in payloads)) + b"".join(payloads)


def unpack_payloads(frame: bytes, count: int) -> List[bytes]:
    """The `count` payloads of a packed frame (§3.1); MalformedMessage unless its sizes cover the
    frame exactly, no byte short and none over."""
    sizes_bytes = 4 * count
    if len(frame) < sizes_bytes:
        raise MalformedMessage(f"the packed frame of {len(frame)} bytes is shorter than its {count} sizes")
    sizes = struct.unpack_from(f"<{count}I", frame)
    total = sizes_bytes + sum(sizes)
    if total != len(frame):
        raise MalformedMessage(f"the packed sizes add up to {total} bytes, the frame has {len(frame)}")
    payloads = []
    offset = sizes_bytes
    for size in sizes:
        payloads.append(frame[offset:offset + size])
        offset += size
    return payloads


def encode_batch(
    command: Command, header: Mapping[str, Any], payloads: Sequence[bytes], *, pack: bool
) -> Tuple[List[bytes], bool]:
    """The frames of a batch (JOBS, DONES, RESULTS, SUBMITS), and whether they went packed.

    With `pack` (the peer said it reads packed batches, §3.1) and a packed frame of at most
    MAX_PACKED_FRAME_BYTES, the payloads go in one frame and the header ends with ``packed:
    true``: one frame instead of N saves a send, a receive and an allocation per payload on both
    sides. Otherwise a frame per payload, as a peer from before packing reads them."""
    if pack and packed_frame_bytes(payloads) <= MAX_PACKED_FRAME_BYTES:
        return encode(command, dict(header, packed=True), [pack_payloads(payloads)]), True
    return encode(command, header, payloads), False


def _unpack_map(frame: bytes, what: str) -> Dict[str, Any]:
    try:
        value = msgpack.unpackb(frame, raw=False, unicode_errors="surrogateescape", strict_map_key=False)
    except Exception as e:  # msgpack raises several types (ExtraData, FormatError, ValueError...)
        raise MalformedMessage(f"{what} is not one msgpack value: {e}") from None
    if not isinstance(value, dict):
        raise MalformedMessage(f"{what} is not a msgpack map")
    return {k: v for k, v in value.items() if isinstance(k, str)}


def decode(frames: Sequence[bytes]) -> Message:
    """The message in `frames`; raises MalformedMessage for anything §3 and §3.1 do not allow. A
    packed batch comes out unpacked: its payloads one per entry, as if sent a frame each."""
    if len(frames) < 3:
        raise MalformedMessage("fewer than 3 frames")
    if len(frames[0]) != 4 or frames[0][:3] != b"CSR":
        raise MalformedMessage("bad signature")
    if frames[0][3] != VERSION:
        raise MalformedMessage(f"unsupported version {frames[0][3]}")
    if len(frames[1]) != 1:
        raise MalformedMessage("command frame is not 1 byte")
    command = frames[1][0]
    header = _unpack_map(frames[2], "header")
    payloads = [bytes(f) for f in frames[3:]]
    if command in BATCH_LISTS:
        entries = header.get(BATCH_LISTS[command])
        packed = header.get("packed", False)
        if not isinstance(packed, bool):
            raise MalformedMessage("packed is not a bool")
        if not isinstance(entries, list) or not entries:
            raise MalformedMessage("batch without entries")
        if packed:
            if len(payloads) != 1:
                raise MalformedMessage("a packed batch has not exactly one frame after its header")
            payloads = unpack_payloads(payloads[0], len(entries))
        elif len(entries) != len(payloads):
            raise MalformedMessage("batch entries do not match its payload frames")
    elif command in PAYLOAD_COMMANDS:
        if len(payloads) != 1:
            raise MalformedMessage("payload frame missing or doubled")
    elif payloads:
        raise MalformedMessage("unexpected payload frame")
    return Message(command, header, payloads)


def decode_body(payload: bytes) -> Dict[str, Any]:
    """The msgpack map in a STATS_REPLY, DEAD_REPLY or LIST_REPLY body (§5.7)."""
    return _unpack_map(payload, "body")


def utf8_cut(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, never inside a character."""
    data = text.encode("utf-8", "surrogateescape")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def as_bytes(value: Any) -> bytes:
    """A payload or result as bytes: bytes-like as they are, str as UTF-8, None as empty."""
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"a payload or result must be bytes or str, not {type(value).__name__}")


def lease_entries(entries: Sequence[Any], width: int) -> List[Tuple[Any, ...]]:
    """The entries of a batch list (JOBS, RESULTS), each checked to be an array of `width` values."""
    out = []
    for entry in entries:
        if not isinstance(entry, (list, tuple)) or len(entry) != width:
            raise MalformedMessage("batch entry of the wrong shape")
        out.append(tuple(entry))
    return out
