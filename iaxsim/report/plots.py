"""Plot style for the study: one palette, titled figures, labelled axes with units, confidence bands.

Every figure in the notebooks goes through these helpers so the HTML report reads as one
document: the same series always has the same colour (``linear`` is always blue, ``trie``
always orange, server ``A`` always the first palette colour …), every axis names its unit,
and replicated measurements are drawn as a mean line inside its 95 % confidence band.

>>> import pandas as pd
>>> runs = pd.DataFrame({"x": [1, 1, 2, 2], "y": [1.0, 3.0, 2.0, 4.0]})
>>> ci_frame(runs, "x", "y")[["x", "mean", "n"]].to_dict("list")
{'x': [1, 2], 'mean': [2.0, 3.0], 'n': [2, 2]}
"""
from __future__ import annotations

import re
import zlib
from pathlib import Path
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from iaxsim.errors import IaxsimError
from iaxsim.theory.stats import mean_ci

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

__all__ = ["PlotError", "PALETTE", "SERIES_COLORS", "color", "style", "new_figure", "label_axes",
           "has_unit", "ci_frame", "band", "plot_bands", "bars", "ladder", "save_figure"]


class PlotError(IaxsimError, ValueError):
    """A plot was asked for something it cannot draw honestly (missing column, unit-less axis)."""


#: The colour-blind-safe cycle (Okabe & Ito) every figure draws from.
PALETTE: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9",
                            "#F0E442", "#000000")

#: Series with a fixed colour across every notebook (matchers, servers, codecs, outcomes, theory).
SERIES_COLORS: dict[str, str] = {
    # matchers
    "linear": PALETTE[0], "trie": PALETTE[1],
    # servers of the seed and five-site plans
    "A": PALETTE[0], "B": PALETTE[1], "C": PALETTE[2], "D": PALETTE[3], "E": PALETTE[4],
    # codecs
    "ulaw": PALETTE[0], "alaw": PALETTE[5], "gsm": PALETTE[2], "g729": PALETTE[3],
    # before/after comparisons
    "before": PALETTE[3], "after": PALETTE[2],
    # call outcomes
    "answered": PALETTE[2], "busy": PALETTE[6], "congestion": PALETTE[1], "rejected": PALETTE[4],
    "failed": PALETTE[3], "misrouted": PALETTE[7],
    # reference curves drawn beside simulated ones
    "theory": "#555555", "asterisk": "#555555", "formula": "#555555", "simulated": PALETTE[0],
}
#: Server counts ("2 servers" …) keep one colour each across the sweeps.
SERIES_COLORS.update({f"{n} servers": PALETTE[(n - 2) % len(PALETTE)] for n in range(2, 11)})

_UNIT = re.compile(r"\([^()]+\)\s*$|\[[^\[\]]+\]\s*$")


def color(key: object) -> str:
    """The colour of a series: fixed for known names, otherwise stable (hash of its name)."""
    name = str(key)
    if name in SERIES_COLORS:
        return SERIES_COLORS[name]
    return PALETTE[zlib.crc32(name.encode("utf-8")) % len(PALETTE)]


def style() -> dict[str, object]:
    """Apply the study's matplotlib style (readable in HTML at 100 dpi); returns the settings applied."""
    import matplotlib.style
    from cycler import cycler

    settings: dict[str, object] = {
        "figure.figsize": (7.0, 4.0), "figure.dpi": 100, "savefig.dpi": 100,
        "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
        "axes.titlesize": 12, "axes.titleweight": "bold", "axes.labelsize": 10,
        "legend.fontsize": 9, "legend.frameon": False,
        "axes.prop_cycle": cycler(color=list(PALETTE)),
    }
    matplotlib.style.use(settings)
    return settings


def has_unit(label: str) -> bool:
    """True when an axis label ends with its unit in brackets: ``"delay (s)"``, ``"share [%]"``."""
    return bool(_UNIT.search(label or ""))


