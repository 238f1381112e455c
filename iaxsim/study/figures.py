"""Figures of the study (matplotlib): each has a title, labelled axes and units."""
from __future__ import annotations

import io
import base64
from typing import TYPE_CHECKING

import numpy as np

from iaxsim import theory

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from iaxsim.study.core import Study

__all__ = ["conditions_figure", "capacity_figure", "bandwidth_figure", "explorer_figure", "png_data_uri"]


def explorer_figure(frame: pd.DataFrame, title: str) -> Figure:
    """Estimated mean post-dial delay of a remote call against the number of servers, one line per
    link mode (a :func:`iaxsim.study.explore.delay_by_servers` frame)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for mode, group in frame.groupby("link_mode", sort=False):
        label = "switch =>" if mode == "switch" else f"{mode} link.conf"
        ax.plot(group["servers"], group["pdd_remote"] * 1000, marker="o", label=label)
    ax.set_xlabel("linked servers")
    ax.set_ylabel("mean post-dial delay of a remote call (ms)")
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def conditions_figure(study: Study) -> Figure:
    """Remote calls per simulated condition (95 % CI over seeds): post-dial delay (mean and 95th
    percentile) and the shares that wait a digit timeout or fail, by what the caller hears."""
    import matplotlib.pyplot as plt

    ci = study.intervals()
    names = list(ci.index)
    y = np.arange(len(names))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 0.7 * len(names) + 3.0), sharey=True)
    for offset, metric, label, colour in ((-0.2, "remote_pdd_mean", "mean", "tab:blue"),
                                          (0.2, "remote_pdd_p95", "95th percentile", "tab:purple")):
        mean = ci[metric].to_numpy(dtype=float) * 1000
        half = ci[f"{metric}_ci"].fillna(0).to_numpy(dtype=float) * 1000
        # a delay's interval stops at 0 ms
        ax1.barh(y + offset, mean, height=0.4, xerr=np.vstack([np.minimum(half, mean), half]),
                 color=colour, capsize=3, label=label)
    ax1.set_yticks(y, names)
    ax1.invert_yaxis()
    ax1.set_xlabel("post-dial delay of remote calls that rang (ms)")
    ax1.set_title("Remote calls: dialling to ringing")
    ax1.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
    parts = (("remote_digit_waits", "waited a digit timeout"), ("remote_p_busy", "busy"),
             ("remote_p_congestion", "congestion"), ("remote_p_unobtainable", "number unobtainable"),
             ("remote_p_misrouted", "misrouted"))
    h = 0.8 / len(parts)
    for i, (metric, label) in enumerate(parts):
        mean = ci[metric].to_numpy(dtype=float) * 100
        half = ci[f"{metric}_ci"].fillna(0).to_numpy(dtype=float) * 100
        # a share's interval stays within 0–100 %
        err = np.vstack([np.minimum(half, mean), np.minimum(half, 100 - mean)])
        ax2.barh(y - 0.4 + h * (i + 0.5), mean, height=h, xerr=err, capsize=2, label=label)
    ax2.set_xlabel("share of remote calls (%)")
    ax2.set_title("Remote calls that wait or fail, by what the caller hears")
    ax2.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3)
    fig.suptitle(f"Busy hour simulated, remote calls only, {study.options.seeds} seeds, 95 % intervals")
    fig.tight_layout()
    return fig


def capacity_figure(study: Study) -> Figure:
    """Erlang B blocking against channels for each server's load, the sized point and the simulation."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    check = study.capacity_check
    for load, channels, sim, low, high in zip(check["erlangs"].astype(float), check["channels"].astype(int),
                                              check["simulated"].astype(float), check["ci_low"].astype(float),
                                              check["ci_high"].astype(float)):
        n = np.arange(max(1, channels - 15), channels + 10)
        ax.semilogy(n, [theory.erlang_b(load, int(m)) * 100 for m in n], label=f"Erlang B, {load:g} E")
        err = np.array([[max(sim - low, 0.0)], [max(high - sim, 0.0)]]) * 100
        ax.errorbar([channels], [max(sim * 100, 1e-3)], yerr=err, fmt="o", capsize=4,
                    label=f"simulated at {channels} channels")
    ax.axhline(study.options.gos * 100, color="grey", linestyle=":", label="target grade of service")
    ax.set_xlabel("channels (simultaneous calls)")
    ax.set_ylabel("blocked calls (%)")
    ax.set_title("Channels per server for the target grade of service")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def bandwidth_figure(study: Study, top: int = 12) -> Figure:
    """WAN kbit/s per link (Ethernet layer, each way) for its Erlang B channels, per codec; the
    ``top`` busiest links."""
    import matplotlib.pyplot as plt

    busiest = study.links.drop_duplicates(["a", "b"]).nlargest(top, "erlangs")[["a", "b"]]
    links = study.links.merge(busiest, on=["a", "b"])
    fig, ax = plt.subplots(figsize=(8, 0.35 * max(len(links), 4) + 1.5))
    if len(links):
        labels = [f"{a}–{b} {c}" for a, b, c in zip(links["a"], links["b"], links["codec"])]
        y = np.arange(len(links))
        ax.barh(y - 0.2, links["kbps_untrunked"], height=0.4, label="untrunked")
        ax.barh(y + 0.2, links["kbps_trunked"], height=0.4, label="trunked")
        ax.set_yticks(y, labels)
        ax.invert_yaxis()
        ax.legend()
    ax.set_xlabel("kbit/s each way at the Ethernet layer")
    shown = "" if len(busiest) == len(study.links.drop_duplicates(["a", "b"])) else f", {len(busiest)} busiest links"
    ax.set_title(f"WAN bandwidth per link at {study.options.gos:.0%} blocking{shown}")
    fig.tight_layout()
    return fig


def png_data_uri(fig: Figure) -> str:
    """The figure as a PNG ``data:`` URI (for a self-contained HTML page); closes the figure."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
