"""A blocking wrapper for scripts: the asyncio client runs on an event loop in a thread of its own."""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, TypeVar, Union

from .client import Client
from .types import Document, Version
from .updates import Update

T = TypeVar("T")
_END = object()


class SyncClient:
    """`with SyncClient(url, token=...) as client:` then `client.subscribe([...])`,
    `client.get(symbol)`, `client.wait_for(symbol, predicate, timeout)`, and
    `for update in client.updates(): ...`. Callbacks (`on`, `on_update`) run on the client's
    thread: keep them short. Takes the options of `connect()`."""

    def __init__(self, url: str, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tapebridge", daemon=True)
        self._thread.start()
        self._closed = False
        try:
            self._client: Client = self._call(self._make(url, options))
        except BaseException:
            self._stop_loop()
            raise

    @staticmethod
    async def _make(url: str, options: Any) -> Client:
        return await Client(url, **options).start()

    def _call(self, coroutine: Any, timeout: Optional[float] = None) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def _run(self, function: Callable[[], T]) -> T:
        async def call() -> T:
            return function()
        return self._call(call())  # type: ignore[no-any-return]

    def __enter__(self) -> "SyncClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def subscribe(self, symbols: Union[str, Iterable[str]], parts: Optional[Sequence[str]] = None,
                  on_update: Optional[Callable[[Update], Any]] = None) -> None:
        listed = [symbols] if isinstance(symbols, str) else list(symbols)
        self._run(lambda: self._client.subscribe(listed, parts, on_update))

    def unsubscribe(self, symbols: Union[str, Iterable[str]]) -> None:
        listed = [symbols] if isinstance(symbols, str) else list(symbols)
        self._run(lambda: self._client.unsubscribe(listed))

    def on(self, name: str, callback: Callable[[Any], Any]) -> Callable[[], None]:
        return self._run(lambda: self._client.on(name, callback))

    def get(self, symbol: str) -> Optional[Document]:
        return self._run(lambda: self._client.get(symbol))

    def version(self, symbol: str) -> Optional[Version]:
        return self._run(lambda: self._client.version(symbol))

    @property
    def transport(self) -> Optional[str]:
        return self._run(lambda: self._client.transport)

    def wait_for(self, symbol: str, predicate: Optional[Callable[[Document], bool]] = None, timeout: Optional[float] = None) -> Document:
        """Blocks until the document of `symbol` is held (and satisfies `predicate`); raises TimeoutError."""
        try:
            return self._call(self._client.wait_for(symbol, predicate, timeout))  # type: ignore[no-any-return]
        except asyncio.TimeoutError:
            raise TimeoutError(f"no document of {symbol} within {timeout} s") from None

    def updates(self, symbols: Optional[Iterable[str]] = None, max_queue: Optional[int] = None) -> Iterator[Update]:
        """Blocks for each update; the same bounded, coalescing buffer as `Client.updates()`."""
        handoff: "queue.Queue[Any]" = queue.Queue(maxsize=1)
        only = None if symbols is None else list(symbols)

        async def pump() -> None:
            stream = self._client.updates(only, max_queue)
            try:
                async for update in stream:
                    # One update at a time crosses threads, so the client's buffer is the only backlog.
                    while True:
                        try:
                            handoff.put_nowait(update)
                            break
                        except queue.Full:
                            await asyncio.sleep(0.01)
            finally:
                stream.close()
                try:
                    handoff.put_nowait(_END)
                except queue.Full:
                    pass  # the reader is gone (the generator was closed)

        future = asyncio.run_coroutine_threadsafe(pump(), self._loop)
        try:
            while True:
                item = handoff.get()
                if item is _END:
                    return
                yield item
        finally:
            future.cancel()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._call(self._client.close(), timeout=10)
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
