"""The documents a client holds, one per symbol, kept by applying patches in seq order."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Tuple, Union

import jsonpatch
import jsonpointer

from .types import Document, JsonPatchOperation, Patch, Snapshot


@dataclass(frozen=True)
class Held:
    epoch: str
    seq: int
    document: Document


@dataclass(frozen=True)
class Applied:
    held: Held


@dataclass(frozen=True)
class Duplicate:
    """Already held (a replay overlapping what arrived live): nothing to do."""


@dataclass(frozen=True)
class Gap:
    """Does not follow the held version (a seq skipped, another epoch, or no snapshot yet)."""

    held: Optional[Held]


@dataclass(frozen=True)
class Failed:
    """Follows the held version but does not apply to it; the held document is unchanged."""

    held: Held
    error: str


Outcome = Union[Applied, Duplicate, Gap, Failed]


def apply_ops(document: Document, ops: List[JsonPatchOperation]) -> Document:
    """RFC 6902 on a deep copy (the held version is never half-patched); raises ValueError when an op does not apply."""
    try:
        result = jsonpatch.JsonPatch(ops).apply(copy.deepcopy(document), in_place=True)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, KeyError, IndexError, TypeError, ValueError) as error:
        raise ValueError(f"{type(error).__name__}: {error}") from None
    if not isinstance(result, dict):
        raise ValueError("the patch replaced the document with a non-object")
    return result  # type: ignore[return-value]


class Mirror:
    """A patch becomes the new version only when every op applied; each version is a new object."""

    def __init__(self) -> None:
        self._held: Dict[str, Held] = {}

    def get(self, symbol: str) -> Optional[Held]:
        return self._held.get(symbol)

    def symbols(self) -> Iterator[str]:
        return iter(list(self._held))

    def delete(self, symbol: str) -> None:
        self._held.pop(symbol, None)

    def snapshot(self, message: Snapshot) -> Tuple[Held, Optional[Held]]:
        previous = self._held.get(message.symbol)
        held = Held(message.epoch, message.seq, message.data)
        self._held[message.symbol] = held
        return held, previous

    def patch(self, message: Patch) -> Outcome:
        current = self._held.get(message.symbol)
        if current is None or current.epoch != message.epoch:
            return Gap(current)
        if message.seq <= current.seq:
            return Duplicate()
        base = message.seq - 1 if message.base is None else message.base
        if base != current.seq:
            return Gap(current)
        try:
            document = apply_ops(current.document, message.ops)
        except ValueError as error:
            return Failed(current, str(error))
        held = Held(message.epoch, message.seq, document)
        self._held[message.symbol] = held
        return Applied(held)
