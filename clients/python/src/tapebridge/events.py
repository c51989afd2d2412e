"""The events a client emits, and calling user callbacks without letting them disturb it."""

from __future__ import annotations

import asyncio
import inspect
import logging
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Literal, Optional, Set

from .types import Document, JsonPatchOperation, TransportKind, Version

log = logging.getLogger("tapebridge")

State = Literal["connecting", "open", "reconnecting", "closed"]
#: Why a held document was replaced by a snapshot: a new epoch (the bridge restarted without
#: its state), a seq gap, a patch that did not apply, or a snapshot the bridge sent on its own.
ResyncReason = Literal["epoch", "gap", "patch-failed", "snapshot"]


@dataclass(frozen=True)
class StateEvent:
    previous: State
    current: State


@dataclass(frozen=True)
class OpenEvent:
    """A transport connected; subscriptions were (re)sent, resumed from each held (epoch, seq)."""

    transport: TransportKind
    epoch: Optional[str]
    #: Why this transport (first choice, or why the ones before it were not used).
    reason: str


@dataclass(frozen=True)
class SnapshotEvent:
    symbol: str
    epoch: str
    seq: int
    document: Document


@dataclass(frozen=True)
class PatchEvent:
    symbol: str
    epoch: str
    seq: int
    ops: List[JsonPatchOperation]
    document: Document


@dataclass(frozen=True)
class GapEvent:
    symbol: str
    held: Optional[Version]
    received: Version


@dataclass(frozen=True)
class ResyncEvent:
    symbol: str
    reason: ResyncReason
    previous: Version
    current: Version


@dataclass(frozen=True)
class ReconnectingEvent:
    attempt: int
    delay: float
    transport: TransportKind
    reason: str


@dataclass(frozen=True)
class ErrorEvent:
    """From the bridge (SLOW_CONSUMER, ...), or found here: BAD_MESSAGE, PATCH_FAILED."""

    code: str
    message: str
    symbol: Optional[str] = None


@dataclass(frozen=True)
class CloseEvent:
    pass


EVENT_NAMES = ("state", "open", "snapshot", "patch", "gap", "resync", "reconnecting", "error", "close")
Callback = Callable[[Any], Any]


def call_safely(callback: Callable[..., Any], *args: Any) -> None:
    """Runs a user callback; an exception is logged, a coroutine is scheduled (and its exception logged)."""
    try:
        result = callback(*args)
    except Exception:  # noqa: BLE001 (a user's callback must not break the client)
        log.exception("tapebridge: a callback raised")
        return
    if inspect.isawaitable(result):
        task = asyncio.ensure_future(result)
        task.add_done_callback(_log_failure)


def _log_failure(task: "asyncio.Future[Any]") -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("tapebridge: an async callback raised", exc_info=task.exception())


class Emitter:
    def __init__(self) -> None:
        self._listeners: Dict[str, Set[Callback]] = {}

    def on(self, name: str, callback: Callback) -> Callable[[], None]:
        if name not in EVENT_NAMES:
            raise ValueError(f"unknown event {name!r}; expected one of {', '.join(EVENT_NAMES)}")
        self._listeners.setdefault(name, set()).add(callback)
        return lambda: self.off(name, callback)

    def off(self, name: str, callback: Callback) -> None:
        self._listeners.get(name, set()).discard(callback)

    def emit(self, name: str, event: Any) -> None:
        for callback in list(self._listeners.get(name, ())):
            call_safely(callback, event)

    def clear(self) -> None:
        self._listeners.clear()
