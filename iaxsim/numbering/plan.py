"""Numbering plans: which server owns which extensions.

A plan is read from CSV (or a pandas DataFrame) with one row per extension or per range:

* ``server,extension[,name]`` — one extension per row;
* ``server,first,last[,name]`` — an inclusive range of equal-width numbers per row;
* both column sets may appear in one file; each row fills either ``extension`` or
  ``first``/``last``.

Blank lines and lines starting with ``#`` are ignored. Every problem raises
:class:`PlanError` naming the file and line (or the DataFrame row): a non-digit
extension, a malformed or reversed range, two overlapping ranges or a repeated extension
on one server, a server id that cannot be used as an IAX2 peer name, or a server not in
the declared ``servers`` list.

Extensions are digit strings, so ``0100`` and ``100`` are different numbers. The same
number on two servers is *not* an error here: that is a conflict, which
:func:`iaxsim.numbering.analysis.analyze` reports.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from iaxsim.errors import ConfigError

__all__ = ["NumberingPlan", "PlanError", "MAX_PLAN_SIZE"]

#: Refuse plans that would expand to more numbers than this (a typo in a range).
MAX_PLAN_SIZE = 2_000_000

_COLUMNS = ("server", "extension", "first", "last", "name")
_SERVER_ID = re.compile(r"^[A-Za-z0-9_]+$")


class PlanError(ConfigError):
    """A numbering plan (CSV file or DataFrame) is malformed; names file and line."""


@dataclass(frozen=True)
class _Row:
    line: int
    server: str
    first: str
    last: str
    name: str


@dataclass(frozen=True, eq=False)
class NumberingPlan:
    """Servers and the extensions each owns.

    ``servers`` keeps the declared order (first appearance in the CSV); ``extensions``
    maps each server to its extensions sorted by (length, value); ``names`` maps
    ``(server, extension)`` to a display name where the source gave one.
    """

    servers: tuple[str, ...]
    extensions: Mapping[str, tuple[str, ...]]
    names: Mapping[tuple[str, str], str] = field(default_factory=dict)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_dict(cls, mapping: Mapping[str, Iterable[str]],
                  names: Mapping[tuple[str, str], str] | None = None) -> NumberingPlan:
        """Build a plan from ``{server: extensions}``; validates like the CSV reader."""
        rows = []
        line = 0
        for server, exts in mapping.items():
            for ext in exts:
                line += 1
                ext = str(ext)
                rows.append(_Row(line, str(server), ext, ext, (names or {}).get((server, ext), "")))
        servers = [str(s) for s in mapping]
        return cls._from_rows(rows, "<dict>", "item", declared=servers)

    @classmethod
    def from_csv(cls, path: str | Path, servers: Iterable[str] | None = None) -> NumberingPlan:
        """Read a plan CSV; ``servers`` (optional) lists the only server ids allowed."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise PlanError(f"not UTF-8 text ({err.reason})", str(path)) from None
        return cls.from_csv_text(text, path=str(path), servers=servers)

    @classmethod
    def from_csv_text(cls, text: str, path: str = "<string>",
                      servers: Iterable[str] | None = None) -> NumberingPlan:
        """Parse plan CSV text; errors name ``path`` and the 1-based line."""
        lines = text.splitlines()
        header_line = None
        header: list[str] = []
        body: list[tuple[int, list[str]]] = []
        for idx, raw in enumerate(lines, start=1):
            stripped = raw.strip()
            if not stripped or stripped.startswith("#"):
                continue
            try:
                cells = next(csv.reader([raw]))
            except csv.Error as err:
                raise PlanError(f"unreadable CSV: {err}", path, idx) from None
            cells = [c.strip() for c in cells]
            if header_line is None:
                header_line = idx
                header = [c.lower() for c in cells]
                continue
            body.append((idx, cells))
        if header_line is None:
            raise PlanError("empty plan: no header line (expected server,extension or "
                            "server,first,last)", path)
        cls._check_header(header, path, header_line)
        rows = []
        for idx, cells in body:
            if len(cells) > len(header):
                raise PlanError(f"{len(cells)} fields but the header has {len(header)}", path, idx)
            cells = cells + [""] * (len(header) - len(cells))
            rows.append(cls._row_from_cells(dict(zip(header, cells)), path, idx))
        return cls._from_rows(rows, path, "line", declared=servers)

    @classmethod
    def from_dataframe(cls, df: pd.DataFrame, servers: Iterable[str] | None = None) -> NumberingPlan:
        """Build a plan from a DataFrame with the CSV's columns; errors name the row (0-based)."""
        header = [str(c).lower() for c in df.columns]
        cls._check_header(header, "<DataFrame>", None)
        rows = []
        for pos, values in enumerate(df.itertuples(index=False, name=None)):
            cells = {}
            for col, value in zip(header, values):
                if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
                    cells[col] = ""
                elif isinstance(value, float):
                    raise PlanError(f"column {col!r} holds the number {value!r}; store extensions "
                                    "as text so leading zeros survive", "<DataFrame>", pos)
                else:
                    cells[col] = str(value).strip()
            rows.append(cls._row_from_cells(cells, "<DataFrame>", pos))
        return cls._from_rows(rows, "<DataFrame>", "row", declared=servers)

    @staticmethod
    def _check_header(header: list[str], path: str, line: int | None) -> None:
        unknown = [c for c in header if c not in _COLUMNS]
        if unknown:
            raise PlanError(f"unknown column {unknown[0]!r} (allowed: {', '.join(_COLUMNS)})", path, line)
        if len(set(header)) != len(header):
            raise PlanError("a column appears twice in the header", path, line)
        if "server" not in header:
            raise PlanError("missing column 'server'", path, line)
        has_ext = "extension" in header
        has_range = "first" in header or "last" in header
        if not has_ext and not has_range:
            raise PlanError("missing column 'extension' (or 'first' and 'last')", path, line)
        if has_range and not ("first" in header and "last" in header):
            raise PlanError("a range needs both 'first' and 'last' columns", path, line)

    @staticmethod
    def _row_from_cells(cells: dict[str, str], path: str, line: int) -> _Row:
        server = cells.get("server", "")
        ext = cells.get("extension", "")
        first, last = cells.get("first", ""), cells.get("last", "")
        if ext and (first or last):
            raise PlanError("row gives both 'extension' and a 'first'/'last' range", path, line)
        if not ext:
            if not first and not last:
                raise PlanError("row gives no extension (fill 'extension' or 'first' and 'last')",
                                path, line)
            if not first or not last:
                raise PlanError("range row needs both 'first' and 'last'", path, line)
        else:
            first = last = ext
        return _Row(line, server, first, last, cells.get("name", ""))

    @classmethod
    def _from_rows(cls, rows: list[_Row], path: str, unit: str,
                   declared: Iterable[str] | None = None) -> NumberingPlan:
        def where(row: _Row) -> int:
            return row.line

        known = None
        if declared is not None:
            known = [str(s) for s in declared]
            for s in known:
                if not _SERVER_ID.match(s):
                    raise PlanError(f"server id {s!r} is not a valid peer name "
                                    "(letters, digits and _ only)", path)
        order: list[str] = list(known) if known is not None else []
        seen_servers = set(order)
        spans: dict[str, list[tuple[int, int, int, _Row]]] = {}
        total = 0
        for row in rows:
            if not row.server:
                raise PlanError("missing server id", path, where(row))
            if not _SERVER_ID.match(row.server):
                raise PlanError(f"server id {row.server!r} is not a valid peer name "
                                "(letters, digits and _ only)", path, where(row))
            if known is not None and row.server not in seen_servers:
                raise PlanError(f"unknown server {row.server!r} (known: {', '.join(known)})",
                                path, where(row))
            for label, value in (("extension", row.first), ("range end", row.last)):
                if not value.isdigit() or not value.isascii():
                    what = "extension" if row.first == row.last else label
                    raise PlanError(f"{what} {value!r} is not all digits", path, where(row))
            if len(row.first) != len(row.last):
                raise PlanError(f"range {row.first}-{row.last} mixes widths "
                                f"({len(row.first)} and {len(row.last)} digits)", path, where(row))
            lo, hi = int(row.first), int(row.last)
            if lo > hi:
                raise PlanError(f"range {row.first}-{row.last} runs backwards", path, where(row))
            if row.name and lo != hi:
                raise PlanError("a name can only be given for a single extension, not a range",
                                path, where(row))
            total += hi - lo + 1
            if total > MAX_PLAN_SIZE:
                raise PlanError(f"plan expands to more than {MAX_PLAN_SIZE} numbers", path, where(row))
            if row.server not in seen_servers:
                seen_servers.add(row.server)
                order.append(row.server)
            spans.setdefault(row.server, []).append((len(row.first), lo, hi, row))

        extensions: dict[str, tuple[str, ...]] = {}
        names: dict[tuple[str, str], str] = {}
        for server in order:
            items = sorted(spans.get(server, []), key=lambda t: (t[0], t[1], t[2], t[3].line))
            for prev, cur in zip(items, items[1:]):
                if prev[0] == cur[0] and cur[1] <= prev[2]:
                    a, b = sorted((prev[3], cur[3]), key=lambda r: r.line)
                    if a.first == a.last and b.first == b.last:
                        msg = f"extension {b.first} repeated on server {server} ({unit} {a.line})"
                    else:
                        msg = (f"range {b.first}-{b.last} overlaps {a.first}-{a.last} "
                               f"on server {server} ({unit} {a.line})")
                    raise PlanError(msg, path, b.line)
            out: list[str] = []
            for width, lo, hi, row in items:
                out.extend(str(n).zfill(width) for n in range(lo, hi + 1))
                if row.name:
                    names[(server, row.first)] = row.name
            extensions[server] = tuple(out)
        return cls(tuple(order), extensions, names)

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return sum(len(v) for v in self.extensions.values())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NumberingPlan):
            return NotImplemented
        return (self.servers == other.servers and dict(self.extensions) == dict(other.extensions)
                and dict(self.names) == dict(other.names))

    def __repr__(self) -> str:
        sizes = ", ".join(f"{s}: {len(self.extensions[s])}" for s in self.servers)
        return f"NumberingPlan({len(self.servers)} servers, {len(self)} extensions; {sizes})"

    def of(self, server: str) -> tuple[str, ...]:
        """The extensions of ``server``; raises :class:`PlanError` for an unknown server."""
        try:
            return self.extensions[server]
        except KeyError:
            raise PlanError(f"unknown server {server!r} (plan has: {', '.join(self.servers)})") from None

    def owners(self) -> dict[str, tuple[str, ...]]:
        """Map every number to the servers that own it (in plan order)."""
        out: dict[str, list[str]] = {}
        for server in self.servers:
            for ext in self.extensions[server]:
                out.setdefault(ext, []).append(server)
        return {k: tuple(v) for k, v in out.items()}

    def to_dataframe(self) -> pd.DataFrame:
        """One row per extension: ``server``, ``extension``, ``name`` (all text)."""
        servers, exts, names = [], [], []
        for server in self.servers:
            for ext in self.extensions[server]:
                servers.append(server)
                exts.append(ext)
                names.append(self.names.get((server, ext), ""))
        return pd.DataFrame({"server": pd.Series(servers, dtype=object),
                             "extension": pd.Series(exts, dtype=object),
                             "name": pd.Series(names, dtype=object)})

    def to_csv_text(self, ranges: bool = True) -> str:
        """CSV text; with ``ranges`` consecutive unnamed extensions become ``first,last`` rows."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        if not ranges:
            writer.writerow(["server", "extension", "name"])
            for server in self.servers:
                for ext in self.extensions[server]:
                    writer.writerow([server, ext, self.names.get((server, ext), "")])
            return buf.getvalue()
        writer.writerow(["server", "first", "last", "name"])
        for server in self.servers:
            for first, last in _runs(self.extensions[server], self.names, server):
                writer.writerow([server, first, last, self.names.get((server, first), "")])
        return buf.getvalue()

    def to_csv(self, path: str | Path, ranges: bool = True) -> None:
        """Write the plan as CSV (see :meth:`to_csv_text`)."""
        Path(path).write_text(self.to_csv_text(ranges=ranges), encoding="utf-8")


def _runs(exts: tuple[str, ...], names: Mapping[tuple[str, str], str],
          server: str) -> Iterator[tuple[str, str]]:
    """Yield (first, last) runs of consecutive equal-width extensions; named ones stand alone."""
    run_first: str | None = None
    run_last = ""
    for ext in exts:
        named = (server, ext) in names
        if (run_first is not None and not named and (server, run_first) not in names
                and len(ext) == len(run_last) and int(ext) == int(run_last) + 1):
            run_last = ext
            continue
        if run_first is not None:
            yield run_first, run_last
        run_first = run_last = ext
    if run_first is not None:
        yield run_first, run_last
