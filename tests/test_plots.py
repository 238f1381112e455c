"""Plot helpers: fixed colours, units on every axis, confidence bands from hand-derived t intervals."""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402
from matplotlib.text import Annotation  # noqa: E402

from iaxsim.errors import IaxsimError  # noqa: E402
from iaxsim.report import plots  # noqa: E402

# two-sided 95 % Student-t quantiles for 1 and 2 degrees of freedom, from published t tables
T1, T2 = 12.7062047362, 4.3026527297


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_fixed_series_colours_are_distinct_and_shared() -> None:
    assert plots.color("linear") == plots.PALETTE[0]
    assert plots.color("trie") == plots.PALETTE[1]
    assert plots.color("linear") != plots.color("trie")
    assert plots.color("before") != plots.color("after")
    # a server keeps its colour whether given as str or looked up twice
    assert plots.color("A") == plots.color("A") == plots.PALETTE[0]


def test_unknown_series_get_a_stable_palette_colour() -> None:
    c = plots.color("server-17")
    assert c in plots.PALETTE
    assert plots.color("server-17") == c
    assert plots.color(17) == plots.color("17")


@pytest.mark.parametrize("label, ok", [
    ("post-dial delay (s)", True), ("share [%]", True), ("bandwidth (kbit/s)", True),
    ("comparisons per lookup (count)", True), ("post-dial delay", False), ("(s) delay", False), ("", False),
])
def test_has_unit(label: str, ok: bool) -> None:
    assert plots.has_unit(label) is ok


def test_label_axes_sets_text_and_refuses_unitless_axes() -> None:
    fig, ax = plt.subplots()
    plots.label_axes(ax, "Delay", "overlap (share)", "delay (s)")
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("Delay", "overlap (share)", "delay (s)")
    with pytest.raises(plots.PlotError, match="y axis label 'delay' does not end with its unit"):
        plots.label_axes(ax, "Delay", "overlap (share)", "delay")
    with pytest.raises(plots.PlotError, match="title"):
        plots.label_axes(ax, " ", "x (s)", "y (s)")
    assert issubclass(plots.PlotError, IaxsimError) and issubclass(plots.PlotError, ValueError)


def test_new_figure_labels_every_axis() -> None:
    fig, axes = plots.new_figure("Cost", "servers (count)", "comparisons (count)", ncols=2)
    assert len(axes) == 2
    assert all(a.get_title() == "Cost" and a.get_xlabel() == "servers (count)" for a in axes)
    fig, ax = plots.new_figure("One", "x (s)", "y (s)")
    assert ax.get_ylabel() == "y (s)"


def test_ci_frame_matches_hand_derived_student_t_intervals() -> None:
    df = pd.DataFrame({
        "x": [1, 1, 2, 2, 2, 3],
        "y": [1.0, 3.0, 2.0, 4.0, 6.0, 5.0],
    })
    t = plots.ci_frame(df, "x", "y")
    assert t["x"].tolist() == [1, 2, 3]
    assert t["n"].tolist() == [2, 3, 1]
    assert t["mean"].tolist() == [2.0, 4.0, 5.0]
    # x=1: sd = sqrt(2), half = t(1) * sqrt(2)/sqrt(2) = t(1); t(1) = 12.7062047 (t tables)
    assert t.loc[0, "ci_low"] == pytest.approx(2.0 - T1)
    assert t.loc[0, "ci_high"] == pytest.approx(2.0 + T1)
    # x=2: sd = 2, half = t(2) * 2 / sqrt(3); t(2) = 4.3026527
    assert t.loc[1, "ci_high"] - 4.0 == pytest.approx(T2 * 2 / math.sqrt(3))
    # one replication: no invented width
    assert t.loc[2, "ci_low"] == t.loc[2, "ci_high"] == 5.0


def test_ci_frame_groups_by_series_and_ignores_nan() -> None:
    df = pd.DataFrame({
        "engine": ["linear"] * 3 + ["trie"] * 3,
        "x": [1, 1, 1, 1, 1, 1],
        "y": [10.0, 12.0, np.nan, 1.0, 1.0, 1.0],
    })
    t = plots.ci_frame(df, "x", "y", by="engine")
    assert t["engine"].tolist() == ["linear", "trie"]
    assert t["n"].tolist() == [2, 3]
    assert t["mean"].tolist() == [11.0, 1.0]
    assert t.loc[0, "ci_high"] == pytest.approx(11.0 + T1)  # sd sqrt(2), n 2
    assert t.loc[1, "ci_low"] == t.loc[1, "ci_high"] == 1.0   # zero spread


def test_ci_frame_cuts_the_interval_to_the_quantity_range() -> None:
    # shares 0.0 and 0.02: mean 0.01, half width t(1) * 0.01 = 0.127, so the raw band is [-0.117, 0.137]
    df = pd.DataFrame({"x": [1, 1, 2, 2], "y": [0.0, 0.02, 0.98, 1.0]})
    raw = plots.ci_frame(df, "x", "y")
    assert raw.loc[0, "ci_low"] == pytest.approx(0.01 - T1 * 0.01)
    t = plots.ci_frame(df, "x", "y", bounds=(0.0, 1.0))
    assert t.loc[0, "ci_low"] == 0.0
    assert t.loc[0, "ci_high"] == pytest.approx(0.01 + T1 * 0.01)
    assert t.loc[1, "ci_high"] == 1.0
    assert t.loc[1, "ci_low"] == pytest.approx(0.99 - T1 * 0.01)
    assert t["mean"].tolist() == pytest.approx([0.01, 0.99])


