"""CURVE keys for a client (docs/security.md): the broker's public key and the client's own pair.

Key files are czmq certificates (zcert, ZPL text) as ``corsair keygen`` writes them: a ``curve``
section holding ``public-key`` and, in the secret file, ``secret-key``, both Z85 (40 characters).
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Optional

import zmq


def read_certificate(path: str) -> Dict[str, str]:
    """The properties of the ``curve`` section of a zcert file (e.g. ``public-key``)."""
    section = None
    values: Dict[str, str] = {}
    with open(path, encoding="utf-8") as file:
        for line in file:
            stripped = line.rstrip("\r\n")
            if not stripped.strip() or stripped.lstrip().startswith("#"):
                continue  # ZPL comments are whole lines: Z85 keys may hold a '#'
            if not line[0].isspace():
                section = stripped.strip()
                continue
            if section != "curve" or "=" not in stripped:
                continue
            key, value = (part.strip() for part in stripped.split("=", 1))
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            values[key] = value
    return values


@dataclasses.dataclass(frozen=True)
class CurveKeys:
    """The keys a client sets before connecting; all three Z85 strings of 40 characters."""

    server_public: str
    public: str
    secret: str

    @classmethod
    def from_files(cls, server_key_file: str, secret_key_file: str) -> "CurveKeys":
        """Keys from the broker's public certificate and this client's secret one (``NAME.key_secret``)."""
        server = read_certificate(server_key_file)
        own = read_certificate(secret_key_file)
        if "public-key" not in server:
            raise ValueError(f"{server_key_file}: no public-key in its curve section")
        if "secret-key" not in own:
            raise ValueError(f"{secret_key_file}: no secret-key: give the secret certificate")
        public = own.get("public-key") or zmq.curve_public(own["secret-key"].encode()).decode()
        return cls(server["public-key"], public, own["secret-key"])

    def apply(self, socket: zmq.Socket) -> None:
        """Makes `socket` a CURVE client with these keys; call before connect()."""
        socket.curve_serverkey = self.server_public.encode()
        socket.curve_publickey = self.public.encode()
        socket.curve_secretkey = self.secret.encode()


# Added to what a client says when the broker stays silent with CURVE on: a failed handshake is
# silent by design (the broker's ZAP handler answers only libzmq), so the client can only name
# what to check (as the C++ clients do, options/endpoint.hpp).
SILENCE_HINT = (
    "; with CURVE on, the broker also drops without a word a client whose key is not in its --allowed-keys, "
    "or one whose server key is not the broker's public key, or one without CURVE: check those "
    "(docs/security.md)"
)


def silence_hint(keys: Optional[CurveKeys]) -> str:
    """SILENCE_HINT when `keys` turn CURVE on, else nothing."""
    return SILENCE_HINT if keys is not None else ""


def apply_curve(socket: zmq.Socket, keys: Optional[CurveKeys]) -> None:
    """Applies `keys` to `socket` if given (no CURVE otherwise)."""
    if keys is not None:
        keys.apply(socket)
