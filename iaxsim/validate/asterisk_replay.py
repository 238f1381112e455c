"""Replay a call list on real Asterisk servers, linked through the WAN emulator.

Each scenario server becomes an Asterisk instance (:mod:`asterisk_proc`) in a directory of its
own, configured from the scenario (:mod:`asterisk_conf`): the external.conf and link.conf the
simulator uses (:func:`iaxsim.sim.plans.build_plans`), own extensions answering at once and
held for the call's holding time, on addresses of its own (internal ``127.0.K.2``, external
``127.0.K.3``, free UDP ports); every peer its link.conf dials is the WAN emulator's face for
that address (:mod:`iaxsim.net.wan`, in a process of its own, keeping the full frames it
relays). Each call is originated at its offset from its origin server's CLI, dialling its number
in ``from-internal`` (external.conf, then link.conf); the results are measured from the relayed
datagrams and the dialplans' log lines (:mod:`asterisk_wire`). The instances are stopped
whatever happens (``core stop now``, then killed by PID).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from iaxsim.errors import ConfigError
from iaxsim.net.transport import Address
from iaxsim.net.wan import WanConfig
from iaxsim.sim import Scenario
from iaxsim.sim.plans import ServerPlan, build_plans
from iaxsim.validate.asterisk_conf import call_code, dialled_peers, extensions_conf, iax_conf
from iaxsim.validate.asterisk_proc import AsteriskInstance, check_build
from iaxsim.validate.asterisk_wire import CallLog, measure, parse_logs
from iaxsim.validate.compare import CallResult
from iaxsim.validate.replay import ReplayCall, unsupported
from iaxsim.validate.wanproc import WanProcess

#: Seconds between the instances being ready and the first call's offset.
LEAD = 0.5
#: Seconds waited after the last call ended, for the last datagrams to cross.
SETTLE = 0.5
#: Longest wait (s) for every qualified peer to be OK before the calls start.
QUALIFY_WAIT = 30.0
#: Tags of the warm-up calls (the measured calls count from 1), and how long they are waited for.
WARM_UP_TAGS = 900000
WARM_UP_WAIT = 5.0


def unsupported_asterisk(scenario: Scenario) -> list[str]:
    """What the scenario models that the Asterisk replay cannot reproduce (empty when none)."""
    return unsupported(scenario)


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _bound_by_someone(addr: Address) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(addr)
        except OSError:
            return True
    return False


def _addresses(scenario: Scenario) -> dict[str, dict[str, Address]]:
    out: dict[str, dict[str, Address]] = {}
    for k, s in enumerate(scenario.servers, start=1):
        out[s.id] = {}
        for kind, last in (("internal", 2), ("external", 3)):
            host = f"127.0.{k}.{last}"
            out[s.id][kind] = (host, _free_port(host))
    return out


def _wait_qualified(instances: dict[str, AsteriskInstance], timeout: float) -> None:
    """Until every qualified peer of every server is OK, at most ``timeout`` seconds.

    The simulator's measured period starts with its peers' qualify settled. Asterisk's first
    POKEs, sent to every peer at once when qualify is turned on, lose some PONGs (measured: it
    logs "Silently dropping frame without existent call number" and marks the peer LAGGED
    after the POKE's retransmission); such a peer is POKEd again 10 s later and is OK then.
    A peer that cannot be reached never is: the calls start after ``timeout`` regardless."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = [line for inst in instances.values()
                    for line in inst.command("iax2 show peers", check=False).splitlines()
                    if "(S)" in line or "(D)" in line]
        if all("OK (" in line or "Unmonitored" in line for line in statuses):
            return
        time.sleep(0.5)


def _each(instances: dict[str, AsteriskInstance],
          action: Callable[[AsteriskInstance], None]) -> None:
    """``action`` on every instance at once (each in a thread); the first error is raised after
    all have finished."""
    with ThreadPoolExecutor(max_workers=max(1, len(instances))) as pool:
        futures = [pool.submit(action, inst) for inst in instances.values()]
    for f in futures:
        f.result()


def _logs(instances: dict[str, AsteriskInstance]) -> dict[int, CallLog]:
    return parse_logs(inst.log.read_text(errors="replace") for inst in instances.values()
                      if inst.log.exists())


def _wait_ended(instances: dict[str, AsteriskInstance], tags: list[int], deadline: float) -> None:
    """Until every call of ``tags`` has ended at its origin (its channel's hangup handler
    logged it), or ``deadline`` (:func:`time.monotonic`)."""
    while time.monotonic() < deadline:
        logs = _logs(instances)
        if all(t in logs and not math.isnan(logs[t].ended) for t in tags):
            return
        time.sleep(0.25)


