"""Shared fixtures: locating the external oracles (tshark, iaxmodem, an Asterisk build) and sample
files.

When ``IAXSIM_REQUIRE_ORACLES=1`` (set by CI) a missing oracle fails the test instead of
skipping it, so a CI machine without tshark cannot turn the cross-checks green.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs the property tests on a fixed example sequence so a run is repeatable; a developer's
# run explores new examples each time (HYPOTHESIS_PROFILE=ci reproduces CI locally).
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

ROOT = Path(__file__).resolve().parent.parent
SHARED_SAMPLES = ROOT.parent / "shared" / "samples"


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path:
        return path
    message = f"{tool} is not installed (Debian: apt-get install {tool})"
    if os.environ.get("IAXSIM_REQUIRE_ORACLES") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def tshark() -> str:
    """Path of the tshark binary (Wireshark's dissector, the codec's oracle)."""
    return _require("tshark")


@pytest.fixture(scope="session")
def iaxmodem() -> str:
    """Path of the iaxmodem binary (an IAX2 peer nobody here wrote)."""
    return _require("iaxmodem")


@pytest.fixture(scope="session")
def asterisk_sample_conf() -> Path:
    """Asterisk's own sample extensions.conf, when it sits beside the project."""
    path = SHARED_SAMPLES / "asterisk-extensions.conf.sample"
    if not path.exists():
        pytest.skip("Asterisk's sample extensions.conf is not available beside the project")
    return path


#: The Asterisk build the ``--asterisk`` tests run: beside the project, or where the variable says.
ASTERISK_ARCHIVE = ROOT.parent / "shared" / "asterisk" / "asterisk-22.10.1.tar.xz"
ASTERISK_LIBS = "libedit2 libjansson4 libxml2 libxslt1.1 libsqlite3-0 libuuid1 libssl3"


def _missing(message: str) -> None:
    if os.environ.get("IAXSIM_REQUIRE_ORACLES") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def asterisk_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An unpacked Asterisk 22.10.1 build (the directory holding sbin/asterisk), unpacked once
    per session under a temporary directory from the archive beside the project (or
    ``IAXSIM_ASTERISK_ARCHIVE``)."""
    archive = Path(os.environ.get("IAXSIM_ASTERISK_ARCHIVE") or ASTERISK_ARCHIVE)
    if not archive.is_file():
        # someone else's program, never part of the project: without it the tests skip, even
        # in CI; with it, a build that cannot run here (missing libraries) fails in CI
        pytest.skip(f"the Asterisk build {archive} is not available (set IAXSIM_ASTERISK_ARCHIVE)")
    tar = shutil.which("tar")
    if tar is None:
        _missing("tar is not installed")
    root = tmp_path_factory.mktemp("asterisk")
    done = subprocess.run([str(tar), "-xJf", str(archive), "-C", str(root)], capture_output=True,
                          text=True, check=False)
    build = root / "opt" / "asterisk"
    if done.returncode != 0 or not (build / "sbin" / "asterisk").is_file():
        pytest.fail(f"cannot unpack {archive}: {done.stderr.strip()}")
    env = dict(os.environ, LD_LIBRARY_PATH=str(build / "lib"))
    version = subprocess.run([str(build / "sbin" / "asterisk"), "-V"], env=env,
                             capture_output=True, text=True, check=False)
    if version.returncode != 0:
        _missing(f"Asterisk does not run here ({(version.stderr or version.stdout).strip()}); "
                 f"Debian: apt-get install {ASTERISK_LIBS}")
    return build
