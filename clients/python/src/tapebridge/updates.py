"""What a consumer reads from `client.updates()`, and the bounded buffer behind it."""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Deque, List, Literal, Optional, Set

from .types import Document, JsonPatchOperation


@dataclass(frozen=True)
class Update:
    """A new version of a symbol's document.

    `kind` is `snapshot` (the document arrived or was replaced whole), `patch` (`ops` were
    applied to the version before), or `coalesced`: the consumer fell behind, and `skipped`
    versions of this symbol were merged into this one (their ops are gone: take the document).
    """

    symbol: str
    epoch: str
    seq: int
    document: Document
    kind: Literal["snapshot", "patch", "coalesced"]
    ops: Optional[List[JsonPatchOperation]] = None
    skipped: int = 0


class UpdateBuffer:
    """A FIFO of at most `limit` updates for one reader. When it is full, it coalesces: from
    then on until it is drained, it holds one update per symbol, the latest, counting the
    versions skipped. Memory is bounded by max(limit, symbols) updates, whose documents are
    the client's own (shared, not copied)."""

    def __init__(self, limit: int, only: Optional[Set[str]] = None) -> None:
        #: The symbols this reader wants; None for all.
        self.only = only
        if limit < 1:
            raise ValueError("the update buffer holds at least 1 update")
        self.limit = limit
        self._fifo: Deque[Update] = deque()
        self._latest: "OrderedDict[str, Update]" = OrderedDict()
        self._coalescing = False
        self._ready = asyncio.Event()
        self._closed = False
        #: Versions merged away since the buffer was made.
        self.skipped_total = 0

    def __len__(self) -> int:
        return len(self._latest) if self._coalescing else len(self._fifo)

    def put(self, update: Update) -> None:
        if self._closed:
            return
        if not self._coalescing and len(self._fifo) >= self.limit:
            self._coalescing = True
            for pending in self._fifo:
                self._merge(pending)
            self._fifo.clear()
        if self._coalescing:
            self._merge(update)
        else:
            self._fifo.append(update)
        self._ready.set()

    def _merge(self, update: Update) -> None:
        before = self._latest.pop(update.symbol, None)
        if before is None:
            self._latest[update.symbol] = update
            return
        skipped = before.skipped + update.skipped + 1
        self.skipped_total += 1
        self._latest[update.symbol] = Update(update.symbol, update.epoch, update.seq, update.document, "coalesced", None, skipped)

    def close(self) -> None:
        self._closed = True
        self._ready.set()

    async def get(self) -> Optional[Update]:
        """The next update, or None once the buffer is closed and empty."""
        while True:
            if self._coalescing and self._latest:
                _, update = self._latest.popitem(last=False)
                if not self._latest:
                    self._coalescing = False
                return update
            if self._fifo:
                return self._fifo.popleft()
            if self._closed:
                return None
            self._ready.clear()
            await self._ready.wait()