def label_axes(ax: Axes, title: str, xlabel: str, ylabel: str) -> None:
    """Title and axis labels; each axis label must end with its unit, e.g. ``"delay (s)"``."""
    if not title or not title.strip():
        raise PlotError("every figure needs a title")
    for which, text in (("x", xlabel), ("y", ylabel)):
        if not has_unit(text):
            raise PlotError(f"{which} axis label {text!r} does not end with its unit, e.g. 'delay (s)'")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def new_figure(title: str, xlabel: str, ylabel: str, *, ncols: int = 1, width: float | None = None,
               height: float = 4.0) -> tuple[Figure, Axes | list[Axes]]:
    """A styled figure with ``ncols`` axes labelled alike; returns ``(fig, ax)`` or ``(fig, axes)``."""
    import matplotlib.pyplot as plt

    style()
    fig, grid = plt.subplots(1, ncols, figsize=(width or 7.0 * ncols ** 0.8, height), squeeze=False)
    axes: list[Axes] = list(grid[0])
    for ax in axes:
        label_axes(ax, title, xlabel, ylabel)
    fig.set_layout_engine("constrained")
    return (fig, axes[0]) if ncols == 1 else (fig, axes)


def _need(df: pd.DataFrame, columns: Iterable[str]) -> None:
    missing = [c for c in columns if c is not None and c not in df.columns]
    if missing:
        raise PlotError(f"column(s) {', '.join(map(repr, missing))} not in the data "
                        f"(columns: {', '.join(map(str, df.columns))})")


def ci_frame(df: pd.DataFrame, x: str, y: str, by: str | Sequence[str] | None = None, *,
             bounds: tuple[float | None, float | None] = (None, None)) -> pd.DataFrame:
    """Mean and 95 % Student-t confidence interval of ``y`` over replications, per ``x`` (and ``by``).

    One row per group, sorted: group columns, ``mean``, ``ci_low``, ``ci_high``, ``n``. With a
    single replication the interval is the mean itself (no band, never an invented width).
    NaN values of ``y`` are left out of the group they belong to. ``bounds`` is the range the
    quantity can take (``(0, 1)`` for a share, ``(0, None)`` for a delay): the interval is cut
    to it, so a band never claims an impossible value.
    """
    groups = [by] if isinstance(by, str) else list(by or [])
    _need(df, [x, y, *groups])
    rows = []
    for key, part in df.groupby([*groups, x], sort=True):
        key = key if isinstance(key, tuple) else (key,)
        vals = part[y].to_numpy(dtype=float)
        n = int(np.count_nonzero(~np.isnan(vals)))
        mean, low, high = mean_ci(vals)
        if n == 1:
            low = high = mean
        if bounds[0] is not None:
            low = max(low, bounds[0])
        if bounds[1] is not None:
            high = min(high, bounds[1])
        rows.append({**dict(zip([*groups, x], key)), "mean": mean, "ci_low": low,
                     "ci_high": high, "n": n})
    return pd.DataFrame(rows, columns=[*groups, x, "mean", "ci_low", "ci_high", "n"])


def band(ax: Axes, x: ArrayLike, mean: ArrayLike, low: ArrayLike | None = None,
         high: ArrayLike | None = None, *, label: str, key: object = None, marker: str = "o",
         linestyle: str = "-") -> Line2D:
    """Draw a mean line in the series' colour and, when given, its confidence band around it."""
    c = color(label if key is None else key)
    (line,) = ax.plot(x, mean, marker=marker, linestyle=linestyle, color=c, label=label, markersize=4)
    if low is not None and high is not None:
        ax.fill_between(x, low, high, color=c, alpha=0.2, linewidth=0, label="_nolegend_")
    return line


