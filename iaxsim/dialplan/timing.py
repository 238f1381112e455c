"""Time-conditioned includes: ``include => ctx,<times>,<weekdays>,<mdays>,<months>[,<tz>]``.

The reading follows Asterisk's ``ast_build_timing`` / ``ast_check_timing2``: fields are
separated by ``,`` or ``|``; each field is ``*`` (or empty) for "always", or ``&``-separated
items; times are ``hh:mm`` or ``hh:mm-hh:mm`` (the end minute included, ranges may wrap past
midnight); weekdays ``sun``…``sat`` (or 1–7 from Sunday), days of month 1–31, months
``jan``…``dec`` (or 1–12), ranges cyclic (``fri-mon``); a fifth field names a time zone.
Items Asterisk cannot read are skipped with its warning text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime


__all__ = ["Timing", "build_timing"]

_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_TIME = re.compile(r"\s*([+-]?\d{1,2}):\s*([+-]?\d{1,2})")
_NUM = re.compile(r"\s*([+-]?\d{1,2})")


@dataclass(frozen=True, slots=True)
class Timing:
    """When an include is open: minutes of the day, weekday/day/month masks, time zone."""

    minutes: frozenset[int]
    weekdays: int
    mdays: int
    months: int
    timezone: str | None = None

    def check(self, when: datetime) -> bool:
        """``ast_check_timing2``: whether the include is open at ``when``.

        An aware ``when`` is converted to the include's time zone when it names one; a naive
        ``when`` is taken as the include's local time.
        """
        if self.timezone and when.tzinfo is not None:
            from zoneinfo import ZoneInfo

            when = when.astimezone(ZoneInfo(self.timezone))
        if not self.months >> (when.month - 1) & 1:
            return False
        if not self.mdays >> (when.day - 1) & 1:
            return False
        if not self.weekdays >> ((when.weekday() + 1) % 7) & 1:
            return False
        return when.hour * 60 + when.minute in self.minutes


def _lookup(text: str, names: tuple[str, ...] | None, top: int) -> int:
    if names and text[:1] > "9":
        low = text.lower()
        if low in names:
            return names.index(low)
    m = _NUM.match(text)
    if m and 1 <= int(m.group(1)) <= top:
        return int(m.group(1)) - 1
    return -1


def _range(src: str, top: int, names: tuple[str, ...] | None, what: str, warnings: list[str]) -> int:
    if not src or src == "*":
        return (1 << top) - 1
    mask = 0
    for part in src.split("&"):
        start_s, dash, end_s = part.partition("-")
        start = _lookup(start_s, names, top)
        if start < 0:
            warnings.append(f"Invalid {what} '{start_s}', skipping element")
            continue
        end = start
        if dash:
            end = _lookup(end_s, names, top)
            if end < 0:
                warnings.append(f"Invalid end {what} '{end_s}', skipping element")
                continue
        mask |= 1 << end
        while start != end:
            mask |= 1 << start
            start = (start + 1) % top
    return mask


def _time(text: str) -> int | None:
    m = _TIME.match(text)
    if not m:
        return None
    h, mi = int(m.group(1)), int(m.group(2))
    if not (0 <= h <= 23 and 0 <= mi <= 59):
        return None
    return h * 60 + mi


def _times(src: str, warnings: list[str]) -> frozenset[int]:
    if not src or src == "*":
        return frozenset(range(24 * 60))
    minutes: set[int] = set()
    for part in src.split("&"):
        start_s, dash, end_s = part.partition("-")
        if not dash:
            t = _time(part)
            if t is None:
                warnings.append(f"{part} isn't a valid time.")
            else:
                minutes.add(t)
            continue
        end_s = end_s.lstrip("".join(chr(c) for c in range(128) if not chr(c).isdigit()))
        if not end_s:
            warnings.append(f"Invalid time range starting with '{start_s}-'.")
            continue
        start = _time(start_s)
        if start is None:
            warnings.append(f"'{start_s}' isn't a valid start time.")
            continue
        end = _time(end_s)
        if end is None:
            warnings.append(f"'{end_s}' isn't a valid end time.")
            continue
        t = start
        while t != end:
            minutes.add(t)
            t = (t + 1) % (24 * 60)
        minutes.add(end)
    return frozenset(minutes)


def build_timing(spec: str) -> tuple[Timing, list[str]]:
    """Read an include's time spec; returns the Timing and Asterisk's warnings about it."""
    warnings: list[str] = []
    timezone: str | None = None
    if spec.count(",") == 4:
        timezone = spec[spec.rindex(",") + 1:] or None
        if timezone:
            try:
                from zoneinfo import ZoneInfo

                ZoneInfo(timezone)
            except Exception:  # unknown zone: Asterisk would fall back to local time
                warnings.append(f"Unknown time zone '{timezone}', using local time")
                timezone = None
    fields = re.split(r"[|,]", spec)
    minutes = _times(fields[0], warnings)
    weekdays = _range(fields[1], 7, _DAYS, "day of week", warnings) if len(fields) > 1 else 0x7F
    mdays = _range(fields[2], 31, None, "day", warnings) if len(fields) > 2 else 0x7FFFFFFF
    months = _range(fields[3], 12, _MONTHS, "month", warnings) if len(fields) > 3 else 0xFFF
    return Timing(minutes, weekdays, mdays, months, timezone), warnings
