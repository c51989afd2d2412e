"""The real bridge (node dist/cli.js) in its own process, terminal files in a temp folder, and a
TCP proxy that can cut connections and refuse WebSocket upgrades or SSE requests."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import shutil
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Set

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]
CLI = ROOT / "dist" / "cli.js"

#: Short timings, so that reconnections and fallbacks happen within a test. The bridge cuts a
#: WebSocket that has not answered its previous ping by the next one: its heartbeat (1 s) leaves
#: room for a loaded machine.
FAST_CLIENT: Dict[str, Any] = dict(
    connect_timeout=2.0, ping_interval=0.5, liveness_timeout=3.0, backoff=(0.02, 0.2), poll_wait=1.0, poll_interval=0.1,
)


def pytest_configure(config: pytest.Config) -> None:
    if shutil.which("node") is None:
        raise pytest.UsageError("the Python tests start the bridge with node: node is not in PATH")
    if not CLI.exists():
        raise pytest.UsageError(f"{CLI} is missing: run `npm run build` first (npm run test:python does)")


class Bridge:
    """One bridge process after another on the same port, folder and (optional) state folder."""

    def __init__(self, data: Path, config: Path) -> None:
        self.data = data
        self.config = config
        self.port = 0
        self.epoch = ""
        self.url = ""
        self._process: Optional[subprocess.Popen[str]] = None
        self.lines: List[Dict[str, Any]] = []

    def start(self) -> "Bridge":
        process = subprocess.Popen(
            ["node", str(CLI), "--watch", str(self.data), "--port", str(self.port), "--config", str(self.config), "--config-dir", "/nonexistent"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
        )
        self._process = process
        ready: "queue.Queue[Optional[Dict[str, Any]]]" = queue.Queue()

        def read() -> None:
            assert process.stdout is not None
            for text in process.stdout:
                try:
                    line = json.loads(text)
                except ValueError:
                    continue
                self.lines.append(line)
                if line.get("msg") in ("listening", "initial read done"):
                    ready.put(line)
            ready.put(None)

        threading.Thread(target=read, daemon=True).start()
        while True:
            line = ready.get(timeout=30)
            if line is None:
                raise RuntimeError(f"the bridge exited while starting: {self.lines[-5:]}")
            if line["msg"] == "listening":
                self.url = line["url"]
                self.port = int(self.url.rsplit(":", 1)[1])
                self.epoch = line["epoch"]
            else:
                return self

    def stop(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._process = None

    def snapshot(self, symbol: str) -> Dict[str, Any]:
        """Blocking: only for tests without an event loop (it would stall the client's pongs)."""
        response = httpx.get(f"{self.url}/v1/symbols/{symbol}", timeout=5)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    async def asnapshot(self, symbol: str) -> Dict[str, Any]:
        async with httpx.AsyncClient(timeout=5) as http:
            response = await http.get(f"{self.url}/v1/symbols/{symbol}")
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]


class Files:
    """Writes flat JSON records (PROTOCOL.md §6) atomically: one rewrite, one commit."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "data"
        self.dir.mkdir()
        self._scratch = root / "scratch"
        self._scratch.mkdir()
        self.ticks = 0

    def quote(self, symbol: str, bid: float, **extra: Any) -> None:
        self.ticks += 1
        record = {"bid": bid, "ask": round(bid + 0.3, 5), "last": bid, "time": 1795185000000 + self.ticks, **extra}
        scratch = self._scratch / f"{symbol}.json"
        scratch.write_text(json.dumps(record))
        os.replace(scratch, self.dir / f"{symbol}.json")


@pytest.fixture
def files(tmp_path: Path) -> Files:
    return Files(tmp_path)


def bridge_config(folder: Path, name: str, state: Optional[Path] = None) -> Path:
    config: Dict[str, Any] = {"stream": {"heartbeatMs": 1000}, "log": {"level": "info"}}
    if state is not None:
        config["journal"] = {"persistDir": str(state)}
    path = folder / name
    path.write_text(json.dumps(config))
    return path


@pytest.fixture
def make_bridge(tmp_path: Path, files: Files) -> Any:
    """Bridges of this test's own (for the tests that stop and restart them)."""
    bridges: List[Bridge] = []

    def make(persist: bool = False) -> Bridge:
        bridge = Bridge(files.dir, bridge_config(tmp_path, f"config{len(bridges)}.json", tmp_path / "state" if persist else None))
        bridges.append(bridge)
        return bridge

    yield make
    for bridge in bridges:
        bridge.stop()


