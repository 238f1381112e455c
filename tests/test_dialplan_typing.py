"""What the dialplan promises at its boundary about types.

The query methods declare real types and check what they are given themselves: a wrong type
is a DialplanError (a ValueError) naming what was wrong, never a bare TypeError from inside a
walk, and the answer memo does not let a second wrong call through. Frozen records stay frozen;
every public object survives pickling and copying with the same answers; MatchMode members stay
members; cost counters add up. Expected answers and costs are derived by hand from Asterisk's
``_extension_match_core`` rules (``main/pbx.c``): a literal shorter than the number is tested
with 0 characters compared, a longer one up to and including the first character that differs;
a pattern compares characters up to and including the first that fails; ``!`` reached when the
digits run out is an early match (2).
"""
from __future__ import annotations

import copy
import dataclasses
import os
import pickle
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iaxsim.dialplan import (Dialplan, DialplanError, DialplanWarning, Extension, LookupCost,
                             MatchMode, match, sort_key)
from iaxsim.dialplan import linear, patterns
from iaxsim.dialplan.linked import DialAttempt, LinkedServer, Resolution
from iaxsim.dialplan.model import Priority
from iaxsim.dialplan.patterns import compile_pattern
from iaxsim.errors import ConfigError, IaxsimError

ROOT = Path(__file__).resolve().parent.parent

TEXT = """\
[general]
static=yes
[globals]
B=serverB
[external]
exten => 100,1,NoOp(one hundred)
exten => 101,1,NoOp
exten => 102/555,1,NoOp(caller 555 only)
exten => 102,1,NoOp(anyone else)
exten => _12!,1,NoOp(early match)
exten => _1X3,1,NoOp
exten => _7XXX,1,Dial(IAX2/${B}/${EXTEN})
exten => _7XXX,2,Hangup
include => night,18:00-23:59,*,*,*
[night]
exten => _5XXX,1,NoOp(after six)
"""


@pytest.fixture(scope="module")
def dp() -> Dialplan:
    return Dialplan.from_string(TEXT, "typing.conf")


def _linked() -> LinkedServer:
    return LinkedServer.from_strings(
        "exten => 100,1,NoOp\nexten => 101,1,NoOp\nexten => 102,1,NoOp\n",
        "exten => _5XXX,1,Dial(IAX2/c${ACCOUNT}i@cserverCi/${EXTEN}@external)\n"
        "exten => _6XXX,1,Dial(IAX2/c${ACCOUNT}i@cserverBi/${EXTEN}@external)\n"
        "exten => _6XXX,2,Dial(IAX2/c${ACCOUNT}x@cserverBx/${EXTEN}@external)\n",
        account="1001", name="A")


# -- wrong types are the dialplan's own error -------------------------------------------------

BAD_LOOKUPS = [
    ({"number": 100}, "number and context must be strings, not int/str"),
    ({"number": None}, "not NoneType/str"),
    ({"number": b"100"}, "not bytes/str"),
    ({"number": ["1", "0", "0"]}, "not list/str"),
    ({"context": None}, "not str/NoneType"),
    ({"engine": None}, "unknown dialplan engine None"),
    ({"engine": "regex"}, "unknown dialplan engine 'regex'"),
    ({"mode": "sometimes"}, "unknown match mode 'sometimes'"),
    ({"mode": 7}, "unknown match mode 7"),
    ({"mode": [2]}, "unknown match mode"),
    ({"callerid": 555}, "callerid must be a string or None, not int"),
    ({"callerid": ["555"]}, "callerid must be a string or None, not list"),
    ({"priority": "1"}, "priority must be an int, not str"),
    ({"priority": None}, "priority must be an int, not NoneType"),
    ({"when": "2026-01-02 19:00"}, "when must be a datetime or None, not str"),
]


@pytest.mark.parametrize("bad, message", BAD_LOOKUPS)
def test_a_wrong_typed_lookup_argument_is_a_dialplan_error(dp, bad, message):
    args = {"number": "100", "context": "external", "engine": "linear", "mode": "match",
            "callerid": None, "priority": 1, "when": None, **bad}
    for _ in range(2):  # the answer memo must not let the second call through
        with pytest.raises(DialplanError) as err:
            _lookup(dp, args)
        assert message in str(err.value)
        assert isinstance(err.value, ValueError) and isinstance(err.value, IaxsimError)


def _lookup(dp: Dialplan, args: dict) -> None:
    a = dict(args)
    dp.lookup(a.pop("number"), a.pop("context"), **a)


@pytest.mark.parametrize("method", ["find", "exists", "canmatch", "matchmore", "matches", "ignorepat"])
@pytest.mark.parametrize("number, context", [(100, "external"), ("100", 5), (None, None)])
def test_every_query_method_refuses_non_strings_with_a_dialplan_error(dp, method, number, context):
    with pytest.raises(DialplanError, match="must be strings"):
        getattr(dp, method)(number, context)


