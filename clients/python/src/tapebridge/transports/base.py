"""What a transport reads from the client and reports to it."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Awaitable, Callable, Dict, List, Optional, Protocol, Tuple, Union
from urllib.parse import urlsplit

from ..types import DataMessage, TransportKind, Version
from ..wire import Notice

Token = Union[str, Callable[[], Union[str, Awaitable[str]]], None]


@dataclass(frozen=True)
class Options:
    token: Token
    transports: Tuple[TransportKind, ...]
    fallback_after: int
    connect_timeout: float
    ping_interval: float
    liveness_timeout: float
    backoff: Tuple[float, float]
    poll_wait: float
    poll_max_concurrent: int
    poll_interval: float
    max_message_bytes: int


@dataclass(frozen=True)
class Endpoint:
    http: str
    ws: str


def endpoint_of(url: str) -> Endpoint:
    """`http(s)://host[:port][/prefix]` or its `ws(s)://` form."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.netloc:
        raise ValueError(f"url {url!r} must be the bridge's base, e.g. http://127.0.0.1:8080")
    secure = parts.scheme in ("https", "wss")
    rest = f"//{parts.netloc}{parts.path.rstrip('/')}"
    return Endpoint(("https:" if secure else "http:") + rest, ("wss:" if secure else "ws:") + rest)


async def authorization(token: Token) -> Dict[str, str]:
    value = token() if callable(token) else token
    if inspect.isawaitable(value):
        value = await value
    return {"authorization": f"Bearer {value}"} if value else {}


class Host(Protocol):
    """The client, as a transport sees it."""

    options: Options
    endpoint: Endpoint
    sse_cursor: Optional[str]

    def wanted(self) -> List[str]: ...
    def held(self) -> List[str]: ...
    def parts(self) -> Optional[List[str]]: ...
    def resume_from(self, symbol: str) -> Optional[Version]: ...
    def opened(self, epoch: Optional[str]) -> None: ...
    def message(self, message: DataMessage) -> bool: ...
    def notice(self, notice: Notice) -> None: ...


class Transport(Protocol):
    kind: TransportKind
    #: Set once the connection opened (hello, or the first answer).
    is_open: bool

    async def run(self) -> str:
        """Connects, subscribes to `host.wanted()` resuming every held symbol, and delivers
        messages until the connection ends; returns why it ended. Cancel it to close it."""
        ...

    def update(self, added: List[str], removed: List[str]) -> None: ...
    def resync(self, symbol: str, start: Optional[Version]) -> None: ...


def describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
