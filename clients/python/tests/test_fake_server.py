"""Bad frames from a fake bridge: a websockets server in the test, scripted frame by frame."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, List

import websockets

import tapebridge
from conftest import FAST_CLIENT, Recorder, eventually

DOC: Dict[str, Any] = {"symbol": "XAUUSD", "sources": ["json"], "quote": {"bid": 1.0}, "fields": {}}


def patch(seq: int, bid: float, epoch: str = "E1") -> str:
    return json.dumps({"type": "patch", "symbol": "XAUUSD", "epoch": epoch, "seq": seq, "ops": [{"op": "replace", "path": "/quote/bid", "value": bid}]})


def snapshot(seq: int, bid: float) -> str:
    return json.dumps({"type": "snapshot", "symbol": "XAUUSD", "epoch": "E1", "seq": seq, "data": {**DOC, "quote": {"bid": bid}}})


async def test_survives_malformed_frames_unknown_types_failed_patches_and_gaps() -> None:
    received: List[Dict[str, Any]] = []

    async def handler(socket: Any, *_: Any) -> None:
        await socket.send(json.dumps({"type": "hello", "epoch": "E1", "server": "fake", "heartbeatMs": 1000}))
        async for raw in socket:
            frame = json.loads(raw)
            received.append(frame)
            if frame["op"] != "subscribe":
                continue
            if len(received) == 1:
                await socket.send("{not json")
                await socket.send(json.dumps({"type": "weather", "sunny": True}))
                await socket.send(json.dumps({"type": "patch", "symbol": "XAUUSD", "epoch": "E1", "seq": "two"}))
                await socket.send(snapshot(1, 1.0))
                await socket.send(patch(2, 2.0))
                # Follows seq 2 but does not apply: a snapshot must be asked for (a subscribe without resume).
                await socket.send(json.dumps({"type": "patch", "symbol": "XAUUSD", "epoch": "E1", "seq": 3, "ops": [{"op": "replace", "path": "/nope/x", "value": 1}]}))
            elif len(received) == 2:
                await socket.send(snapshot(3, 3.0))
                await socket.send(patch(5, 5.0))  # seq 4 skipped: a gap, resumed from 3
            elif len(received) == 3:
                await socket.send(patch(4, 4.0))
                await socket.send(patch(5, 5.0))

    server = await websockets.serve(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with tapebridge.connect(f"http://127.0.0.1:{port}", transports=["ws"], **FAST_CLIENT) as client:
            recorder = Recorder(client)
            client.subscribe("XAUUSD")
            await eventually("seq 5", lambda: client.version("XAUUSD") == tapebridge.Version("E1", 5))
            assert client.get("XAUUSD")["quote"]["bid"] == 5.0
            assert client.state == "open" and recorder.of("reconnecting") == []
            codes = [event.code for event in recorder.of("error")]
            assert codes == ["BAD_MESSAGE", "BAD_MESSAGE", "PATCH_FAILED"]
            assert [frame.get("resume") for frame in received] == [None, None, {"XAUUSD": {"epoch": "E1", "seq": 3}}]
            assert [(event.held.seq, event.received.seq) for event in recorder.of("gap")] == [(3, 5)]
            assert [(event.reason, event.previous.seq, event.current.seq) for event in recorder.of("resync")] == [("patch-failed", 2, 3)]
            assert [event.seq for event in recorder.of("patch")] == [2, 4, 5]
    finally:
        server.close()
        await server.wait_closed()


async def test_a_new_epoch_in_a_snapshot_is_a_resync_and_a_patch_of_another_epoch_a_gap() -> None:
    async def handler(socket: Any, *_: Any) -> None:
        await socket.send(json.dumps({"type": "hello", "epoch": "E1"}))
        count = 0
        async for raw in socket:
            count += 1
            if count == 1:
                await socket.send(snapshot(7, 7.0))
                await socket.send(patch(1, 1.5, epoch="E2"))  # another epoch: a gap, resumed from E1/7
            elif count == 2:
                assert json.loads(raw)["resume"] == {"XAUUSD": {"epoch": "E1", "seq": 7}}
                await socket.send(json.dumps({"type": "snapshot", "symbol": "XAUUSD", "epoch": "E2", "seq": 1, "data": DOC}))

    server = await websockets.serve(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with tapebridge.connect(f"ws://127.0.0.1:{port}", transports=["ws"], **FAST_CLIENT) as client:
            recorder = Recorder(client)
            client.subscribe("XAUUSD")
            await eventually("the new epoch", lambda: client.version("XAUUSD") == tapebridge.Version("E2", 1))
            assert [(event.reason, event.previous, event.current) for event in recorder.of("resync")] == [
                ("epoch", tapebridge.Version("E1", 7), tapebridge.Version("E2", 1))]
            assert len(recorder.of("gap")) == 1
    finally:
        server.close()
        await server.wait_closed()
