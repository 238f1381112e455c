"""Export the datagrams a simulation exchanged as a pcap, with the codec package's writer."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

Captured = tuple[float, str, int, str, int, bytes]  # arrival time, src ip, src port, dst ip, dst port, data


def write_pcap(path: str | Path, datagrams: Iterable[Captured]) -> int:
    """Write captured datagrams, in arrival order, to ``path``; returns how many were written.

    Simulated time 0 is written as the Unix epoch.
    """
    from iaxsim.iax2.pcap import write_pcap as _write

    rows = sorted(datagrams, key=lambda d: d[0])
    return _write(path, ((t, (sip, sp), (dip, dp), data) for t, sip, sp, dip, dp, data in rows))
