"""HTTP polling (PROTOCOL.md §5), the last resort: a loop per symbol that fetches its snapshot,
then its patches since the held seq, long-polling with `waitMs`. At most
`poll_max_concurrent` requests are in flight; with more symbols than that, each polls without
waiting, `poll_interval` apart. For `*` the symbol list is re-read at that interval. A 410
(patches no longer held, or the epoch is over) means a snapshot."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, List, Optional, Set, Tuple
from urllib.parse import quote

import httpx

from ..types import Version
from ..wire import WireError, read_notice, read_patch_list, read_snapshot
from .base import Host, authorization, describe


class PollFailure(Exception):
    """A request that failed in a way that ends the transport."""


class PollTransport:
    kind = "poll"

    def __init__(self, host: Host) -> None:
        self._host = host
        self.is_open = False
        self._loops: Dict[str, "asyncio.Task[None]"] = {}
        self._needs_snapshot: Set[str] = set()
        self._known: List[str] = []
        self._failed: "asyncio.Future[str]" = asyncio.get_running_loop().create_future()
        self._slots = asyncio.Semaphore(host.options.poll_max_concurrent)
        self._http: Optional[httpx.AsyncClient] = None
        self._headers: Dict[str, str] = {}

    async def run(self) -> str:
        options = self._host.options
        try:
            self._headers = await authorization(options.token)
        except Exception as error:  # noqa: BLE001 (the user's token function)
            return f"the token function failed: {describe(error)}"
        timeout = httpx.Timeout(options.connect_timeout, read=options.poll_wait + options.liveness_timeout)
        async with httpx.AsyncClient(timeout=timeout) as http:
            self._http = http
            try:
                epoch = await self._list()
                self.is_open = True
                self._host.opened(epoch)
                self._sync()
                lister = asyncio.ensure_future(self._relist())
                try:
                    return await self._failed
                finally:
                    lister.cancel()
            except PollFailure as failure:
                return str(failure)
            finally:
                loops = list(self._loops.values())
                self._loops.clear()
                for task in loops:
                    task.cancel()
                await asyncio.gather(*loops, return_exceptions=True)

    async def _get(self, path: str, timeout: Optional[float] = None) -> Tuple[int, Any]:
        assert self._http is not None
        url = f"{self._host.endpoint.http}{path}"
        try:
            response = await self._http.get(url, headers={"accept": "application/json", **self._headers}, **({"timeout": timeout} if timeout else {}))
        except httpx.HTTPError as error:
            raise PollFailure(f"cannot reach {path}: {describe(error)}") from None
        try:
            body = json.loads(response.content) if response.content else None
        except ValueError:
            body = None
        return response.status_code, body

    async def _list(self) -> Optional[str]:
        status, body = await self._get("/v1/symbols")
        entries = body.get("symbols") if isinstance(body, dict) else None
        if status != 200 or not isinstance(entries, list):
            raise PollFailure(f"GET /v1/symbols answered {status}")
        self._known = [entry["symbol"] for entry in entries if isinstance(entry, dict) and isinstance(entry.get("symbol"), str)]
        epoch = entries[0].get("epoch") if entries and isinstance(entries[0], dict) else None
        return epoch if isinstance(epoch, str) else None

    async def _relist(self) -> None:
        while True:
            await asyncio.sleep(self._host.options.poll_interval)
            if "*" in self._host.wanted():
                try:
                    await self._list()
                except PollFailure as failure:
                    self._fail(str(failure))
                    return
                self._sync()

    def _fail(self, reason: str) -> None:
        if not self._failed.done():
            self._failed.set_result(reason)

    def _sync(self) -> None:
        wanted = self._host.wanted()
        symbols = {symbol for symbol in wanted if symbol != "*"}
        if "*" in wanted:
            symbols.update(self._known, self._host.held())
        for symbol in list(self._loops):
            if symbol not in symbols:
                self._loops.pop(symbol).cancel()
        for symbol in symbols:
            if symbol not in self._loops:
                self._loops[symbol] = asyncio.ensure_future(self._loop(symbol))

    async def _loop(self, symbol: str) -> None:
        try:
            while True:
                async with self._slots:
                    pause = await self._step(symbol)
                if pause > 0:
                    await asyncio.sleep(pause)
        except PollFailure as failure:
            self._fail(str(failure))
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 (a loop that dies must end the transport, not vanish)
            self._fail(f"polling {symbol} failed: {describe(error)}")

    def _query(self) -> str:
        parts = self._host.parts()
        return f"parts={quote(','.join(parts), safe='/,')}" if parts is not None else ""

    async def _step(self, symbol: str) -> float:
        """One request of a symbol's loop; returns how long to pause before the next."""
        options = self._host.options
        path = f"/v1/symbols/{quote(symbol, safe='')}"
        start = None if symbol in self._needs_snapshot else self._host.resume_from(symbol)
        parts = self._query()
        if start is None:
            status, body = await self._get(path + (f"?{parts}" if parts else ""))
            if status == 404:
                return options.poll_interval  # not there yet: its snapshot comes once it appears
            if status != 200:
                raise PollFailure(unexpected(status, body, path))
            try:
                snapshot = read_snapshot(body if isinstance(body, dict) else {})
            except WireError as error:
                raise PollFailure(str(error)) from None
            self._needs_snapshot.discard(symbol)
            self._host.message(snapshot)
            return 0
        long_poll = len(self._loops) <= options.poll_max_concurrent
        wait_ms = int(options.poll_wait * 1000) if long_poll else 0
        query = f"?epoch={quote(start.epoch, safe='')}&since={start.seq}" + (f"&waitMs={wait_ms}" if wait_ms else "") + (f"&{parts}" if parts else "")
        status, body = await self._get(f"{path}/patches{query}")
        if status in (404, 410):
            self._needs_snapshot.add(symbol)
            return 0
        if status != 200:
            raise PollFailure(unexpected(status, body, path))
        try:
            patches = read_patch_list(body)
        except WireError as error:
            raise PollFailure(str(error)) from None
        for patch in patches:
            if not self._host.message(patch):
                break
        return 0 if long_poll else options.poll_interval

    def update(self, added: List[str], removed: List[str]) -> None:
        if self.is_open:
            self._sync()

    def resync(self, symbol: str, start: Optional[Version]) -> None:
        if start is None:
            self._needs_snapshot.add(symbol)
        task = self._loops.pop(symbol, None)
        if task is None:
            return
        # Called from inside that loop's delivery: the task stops at its next await, a new one starts.
        task.cancel()
        self._loops[symbol] = asyncio.ensure_future(self._loop(symbol))


def unexpected(status: int, body: Any, path: str) -> str:
    notice = read_notice(body, status)
    return f"{path} answered {status} {notice.code}: {notice.message}"
