"""`python -m tapebridge follow URL SYMBOL...`: prints each symbol's quote when it changes."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from .client import connect
from .events import OpenEvent, ReconnectingEvent, ResyncEvent


PRICES = ("bid", "ask", "last", "lastSize")


def quote_line(symbol: str, quote: Dict[str, Any]) -> str:
    time = quote.get("time")
    stamp = datetime.fromtimestamp(time / 1000, timezone.utc).strftime("%H:%M:%S.%f")[:-3] if isinstance(time, (int, float)) else "-"
    fields = " ".join(f"{key}={quote[key]}" for key in PRICES if key in quote)
    return f"{stamp} {symbol} {fields}"


async def follow(url: str, symbols: List[str], token: Optional[str], transports: List[str]) -> None:
    async with connect(url, token=token, transports=transports) as client:
        client.on("open", lambda event: print(f"# open over {event.transport} ({event.reason})", file=sys.stderr, flush=True))
        client.on("reconnecting", lambda event: print(f"# reconnecting in {event.delay:.2f} s: {event.reason}", file=sys.stderr, flush=True))
        client.on("resync", lambda event: print(f"# {event.symbol} resynced: {event.reason}", file=sys.stderr, flush=True))
        client.subscribe(symbols)
        last: Dict[str, Any] = {}
        async for update in client.updates():
            quote = update.document.get("quote")
            # A change of the prices, not merely of the quote's time.
            prices = None if quote is None else tuple(quote.get(key) for key in PRICES)
            if quote is None or last.get(update.symbol) == prices:
                continue
            last[update.symbol] = prices
            print(quote_line(update.symbol, dict(quote)), flush=True)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tapebridge", description="tapebridge client commands")
    commands = parser.add_subparsers(dest="command", required=True)
    follow_command = commands.add_parser("follow", help="print quotes as they change")
    follow_command.add_argument("url", help="the bridge's base URL, e.g. http://127.0.0.1:8080")
    follow_command.add_argument("symbols", nargs="+", metavar="SYMBOL", help="symbols to follow ('*' for all)")
    follow_command.add_argument("--token", default=os.environ.get("TAPEBRIDGE_TOKEN"), help="bearer token (default $TAPEBRIDGE_TOKEN)")
    follow_command.add_argument("--transports", default="ws,sse,poll", help="transports in order of preference (default ws,sse,poll)")
    args = parser.parse_args(argv)
    try:
        asyncio.run(follow(args.url, args.symbols, args.token, args.transports.split(",")))
    except KeyboardInterrupt:
        return 130
    except ValueError as error:
        print(f"tapebridge: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