def test_pattern_helpers_refuse_non_strings_with_a_dialplan_error():
    with pytest.raises(DialplanError, match="pattern and number must be strings, not int/str"):
        match(6001, "6001")
    with pytest.raises(DialplanError, match="not str/int"):
        match("_6XXX", 6001)
    with pytest.raises(DialplanError, match="unknown match mode 'maybe'"):
        match("_6XXX", "6001", "maybe")
    with pytest.raises(DialplanError, match="must be a string, not int"):
        sort_key(6001)
    with pytest.raises(DialplanError, match="must be a string, not float"):
        compile_pattern(6.0)


def test_dialplan_text_that_is_not_a_string_is_a_config_error_naming_the_file():
    with pytest.raises(ConfigError) as err:
        Dialplan.from_string(b"[c]\nexten => 1,1,NoOp\n", "bytes.conf")
    assert err.value.path == "bytes.conf" and "must be a string, not bytes" in str(err.value)
    assert str(err.value).startswith("bytes.conf: ")


def test_a_bad_dial_target_is_still_a_config_error_with_file_and_line():
    with pytest.raises(ConfigError) as err:
        LinkedServer.from_strings("exten => 100,1,NoOp\n",
                                  "exten => _6XXX,1,Dial(IAX2/c1001i@cserverBi/${EXTEN})\n"
                                  "exten => _6XXX,2,Dial(SIP/nowhere)\n", link_path="link.conf")
    assert (err.value.path, err.value.line) == ("link.conf", 2)


def test_linked_resolve_refuses_a_non_string_number():
    with pytest.raises(DialplanError, match="not int/str"):
        _linked().resolve(6001)


# -- accepted types keep their meaning ---------------------------------------------------------

# "12": no literal ("100" … "102") matches; '_12!' sorts before '_1X3' ('2' before X) and
# reaches '!' as the digits run out: an early match, taken by MATCH and CANMATCH, a final
# "no" for MATCHMORE (which so never reaches '_1X3')
@pytest.mark.parametrize("mode, expected", [
    (MatchMode.MATCH, "_12!"), ("match", "_12!"), (2, "_12!"), ("  MATCH ", "_12!"),
    (MatchMode.CANMATCH, "_12!"), ("canmatch", "_12!"), (1, "_12!"), (True, "_12!"),
    (MatchMode.MATCHMORE, None), ("matchmore", None), (0, None), (False, None),
])
@pytest.mark.parametrize("engine", ["linear", "trie"])
def test_a_mode_given_as_member_name_or_number_means_the_same(dp, mode, expected, engine):
    ext, _ = dp.lookup("12", "external", engine=engine, mode=mode)
    assert (None if ext is None else ext.name) == expected


def test_exists_canmatch_matchmore_around_an_early_match(dp):
    # hand-derived: "12" against '_12!' consumes both digits and reaches '!' → result 2
    # (early match): a match for E_MATCH/E_CANMATCH, a final "no" for E_MATCHMORE
    for engine in ("linear", "trie"):
        assert dp.find("12", "external", engine=engine).name == "_12!"
        assert dp.canmatch("12", "external", engine=engine) is True
        assert dp.matchmore("12", "external", engine=engine) is False
        assert dp.matchmore("1", "external", engine=engine) is True
    ext, cost = dp.lookup("12", "external", mode="matchmore")
    # linear: the four literal entries 100, 101, 102/555, 102 (none starts with "12": compared
    # up to the first difference, '0' against '2' = 2 chars each), then '_12!' decides after
    # comparing both digits; the include is not entered
    assert ext is None
    assert (cost.comparisons, cost.chars_compared, cost.contexts_searched) == (5, 4 * 2 + 2, 1)


def test_an_int_subclass_priority_is_the_priority_it_equals(dp):
    class Prio(int):
        pass
    for prio in (2, Prio(2)):
        assert dp.find("7001", "external", priority=prio).name == "_7XXX"
    assert dp.find("7001", "external", priority=3) is None
    assert dp.find("100", "external", priority=True).name == "100"  # True == 1


def test_caller_id_variants_answer_by_caller(dp):
    assert dp.find("102", "external", callerid="555").priorities[0].data == "caller 555 only"
    assert dp.find("102", "external", callerid="556").priorities[0].data == "anyone else"
    assert dp.find("102", "external").priorities[0].data == "anyone else"


def test_a_time_conditioned_include_opens_at_its_times(dp):
    fri = datetime(2026, 11, 27, 19, 0)
    assert dp.find("5001", "external", when=fri).name == "_5XXX"
    assert dp.find("5001", "external", when=fri.replace(hour=9)) is None
    assert dp.find("5001", "external").name == "_5XXX"  # no clock: open


