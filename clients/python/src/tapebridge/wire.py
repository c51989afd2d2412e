"""Parsing what the bridge sends: every message is checked before it reaches the mirror."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Union

from .types import Document, Patch, Snapshot


class WireError(ValueError):
    """A message that does not have the shape the protocol gives it."""


@dataclass(frozen=True)
class Hello:
    epoch: str


@dataclass(frozen=True)
class Pong:
    pass


@dataclass(frozen=True)
class Notice:
    """A condition the bridge reports with a code (error frame, SSE notice, HTTP error body)."""

    code: str
    message: str


WireMessage = Union[Snapshot, Patch, Hello, Pong, Notice]


def parse_json(text: Union[str, bytes]) -> Dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise WireError("message is not valid JSON") from None
    if not isinstance(value, dict):
        raise WireError("message is not a JSON object")
    return value


def parse_message(text: Union[str, bytes]) -> Optional[WireMessage]:
    """One WebSocket message; None for a type this client does not know (the protocol may gain some)."""
    value = parse_json(text)
    kind = value.get("type")
    if kind == "snapshot":
        return read_snapshot(value)
    if kind == "patch":
        return read_patch(value)
    if kind == "hello":
        epoch = value.get("epoch")
        if not isinstance(epoch, str):
            raise WireError("hello without an epoch")
        return Hello(epoch)
    if kind == "pong":
        return Pong()
    if kind == "error":
        return read_notice(value)
    if isinstance(kind, str):
        return None
    raise WireError("message without a type")


def _head(value: Dict[str, Any]) -> tuple[str, str, int]:
    symbol, epoch, seq = value.get("symbol"), value.get("epoch"), value.get("seq")
    if not isinstance(symbol, str) or symbol == "":
        raise WireError("message without a symbol")
    if not isinstance(epoch, str) or epoch == "":
        raise WireError(f"message of {symbol} without an epoch")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise WireError(f"message of {symbol} without a valid seq")
    return symbol, epoch, seq


def read_snapshot(value: Dict[str, Any]) -> Snapshot:
    """`{symbol, epoch, seq, data}`: a WebSocket or SSE snapshot, or the HTTP snapshot body."""
    symbol, epoch, seq = _head(value)
    data = value.get("data")
    if not isinstance(data, dict):
        raise WireError(f"snapshot of {symbol} has no data object")
    document: Document = data  # type: ignore[assignment]
    return Snapshot(symbol, epoch, seq, document)


def read_patch(value: Dict[str, Any]) -> Patch:
    symbol, epoch, seq = _head(value)
    ops = value.get("ops")
    if not isinstance(ops, list) or not all(
        isinstance(op, dict) and isinstance(op.get("op"), str) and isinstance(op.get("path"), str) for op in ops
    ):
        raise WireError(f"patch {seq} of {symbol}: ops must be an array of objects with string op and path")
    base = value.get("base")
    if base is not None and (not isinstance(base, int) or isinstance(base, bool) or base < 0 or base >= seq):
        raise WireError(f"patch {seq} of {symbol}: base must be an integer below seq")
    return Patch(symbol, epoch, seq, ops, base)


def read_patch_list(value: Any) -> List[Patch]:
    """The patches route's body: `{symbol, epoch, patches: [{seq, ops}]}`."""
    if not isinstance(value, dict) or not isinstance(value.get("symbol"), str) or not isinstance(value.get("epoch"), str):
        raise WireError("patches response must be {symbol, epoch, patches: [...]}")
    items = value.get("patches")
    if not isinstance(items, list):
        raise WireError("patches response must be {symbol, epoch, patches: [...]}")
    patches = []
    for item in items:
        if not isinstance(item, dict):
            raise WireError("patch is not an object")
        patches.append(read_patch({**item, "symbol": value["symbol"], "epoch": value["epoch"]}))
    return patches


def read_notice(value: Any, status: Optional[int] = None) -> Notice:
    """`{"error": {code, message}}` or an error frame; a body without a code becomes `HTTP_<status>`."""
    body = value.get("error") if isinstance(value, dict) and isinstance(value.get("error"), dict) else value
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        message = body.get("message")
        return Notice(body["code"], message if isinstance(message, str) else "")
    if status is None:
        return Notice("BAD_MESSAGE", "an error without a code")
    return Notice(f"HTTP_{status}", "the answer has no error code (not from the bridge?)")
