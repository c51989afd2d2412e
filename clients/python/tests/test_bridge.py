"""The client against the real bridge: convergence, resume, restarts, fallback, slow readers."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any, List

import pytest

import tapebridge
from conftest import FAST_CLIENT, Recorder, converged, eventually, wait_seq


@pytest.mark.parametrize("kind", ["ws", "sse", "poll"])
async def test_converges_with_the_http_snapshot_after_bursts(kind: str, shared: Any) -> None:
    bridge, files = shared
    gold, euro = f"XAU_{kind}", f"EUR_{kind}"
    files.quote(gold, 2650.0)
    files.quote(euro, 1.08)
    await wait_seq(bridge, euro, 1)
    async with tapebridge.connect(bridge.url, transports=[kind], **FAST_CLIENT) as client:
        recorder = Recorder(client)
        stream = client.updates()
        client.subscribe([gold, euro])
        await converged(client, bridge, [gold, euro])
        for burst in range(3):
            for i in range(15):
                files.quote(gold, 2650 + burst + i / 100)
                files.quote(euro, 1.08 + i / 10000)
                await asyncio.sleep(0.005)
            await converged(client, bridge, [gold, euro])
        assert [event.reason for event in recorder.of("reconnecting")] == [], [l for l in bridge.lines if l.get("level", 0) >= 40 or "lose" in str(l)]
        assert client.transport == kind
        assert recorder.of("open")[0].transport == kind
        assert recorder.of("gap") == [] and recorder.of("resync") == [] and recorder.of("error") == []
        assert len(recorder.of("patch")) >= 3
        # The update stream saw every version in order: a snapshot, then patches one seq apart.
        seen: dict[str, List[int]] = {}
        while len(stream.buffer):
            update = await stream.__anext__()
            assert update.kind == ("snapshot" if update.symbol not in seen else "patch")
            seen.setdefault(update.symbol, []).append(update.seq)
        for symbol, seqs in seen.items():
            assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), symbol
            assert seqs[-1] == client.version(symbol).seq


@pytest.mark.parametrize("kind", ["ws", "sse", "poll"])
async def test_views_hold_their_parts_and_skip_commits_outside_them(kind: str, shared: Any) -> None:
    """A subscription with parts (PROTOCOL.md §8) gets only those parts, and patches on their base."""
    bridge, files = shared
    symbol = f"VIEW_{kind}"
    files.quote(symbol, 10.0, spread=1)
    await wait_seq(bridge, symbol, 1)
    async with tapebridge.connect(bridge.url, transports=[kind], **FAST_CLIENT) as client:
        recorder = Recorder(client)
        client.subscribe(symbol, parts=["/fields/spread"])
        await eventually("the view", lambda: client.get(symbol) is not None)
        for i, spread in enumerate([1, 1, 2, 2, 2, 3]):
            seq = (await bridge.asnapshot(symbol))["seq"]
            files.quote(symbol, 11.0 + i, spread=spread)
            await wait_seq(bridge, symbol, seq + 1)
        await eventually("the last spread", lambda: (client.get(symbol) or {}).get("fields") == {"spread": 3})
        document = client.get(symbol)
        assert document is not None and sorted(document) == ["fields", "sources", "symbol"]
        patches = recorder.of("patch")
        assert len(patches) == 2, patches
        assert recorder.of("gap") == [] and recorder.of("resync") == [] and recorder.of("error") == []


@pytest.mark.parametrize("kind", ["ws", "sse"])
async def test_resumes_after_a_dropped_connection_with_exactly_the_missed_patches(kind: str, shared: Any, proxies: Any) -> None:
    bridge, files = shared
    gold = f"XAU_resume_{kind}"
    files.quote(gold, 2650.0)
    await wait_seq(bridge, gold, 1)
    proxy = await proxies(bridge)
    async with tapebridge.connect(proxy.url, transports=[kind], **FAST_CLIENT) as client:
        recorder = Recorder(client)
        client.subscribe(gold)
        await converged(client, bridge, [gold])
        held = client.version(gold).seq
        proxy.paused = True
        proxy.cut()
        await eventually("the client to see the cut", lambda: client.state == "reconnecting")
        for i in range(5):
            files.quote(gold, 2651 + i)
            await wait_seq(bridge, gold, held + i + 1)
        patches_before = len(recorder.of("patch"))
        proxy.paused = False
        await converged(client, bridge, [gold])
        missed = [event.seq for event in recorder.of("patch")[patches_before:]]
        assert missed == list(range(held + 1, (await bridge.asnapshot(gold))["seq"] + 1))
        assert len(recorder.of("snapshot")) == 1
        assert recorder.of("resync") == [] and recorder.of("gap") == []
        assert [event.transport for event in recorder.of("open")] == [kind, kind]


async def test_resumes_across_a_restart_with_the_state_and_resyncs_after_one_without(files: Any, make_bridge: Any, tmp_path: Any) -> None:
    files.quote("XAUUSD", 2650.0)
    bridge = make_bridge(persist=True).start()
    epoch = bridge.epoch
    async with tapebridge.connect(bridge.url, **FAST_CLIENT) as client:
        recorder = Recorder(client)
        client.subscribe("XAUUSD")
        await converged(client, bridge, ["XAUUSD"])

        # With its state (journal.persistDir): the same epoch, and the client resumes.
        bridge.stop()
        await eventually("the client to see the bridge go", lambda: client.state == "reconnecting")
        files.quote("XAUUSD", 2655.5)
        bridge.start()
        assert bridge.epoch == epoch
        await converged(client, bridge, ["XAUUSD"])
        assert client.get("XAUUSD")["quote"]["bid"] == 2655.5
        assert client.epoch == epoch
        assert all(event.reason != "epoch" for event in recorder.of("resync"))
        assert len(recorder.of("open")) == 2

        # Without it: a new epoch, and the document is replaced by its snapshot.
        bridge.stop()
        await eventually("the client to see the bridge go", lambda: client.state == "reconnecting")
        shutil.rmtree(tmp_path / "state")
        files.quote("XAUUSD", 2644.25)
        bridge.start()
        assert bridge.epoch != epoch
        await converged(client, bridge, ["XAUUSD"])
        epochs = [(event.previous.epoch, event.current.epoch) for event in recorder.of("resync") if event.reason == "epoch"]
        assert epochs == [(epoch, bridge.epoch)]
        assert client.get("XAUUSD")["quote"]["bid"] == 2644.25


async def test_falls_back_to_sse_then_polling_when_the_way_is_blocked(shared: Any, proxies: Any) -> None:
    bridge, files = shared
    gold = "XAU_fallback"
    files.quote(gold, 2650.0)
    await wait_seq(bridge, gold, 1)
    proxy = await proxies(bridge)
    proxy.refuse_ws = True
    async with tapebridge.connect(proxy.url, **FAST_CLIENT) as client:
        recorder = Recorder(client)
        client.subscribe(gold)
        await eventually("SSE", lambda: client.transport == "sse")
        files.quote(gold, 2651.0)
        await converged(client, bridge, [gold])
        open_event = recorder.of("open")[0]
        assert open_event.transport == "sse"
        assert open_event.reason.startswith("ws failed 2 times in a row (") and "403" in open_event.reason
        assert [event.transport for event in recorder.of("reconnecting")][:2] == ["ws", "sse"]
        # With SSE refused too, long polling; once WebSocket works again, back to it, no snapshot needed.
        proxy.refuse_sse = True
        proxy.cut()
        await eventually("long polling", lambda: client.transport == "poll")
        files.quote(gold, 2652.0)
        await converged(client, bridge, [gold])
        proxy.refuse_ws = False
        await eventually("back on WebSocket", lambda: client.transport == "ws")
        files.quote(gold, 2653.0)
        await converged(client, bridge, [gold])
        assert recorder.of("open")[-1].reason == "WebSocket works again"
        assert recorder.of("resync") == [] and recorder.of("gap") == []


async def test_a_slow_reader_gets_coalesced_updates_within_its_bound(shared: Any) -> None:
    bridge, files = shared
    gold, euro = "XAU_slow", "EUR_slow"
    files.quote(gold, 2650.0)
    files.quote(euro, 1.08)
    await wait_seq(bridge, euro, 1)
    async with tapebridge.connect(bridge.url, **FAST_CLIENT) as client:
        client.subscribe([gold, euro])
        await converged(client, bridge, [gold, euro])
        stream = client.updates(max_queue=4)  # nobody reads it while the burst comes
        start = client.version(gold).seq
        for i in range(8):
            files.quote(gold, 2660 + i)
            files.quote(euro, 1.09 + i / 1000)
            await wait_seq(bridge, gold, start + i + 1)
        await converged(client, bridge, [gold, euro])
        assert len(stream.buffer) <= 4
        latest = {}
        while len(stream.buffer):
            update = await stream.__anext__()
            latest[update.symbol] = update
        assert {symbol: update.document for symbol, update in latest.items()} == {s: client.get(s) for s in (gold, euro)}
        assert latest[gold].kind == "coalesced" and latest[gold].skipped > 0 and latest[gold].ops is None
        assert stream.buffer.skipped_total > 0
        stream.close()