def plot_bands(ax: Axes, df: pd.DataFrame, x: str, y: str, by: str | None = None, *,
               label_format: str = "{}", key_format: str | None = None, marker: str = "o",
               linestyle: str = "-", bounds: tuple[float | None, float | None] = (None, None)) -> pd.DataFrame:
    """Replicated runs → one mean line with its 95 % band per ``by`` value; returns the CI table drawn.

    ``label_format`` makes the legend text from the ``by`` value, ``key_format`` the colour key
    (default: the label), so e.g. linear and trie lines of "3 servers" share a colour. ``bounds``
    is the quantity's range, passed to :func:`ci_frame`.
    """
    table = ci_frame(df, x, y, by, bounds=bounds)
    parts = [(None, table)] if by is None else list(table.groupby(by, sort=True))
    for key, part in parts:
        label = y if key is None else label_format.format(key)
        ckey = label if key is None or key_format is None else key_format.format(key)
        band(ax, part[x].to_numpy(), part["mean"].to_numpy(), part["ci_low"].to_numpy(),
             part["ci_high"].to_numpy(), label=label, key=ckey, marker=marker, linestyle=linestyle)
    ax.legend()
    return table


def bars(ax: Axes, table: pd.DataFrame, category: str, series: Sequence[str], *, err: dict[str, tuple[str, str]]
         | None = None) -> None:
    """Grouped bars: one group per ``category`` row, one bar per column in ``series`` (its colour).

    ``err`` maps a series to its (low, high) columns to draw 95 % interval whiskers.
    """
    _need(table, [category, *series])
    n = len(series)
    pos = np.arange(len(table))
    width = 0.8 / max(n, 1)
    for i, name in enumerate(series):
        vals = table[name].to_numpy(dtype=float)
        yerr = None
        if err and name in err:
            lo, hi = err[name]
            _need(table, [lo, hi])
            yerr = np.vstack([vals - table[lo].to_numpy(dtype=float), table[hi].to_numpy(dtype=float) - vals])
        ax.bar(pos + (i - (n - 1) / 2) * width, vals, width, label=name, color=color(name), yerr=yerr,
               capsize=3 if yerr is not None else 0)
    ax.set_xticks(pos, [str(v) for v in table[category]])
    ax.legend()


def ladder(ax: Axes, trace: pd.DataFrame, lanes: Sequence[str], *, src: str = "src", dst: str = "dst",
           label: str = "label", time: str = "time", max_rows: int = 40,
           names: dict[str, str] | None = None) -> None:
    """A message-sequence ('ladder') chart: one vertical lane per address, one arrow per datagram.

    Time runs downwards (one row per datagram, in order, so close frames stay readable);
    the arrow's text is ``label`` and the row is annotated with its time in ms. ``names``
    gives a lane a display name (e.g. ``{"198.51.100.2:4569": "server A"}``).
    """
    _need(trace, [src, dst, label, time])
    unknown = sorted(set(trace[src]).union(trace[dst]) - set(lanes))
    if unknown:
        raise PlotError(f"ladder: addresses {unknown} have no lane (lanes: {list(lanes)})")
    rows = trace.head(max_rows)
    where = {lane: i for i, lane in enumerate(lanes)}
    n = len(rows)
    for lane, i in where.items():
        ax.plot([i, i], [-0.5, n - 0.5], color="#888888", linewidth=1)
        ax.text(i, -0.9, (names or {}).get(lane, lane), ha="center", va="bottom", fontsize=9, fontweight="bold")
    for row_no, (_, r) in enumerate(rows.iterrows()):
        a, b = where[r[src]], where[r[dst]]
        c = PALETTE[0] if b > a else PALETTE[1]
        ax.annotate("", xy=(b, row_no), xytext=(a, row_no),
                    arrowprops={"arrowstyle": "->", "color": c, "linewidth": 1.2})
        ax.text((a + b) / 2, row_no - 0.12, str(r[label]), ha="center", va="bottom", fontsize=8)
        ax.text(-0.35, row_no, f"{1000 * float(r[time]):.1f}", ha="right", va="center", fontsize=7)
    ax.set_xlim(-0.8, len(lanes) - 0.4)
    ax.set_ylim(n - 0.4, -1.4)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write a figure as PNG (folders created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", bbox_inches="tight")
    return path
