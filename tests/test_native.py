"""The optional compiled hot path (iaxsim.native): compiled and pure-Python runs give the same
simulations, IAXSIM_PURE and stale builds send Python back to the source, and CI (with
IAXSIM_REQUIRE_NATIVE=1) really runs the compiled modules."""
from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from iaxsim import native

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = os.environ.get("IAXSIM_REQUIRE_NATIVE", "") not in ("", "0")
BUILT = all(native._compiled_files(m) for m in native.NATIVE_MODULES)

# Scenarios touching every compiled path: link.conf and switch linking, digit-by-digit dialling,
# media as frames and trunked, loss and jitter, a channel limit that blocks calls.
SCENARIOS = {
    "seed": ("seed_two_servers", {"calls_per_hour": 400.0, "hours": 0.2, "seed": 3}),
    "switch_digits": ("seed_two_servers", {"calls_per_hour": 300.0, "hours": 0.2, "seed": 4,
                                           "linking": "switch", "traffic.dialling": "digits"}),
    "frames_trunk_loss": ("seed_two_servers", {"calls_per_hour": 200.0, "hours": 0.05, "seed": 5,
                                               "media": "frames", "trunk": True,
                                               "network.loss": 0.02, "network.jitter": 0.01}),
    "erlang": ("erlang_b", {"erlangs": 8.0, "channels": 8, "hours": 0.2}),
}

_RUN = textwrap.dedent("""
    import pickle, sys
    from iaxsim import native
    from iaxsim.sim import scenarios, simulate
    from iaxsim.sim.scenario import scenario_from_dict
    name, kwargs = pickle.loads(sys.stdin.buffer.read())
    fn = getattr(scenarios, name)
    if name == "seed_two_servers":
        sc = fn(**kwargs, **{"warmup": 0.0, "capture": True})
    else:
        sc = fn(**kwargs).with_values({"capture": True})
    res = simulate(sc, seed=7)
    how = {m: native.loaded_compiled(m) for m in native.NATIVE_MODULES}
    sys.stdout.buffer.write(pickle.dumps((how, res.calls, res.link_totals, res.datagrams,
                                          res.summary())))
""")


def _run(name: str, kwargs: dict, pure: bool):
    env = dict(os.environ, PYTHONHASHSEED="0")
    env.pop("IAXSIM_PURE", None)
    if pure:
        env["IAXSIM_PURE"] = "1"
    proc = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-c", _RUN],
                          input=pickle.dumps((name, kwargs)), capture_output=True, env=env,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    return pickle.loads(proc.stdout)


@pytest.mark.skipif(not BUILT and not REQUIRED, reason="the compiled hot path is not built "
                    "(iaxsim native build)")
@pytest.mark.parametrize("key", sorted(SCENARIOS))
def test_compiled_and_pure_python_simulate_the_same(key):
    name, kwargs = SCENARIOS[key]
    how_c, calls_c, links_c, capture_c, summary_c = _run(name, kwargs, pure=False)
    how_p, calls_p, links_p, capture_p, summary_p = _run(name, kwargs, pure=True)
    assert all(how_c.values()), f"not compiled: {how_c}"
    assert not any(how_p.values()), f"IAXSIM_PURE=1 still ran compiled code: {how_p}"
    assert len(calls_c) > 0
    pd.testing.assert_frame_equal(calls_c.drop(columns=["wall"], errors="ignore"),
                                  calls_p.drop(columns=["wall"], errors="ignore"))
    pd.testing.assert_frame_equal(links_c, links_p)
    assert capture_c == capture_p  # every datagram, byte for byte, at the same instants
    pd.testing.assert_frame_equal(summary_c, summary_p)


def test_ci_runs_the_compiled_modules():
    """In CI (IAXSIM_REQUIRE_NATIVE=1) the build must have happened and be the one imported."""
    if not REQUIRED:
        pytest.skip("IAXSIM_REQUIRE_NATIVE is not set")
    assert native.status() == {m: "compiled" for m in native.NATIVE_MODULES}
    assert all(native.loaded_compiled(m) for m in native.NATIVE_MODULES)


