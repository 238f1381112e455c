"""Closed-form theory and statistics the simulator and the experiments share (a leaf: imports
nothing of iaxsim but its errors).

* :mod:`iaxsim.theory.erlang` — Erlang B/C, channels for a grade of service, offered/carried load;
* :mod:`iaxsim.theory.rates` — IAX2 media bandwidth per codec, trunked and untrunked;
* :mod:`iaxsim.theory.stats` — means with Student-t confidence intervals, batch means, quantile intervals.
"""
from __future__ import annotations

from iaxsim.theory.erlang import (TheoryError, carried_load, channels_for, erlang_b, erlang_c,
                                  offered_load)
from iaxsim.theory.rates import (CODECS, DEFAULT_TRUNK_MTU, ETHERNET_BYTES, IAX_MINI_HEADER,
                                 IP_UDP_BYTES, RTP_HEADER, TRUNK_ENTRY_HEADER, TRUNK_ENTRY_HEADER_TS,
                                 TRUNK_META_HEADER, Codec, bytes_over, call_bytes, call_rates, codec,
                                 iax2_call_kbps, rtp_call_kbps, trunk_call_kbps, trunk_calls_per_packet,
                                 trunk_packets, trunk_total_kbps)
from iaxsim.theory.stats import batch_means_ci, mean_ci, quantile_ci, t975

__all__ = ["TheoryError", "carried_load", "channels_for", "erlang_b", "erlang_c", "offered_load",
           "CODECS", "DEFAULT_TRUNK_MTU", "ETHERNET_BYTES", "IAX_MINI_HEADER", "IP_UDP_BYTES",
           "RTP_HEADER", "TRUNK_ENTRY_HEADER", "TRUNK_ENTRY_HEADER_TS", "TRUNK_META_HEADER", "Codec",
           "bytes_over", "call_bytes", "call_rates", "codec", "iax2_call_kbps", "rtp_call_kbps",
           "trunk_call_kbps", "trunk_calls_per_packet", "trunk_packets", "trunk_total_kbps",
           "batch_means_ci", "mean_ci", "quantile_ci", "t975"]
