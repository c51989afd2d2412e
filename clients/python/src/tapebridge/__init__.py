"""tapebridge: a live copy of each subscribed symbol's document from a tapebridge.

    async with tapebridge.connect("http://127.0.0.1:8080", token=...) as client:
        client.subscribe(["XAUUSD"])
        async for update in client.updates():
            print(update.symbol, update.seq, update.document.get("quote"))
"""

from .client import Client, Subscription, UpdateStream, connect
from .events import (
    CloseEvent,
    ErrorEvent,
    GapEvent,
    OpenEvent,
    PatchEvent,
    ReconnectingEvent,
    ResyncEvent,
    ResyncReason,
    SnapshotEvent,
    StateEvent,
)
from .frames import bars_frame
from .sync import SyncClient
from .types import Bar, Book, Document, Quote, TransportKind, Version
from .updates import Update

__version__ = "0.1.0"

__all__ = [
    "Bar", "Book", "Client", "CloseEvent", "Document", "ErrorEvent", "GapEvent", "OpenEvent", "PatchEvent",
    "Quote", "ReconnectingEvent", "ResyncEvent", "ResyncReason", "SnapshotEvent", "StateEvent", "Subscription",
    "SyncClient", "TransportKind", "Update", "UpdateStream", "Version", "bars_frame", "connect",
]