# -- enum members stay members -------------------------------------------------------------------

def test_match_modes_stay_enum_members():
    # Asterisk's enum ext_match_t: E_MATCHMORE 0, E_CANMATCH 1, E_MATCH 2
    for name, value in (("MATCHMORE", 0), ("CANMATCH", 1), ("MATCH", 2)):
        member = MatchMode.parse(name.lower())
        assert member is MatchMode[name] and type(member) is MatchMode and member == value
        assert MatchMode.parse(value) is member and MatchMode.parse(member) is member
        assert getattr(patterns, name) == value  # the matchers' int constants agree
    assert type(match("_6XXX", "6001", MatchMode.MATCH)) is int


# -- cost counters add up ------------------------------------------------------------------------

def test_lookup_costs_add_field_by_field():
    a, b = LookupCost(1, 2, 3, 4), LookupCost(10, 20, 30, 40)
    assert a + b == LookupCost(11, 22, 33, 44)
    assert sum([a, b, a], LookupCost()) == LookupCost(12, 24, 36, 48)
    assert (a.comparisons, a.chars_compared, a.contexts_searched, a.switches) == (1, 2, 3, 4)
    assert LookupCost() == LookupCost(0, 0, 0, 0) and LookupCost(switches=2).switches == 2
    with pytest.raises(TypeError):
        a + 5
    with pytest.raises(TypeError):
        a + (1, 2, 3, 4)


def test_resolve_costs_are_the_sum_of_both_lookups():
    res = _linked().resolve("6001")
    # external.conf: three 3-digit literals, each shorter than "6001": tested, 0 chars compared.
    # link.conf: '_5XXX' fails on '6' (1 char), '_6XXX' matches all 4 → 2 tested, 5 chars.
    assert res.cost == LookupCost(3 + 2, 0 + 5, 1 + 1, 0)
    assert [(a.peer, a.address, a.priority) for a in res.attempts] == [
        ("serverB", "internal", 1), ("serverB", "external", 2)]
    again = _linked().resolve("6001")
    assert again.cost == res.cost and type(again.cost) is LookupCost


@pytest.mark.parametrize("engine", ["linear", "trie"])
def test_a_remembered_answer_keeps_its_cost(dp, engine):
    first = dp.lookup("7001", "external", engine=engine)
    second = dp.lookup("7001", "external", engine=engine)
    assert second[0] is first[0] and second[1] == first[1] and second[1] is not first[1]
    fresh = Dialplan.from_string(TEXT, "typing.conf", cache_size=0)
    assert fresh.lookup("7001", "external", engine=engine)[1] == first[1]


# -- pickling and copying ------------------------------------------------------------------------

def _roundtrips(obj):
    return [pickle.loads(pickle.dumps(obj)), copy.copy(obj), copy.deepcopy(obj)]


def test_records_pickle_and_copy_equal():
    dp = Dialplan.from_string(TEXT, "typing.conf")
    ext = dp.find("7001", "external")
    records = [ext.priorities[0], dp.contexts["external"].includes[0],
               dp.contexts["external"].includes[0].timing, LookupCost(1, 2, 3, 4),
               DialplanWarning("x.conf", 3, "careful"), compile_pattern("_7XXX"),
               DialAttempt("serverB", "internal", 1, "IAX2/b/6001", "external", "6001")]
    for rec in records:
        for out in _roundtrips(rec):
            assert out == rec and type(out) is type(rec)
    res = _linked().resolve("6001")
    for out in _roundtrips(res):
        assert type(out) is Resolution and out.attempts == res.attempts and out.cost == res.cost


