"""The instrument document and the wire messages (PROTOCOL.md §1-3), as types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Literal, Optional, Tuple, TypedDict, Union

TransportKind = Literal["ws", "sse", "poll"]
TRANSPORT_KINDS: Tuple[TransportKind, ...] = ("ws", "sse", "poll")


class Quote(TypedDict, total=False):
    """Top of book and last trade; a field the source never gave is absent."""

    bid: float
    ask: float
    last: float
    lastSize: float
    time: float


class Bar(TypedDict, total=False):
    """One bar: open time `t` (epoch ms), `o h l c`, volume `v`; `n`, `bv`, `av` when known."""

    t: float
    o: float
    h: float
    l: float  # noqa: E741 (the wire's name)
    c: float
    v: float
    n: float
    bv: float
    av: float


class Book(TypedDict, total=False):
    """Depth levels, best first, each `[price, size]` or `[price, size, orders]`."""

    bids: List[List[float]]
    asks: List[List[float]]
    time: float


class Document(TypedDict, total=False):
    """A symbol's document. Timeframes are MetaTrader's names: M1 M5 M15 M30 H1 H4 D1."""

    symbol: str
    sources: List[str]
    quote: Quote
    bars: Dict[str, List[Bar]]
    book: Book
    indicators: Dict[str, Dict[str, Any]]
    fields: Dict[str, Any]


JsonPatchOperation = Dict[str, Any]


@dataclass(frozen=True)
class Version:
    """A patch with `seq: N` applies to the document at `seq: N-1` of the same epoch."""

    epoch: str
    seq: int


@dataclass(frozen=True)
class Snapshot:
    symbol: str
    epoch: str
    seq: int
    data: Document


@dataclass(frozen=True)
class Patch:
    symbol: str
    epoch: str
    seq: int
    ops: List[JsonPatchOperation]
    #: The seq this patch applies to (views, PROTOCOL.md §8); None means `seq - 1`.
    base: Optional[int] = None


DataMessage = Union[Snapshot, Patch]