def test_the_source_finder_returns_each_modules_python_source():
    finder = native._SourceFirst({"iaxsim.sim.results"})
    spec = finder.find_spec("iaxsim.sim.results")
    assert spec is not None and spec.origin == str(ROOT / "iaxsim" / "sim" / "results.py")
    assert finder.find_spec("iaxsim.sim.scenario") is None  # not listed: normal import


def test_a_changed_source_makes_the_build_stale(tmp_path, monkeypatch):
    built = {m: native._digest(native.source_path(m)) for m in native.NATIVE_MODULES}
    built["iaxsim.sim.network"] = "0" * 64  # as if network.py changed after the build
    stamp = tmp_path / "stamp.json"
    stamp.write_text(json.dumps(built))
    monkeypatch.setattr(native, "STAMP", stamp)
    _pretend_built(monkeypatch)
    monkeypatch.delenv("IAXSIM_PURE", raising=False)
    assert native.stale_modules() == ["iaxsim.sim.network"]
    status = native.status()
    assert status["iaxsim.sim.network"] == "stale"
    assert status["iaxsim.sim.model"] == "source (another module is stale)"
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    with pytest.warns(RuntimeWarning, match="iaxsim.sim.network is older than its source"):
        chosen = native.install_source_finder()
    assert chosen == set(native.NATIVE_MODULES)
    assert isinstance(sys.meta_path[0], native._SourceFirst)


def test_no_build_record_means_no_compiled_module_is_trusted(tmp_path, monkeypatch):
    monkeypatch.setattr(native, "STAMP", tmp_path / "missing.json")
    _pretend_built(monkeypatch)
    assert native.stale_modules() == list(native.NATIVE_MODULES)


def test_extensions_without_the_shared_library_are_never_trusted(tmp_path, monkeypatch):
    """Module extensions whose shared library is gone (or left by an older build layout) are
    stale even when the build record matches: their code is not the recorded build's."""
    stamp = tmp_path / "stamp.json"
    stamp.write_text(json.dumps({m: native._digest(native.source_path(m)) for m in native.NATIVE_MODULES}))
    monkeypatch.setattr(native, "STAMP", stamp)
    _pretend_built(monkeypatch, group=False)
    monkeypatch.delenv("IAXSIM_PURE", raising=False)
    assert native.stale_modules() == list(native.NATIVE_MODULES)
    assert set(native.status().values()) == {"stale"}
    _pretend_built(monkeypatch, group=True)
    assert native.stale_modules() == []
    assert set(native.status().values()) == {"compiled"}


def test_a_build_made_another_way_is_redone_but_still_runs(tmp_path, monkeypatch):
    """The build record names the recipe (flags, layout): a build from the same sources made
    another way is not up to date for ``build``, while its modules stay trusted."""
    digests = {m: native._digest(native.source_path(m)) for m in native.NATIVE_MODULES}
    stamp = tmp_path / "stamp.json"
    monkeypatch.setattr(native, "STAMP", stamp)
    _pretend_built(monkeypatch)
    monkeypatch.delenv("IAXSIM_PURE", raising=False)
    stamp.write_text(json.dumps({**digests, native.RECIPE_KEY: native.RECIPE}))
    assert native.up_to_date()
    stamp.write_text(json.dumps({**digests, native.RECIPE_KEY: "mypyc, -O2, separate libraries"}))
    assert not native.up_to_date()
    assert native.stale_modules() == []  # same sources: what is built may still run
    stamp.write_text(json.dumps(digests))  # a record from before recipes were written down
    assert not native.up_to_date()
    assert "-fno-semantic-interposition" in native.RECIPE


def _pretend_built(monkeypatch, group: bool = True) -> None:
    """As if every module had its extension beside it (and the shared library, if ``group``)."""
    monkeypatch.setattr(native, "_own_files", lambda module: [Path(f"{module}.so")])
    monkeypatch.setattr(native, "_group_files", lambda: [Path("_native__mypyc.so")] if group else [])


def test_pure_mode_runs_the_model_tests_on_the_source():
    """The simulator's own tests pass on the pure-Python source too (what runs without a C
    compiler)."""
    env = dict(os.environ, IAXSIM_PURE="1")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-x", "tests/test_sim_model.py", "tests/test_sim_erlang.py"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout
