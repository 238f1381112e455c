"""Helpers for the network tests: seed linked servers on loopback, and a phone endpoint."""
from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Optional

from iaxsim.iax2.engine import Endpoint, EndpointConfig
from iaxsim.net.node import Node
from iaxsim.net.transport import Transport

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "data" / "seed"
#: Short retransmission timers so a dead address is given up fast: first RTO 2 x 0.05 s,
#: two sends -> give up 0.1 s + 1.0 s after the first send.
FAST = "pingtime = 0.05\nmaxsends = 2\n"


def run(coro, timeout: float = 30.0):
    """Run a test coroutine with an overall time bound."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def _iax_conf(general: str, peer: str, addrs, account: str, extra: str) -> str:
    return (f"[general]\n{general}"
            f"[c{peer}i]\ntype = peer\nhost = {addrs[0][0]}\nport = {addrs[0][1]}\n"
            f"[c{peer}x]\ntype = peer\nhost = {addrs[1][0]}\nport = {addrs[1][1]}\n"
            f"[c{account}i]\ntype = user\n[c{account}x]\ntype = user\n{extra}")


class Pair:
    """Seed servers A (owns 7XXX) and B (owns 6XXX), each on an internal and an external
    loopback address (A: 127.0.0.2 / 127.0.0.3, B: 127.0.0.4 / 127.0.0.5), linked by their
    link.conf; their iax.conf is written once the ports are known, then reloaded."""

    def __init__(self, tmp: Path, general: str = FAST, extra_a: str = "", extra_b: str = "",
                 engine_a: Optional[dict] = None, engine_b: Optional[dict] = None):
        self.dirs = {}
        for name in ("serverA", "serverB"):
            d = tmp / name
            shutil.copytree(SEED / name, d)
            (d / "iax.conf").write_text(f"[general]\n{general}")
            self.dirs[name] = d
        self.general, self.extra_a, self.extra_b = general, extra_a, extra_b
        self.logs: dict[str, list[str]] = {"A": [], "B": []}
        self.a = Node(self.dirs["serverA"], seed=11, log=self.logs["A"].append, **(engine_a or {}))
        self.b = Node(self.dirs["serverB"], seed=22, log=self.logs["B"].append, **(engine_b or {}))

    async def start(self) -> "Pair":
        self.a_addrs = await self.a.start([("127.0.0.2", 0), ("127.0.0.3", 0)])
        self.b_addrs = await self.b.start([("127.0.0.4", 0), ("127.0.0.5", 0)])
        (self.dirs["serverA"] / "iax.conf").write_text(
            _iax_conf(self.general, "serverB", self.b_addrs, "1001", self.extra_a))
        (self.dirs["serverB"] / "iax.conf").write_text(
            _iax_conf(self.general, "serverA", self.a_addrs, "1001", self.extra_b))
        self.a.reload()
        self.b.reload()
        return self

    def close(self) -> None:
        self.a.close()
        self.b.close()


class Phone:
    """An iaxsim endpoint on 127.0.0.1 that records every event it gets."""

    def __init__(self, seed: int = 5, config: Optional[EndpointConfig] = None):
        self.events: list = []
        self.ep = Endpoint(config or EndpointConfig(), seed=seed)
        self.tr: Optional[Transport] = None

    async def start(self, host: str = "127.0.0.1") -> "Phone":
        self.tr = Transport(self.ep, on_event=self.events.append)
        self.addr = await self.tr.bind((host, 0))
        return self

    def of(self, kind, call_id: Optional[int] = None) -> list:
        """Events of one type (optionally for one call)."""
        return [e for e in self.events if isinstance(e, kind)
                and (call_id is None or getattr(e, "call_id", None) == call_id)]

    def close(self) -> None:
        if self.tr is not None:
            self.tr.close()
