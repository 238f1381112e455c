"""The WAN emulator (:mod:`iaxsim.net.wan`) in a process of its own, for the replays.

Its relay thread then never waits for the interpreter lock of the process driving the replay
(which would add up to the 5 ms switch interval per hop).
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection

from iaxsim.errors import ConfigError
from iaxsim.net.transport import Address
from iaxsim.net.wan import TapRecord, WanConfig, WanEmulator

#: Seconds the emulator's process may take to start.
WAN_START_TIMEOUT = 30.0


def realtime_priority() -> bool:
    """Put the calling thread (and the threads it starts) in the real-time round-robin class
    (``SCHED_RR``, lowest priority), ahead of every ordinary process, when the system permits it
    (root or CAP_SYS_NICE on Linux); returns whether it did. The relay thread sleeps in
    ``select(2)`` between datagrams, so it never holds the CPU for long."""
    setter = getattr(os, "sched_setscheduler", None)
    policy = getattr(os, "SCHED_RR", None)
    if setter is None or policy is None:
        return False
    try:
        setter(0, policy, os.sched_param(os.sched_get_priority_min(policy)))
    except OSError:
        return False
    return True


@contextmanager
def realtime_while() -> Iterator[bool]:
    """Run the ``with`` block at :func:`realtime_priority` when permitted (yields whether it is),
    then put the calling thread back in the scheduling class it had."""
    getter = getattr(os, "sched_getscheduler", None)
    if getter is None:
        yield False
        return
    policy, param = getter(0), os.sched_getparam(0)
    raised = realtime_priority()
    try:
        yield raised
    finally:
        if raised:
            os.sched_setscheduler(0, policy, param)


def _serve_wan(config: WanConfig, faces: list[tuple[str, str, str]], tap: bool, realtime: bool,
               conn: Connection) -> None:
    """Child process: run the emulator, send its proxy addresses, then answer requests."""
    if realtime:
        realtime_priority()
    with WanEmulator(config, tap=tap) as wan:
        conn.send({face: wan.proxy(*face) for face in faces})
        while True:
            request = conn.recv()
            if request == "lost":
                conn.send(wan.totals().lost)
            elif request == "tap":
                conn.send(wan.tapped())
            else:
                break


class WanProcess:
    """A :class:`WanEmulator` for ``config`` running in a forked process; ``faces`` are the
    (viewer, target, kind) proxy addresses to report; ``tap`` keeps the full frames relayed;
    ``realtime`` asks for :func:`realtime_priority`, so that a busy machine does not delay the
    relayed datagrams by whole scheduler slices."""

    def __init__(self, config: WanConfig, faces: list[tuple[str, str, str]], tap: bool = False,
                 realtime: bool = False):
        # fork: the child needs nothing but the emulator, and spawn would re-import the caller's
        # main module
        ctx = multiprocessing.get_context("fork")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve_wan, args=(config, faces, tap, realtime, child), daemon=True)
        self.process.start()
        child.close()
        try:
            if not self.conn.poll(WAN_START_TIMEOUT):
                raise EOFError
            self.faces: dict[tuple[str, str, str], Address] = self.conn.recv()
        except EOFError:
            self.stop()
            raise ConfigError("the WAN emulator did not start") from None

    def proxy(self, viewer: str, target: str, kind: str) -> Address:
        """Where ``viewer`` reaches ``target``'s ``kind`` address."""
        return self.faces[(viewer, target, kind)]

    def lost(self) -> int:
        """Datagrams lost so far."""
        self.conn.send("lost")
        return int(self.conn.recv())

    def tapped(self) -> list[TapRecord]:
        """The full frames relayed since the last call (see :meth:`WanEmulator.tapped`)."""
        self.conn.send("tap")
        records: list[TapRecord] = self.conn.recv()
        return records

    def stop(self) -> None:
        """Stop the emulator and wait for its process."""
        try:
            self.conn.send("stop")
        except OSError:
            pass
        self.process.join(5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()
        self.conn.close()