def test_missing_column_is_named() -> None:
    with pytest.raises(plots.PlotError, match="'delay' not in the data"):
        plots.ci_frame(pd.DataFrame({"x": [1]}), "x", "delay")


def test_band_draws_line_in_series_colour_and_band_between_limits() -> None:
    fig, ax = plt.subplots()
    line = plots.band(ax, [1, 2, 3], [2, 3, 4], [1, 2, 3], [3, 5, 7], label="trie")
    assert to_hex(line.get_color()) == plots.color("trie").lower()
    polys = [c for c in ax.collections]
    assert len(polys) == 1
    verts = polys[0].get_paths()[0].vertices
    ys = verts[:, 1]
    assert ys.min() == pytest.approx(1.0) and ys.max() == pytest.approx(7.0)
    assert to_hex(polys[0].get_facecolor()[0], keep_alpha=False) == plots.color("trie").lower()


def test_band_without_limits_draws_no_band() -> None:
    fig, ax = plt.subplots()
    plots.band(ax, [1, 2], [1, 2], label="linear")
    assert len(ax.collections) == 0


def test_plot_bands_one_line_and_band_per_series() -> None:
    df = pd.DataFrame({
        "engine": ["linear", "linear", "trie", "trie"] * 2,
        "servers": [2, 2, 2, 2, 4, 4, 4, 4],
        "comparisons": [3.0, 5.0, 2.0, 2.0, 9.0, 11.0, 3.0, 3.0],
    })
    fig, ax = plt.subplots()
    table = plots.plot_bands(ax, df, "servers", "comparisons", by="engine")
    labels = [l.get_label() for l in ax.get_lines()]
    assert labels == ["linear", "trie"]
    assert [to_hex(l.get_color()) for l in ax.get_lines()] == [plots.color("linear").lower(),
                                                              plots.color("trie").lower()]
    assert list(ax.get_lines()[0].get_ydata()) == [4.0, 10.0]
    assert len(ax.collections) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["linear", "trie"]
    assert table["mean"].tolist() == [4.0, 10.0, 2.0, 3.0]


def test_bars_heights_colours_and_whiskers() -> None:
    table = pd.DataFrame({"metric": ["delay", "attempts"], "before": [2.0, 3.0], "after": [1.0, 1.0],
                          "lo": [1.5, 2.5], "hi": [2.5, 3.5]})
    fig, ax = plt.subplots()
    plots.bars(ax, table, "metric", ["before", "after"], err={"before": ("lo", "hi")})
    rects = ax.patches
    assert [r.get_height() for r in rects] == [2.0, 3.0, 1.0, 1.0]
    assert to_hex(rects[0].get_facecolor(), keep_alpha=False) == plots.color("before").lower()
    assert to_hex(rects[2].get_facecolor(), keep_alpha=False) == plots.color("after").lower()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["delay", "attempts"]
    # one error-bar container with the whisker half-widths 0.5
    (container,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    seg = container.lines[2][0].get_segments()
    assert [s[1][1] - s[0][1] for s in seg] == pytest.approx([1.0, 1.0])


def test_ladder_one_arrow_per_datagram_and_unknown_lane_named() -> None:
    trace = pd.DataFrame({"time": [0.0, 0.02, 0.04], "src": ["a", "b", "a"], "dst": ["b", "a", "b"],
                          "label": ["NEW", "CALLTOKEN", "NEW"]})
    fig, ax = plt.subplots()
    plots.ladder(ax, trace, ["a", "b"], names={"a": "server A"})
    arrows = [t for t in ax.texts if isinstance(t, Annotation) and t.arrow_patch is not None]
    assert len(arrows) == 3
    texts = [t.get_text() for t in ax.texts]
    assert "server A" in texts and "b" in texts
    assert texts.count("NEW") == 2 and "CALLTOKEN" in texts
    assert "40.0" in texts  # row time in ms
    with pytest.raises(plots.PlotError, match=r"\['c'\] have no lane"):
        plots.ladder(ax, trace.assign(dst=["b", "c", "b"]), ["a", "b"])


def test_save_figure_writes_png(tmp_path) -> None:
    fig, ax = plots.new_figure("t", "x (s)", "y (s)")
    ax.plot([0, 1], [0, 1])
    path = plots.save_figure(fig, tmp_path / "img" / "f.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_style_sets_palette_cycle() -> None:
    plots.style()
    cycle = [c["color"] for c in matplotlib.rcParams["axes.prop_cycle"]]
    assert cycle == list(plots.PALETTE)


def test_server_counts_have_distinct_fixed_colours() -> None:
    cols = [plots.color(f"{n} servers") for n in (2, 3, 4, 5, 6)]
    assert len(set(cols)) == 5
    assert plots.color("2 servers") == plots.PALETTE[0]


def test_plot_bands_key_format_and_linestyle() -> None:
    df = pd.DataFrame({"servers": [3, 3], "overlap": [0.0, 0.5], "y": [1.0, 2.0]})
    fig, ax = plt.subplots()
    plots.plot_bands(ax, df, "overlap", "y", by="servers", label_format="{} servers, trie",
                     key_format="{} servers", linestyle="--")
    (line,) = ax.get_lines()
    assert line.get_label() == "3 servers, trie"
    assert to_hex(line.get_color()) == plots.color("3 servers").lower()
    assert line.get_linestyle() == "--"
