"""The client: keeps every subscribed symbol's document, over whichever transport works."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Union

import httpx

from .backoff import Backoff
from .events import (
    CloseEvent,
    Emitter,
    ErrorEvent,
    GapEvent,
    OpenEvent,
    PatchEvent,
    ReconnectingEvent,
    ResyncEvent,
    SnapshotEvent,
    State,
    StateEvent,
    call_safely,
)
from .mirror import Applied, Duplicate, Failed, Gap, Held, Mirror
from .transports.base import Options, Token, Transport, authorization, endpoint_of
from .transports.poll import PollTransport
from .transports.sse import SseTransport
from .transports.ws import WebSocketTransport, websocket_answers
from .types import TRANSPORT_KINDS, DataMessage, Document, Patch, Snapshot, TransportKind, Version
from .updates import Update, UpdateBuffer
from .wire import Notice

log = logging.getLogger("tapebridge")

MAX_SYMBOL_LENGTH = 128
UpdateCallback = Callable[[Update], Any]


class Subscription:
    """What `client.subscribe()` returns; `close()` ends it (symbols nobody else wants are unsubscribed)."""

    def __init__(self, client: "Client", symbols: List[str], callback: Optional[UpdateCallback]) -> None:
        self._client = client
        self.symbols = symbols
        self.callback = callback

    def close(self) -> None:
        self._client._end(self)


class UpdateStream:
    """`async for update in client.updates():`; `close()` stops it (and frees its buffer)."""

    def __init__(self, buffer: UpdateBuffer, release: Callable[[], None]) -> None:
        self.buffer = buffer
        self._release = release

    def __aiter__(self) -> "UpdateStream":
        return self

    async def __anext__(self) -> Update:
        update = await self.buffer.get()
        if update is None:
            self._release()
            raise StopAsyncIteration
        return update

    def close(self) -> None:
        self.buffer.close()
        self._release()


class Client:
    """A connection to a tapebridge that keeps every subscribed symbol's document.

    Snapshot, then patches checked for seq continuity; on a gap, a failed patch or a new
    epoch it resyncs that symbol (resume first, snapshot when that cannot work). It
    reconnects with capped, fully jittered backoff and resumes every subscription from its
    (epoch, seq); when WebSocket cannot connect while the bridge answers HTTP it falls back
    to SSE, then to HTTP long polling, and keeps probing WebSocket to go back.
    """

    def __init__(
        self,
        url: str,
        *,
        token: Token = None,
        transports: Sequence[TransportKind] = TRANSPORT_KINDS,
        fallback_after: int = 2,
        connect_timeout: float = 10.0,
        ping_interval: float = 10.0,
        liveness_timeout: float = 30.0,
        backoff: tuple[float, float] = (0.5, 30.0),
        poll_wait: float = 20.0,
        poll_max_concurrent: int = 4,
        poll_interval: float = 1.0,
        max_queue: int = 10_000,
        max_message_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        kinds = tuple(transports)
        if not kinds or any(kind not in TRANSPORT_KINDS for kind in kinds) or len(set(kinds)) != len(kinds):
            raise ValueError(f"transports must be a non-empty list of distinct {', '.join(TRANSPORT_KINDS)}")
        _positive("fallback_after", fallback_after, integer=True)
        for name, value in (("connect_timeout", connect_timeout), ("ping_interval", ping_interval), ("liveness_timeout", liveness_timeout), ("poll_interval", poll_interval)):
            _positive(name, value)
        if poll_wait < 0:
            raise ValueError("poll_wait must not be negative")
        _positive("poll_max_concurrent", poll_max_concurrent, integer=True)
        _positive("max_queue", max_queue, integer=True)
        _positive("max_message_bytes", max_message_bytes, integer=True)
        if liveness_timeout <= ping_interval:
            raise ValueError("liveness_timeout must exceed ping_interval")
        self.options = Options(token, kinds, fallback_after, connect_timeout, ping_interval, liveness_timeout, backoff,
                               poll_wait, poll_max_concurrent, poll_interval, max_message_bytes)
        self.endpoint = endpoint_of(url)
        self.url = self.endpoint.http
        self.max_queue = max_queue
        self.sse_cursor: Optional[str] = None
        self._backoff = Backoff(*backoff)
        self._probe_backoff = Backoff(*backoff)
        self._events = Emitter()
        self._mirror = Mirror()
        self._wanted: Dict[str, Set[Subscription]] = {}
        self._parts: Optional[List[str]] = None
        self._resyncing: Dict[str, str] = {}
        self._buffers: Set[UpdateBuffer] = set()
        self._state: State = "connecting"
        self._transport: Optional[Transport] = None
        self._level = 0
        self._failures = 0
        self._why = "first choice"
        self._epoch: Optional[str] = None
        self._task: Optional["asyncio.Task[None]"] = None
        self._probe: Optional["asyncio.Task[None]"] = None
        self._run_task: Optional["asyncio.Task[str]"] = None
        self._switch_now = False
        self._changed = asyncio.Event()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> "Client":
        if self._task is None and self._state != "closed":
            self._changed = asyncio.Event()
            self._task = asyncio.ensure_future(self._supervise())
        return self

    async def __aenter__(self) -> "Client":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Closes the connection and stops reconnecting; idempotent."""
        if self._state == "closed":
            return
        self._set_state("closed")
        tasks = [task for task in (self._probe, self._task) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for buffer in list(self._buffers):
            buffer.close()
        self._changed.set()
        self._events.emit("close", CloseEvent())
        self._events.clear()

    @property
    def state(self) -> State:
        return self._state

    @property
    def transport(self) -> Optional[TransportKind]:
        """The transport in use, or None while (re)connecting."""
        return self._transport.kind if self._state == "open" and self._transport else None  # type: ignore[return-value]

    @property
    def epoch(self) -> Optional[str]:
        return self._epoch

    # -- the API -----------------------------------------------------------------------------

    def on(self, name: str, callback: Callable[[Any], Any]) -> Callable[[], None]:
        """Calls `callback(event)` on each `name` event (sync or async); returns a function that removes it."""
        return self._events.on(name, callback)

    def subscribe(self, symbols: Union[str, Iterable[str]], parts: Optional[Sequence[str]] = None,
                  on_update: Optional[UpdateCallback] = None) -> Subscription:
        """Subscribes to symbols (`*` for every symbol, present and future). `on_update(update)`
        gets each new version, starting with any already held. `parts` (JSON pointers, a view:
        PROTOCOL.md §8) is one list per client."""
        if self._state == "closed":
            raise RuntimeError("subscribe() after close()")
        listed = _symbol_list(symbols)
        if parts is not None:
            wanted_parts = list(parts)
            if not wanted_parts or not all(isinstance(part, str) and part.startswith("/") for part in wanted_parts):
                raise ValueError("parts must be a non-empty list of JSON pointers such as '/quote'")
            if self._wanted and self._parts != wanted_parts:
                raise ValueError("parts is one list per client: the symbols already subscribed use another")
            self._parts = wanted_parts
        elif self._wanted and self._parts is not None:
            raise ValueError(f"this client subscribes with parts {self._parts}: pass the same")
        subscription = Subscription(self, listed, on_update)
        wildcard = "*" in self._wanted
        added = []
        for symbol in listed:
            if symbol not in self._wanted:
                self._wanted[symbol] = set()
                added.append(symbol)
            self._wanted[symbol].add(subscription)
        if added:
            if not wildcard:
                self.sse_cursor = None  # an SSE cursor covers only the symbols of its stream
            if self._transport is not None:
                self._transport.update(added, [])
        if on_update is not None:
            for symbol in self._mirror.symbols() if "*" in listed else listed:
                held = self._mirror.get(symbol)
                if held is not None:
                    call_safely(on_update, Update(symbol, held.epoch, held.seq, held.document, "snapshot"))
        return subscription

    def unsubscribe(self, symbols: Union[str, Iterable[str]]) -> None:
        """Unsubscribes from symbols, whichever subscriptions wanted them; their documents are dropped."""
        self._forget([symbol for symbol in _symbol_list(symbols) if self._wanted.pop(symbol, None) is not None])

    def get(self, symbol: str) -> Optional[Document]:
        """The document held for a symbol, or None. Each version is a new object: treat it as read-only."""
        held = self._mirror.get(symbol)
        return held.document if held else None

    def version(self, symbol: str) -> Optional[Version]:
        held = self._mirror.get(symbol)
        return Version(held.epoch, held.seq) if held else None

    def updates(self, symbols: Optional[Iterable[str]] = None, max_queue: Optional[int] = None) -> "UpdateStream":
        """Every new version of the subscribed documents (of `symbols` only, when given), starting
        with those already held; ends when the client closes. The buffer starts at this call (not
        at the first read). A reader that falls behind by `max_queue` updates gets one coalesced
        update per symbol instead (see UpdateBuffer)."""
        only = None if symbols is None else set(_symbol_list(symbols))
        buffer = UpdateBuffer(max_queue or self.max_queue, only)
        for symbol in self._mirror.symbols():
            held = self._mirror.get(symbol)
            if held is not None and (only is None or symbol in only):
                buffer.put(Update(symbol, held.epoch, held.seq, held.document, "snapshot"))
        if self._state == "closed":
            buffer.close()
        self._buffers.add(buffer)
        return UpdateStream(buffer, lambda: self._buffers.discard(buffer))

    async def wait_for(self, symbol: str, predicate: Optional[Callable[[Document], bool]] = None, timeout: Optional[float] = None) -> Document:
        """Waits until the held document of `symbol` exists (and satisfies `predicate`)."""
        async def until() -> Document:
            while True:
                document = self.get(symbol)
                if document is not None and (predicate is None or predicate(document)):
                    return document
                if self._state == "closed":
                    raise RuntimeError("the client was closed")
                await self._changed.wait()
        return await asyncio.wait_for(until(), timeout)

    # -- the transport's host ----------------------------------------------------------------

    def wanted(self) -> List[str]:
        return list(self._wanted)

    def held(self) -> List[str]:
        return list(self._mirror.symbols())

    def parts(self) -> Optional[List[str]]:
        return self._parts

    def resume_from(self, symbol: str) -> Optional[Version]:
        if self._resyncing.get(symbol) == "patch-failed":
            return None
        return self.version(symbol)

    def opened(self, epoch: Optional[str]) -> None:
        self._failures = 0
        self._backoff.reset()
        if epoch is not None:
            self._epoch = epoch
        self._set_state("open")
        assert self._transport is not None
        kind = self._transport.kind
        log.debug("tapebridge client: open over %s (%s)", kind, self._why)
        self._events.emit("open", OpenEvent(kind, epoch, self._why))  # type: ignore[arg-type]
        if self._level > 0 and self.options.transports[0] == "ws" and self._probe is None:
            self._probe = asyncio.ensure_future(self._probe_websocket())

    def message(self, message: DataMessage) -> bool:
        if "*" not in self._wanted and message.symbol not in self._wanted:
            return True
        self._epoch = message.epoch
        return self._take_snapshot(message) if isinstance(message, Snapshot) else self._take_patch(message)

    def notice(self, notice: Notice) -> None:
        self._events.emit("error", ErrorEvent(notice.code, notice.message))

    # -- inside ------------------------------------------------------------------------------

    def _take_snapshot(self, message: Snapshot) -> bool:
        symbol = message.symbol
        reason = self._resyncing.pop(symbol, None)
        current = self._mirror.get(symbol)
        if current is not None and current.epoch == message.epoch and current.seq == message.seq:
            return True  # the same version again (a stream restarted from nothing)
        held, previous = self._mirror.snapshot(message)
        self._events.emit("snapshot", SnapshotEvent(symbol, held.epoch, held.seq, held.document))
        if previous is not None:
            why = "epoch" if previous.epoch != held.epoch else (reason or "snapshot")
            self._events.emit("resync", ResyncEvent(symbol, why, Version(previous.epoch, previous.seq), Version(held.epoch, held.seq)))  # type: ignore[arg-type]
        self._notify(symbol, held, None)
        return True

    def _take_patch(self, message: Patch) -> bool:
        symbol = message.symbol
        outcome = self._mirror.patch(message)
        if isinstance(outcome, Applied):
            self._resyncing.pop(symbol, None)
            self._events.emit("patch", PatchEvent(symbol, message.epoch, message.seq, message.ops, outcome.held.document))
            self._notify(symbol, outcome.held, message.ops)
            return True
        if isinstance(outcome, Duplicate):
            return True
        if isinstance(outcome, Gap):
            if symbol in self._resyncing:
                return False  # patches already under way when the resync was asked for
            self._resyncing[symbol] = "gap"
            held = Version(outcome.held.epoch, outcome.held.seq) if outcome.held else None
            self._events.emit("gap", GapEvent(symbol, held, Version(message.epoch, message.seq)))
            if self._transport is not None:
                self._transport.resync(symbol, held)
            return False
        assert isinstance(outcome, Failed)
        self._resyncing[symbol] = "patch-failed"
        self._events.emit("error", ErrorEvent(
            "PATCH_FAILED", f"patch {message.seq} of {symbol} does not apply to seq {outcome.held.seq} ({outcome.error}); taking a snapshot", symbol))
        if self._transport is not None:
            self._transport.resync(symbol, None)
        return False

    def _notify(self, symbol: str, held: Held, ops: Optional[List[Dict[str, Any]]]) -> None:
        update = Update(symbol, held.epoch, held.seq, held.document, "patch" if ops is not None else "snapshot", ops)
        called: Set[Subscription] = set()
        for subscription in [*self._wanted.get(symbol, ()), *self._wanted.get("*", ())]:
            if subscription in called:
                continue  # a subscription to both `*` and the symbol hears of it once
            called.add(subscription)
            if subscription.callback is not None:
                call_safely(subscription.callback, update)
        for buffer in self._buffers:
            if buffer.only is None or symbol in buffer.only:
                buffer.put(update)
        self._changed.set()
        self._changed = asyncio.Event()

    def _end(self, subscription: Subscription) -> None:
        removed = []
        for symbol in subscription.symbols:
            subscribers = self._wanted.get(symbol)
            if subscribers is not None and subscription in subscribers:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._wanted[symbol]
                    removed.append(symbol)
        self._forget(removed)

    def _forget(self, removed: List[str]) -> None:
        if not removed:
            return
        unsubscribe = set(removed)
        wildcard_gone = "*" in unsubscribe
        for symbol in self._mirror.symbols():
            if "*" in self._wanted or symbol in self._wanted:
                continue
            if not wildcard_gone and symbol not in unsubscribe:
                continue
            self._mirror.delete(symbol)
            self._resyncing.pop(symbol, None)
            unsubscribe.add(symbol)  # a resync may have subscribed it by name on the bridge
        if not self._wanted:
            self._parts = None
        if self._state != "closed" and self._transport is not None:
            self._transport.update([], sorted(unsubscribe))

    def _make(self, kind: TransportKind) -> Transport:
        if kind == "ws":
            return WebSocketTransport(self)  # type: ignore[return-value]
        if kind == "sse":
            return SseTransport(self)  # type: ignore[return-value]
        return PollTransport(self)  # type: ignore[return-value]

    async def _supervise(self) -> None:
        kinds = self.options.transports
        while self._state != "closed":
            transport = self._make(kinds[self._level])
            self._transport = transport
            self._run_task = asyncio.ensure_future(transport.run())
            try:
                reason = await self._run_task
            except asyncio.CancelledError:
                # Either close() (the supervisor itself is cancelled, and the transport with it)
                # or the probe ending the fallback transport.
                if self._state == "closed" or not self._switch_now:
                    raise
                reason = "switching back to the preferred transport"
            except Exception as error:  # noqa: BLE001 (a bug in a transport must not end the client)
                log.exception("tapebridge: the %s transport failed", transport.kind)
                reason = f"{type(error).__name__}: {error}"
            self._transport = None
            if self._probe is not None and not self._switch_now:
                self._probe.cancel()
                self._probe = None
            self._set_state("reconnecting")
            if self._switch_now:
                self._switch_now = False
                continue
            if transport.is_open or self._failures + 1 < self.options.fallback_after or len(kinds) == 1:
                if not transport.is_open:
                    self._failures += 1
            else:
                self._failures = 0
                # Another transport helps when this one is refused or blocked on the way, not when
                # the bridge is down (restarting): then it would fail as well.
                if await self._bridge_answers():
                    failed = kinds[self._level]
                    self._level = (self._level + 1) % len(kinds)
                    self._why = f"{failed} failed {self.options.fallback_after} times in a row ({reason}) while the bridge answers HTTP"
            delay = self._backoff.next()
            self._events.emit("reconnecting", ReconnectingEvent(self._backoff.attempt, delay, kinds[self._level], reason))
            await asyncio.sleep(delay)

    async def _bridge_answers(self) -> bool:
        """Whether the bridge answers plain HTTP (any answer but a 5xx, which a proxy gives for a bridge that is down)."""
        try:
            headers = await authorization(self.options.token)
            async with httpx.AsyncClient(timeout=self.options.connect_timeout) as http:
                response = await http.get(f"{self.endpoint.http}/v1", headers=headers)
                return response.status_code < 500
        except Exception:  # noqa: BLE001 (any failure means: it does not answer)
            return False

    async def _probe_websocket(self) -> None:
        """While on a fallback: try WebSocket with backoff; once it says hello, switch back to it."""
        try:
            while self._state != "closed" and self._level > 0:
                await asyncio.sleep(self._probe_backoff.next())
                if await websocket_answers(self):
                    self._probe_backoff.reset()
                    self._level = 0
                    self._why = "WebSocket works again"
                    self._switch_now = True
                    if self._run_task is not None:
                        self._run_task.cancel()
                    return
        finally:
            if self._probe is asyncio.current_task():
                self._probe = None

    def _set_state(self, current: State) -> None:
        previous = self._state
        if previous != current:
            self._state = current
            self._events.emit("state", StateEvent(previous, current))


def connect(url: str, **options: Any) -> Client:
    """A client for the bridge at `url` (its base, e.g. `http://127.0.0.1:8080`); use it as
    `async with connect(url, token=...) as client:` (or `await client.start()`)."""
    return Client(url, **options)


def _positive(name: str, value: Any, integer: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 or (integer and not isinstance(value, int)):
        raise ValueError(f"{name} must be a positive {'integer' if integer else 'number'}, got {value!r}")


def _symbol_list(symbols: Union[str, Iterable[str]]) -> List[str]:
    listed = [symbols] if isinstance(symbols, str) else list(symbols)
    if not listed:
        raise ValueError("symbols must be a symbol or a non-empty list of symbols")
    for symbol in listed:
        if not isinstance(symbol, str) or not 0 < len(symbol) <= MAX_SYMBOL_LENGTH:
            raise ValueError(f"symbol {symbol!r} must be a string of 1 to {MAX_SYMBOL_LENGTH} characters")
        if "," in symbol:
            raise ValueError(f"symbol {symbol!r} must not contain ',' (SSE lists symbols comma-separated)")
    return list(dict.fromkeys(listed))
