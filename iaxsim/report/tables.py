"""Tables the notebooks show: captured IAX2 datagrams decoded one row per frame.

A simulation run with ``capture = true`` keeps every datagram it carried as
``(time, src ip, src port, dst ip, dst port, bytes)``; a pcap file read back gives
:class:`iaxsim.iax2.pcap.Datagram` records. Both become the same DataFrame here, decoded by
the real codec, in the columns ``iaxsim pcap`` prints.
"""
from __future__ import annotations

from typing import Any, Iterable

import pandas as pd

from iaxsim.errors import IaxsimError
from iaxsim.iax2 import DecodeError, decode
from iaxsim.iax2.pcap import Datagram, table_row

__all__ = ["FRAME_COLUMNS", "as_datagram", "frame_table", "frame_counts", "qualify_rows", "call_frames",
           "break_even_verdict"]

#: Columns of :func:`frame_table`.
FRAME_COLUMNS = ("time", "src", "dst", "kind", "frame", "label", "calls", "seq", "bytes", "details")


def as_datagram(item: Any) -> Datagram:
    """A :class:`Datagram` from a Datagram, a ``(time, src, dst, data)`` tuple or a simulator capture
    row ``(time, src ip, src port, dst ip, dst port, data)``."""
    if isinstance(item, Datagram):
        return item
    if isinstance(item, tuple) and len(item) == 6:
        t, sip, sport, dip, dport, data = item
        return Datagram(float(t), (str(sip), int(sport)), (str(dip), int(dport)), bytes(data))
    if isinstance(item, tuple) and len(item) == 4:
        t, src, dst, data = item
        return Datagram(float(t), (str(src[0]), int(src[1])), (str(dst[0]), int(dst[1])), bytes(data))
    raise IaxsimError(f"not a datagram: expected Datagram, (time, src, dst, data) or "
                      f"(time, src ip, src port, dst ip, dst port, data), got {type(item).__name__}")


def _label(frame_col: str, kind: str) -> str:
    if kind == "full":
        return frame_col.split("/", 1)[1]
    return kind.upper()


def frame_table(datagrams: Iterable[Any], t0: float = 0.0) -> pd.DataFrame:
    """Decode every datagram with the codec: one row per frame, times relative to ``t0``.

    ``frame`` is ``TYPE/SUBCLASS`` for full frames (``IAX/NEW``, ``CONTROL/RINGING``) and
    ``-`` otherwise; ``label`` is the short name used on ladder charts (``NEW``, ``MINI``);
    ``bytes`` is the UDP payload size. A datagram that does not decode raises the codec's
    :class:`~iaxsim.iax2.DecodeError` naming its position and time — nothing is skipped.
    """
    rows = []
    for n, item in enumerate(datagrams):
        dg = as_datagram(item)
        try:
            frame = decode(dg.data)
        except DecodeError as err:
            raise DecodeError(f"datagram {n} at t={dg.time:.6f}: {err}") from None
        when, where, kind, ftype, calls, seq, details = table_row(frame, dg, t0)
        src, _, dst = where.partition(" -> ")
        rows.append((float(when), src, dst, kind, ftype, _label(ftype, kind), calls, seq, len(dg.data), details))
    return pd.DataFrame(rows, columns=list(FRAME_COLUMNS))


def frame_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Frames and payload bytes per frame name (``label``), most frequent first."""
    missing = {"label", "bytes"} - set(table.columns)
    if missing:
        raise IaxsimError(f"frame_counts needs a frame_table (missing columns: {sorted(missing)})")
    out = table.groupby("label").agg(frames=("bytes", "size"), bytes=("bytes", "sum"))
    return out.sort_values(["frames", "bytes"], ascending=False).reset_index()


def _call_ends(calls: str) -> tuple[str, str]:
    src, _, dst = calls.split(" ")[0].partition("->")
    return src, dst


def qualify_rows(table: pd.DataFrame) -> pd.Series:
    """Boolean mask of the qualify traffic in a :func:`frame_table`: POKE, PONG and the ACKs of
    those dialogs (matched by address and call number, as Asterisk keys a dialog)."""
    pokes = table[table["label"] == "POKE"]
    keys = {(src, _call_ends(calls)[0]) for src, calls in zip(pokes["src"], pokes["calls"])}
    mask = []
    for kind, label, src, dst, calls in zip(table["kind"], table["label"], table["src"],
                                            table["dst"], table["calls"]):
        if kind != "full":
            mask.append(False)
            continue
        s, d = _call_ends(calls)
        mask.append(label in ("POKE", "PONG") or (src, s) in keys or (dst, d) in keys)
    return pd.Series(mask, index=table.index, dtype=bool)


def call_frames(table: pd.DataFrame, start: float, end: float, decimals: int = 6) -> pd.DataFrame:
    """The frames of a :func:`frame_table` with ``start <= time <= end``, qualify traffic left out,
    times made relative to ``start`` (rounded to ``decimals`` places: 6 = microseconds)."""
    keep = (table["time"] >= start) & (table["time"] <= end) & ~qualify_rows(table)
    window = table[keep]
    return window.assign(time=(window["time"] - start).round(decimals))


#: Shares within half a percent of 0 or 1 are read as 0 or 1: a cache hit that merely catches up with
#: link.conf gives (miss − linked) / (miss − hit) a hair below 1, because link.conf's delay carries
#: microseconds of lookup CPU a hit does not.
_SHARE_EPS = 0.005


def break_even_verdict(table: pd.DataFrame, column: str = "break_even_hit_share") -> pd.DataFrame:
    """A break-even hit share a planner can read: the share cut to [0, 1] and a verdict column.

    A raw share ``≤ 0`` means the switch is quicker even when nothing is cached, ``≥ 1`` that it
    is never quicker (a cache hit only catches up), in between that it is quicker above that
    share of cached answers; a missing value (NaN, no spread between miss and hit) is "unknown".
    """
    if column not in table.columns:
        raise IaxsimError(f"column {column!r} not in the table (columns: {', '.join(map(str, table.columns))})")
    raw = table[column]

    def verdict(share: float) -> str:
        if pd.isna(share):
            return "unknown"
        if share <= _SHARE_EPS:
            return "switch quicker even uncached"
        if share >= 1 - _SHARE_EPS:
            return "switch never quicker"
        return f"switch quicker above {100 * share:.0f} % hits"

    cut = raw.clip(0.0, 1.0).mask(raw <= _SHARE_EPS, 0.0).mask(raw >= 1 - _SHARE_EPS, 1.0)
    out = table.copy()
    out[column] = cut
    out["verdict"] = [verdict(v) for v in raw]
    return out