def _warm_up(scenario: Scenario, plans: dict[str, ServerPlan],
             instances: dict[str, AsteriskInstance], drivers: list[subprocess.Popen[bytes]]) -> None:
    """One call from every server to every other one, not measured: the first call of an
    instance pays first-use costs (about 10 ms) that later ones do not."""
    tags: list[int] = []
    for s in scenario.servers:
        for t in scenario.servers:
            if t.id == s.id or not plans[t.id].numbers:
                continue
            tag = WARM_UP_TAGS + len(tags)
            tags.append(tag)
            drivers.append(instances[s.id].command_async(
                f"channel originate Local/{call_code(tag, 0.0, plans[t.id].numbers[0])}"
                "@iaxsim-drive application Wait 1"))
    _wait_ended(instances, tags, time.monotonic() + WARM_UP_WAIT)


def _run(scenario: Scenario, calls: list[ReplayCall], build: Path, seed: int,
         root: Path) -> tuple[list[CallResult], int]:
    plans = build_plans(scenario)
    real = _addresses(scenario)
    where = {addr: (sid, kind) for sid, kinds in real.items() for kind, addr in kinds.items()}
    instances: dict[str, AsteriskInstance] = {}
    wan: WanProcess | None = None
    drivers: list[subprocess.Popen[bytes]] = []
    try:
        faces = [(v.id, t.id, kind) for v in scenario.servers for t in scenario.servers
                 if t.id != v.id for kind in ("internal", "external")]
        wan = WanProcess(WanConfig.from_scenario(scenario.to_dict(), real, seed=seed), faces,
                         tap=True, realtime=True)
        longest = max(c.wait for c in calls)
        def iax(sid: str, qualify: bool) -> str:
            return iax_conf(real[sid], {(t, kind): wan.proxy(sid, t, kind)
                                        for (v, t, kind) in faces if v == sid},
                            scenario.account, qualify, dialled_peers(plans[sid].link_conf))

        for s in scenario.servers:
            inst = AsteriskInstance(s.id, root / s.id, build)
            # qualify only once every server listens: a POKE sent to a server still starting
            # is lost, and its retransmission's late PONG marks the peer LAGGED (unusable)
            inst.write("iax.conf", iax(s.id, False))
            inst.write("extensions.conf", extensions_conf(s.id, scenario.account,
                                                          plans[s.id].external_conf,
                                                          plans[s.id].link_conf, longest))
            instances[s.id] = inst
        _each(instances, AsteriskInstance.start)
        for sid, kinds in real.items():
            for kind, addr in kinds.items():
                if not _bound_by_someone(addr):
                    raise ConfigError(f"Asterisk server {sid} did not bind its {kind} address "
                                      f"{addr[0]}:{addr[1]} (see {instances[sid].log})")
        if any(s.qualify for s in scenario.servers):
            for s in scenario.servers:
                instances[s.id].write("iax.conf", iax(s.id, s.qualify))
                instances[s.id].command("iax2 reload")
            _wait_qualified(instances, QUALIFY_WAIT)
        _warm_up(scenario, plans, instances, drivers)
        wan.tapped()  # the warm-up calls and qualify POKEs are no measured call's
        lost_before = wan.lost()
        order = sorted(range(len(calls)), key=lambda i: calls[i].offset)
        t0 = time.monotonic() + LEAD
        for i in order:
            c = calls[i]
            pause = t0 + c.offset - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            code = call_code(i + 1, c.holding, c.dialled)
            drivers.append(instances[c.origin].command_async(
                f"channel originate Local/{code}@iaxsim-drive application Wait 1"))
        tags = list(range(1, len(calls) + 1))
        _wait_ended(instances, tags, t0 + max(c.offset + c.wait + c.holding for c in calls) + 5.0)
        time.sleep(SETTLE)
        epoch_offset = time.time() - time.monotonic()
        tap = wan.tapped()
        lost = wan.lost() - lost_before
        logs = _logs(instances)
        results = measure(tags, [c.origin for c in calls], [c.target for c in calls], tap, logs,
                          where, epoch_offset, [c.wait for c in calls])
        return results, lost
    finally:
        for p in drivers:
            if p.poll() is None:
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        _each(instances, AsteriskInstance.stop)
        if wan is not None:
            wan.stop()


def replay_asterisk(scenario: Scenario, calls: list[ReplayCall], build: Path,
                    seed: int = 0) -> tuple[list[CallResult], int]:
    """Run ``calls`` on real Asterisk servers of the build at ``build`` (the directory holding
    ``sbin/asterisk``); returns each call's result and how many datagrams the WAN emulator lost
    meanwhile."""
    if not calls:
        raise ConfigError("no calls to replay")
    problems = unsupported_asterisk(scenario)
    if problems:
        raise ConfigError("cannot replay on Asterisk: " + "; ".join(problems))
    build = check_build(build)
    with tempfile.TemporaryDirectory(prefix="iaxsim-asterisk-") as tmp:
        return _run(scenario, calls, build, seed, Path(tmp))
