"""bars_frame, the sync wrapper and `python -m tapebridge follow`, against the real bridge."""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import subprocess
import sys
from typing import Any

import pytest

import tapebridge
from conftest import FAST_CLIENT, ROOT, wait_seq

M5_BARS = ROOT / "fixtures" / "formats" / "mt5" / "EURUSD_M5_202611200000_202611202359.csv"


@pytest.mark.skipif(importlib.util.find_spec("pandas") is None, reason="pandas is not installed (the optional extra; Debian: python3-pandas)")
async def test_bars_frame_gives_the_m5_bars_of_an_mt5_export(shared: Any) -> None:
    bridge, files = shared
    shutil.copy(M5_BARS, files.dir / M5_BARS.name)
    await wait_seq(bridge, "EURUSD", 1)
    async with tapebridge.connect(bridge.url, **FAST_CLIENT) as client:
        client.subscribe("EURUSD")
        document = await client.wait_for("EURUSD", lambda doc: len(doc.get("bars", {}).get("M5", [])) == 2, timeout=15)
    frame = tapebridge.bars_frame(document, "M5")
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert list(frame["close"]) == [1.08433, 1.0844]
    assert list(frame["volume"]) == [412, 388]
    assert str(frame.index.tz) == "UTC" and frame.index[1] - frame.index[0] == __import__("pandas").Timedelta(minutes=5)
    with pytest.raises(KeyError, match="no D1 bars"):
        tapebridge.bars_frame(document, "D1")


async def test_the_sync_wrapper_serves_a_script(shared: Any) -> None:
    bridge, files = shared
    files.quote("XAU_sync", 2650.0)
    await wait_seq(bridge, "XAU_sync", 1)

    def script() -> Any:
        with tapebridge.SyncClient(bridge.url, **FAST_CLIENT) as client:
            client.subscribe(["XAU_sync"])
            first = client.wait_for("XAU_sync", timeout=15)
            files.quote("XAU_sync", 2651.5)
            moved = client.wait_for("XAU_sync", lambda doc: doc["quote"]["bid"] == 2651.5, timeout=15)
            updates = client.updates(["XAU_sync"])
            latest = next(updates)
            updates.close()
            return first["quote"]["bid"], moved["quote"]["bid"], latest.seq, client.version("XAU_sync").seq, client.transport

    first, moved, seq, held, transport = await asyncio.get_running_loop().run_in_executor(None, script)
    assert (first, moved, seq, held, transport) == (2650.0, 2651.5, held, held, "ws")


async def test_follow_prints_quotes_as_they_change(shared: Any) -> None:
    bridge, files = shared
    files.quote("XAU_follow", 2650.0)
    await wait_seq(bridge, "XAU_follow", 1)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tapebridge", "follow", bridge.url, "XAU_follow",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        first = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        assert first.split()[1:] == ["XAU_follow", "bid=2650", "ask=2650.3", "last=2650"]
        files.quote("XAU_follow", 2649.75)
        second = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        assert second.split()[1:] == ["XAU_follow", "bid=2649.75", "ask=2650.05", "last=2649.75"]
    finally:
        process.terminate()
        await process.wait()