def test_frozen_records_stay_frozen():
    dp = Dialplan.from_string(TEXT, "typing.conf")
    prio = dp.find("7001", "external").priorities[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        prio.number = 5  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        compile_pattern("_7XXX").text = "_8XXX"  # type: ignore[misc]


def test_an_extension_pickles_with_its_priorities_and_order():
    dp = Dialplan.from_string(TEXT, "typing.conf")
    ext = dp.find("7001", "external")
    for out in _roundtrips(ext):
        assert type(out) is Extension
        assert (out.name, out.exten, out.context, out.cid) == ("_7XXX", "_7XXX", "external", None)
        assert [p.number for p in out.priorities] == [1, 2] and out.has_priority(2)
        assert out.sort_key == ext.sort_key and out.compiled == ext.compiled
        assert out.priority(1).data == "IAX2/${B}/${EXTEN}"  # variables expand when dialled


@pytest.mark.parametrize("engine", ["linear", "trie"])
def test_a_pickled_dialplan_answers_the_same(engine):
    dp = Dialplan.from_string(TEXT, "typing.conf")
    queries = [("100", "match", None), ("102", "match", "555"), ("12", "matchmore", None),
               ("12", "canmatch", None), ("7001", "match", None), ("5001", "match", None),
               ("1", "matchmore", None), ("999", "match", None)]
    before = [dp.lookup(n, "external", engine=engine, mode=m, callerid=c) for n, m, c in queries]
    for out in _roundtrips(dp):
        assert type(out) is Dialplan and out.path == "typing.conf" and out.order == dp.order
        assert out.warnings == dp.warnings and out.globals == {"B": "serverB"}
        after = [out.lookup(n, "external", engine=engine, mode=m, callerid=c) for n, m, c in queries]
        assert [(e and e.name, e and e.cid, c) for e, c in after] == \
            [(e and e.name, e and e.cid, c) for e, c in before]


def test_a_pickled_linked_server_resolves_the_same():
    server = _linked()
    server.resolve("6001")  # fills its target memo
    for out in _roundtrips(server):
        res = out.resolve("6001")
        assert [a.dial_string for a in res.attempts] == [
            "IAX2/c1001i@cserverBi/6001@external", "IAX2/c1001x@cserverBx/6001@external"]
        assert out.resolve("5123").attempts[0].peer == "serverC"
        assert out.account == "1001" and out.name == "A" and out.warnings == server.warnings


@pytest.mark.parametrize("engine", ["linear", "trie"])
def test_a_context_reached_twice_through_includes_is_searched_once(engine):
    # a includes b and c, c includes b again: Asterisk's include stack only grows during one
    # search, so b is not entered a second time from c. Linear: each context tests its one
    # literal against "9" (different at the first character: 1 char) → 3 contexts, 3 tests.
    dp = Dialplan.from_string("[a]\nexten => 1,1,NoOp\ninclude => b\ninclude => c\n"
                              "[b]\nexten => 2,1,NoOp\n"
                              "[c]\nexten => 3,1,NoOp\ninclude => b\n", cache_size=0)
    ext, cost = dp.lookup("9", "a", engine=engine)
    assert ext is None and cost.contexts_searched == 3
    if engine == "linear":
        assert (cost.comparisons, cost.chars_compared) == (3, 3)
    assert dp.find("2", "c", engine=engine).context == "b"
    assert dp.lookup("2", "a", engine=engine)[1].contexts_searched == 2


# -- the Dial-target fast path splits as the full parse does ------------------------------------

_PIECES = ["IAX2/", "iax2/", "SIP/", "c", "${ACCOUNT}", "${EXTEN}", "${OTHER}", "i", "x", "@", "/",
           "server", "B", "&", ",", " ", "$", "{", "}", "\x00", "\n", "5"]


_TARGETS = st.builds(
    "".join,
    st.tuples(st.sampled_from(["IAX2/", "iax2/", "SIP/", " IAX2/"]),
              st.sampled_from(["", "c${ACCOUNT}i@", "${EXTEN}@", "u@", "@"]),
              st.sampled_from(["cserverBi", "c${EXTEN}x", "cserver${EXTEN}i", "server", "c${ACCOUNT}x",
                               "ci", "c\x00i"]),
              st.sampled_from(["/${EXTEN}", "/", "/9${EXTEN}", "/${EXTEN}@", "${EXTEN}"]),
              st.sampled_from(["", "@external", "@${EXTEN}", "@", " "])))
_DIAL_DATA = st.one_of(
    st.lists(st.sampled_from(_PIECES), max_size=14).map("".join),
    st.builds(lambda ts, tail: "&".join(ts) + tail, st.lists(_TARGETS, min_size=1, max_size=3),
              st.sampled_from(["", ",20", ",,tT"])))


@settings(max_examples=400, deadline=None)
@given(data=_DIAL_DATA,
       number=st.one_of(st.text("0123456789", min_size=1, max_size=6),
                        st.sampled_from(["", "6@x", "6/1", "${ACCOUNT}", "\x00", "²", "6 "])),
       account=st.sampled_from(["1001", "", "1${EXTEN}", "a@b", "\x00"]))
def test_dial_targets_for_any_number_are_what_the_full_parse_gives(data, number, account):
    server = _linked()
    server.account = account
    prio = Priority(1, "Dial", data, None, "_6XXX", "link.conf", 3)
    try:
        expected = server._parse_targets(prio, number)
    except ConfigError as err:
        with pytest.raises(ConfigError) as got:
            server._targets(prio, number)
        assert str(got.value) == str(err) and (got.value.path, got.value.line) == ("link.conf", 3)
    else:
        assert server._targets(prio, number) == expected
        assert server._targets(prio, number) == expected  # again, from the memo