@pytest.fixture(scope="session")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One bridge for the tests that never stop it (starting one costs seconds): each of them
    uses symbols of its own."""
    root = tmp_path_factory.mktemp("shared")
    files = Files(root)
    files.quote("SEED", 1.0)
    bridge = Bridge(files.dir, bridge_config(root, "config.json")).start()
    yield bridge, files
    bridge.stop()


async def eventually(what: str, condition: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Waits for a condition, which may be a coroutine function (a bound that fails the test, not a timing under test)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def converged(client: Any, bridge: Bridge, symbols: List[str]) -> None:
    """The client holds exactly the bridge's HTTP snapshot (same epoch, seq and document) of each symbol."""
    async def same() -> bool:
        for symbol in symbols:
            truth = await bridge.asnapshot(symbol)
            version = client.version(symbol)
            if version is None or (version.epoch, version.seq) != (truth["epoch"], truth["seq"]) or client.get(symbol) != truth["data"]:
                return False
        return True
    await eventually(f"{symbols} to converge with the HTTP snapshots", same)


class Recorder:
    """Every event a client emits, by name."""

    def __init__(self, client: Any) -> None:
        self.events: Dict[str, List[Any]] = {}
        for name in ("open", "snapshot", "patch", "gap", "resync", "reconnecting", "error"):
            client.on(name, lambda event, name=name: self.events.setdefault(name, []).append(event))

    def of(self, name: str) -> List[Any]:
        return self.events.get(name, [])


class Proxy:
    """A TCP proxy in front of the bridge. `refuse_ws` answers WebSocket upgrades with 403,
    `refuse_sse` does the same for /v1/sse, `paused` closes new connections at once, `cut()`
    ends every connection open now."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.refuse_ws = False
        self.refuse_sse = False
        self.paused = False
        self.upgrades = 0
        self._writers: Set[asyncio.StreamWriter] = set()
        self._server: Optional[asyncio.base_events.Server] = None
        self.url = ""

    async def start(self) -> "Proxy":
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        upstream_writer: Optional[asyncio.StreamWriter] = None
        try:
            if self.paused:
                return
            head = await reader.readuntil(b"\r\n\r\n")
            text = head.decode("latin-1").lower()
            upgrade = "upgrade: websocket" in text
            self.upgrades += upgrade
            if (upgrade and self.refuse_ws) or (self.refuse_sse and text.startswith("get /v1/sse")):
                body = b'{"error":{"code":"FORBIDDEN","message":"blocked by the test proxy"}}'
                writer.write(b"HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\nconnection: close\r\n"
                             + f"content-length: {len(body)}\r\n\r\n".encode() + body)
                await writer.drain()
                return
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            self._writers.add(upstream_writer)
            upstream_writer.write(head)
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            for end in (writer, upstream_writer):
                if end is not None:
                    self._writers.discard(end)
                    end.close()

    def cut(self) -> None:
        for writer in list(self._writers):
            transport = writer.transport
            transport.abort()  # type: ignore[attr-defined]
        self._writers.clear()

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            writer.write(chunk)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


@pytest.fixture
async def proxies() -> Any:
    made: List[Proxy] = []

    async def make(bridge: Bridge) -> Proxy:
        proxy = await Proxy(bridge.port).start()
        made.append(proxy)
        return proxy

    yield make
    for proxy in made:
        await proxy.close()


async def wait_seq(bridge: Bridge, symbol: str, seq: int) -> None:
    async def reached() -> bool:
        try:
            return (await bridge.asnapshot(symbol))["seq"] >= seq
        except httpx.HTTPStatusError:
            return False  # not there yet
    await eventually(f"{symbol} at seq {seq} on the bridge", reached)

