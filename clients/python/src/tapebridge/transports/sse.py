"""`GET /v1/sse` (PROTOCOL.md §4) read with httpx streaming; the event stream is parsed here.

httpx, not an EventSource library: the request must carry an Authorization header and a
`Last-Event-ID` chosen by the client (the id of the last event it took in, not merely
received), and the parser is twenty lines of the HTML standard's rules."""

from __future__ import annotations

import asyncio
from typing import List, Optional
from urllib.parse import quote

import httpx

from ..types import Version
from ..wire import Notice, WireError, parse_json, read_notice, read_patch, read_snapshot
from .base import Host, authorization, describe


class EventStreamParser:
    """Lines in, `(id, event, data)` out, per the HTML standard's event stream rules."""

    def __init__(self) -> None:
        self.last_id: Optional[str] = None
        self._event = ""
        self._data: List[str] = []

    def line(self, line: str) -> Optional[tuple[Optional[str], str, str]]:
        if line == "":
            if not self._data:
                self._event = ""
                return None
            event = (self.last_id, self._event or "message", "\n".join(self._data))
            self._event, self._data = "", []
            return event
        if line.startswith(":"):
            return None  # a comment: the bridge's heartbeat
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id" and "\0" not in value:
            self.last_id = value
        return None


def stream_key(wanted: List[str]) -> str:
    return "*" if "*" in wanted else ",".join(sorted(wanted))


class SseTransport:
    kind = "sse"

    def __init__(self, host: Host) -> None:
        self._host = host
        self.is_open = False
        self._restart = asyncio.Event()
        self._fresh = False
        self._key = ""

    async def run(self) -> str:
        host = self._host
        options = host.options
        timeout = httpx.Timeout(options.connect_timeout, read=options.liveness_timeout)
        try:
            headers = await authorization(options.token)
        except Exception as error:  # noqa: BLE001 (the user's token function)
            return f"the token function failed: {describe(error)}"
        async with httpx.AsyncClient(timeout=timeout) as http:
            while True:
                self._restart.clear()
                if self._fresh:
                    host.sse_cursor = None
                    self._fresh = False
                stream = asyncio.ensure_future(self._stream(http, headers))
                restart = asyncio.ensure_future(self._restart.wait())
                try:
                    await asyncio.wait({stream, restart}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    restart.cancel()
                    if not stream.done():
                        stream.cancel()
                        await asyncio.gather(stream, return_exceptions=True)
                if stream.done() and not stream.cancelled():
                    ended = stream.result()
                    if ended is not None:
                        return ended

    async def _stream(self, http: httpx.AsyncClient, headers: dict[str, str]) -> Optional[str]:
        """One request; returns why the transport ends, or None to wait for a restart."""
        host = self._host
        self._key = key = stream_key(host.wanted())
        if key == "":
            # Nothing subscribed: no stream, but the bridge must answer for this transport to be open.
            url = f"{host.endpoint.http}/v1/symbols"
            try:
                response = await http.get(url, headers=headers)
            except httpx.HTTPError as error:
                return f"cannot reach {url}: {describe(error)}"
            if response.status_code != 200:
                return f"HTTP {response.status_code} from {url}"
            self._open()
            await asyncio.Event().wait()  # until restarted or cancelled
        cursor = host.sse_cursor
        url = f"{host.endpoint.http}/v1/sse?symbols={quote(key, safe='*')}"
        parts = host.parts()
        if parts is not None:
            url += f"&parts={quote(','.join(parts), safe='/,')}"
        request_headers = {"accept": "text/event-stream", **headers}
        if cursor:
            request_headers["last-event-id"] = cursor
        try:
            async with http.stream("GET", url, headers=request_headers) as response:
                if response.status_code != 200:
                    body = await response.aread()
                    try:
                        notice = read_notice(parse_json(body), response.status_code)
                    except WireError:
                        notice = read_notice(None, response.status_code)
                    return f"HTTP {response.status_code} from {url}: {notice.code} {notice.message}"
                self._open()
                parser = EventStreamParser()
                async for line in response.aiter_lines():
                    event = parser.line(line.rstrip("\r\n"))
                    if event is not None:
                        self._event(*event)
                return "the bridge ended the stream"
        except httpx.ReadTimeout:
            return f"nothing received for {host.options.liveness_timeout} s"
        except httpx.HTTPError as error:
            return f"the stream from {url} failed: {describe(error)}"

    def _open(self) -> None:
        if not self.is_open:
            self.is_open = True
            self._host.opened(None)

    def _event(self, event_id: Optional[str], name: str, data: str) -> None:
        host = self._host
        if name in ("snapshot", "patch"):
            try:
                value = parse_json(data)
                message = read_snapshot(value) if name == "snapshot" else read_patch(value)
            except WireError as error:
                host.notice(Notice("BAD_MESSAGE", str(error)))
                return
            # The cursor moves only past what the client took in; a resync replays from before it.
            if host.message(message) and event_id is not None and not self._restart.is_set():
                host.sse_cursor = event_id
        elif name == "notice":
            try:
                host.notice(read_notice(parse_json(data)))
            except WireError as error:
                host.notice(Notice("BAD_MESSAGE", str(error)))

    def update(self, added: List[str], removed: List[str]) -> None:
        if stream_key(self._host.wanted()) != self._key:
            self._restart.set()

    def resync(self, symbol: str, start: Optional[Version]) -> None:
        if start is None:
            self._fresh = True
        self._restart.set()
