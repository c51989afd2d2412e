"""pandas helpers (the `pandas` extra: `pip install tapebridge[pandas]`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    import pandas

COLUMNS = {"o": "open", "h": "high", "l": "low", "c": "close", "v": "volume", "n": "trades", "bv": "bid_volume", "av": "ask_volume"}


def bars_frame(document: Mapping[str, Any], timeframe: str) -> "pandas.DataFrame":
    """The bars of one timeframe as a DataFrame indexed by open time (UTC), oldest first, with
    columns open high low close volume (and trades, bid_volume, ask_volume when the source has them)."""
    try:
        import pandas
    except ImportError:
        raise ImportError("bars_frame needs pandas: pip install 'tapebridge[pandas]' (Debian: apt install python3-pandas)") from None
    bars = (document.get("bars") or {}).get(timeframe)
    if bars is None:
        known = ", ".join(sorted(document.get("bars") or {})) or "none"
        raise KeyError(f"the document has no {timeframe} bars (it has: {known})")
    frame = pandas.DataFrame.from_records(list(bars))
    present = [key for key in COLUMNS if key in frame.columns]
    index = pandas.to_datetime(frame["t"] if "t" in frame.columns else [], unit="ms", utc=True)
    frame = frame[present].rename(columns=COLUMNS)
    frame.index = pandas.DatetimeIndex(index, name="time")
    return frame
