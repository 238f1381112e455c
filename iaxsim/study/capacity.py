"""Capacity per server and per link, from the busy-hour traffic matrix.

The matrix follows the simulator's traffic model (docs/scenarios.md, ``[traffic]``): every
server originates ``calls_per_hour`` attempts, a share ``remote`` of them spread evenly over the
other servers (:func:`traffic_matrix`); or every server offers so many Erlangs per extension,
its remote share spread over the others in proportion to their extensions
(:func:`traffic_matrix_per_extension`). Offered load in Erlangs is attempts per hour × mean holding (s) / 3600; a call
between two servers holds one channel at each end and one trunk slot on the link between them.
Channels for a grade of service come from Erlang B (:func:`iaxsim.theory.channels_for`); the
WAN bandwidth of a link sized so is its channels' IAX2 media (RFC 5456 §8.1.2 mini frames, one
call each way) or one trunk (RFC 5456 §8.1.3 meta trunk frames) at the Ethernet layer.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd

from iaxsim import theory
from iaxsim.errors import ConfigError

__all__ = ["traffic_matrix", "traffic_matrix_per_extension", "remote_shares", "server_loads",
           "link_capacity", "LINK_COLUMNS"]

#: Columns of :func:`link_capacity`.
LINK_COLUMNS: tuple[str, ...] = ("a", "b", "erlangs", "channels", "blocking", "codec",
                                 "kbps_untrunked", "kbps_trunked")


def traffic_matrix(servers: Sequence[str], calls_per_hour: float, remote: float,
                   holding_s: float) -> pd.DataFrame:
    """Offered Erlangs from each server (rows) to each server (columns); local calls on the diagonal."""
    if len(servers) < 1:
        raise ConfigError("the plan has no servers")
    if calls_per_hour < 0 or holding_s <= 0 or not 0 <= remote <= 1:
        raise ConfigError("traffic needs calls_per_hour ≥ 0, holding > 0 and remote in [0, 1]")
    n = len(servers)
    per_server = theory.offered_load(calls_per_hour, holding_s)
    rows = {}
    for s in servers:
        rows[s] = {t: (per_server * (1 - remote) if t == s or n == 1 else per_server * remote / (n - 1))
                   for t in servers}
    return pd.DataFrame.from_dict(rows, orient="index")[list(servers)]


def remote_shares(sizes: Mapping[str, int], server: str, remote: float) -> dict[str, float]:
    """The share of ``server``'s calls going to each other server when a share ``remote`` of
    them is spread over the others in proportion to their extensions (``sizes``)."""
    others = {t: n for t, n in sizes.items() if t != server}
    total = sum(others.values())
    return {t: (remote * n / total if total else 0.0) for t, n in others.items()}


def traffic_matrix_per_extension(sizes: Mapping[str, int], erlangs_per_extension: float,
                                 remote: float) -> pd.DataFrame:
    """Offered Erlangs from each server (rows) to each server (columns) when every server offers
    ``erlangs_per_extension`` × its extensions (``sizes``), a share ``remote`` of it to the
    other servers in proportion to their extensions (:func:`remote_shares`); local calls on
    the diagonal."""
    if not sizes:
        raise ConfigError("the plan has no servers")
    if erlangs_per_extension < 0 or not 0 <= remote <= 1:
        raise ConfigError("traffic needs Erlangs per extension ≥ 0 and remote in [0, 1]")
    rows = {}
    for s, n in sizes.items():
        load = erlangs_per_extension * n
        shares = remote_shares(sizes, s, remote)
        rows[s] = {t: load * (1 - remote if t == s else shares[t]) for t in sizes}
        if len(sizes) == 1:
            rows[s][s] = load
    return pd.DataFrame.from_dict(rows, orient="index")[list(sizes)]


def server_loads(matrix: pd.DataFrame, blocking: float = 0.01) -> pd.DataFrame:
    """Per server: Erlangs whose calls hold one of its channels (originated + received from others),
    and the channels Erlang B needs for ``blocking``."""
    rows = []
    for s in matrix.index:
        load = float(matrix.loc[s].sum() + matrix[s].sum() - matrix.loc[s, s])
        rows.append({"server": s, "erlangs": load,
                     "channels": theory.channels_for(load, blocking) if load > 0 else 0})
    return pd.DataFrame(rows)


def link_capacity(matrix: pd.DataFrame, blocking: float = 0.01,
                  codecs: Sequence[str] = ("ulaw", "g729"), layer: str = "ethernet",
                  trunk_mtu: int | None = theory.DEFAULT_TRUNK_MTU) -> pd.DataFrame:
    """One row per server pair and codec (:data:`LINK_COLUMNS`): Erlangs both ways, channels for
    ``blocking``, the Erlang B blocking at that size, and kbit/s each way with every channel busy,
    untrunked (channels × one call's rate) and trunked (one trunk carrying all channels)."""
    if not 0 < blocking < 1:
        raise ConfigError(f"grade of service must lie strictly between 0 and 1, got {blocking!r}")
    servers = list(matrix.index)
    rows = []
    for i, a in enumerate(servers):
        for b in servers[i + 1:]:
            load = float(matrix.loc[a, b] + matrix.loc[b, a])
            channels = theory.channels_for(load, blocking) if load > 0 else 0
            gos = theory.erlang_b(load, channels) if channels else 0.0
            for name in codecs:
                rows.append({"a": a, "b": b, "erlangs": load, "channels": channels, "blocking": gos,
                             "codec": name,
                             "kbps_untrunked": channels * theory.iax2_call_kbps(name, layer),
                             "kbps_trunked": (theory.trunk_total_kbps(name, channels, layer, trunk_mtu)
                                              if channels else 0.0)})
    return pd.DataFrame(rows, columns=list(LINK_COLUMNS))
