"""`GET /v1/ws` (PROTOCOL.md §3) with the `websockets` package."""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any, Dict, List, Optional

import websockets

from ..types import Patch, Snapshot, Version
from ..wire import Hello, Notice, Pong, WireError, parse_message
from .base import Host, authorization, describe

SYMBOLS_PER_FRAME = 100


def open_websocket(url: str, headers: Dict[str, str], host: Host) -> Any:
    """websockets.connect with the header keyword of the installed version (10.x: extra_headers; 14+: additional_headers)."""
    options = host.options
    keyword = "additional_headers" if "additional_headers" in inspect.signature(websockets.connect).parameters else "extra_headers"
    return websockets.connect(
        url,
        open_timeout=options.connect_timeout,
        ping_interval=options.ping_interval,
        # A socket that answers no ping for this long is dead (websockets closes it).
        ping_timeout=options.liveness_timeout,
        close_timeout=1,
        max_size=options.max_message_bytes,
        **{keyword: headers},
    )


class WebSocketTransport:
    kind = "ws"

    def __init__(self, host: Host) -> None:
        self._host = host
        self._outbox: "asyncio.Queue[str]" = asyncio.Queue()
        self.is_open = False

    async def run(self) -> str:
        host = self._host
        url = f"{host.endpoint.ws}/v1/ws"
        try:
            headers = await authorization(host.options.token)
        except Exception as error:  # noqa: BLE001 (the user's token function)
            return f"the token function failed: {describe(error)}"
        try:
            async with open_websocket(url, headers, host) as socket:
                sender = asyncio.ensure_future(self._send_all(socket))
                try:
                    return await self._receive(socket)
                finally:
                    sender.cancel()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 (every way a connection can fail ends this transport)
            return f"WebSocket to {url} failed: {describe(error)}"

    async def _receive(self, socket: Any) -> str:
        host = self._host
        try:
            first = await asyncio.wait_for(self._hello(socket), host.options.connect_timeout)
        except asyncio.TimeoutError:
            return f"no hello within {host.options.connect_timeout} s"
        if first is not None:
            return first
        try:
            async for raw in socket:
                self._take(raw)
        except websockets.ConnectionClosed as closed:
            return f"WebSocket closed ({describe(closed)})"
        return "WebSocket closed by the bridge"

    async def _hello(self, socket: Any) -> Optional[str]:
        async for raw in socket:
            message = self._parse(raw)
            if isinstance(message, Hello):
                self.is_open = True
                self._subscribe(self._host.wanted())
                self._host.opened(message.epoch)
                return None
            if isinstance(message, Notice):
                self._host.notice(message)
        return "WebSocket closed before the hello"

    def _parse(self, raw: Any) -> Any:
        if not isinstance(raw, str):
            self._host.notice(Notice("BAD_MESSAGE", "the bridge sent a binary frame"))
            return None
        try:
            return parse_message(raw)
        except WireError as error:
            self._host.notice(Notice("BAD_MESSAGE", str(error)))
            return None

    def _take(self, raw: Any) -> None:
        message = self._parse(raw)
        if isinstance(message, (Snapshot, Patch)):
            self._host.message(message)
        elif isinstance(message, Notice):
            self._host.notice(message)
        # hello again, pong, unknown types: nothing to do

    async def _send_all(self, socket: Any) -> None:
        while True:
            frame = await self._outbox.get()
            await socket.send(frame)

    def _send(self, frame: Dict[str, Any]) -> None:
        self._outbox.put_nowait(json.dumps(frame))

    def _subscribe(self, symbols: List[str]) -> None:
        if not symbols:
            return
        wildcard = "*" in symbols
        frames = [symbols] if wildcard else [symbols[i : i + SYMBOLS_PER_FRAME] for i in range(0, len(symbols), SYMBOLS_PER_FRAME)]
        for frame in frames:
            resume: Dict[str, Dict[str, Any]] = {}
            for symbol in self._host.held() if wildcard else frame:
                start = self._host.resume_from(symbol)
                if start is not None:
                    resume[symbol] = {"epoch": start.epoch, "seq": start.seq}
            self._send(self._frame(frame, resume))

    def _frame(self, symbols: List[str], resume: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
        frame: Dict[str, Any] = {"op": "subscribe", "symbols": symbols}
        if resume:
            frame["resume"] = resume
        parts = self._host.parts()
        if parts is not None:
            frame["parts"] = parts
        return frame

    def update(self, added: List[str], removed: List[str]) -> None:
        if not self.is_open:
            return  # the hello subscribes to whatever is wanted by then
        self._subscribe(added)
        if removed:
            self._send({"op": "unsubscribe", "symbols": removed})

    def resync(self, symbol: str, start: Optional[Version]) -> None:
        if not self.is_open:
            return
        self._send(self._frame([symbol], {symbol: {"epoch": start.epoch, "seq": start.seq}} if start else {}))


async def websocket_answers(host: Host) -> bool:
    """Whether a WebSocket connects and says hello (the client probes this while on a fallback)."""
    url = f"{host.endpoint.ws}/v1/ws"
    try:
        headers = await authorization(host.options.token)
        async with open_websocket(url, headers, host) as socket:
            raw = await asyncio.wait_for(socket.recv(), host.options.connect_timeout)
            return isinstance(parse_message(raw), Hello)
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 (any failure means: not yet)
        return False
