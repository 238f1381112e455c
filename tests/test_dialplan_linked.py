"""Linked-server lookup (trixbox/FONcore): external.conf first, then link.conf; the seed's example."""
from __future__ import annotations

from pathlib import Path

import pytest

from iaxsim.dialplan.linked import DialAttempt, LinkedServer, parse_dial_target
from iaxsim.errors import ConfigError

SEED = Path(__file__).resolve().parent.parent / "data" / "seed"


@pytest.mark.parametrize("engine", ["linear", "trie"])
def test_seed_server_a_reaches_b_internal_then_external(engine):
    a = LinkedServer.from_dir(SEED / "serverA", account="1001")
    res = a.resolve("6001", engine=engine)
    assert res.local is None
    assert res.attempts == [
        DialAttempt("serverB", "internal", 1, "IAX2/c1001i@cserverBi/6001@external", "external", "6001"),
        DialAttempt("serverB", "external", 2, "IAX2/c1001x@cserverBx/6001@external", "external", "6001"),
    ]
    assert res.cost.contexts_searched == 2  # external, then link


def test_seed_costs_add_up_from_both_files():
    a = LinkedServer.from_dir(SEED / "serverA", account="1001")
    remote = a.resolve("6001")
    # linear: one pattern tested in external.conf (_7XXX fails on '6'), one in link.conf (_6XXX)
    assert (remote.cost.comparisons, remote.cost.chars_compared) == (2, 1 + 4)
    local = a.resolve("7001")
    assert local.is_local and local.local.name == "_7XXX" and local.attempts == []
    assert (local.cost.comparisons, local.cost.contexts_searched) == (1, 1)
    miss = a.resolve("5001")
    assert not miss.found and miss.attempts == []


def test_seed_server_b_is_the_mirror_image():
    b = LinkedServer.from_dir(SEED / "serverB", account="2002")
    assert [x.dial_string for x in b.resolve("7123").attempts] == [
        "IAX2/c2002i@cserverAi/7123@external", "IAX2/c2002x@cserverAx/7123@external"]
    assert b.resolve("6123").local.context == "external"


def test_interleaved_ranges_pick_the_more_specific_server_first():
    link = """exten => _6XXX,1,Dial(IAX2/c${ACCOUNT}i@cserverBi/${EXTEN}@external)
exten => _6XXX,2,Dial(IAX2/c${ACCOUNT}x@cserverBx/${EXTEN}@external)
exten => _60XX,1,Dial(IAX2/c${ACCOUNT}i@cserverCi/${EXTEN}@external)
exten => _60XX,2,Dial(IAX2/c${ACCOUNT}x@cserverCx/${EXTEN}@external)
"""
    srv = LinkedServer.from_strings("exten => _7XXX,1,Dial(SIP/${EXTEN})\n", link, account="1")
    assert [(x.peer, x.address) for x in srv.resolve("6001").attempts] == [("serverC", "internal"), ("serverC", "external")]
    assert [x.peer for x in srv.resolve("6101").attempts] == ["serverB", "serverB"]


def test_malformed_link_line_is_reported_with_file_and_line():
    with pytest.raises(ConfigError) as err:
        LinkedServer.from_strings("", "exten => _6XXX,1,Dial(IAX2/c1i@cBi/${EXTEN})\nexten => _6XXX,2,Dial(SIP/nope)\n")
    assert str(err.value).startswith("link.conf:2: ")
    with pytest.raises(ConfigError) as err:
        LinkedServer.from_strings("", "exten => _6XXX,1,Dial(IAX2/u@peer/${EXTEN})\n")
    assert "c<server>i" in str(err.value) and err.value.line == 1


def test_parse_dial_target_default_context():
    assert parse_dial_target("IAX2/cserverBi/6001") == ("serverB", "internal", "6001", "default")
    assert parse_dial_target("iax2/u:p@cBx/6001@ext") == ("B", "external", "6001", "ext")


@pytest.mark.parametrize("engine", ["linear", "trie"])
def test_first_dial_is_the_local_extension_or_the_first_attempt(engine):
    a = LinkedServer.from_dir(SEED / "serverA", account="1001")
    local, first = a.first_dial("7001", engine=engine)
    assert local is not None and local.name == "_7XXX" and first is None
    assert a.first_dial("6001", engine=engine) == (
        None, DialAttempt("serverB", "internal", 1, "IAX2/c1001i@cserverBi/6001@external", "external", "6001"))
    assert a.first_dial("5001", engine=engine) == (None, None)
