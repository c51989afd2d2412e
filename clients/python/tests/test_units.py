"""The pieces without a bridge: the update buffer, the event stream parser, backoff, options."""

from __future__ import annotations

import pytest

import tapebridge
from tapebridge.backoff import Backoff
from tapebridge.mirror import Applied, Duplicate, Failed, Gap, Mirror
from tapebridge.transports.sse import EventStreamParser
from tapebridge.types import Patch, Snapshot
from tapebridge.updates import Update, UpdateBuffer


def update(symbol: str, seq: int) -> Update:
    return Update(symbol, "E", seq, {"symbol": symbol}, "patch", [{"op": "replace", "path": "/x", "value": seq}])


async def test_the_buffer_keeps_order_until_full_then_one_latest_update_per_symbol() -> None:
    buffer = UpdateBuffer(3)
    for seq in (1, 2):
        buffer.put(update("A", seq))
    buffer.put(update("B", 1))
    assert len(buffer) == 3
    for seq in (3, 4, 5):
        buffer.put(update("A", seq))
    assert len(buffer) == 2
    first, second = await buffer.get(), await buffer.get()
    assert (first.symbol, first.seq, first.kind, first.skipped, first.ops) == ("B", 1, "patch", 0, [{"op": "replace", "path": "/x", "value": 1}])
    assert (second.symbol, second.seq, second.kind, second.skipped, second.ops) == ("A", 5, "coalesced", 4, None)
    buffer.put(update("A", 6))  # drained: in order again
    assert (await buffer.get()).kind == "patch"
    buffer.close()
    assert await buffer.get() is None


def test_the_event_stream_parser_follows_the_standard() -> None:
    parser = EventStreamParser()
    lines = [": heartbeat", "id: 7", "event: patch", "data: {\"a\":", "data:1}", "", "retry: 100", "", "data: plain", ""]
    events = [event for event in map(parser.line, lines) if event is not None]
    assert events == [("7", "patch", "{\"a\":\n1}"), ("7", "message", "plain")]


def test_mirror_applies_in_order_to_a_copy_and_reports_the_rest() -> None:
    mirror = Mirror()
    mirror.snapshot(Snapshot("A", "E", 1, {"quote": {"bid": 1}}))
    first = mirror.get("A")
    outcome = mirror.patch(Patch("A", "E", 2, [{"op": "replace", "path": "/quote/bid", "value": 2}]))
    assert isinstance(outcome, Applied) and outcome.held.document == {"quote": {"bid": 2}}
    assert first is not None and first.document == {"quote": {"bid": 1}}
    assert isinstance(mirror.patch(Patch("A", "E", 2, [])), Duplicate)
    assert isinstance(mirror.patch(Patch("A", "E", 4, [])), Gap)
    assert isinstance(mirror.patch(Patch("A", "F", 3, [])), Gap)
    assert isinstance(mirror.patch(Patch("A", "E", 3, [{"op": "remove", "path": "/nope"}])), Failed)
    # A view's patch applies to its base, whatever seq it carries (PROTOCOL.md §8).
    assert isinstance(mirror.patch(Patch("A", "E", 9, [{"op": "replace", "path": "/quote/bid", "value": 9}], base=2)), Applied)


def test_backoff_is_full_jitter_under_a_doubling_capped_ceiling() -> None:
    top = Backoff(0.1, 1.0, lambda: 0.999999)
    assert [round(top.next(), 3) for _ in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert Backoff(0.1, 1.0, lambda: 0.0).next() == 0.0


def test_options_and_subscriptions_are_checked() -> None:
    with pytest.raises(ValueError, match="transports"):
        tapebridge.Client("http://127.0.0.1:1", transports=["ws", "pigeon"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="liveness_timeout"):
        tapebridge.Client("http://127.0.0.1:1", ping_interval=5, liveness_timeout=5)
    with pytest.raises(ValueError, match="url"):
        tapebridge.Client("ftp://example")
    client = tapebridge.Client("http://127.0.0.1:1")
    with pytest.raises(ValueError, match=","):
        client.subscribe("A,B")
    client.subscribe(["A"], parts=["/quote"])
    with pytest.raises(ValueError, match="one list per client"):
        client.subscribe(["B"], parts=["/book"])
    assert client.parts() == ["/quote"]
