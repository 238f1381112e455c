"""Optional compiled hot path: the simulator's busiest modules built with mypyc.

The modules in :data:`NATIVE_MODULES` are plain, type-annotated Python. ``iaxsim native
build`` compiles them in place with mypyc (a C compiler and the Python headers are needed); Python
then imports the compiled ``.so`` beside each source. Nothing changes but speed: the same code,
the same results, and the source is always the reference.

The pure-Python source is used instead of a compiled module when

* ``IAXSIM_PURE=1`` is set (to compare both, or to debug), or
* any source changed since the build (the build records each source's SHA-256): a stale
  compiled module is never run, and as compiled modules call each other directly, none of
  them is; a warning says how to rebuild.

``iaxsim native status`` tells which modules run compiled.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Sequence

#: Modules compiled by ``build``: the simulator's per-datagram and per-call work (codec, engine,
#: dialplan matcher and its loader, simulator glue).
NATIVE_MODULES: tuple[str, ...] = (
    "iaxsim.iax2.constants",
    "iaxsim.iax2.frames",
    "iaxsim.iax2.ies",
    "iaxsim.iax2.media",
    "iaxsim.iax2.engine.auth",
    "iaxsim.iax2.engine.callnumbers",
    "iaxsim.iax2.engine.config",
    "iaxsim.iax2.engine.dialog",
    "iaxsim.iax2.engine.endpoint",
    "iaxsim.iax2.engine.events",
    "iaxsim.iax2.engine.reliability",
    "iaxsim.iax2.engine.stats",
    "iaxsim.iax2.engine.tokens",
    "iaxsim.dialplan.patterns",
    "iaxsim.dialplan.timing",
    "iaxsim.dialplan.model",
    "iaxsim.dialplan.linear",
    "iaxsim.dialplan.trie",
    "iaxsim.dialplan.config",
    "iaxsim.dialplan.parser",
    "iaxsim.dialplan.dialplan",
    "iaxsim.dialplan.linked",
    "iaxsim.sim.driver",
    "iaxsim.sim.network",
    "iaxsim.sim.results",
    "iaxsim.sim.model",
)

PACKAGE_DIR = Path(__file__).resolve().parent
#: The modules compile into one shared library (``iaxsim/_native__mypyc*.so``), so calls
#: between them are direct C calls; each module keeps a small extension beside its source.
GROUP = "iaxsim._native"
#: What the last build compiled: module name -> SHA-256 of its source at the time.
STAMP = PACKAGE_DIR / "_native_build.json"
PURE_ENV = "IAXSIM_PURE"
#: C compiler flags added to the build's (gcc and clang know them).
EXTRA_CFLAGS = "-fno-semantic-interposition"
OPT_LEVEL = "3"
#: How the build is made, recorded beside the sources' digests: ``build`` redoes a build
#: made another way.
RECIPE = f"mypyc one library {GROUP}, -O{OPT_LEVEL} {EXTRA_CFLAGS}"
RECIPE_KEY = "(recipe)"
#: mypy options for the build: third-party packages (pandas, simpy) have no stubs installed.
MYPY_OPTIONS = ("--ignore-missing-imports", "--follow-imports=silent")


def source_path(module: str) -> Path:
    """The ``.py`` file of one of iaxsim's modules."""
    return PACKAGE_DIR.parent.joinpath(*module.split(".")).with_suffix(".py")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _built() -> dict[str, str]:
    try:
        data = json.loads(STAMP.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def stale_modules() -> list[str]:
    """Compiled modules whose source changed since the build (or with no build record)."""
    built = _built()
    out = []
    group = bool(_group_files())
    for module in NATIVE_MODULES:
        # an extension without the shared library (or left by an older build layout) is stale too
        if _own_files(module) and (not group or built.get(module) != _digest(source_path(module))):
            out.append(module)
    return out


def _compiled_files(module: str) -> list[Path]:
    """The extension files a build leaves beside ``module``'s source (empty when there is
    none, or when the shared library every module's extension loads is gone)."""
    own = _own_files(module)
    return own if own and _group_files() else []


def _own_files(module: str) -> list[Path]:
    """Extension files beside ``module``'s source, whatever build left them."""
    src = source_path(module)
    return sorted(src.parent.glob(src.stem + ".*.so")) + sorted(src.parent.glob(src.stem + "__mypyc.*.so"))


def _group_files() -> list[Path]:
    """The shared library holding every compiled module's code."""
    package, _, name = GROUP.rpartition(".")
    where = PACKAGE_DIR.parent.joinpath(*package.split("."))
    return sorted(where.glob(name + "__mypyc.*.so"))


class _SourceFirst(importlib.abc.MetaPathFinder):
    """Finds the listed modules' ``.py`` source, ahead of the compiled extension beside it."""

    def __init__(self, modules: set[str]):
        self.modules = modules

    def find_spec(self, fullname: str, path: Sequence[str] | None = None, target: object = None):
        if fullname not in self.modules:
            return None
        src = source_path(fullname)
        loader = importlib.machinery.SourceFileLoader(fullname, str(src))
        return importlib.util.spec_from_file_location(fullname, src, loader=loader)


def pure_requested() -> bool:
    """True when ``IAXSIM_PURE`` asks for the Python source (set, and not ``0``)."""
    return os.environ.get(PURE_ENV, "") not in ("", "0")


def install_source_finder() -> set[str]:
    """Make the pure-Python source win where it must (``IAXSIM_PURE=1``, stale builds); returns
    the modules redirected. Called once when :mod:`iaxsim` is imported."""
    if pure_requested():
        chosen = set(NATIVE_MODULES)
    else:
        stale = stale_modules()
        # compiled modules call each other's compiled code directly: one stale module sends
        # them all back to their source
        chosen = set(NATIVE_MODULES) if stale else set()
        if stale:
            warnings.warn(f"iaxsim: the compiled {', '.join(stale)} is older than its source; "
                          f"running every compiled module's source (rebuild with: iaxsim native "
                          f"build)", RuntimeWarning, stacklevel=3)
    if chosen:
        sys.meta_path.insert(0, _SourceFirst(chosen))
    return chosen


def status() -> dict[str, str]:
    """How each module in :data:`NATIVE_MODULES` runs here: ``compiled``, ``source`` (no build),
    ``stale`` (source changed since the build: every module then runs its source) or ``pure``
    (``IAXSIM_PURE`` set)."""
    stale = set(stale_modules())
    pure = pure_requested()
    out = {}
    for module in NATIVE_MODULES:
        if module in stale:
            out[module] = "stale"
        elif not _compiled_files(module):
            out[module] = "source"
        elif pure:
            out[module] = "pure"
        else:
            out[module] = "source (another module is stale)" if stale else "compiled"
    return out


def loaded_compiled(module: str) -> bool:
    """True when ``module`` (imported) runs from a compiled extension."""
    mod = sys.modules.get(module) or importlib.import_module(module)
    return str(getattr(mod, "__file__", "")).endswith(".so")


def clean() -> list[Path]:
    """Remove every compiled file and the build record; returns what was removed."""
    removed = []
    for module in NATIVE_MODULES:
        for path in _own_files(module):
            path.unlink()
            removed.append(path)
    for path in _group_files():
        path.unlink()
        removed.append(path)
    if STAMP.exists():
        STAMP.unlink()
        removed.append(STAMP)
    return removed


def _wanted() -> dict[str, str]:
    """What a current build record holds: each source's digest and the recipe."""
    wanted = {m: _digest(source_path(m)) for m in NATIVE_MODULES}
    wanted[RECIPE_KEY] = RECIPE
    return wanted


def up_to_date() -> bool:
    """True when every module is compiled from its present source by the present recipe (a
    build made another way still runs, but ``build`` redoes it)."""
    return _built() == _wanted() and all(_compiled_files(m) for m in NATIVE_MODULES)


def build(force: bool = False, jobs: int | None = None) -> bool:
    """Compile :data:`NATIVE_MODULES` in place unless the build is current; returns True when
    something was built. Raises ``RuntimeError`` (with mypyc's and the compiler's output) on
    failure, after removing partial results so the source runs."""
    import subprocess
    import tempfile

    sources = _wanted()
    if importlib.util.find_spec("mypyc") is None:
        raise RuntimeError("mypyc is not installed (pip install 'iaxsim[native]'); the "
                           "pure-Python source stays in use")
    if not force and up_to_date():
        return False
    clean()
    root = PACKAGE_DIR.parent
    with tempfile.TemporaryDirectory(prefix="iaxsim-native-") as tmp:
        script = Path(tmp) / "setup_native.py"
        files = [str(source_path(m).relative_to(root)) for m in NATIVE_MODULES]
        script.write_text(
            "from setuptools import setup\n"
            "from mypyc.build import mypycify\n"
            f"setup(name='iaxsim-native', packages=[], ext_modules=mypycify("
            f"{[*MYPY_OPTIONS, *files]!r}, separate=False, group_name={GROUP!r}, opt_level={OPT_LEVEL!r}, "
            f"target_dir={str(Path(tmp) / 'c')!r}))\n")
        cmd = [sys.executable, str(script), "build_ext", "--inplace", "--build-temp",
               str(Path(tmp) / "temp"), "--build-lib", str(Path(tmp) / "lib")]
        if jobs:
            cmd += ["--parallel", str(jobs)]
        # calls between the compiled functions of the one shared library may then be bound
        # (and inlined) at build time instead of going through the PLT: ~10 % less CPU time
        env = dict(os.environ, CFLAGS=(os.environ.get("CFLAGS", "") + " " + EXTRA_CFLAGS).strip())
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            clean()
            raise RuntimeError("mypyc build failed; the pure-Python source stays in use.\n"
                               + proc.stdout[-4000:] + proc.stderr[-4000:])
    missing = [m for m in NATIVE_MODULES if not _compiled_files(m)]
    if missing:
        clean()
        raise RuntimeError(f"mypyc build produced nothing for {', '.join(missing)}")
    STAMP.write_text(json.dumps(sources, indent=1, sort_keys=True) + "\n")
    return True
