"""Shared fixtures: locating the external oracles (tshark, iaxmodem) and sample files.

When ``IAXSIM_REQUIRE_ORACLES=1`` (set by CI) a missing oracle fails the test instead of
skipping it, so a CI machine without tshark cannot turn the cross-checks green.
"""
from __future__ import annotations

import os
import shutil
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
