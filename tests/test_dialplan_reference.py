"""The cost of a lookup is what the plain walks count; the fast paths only answer faster.

``Dialplan.reference_lookup`` runs the walks that define ``LookupCost``: the linear walk of
each sorted context and, for the trie engine, the reference trie (one node per pattern
position, walked depth first).  ``Dialplan.lookup`` answers through the folded trie, its
jump table and the answer memo.  On generated dialplans (several contexts, includes with and
without times, switches, caller-ID variants, literals, patterns, the irregular ones the trie
hands to the linear rules, long shared literal prefixes that give the trie a jump table) every
fast path must return the reference's answer and its cost, field by field, in all three modes.

The hand-derived cases count by the rules in ``iaxsim/dialplan/trie.py``: a MATCH probes the
literal hash once (1), then the pattern walk enters the root and one node per character it
follows; a CANMATCH/MATCHMORE walks the literal tree instead (its root, one per character).
"""
from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iaxsim.dialplan import Dialplan, LookupCost
from test_dialplan_properties import conf_text

MODES = ("match", "canmatch", "matchmore")


# -- hand-derived reference costs ---------------------------------------------------------------

TWO_BLOCKS = "[c]\nexten => _5XXX,1,NoOp\nexten => _6XXX,1,NoOp\n"


@pytest.mark.parametrize("number, mode, name, comparisons", [
    # hash probe; root, 6, 60, 600, 6001: the pattern ends with the digits
    ("6001", "match", "_6XXX", 1 + 5),
    # hash probe; root, 6, 60: the digits run out two positions before the pattern ends, and
    # MATCH enters nothing below (only a '!' could match an exhausted number)
    ("60", "match", None, 1 + 3),
    # literal root (no literals); root, 6, 60, then 600 and 6000 enumerated: _6XXX could match
    ("60", "canmatch", "_6XXX", 1 + 3 + 2),
    # hash probe; root, then neither 5 nor 6 is the first digit
    ("7001", "match", None, 1 + 1),
])
@pytest.mark.parametrize("fast", [False, True])
def test_trie_costs_counted_by_hand(number, mode, name, comparisons, fast):
    dp = Dialplan.from_string(TWO_BLOCKS, cache_size=0)
    ask = dp.lookup if fast else dp.reference_lookup
    ext, cost = ask(number, "c", engine="trie", mode=mode)
    assert (ext.name if ext else None) == name
    assert cost == LookupCost(comparisons, min(len(number), comparisons), 1, 0)


LITERALS = "[c]\nexten => 12,1,NoOp\nexten => 123,1,NoOp\nexten => 13,1,NoOp\n"


@pytest.mark.parametrize("number, mode, name, comparisons", [
    ("12", "match", "12", 1),                # the hash probe finds it
    ("14", "match", None, 1 + 1),            # hash probe; the pattern root (no patterns)
    ("12", "canmatch", "12", 3),             # literal root, 1, 12: 12 itself can match
    ("12", "matchmore", "123", 3 + 1),       # 12 is not longer than the number: 123 below it
    ("1", "matchmore", "12", 2 + 1),         # literal root, 1; then 12, the first below
    ("4", "canmatch", None, 1 + 1),          # literal root (no '4'); the pattern root
])
def test_literal_costs_counted_by_hand(number, mode, name, comparisons):
    dp = Dialplan.from_string(LITERALS, cache_size=0)
    for ask in (dp.lookup, dp.reference_lookup):
        ext, cost = ask(number, "c", engine="trie", mode=mode)
        assert (ext.name if ext else None) == name
        assert cost == LookupCost(comparisons, min(len(number), comparisons), 1, 0)


def test_linear_costs_counted_by_hand():
    dp = Dialplan.from_string(TWO_BLOCKS + "exten => 100,1,NoOp\nswitch => IAX2/b/c\n", cache_size=0)
    # 100 (a literal shorter than the number: tested, nothing compared), _5XXX fails on its
    # first character (1), _6XXX fails on its first character (1); no answer: the switch counts
    for ask in (dp.lookup, dp.reference_lookup):
        assert ask("7001", "c") == (None, LookupCost(3, 2, 1, 1))


def test_the_memo_returns_the_reference_answer_and_a_fresh_cost():
    dp = Dialplan.from_string(TWO_BLOCKS)
    reference = dp.reference_lookup("6001", "c", engine="trie")
    first = dp.lookup("6001", "c", engine="trie")
    second = dp.lookup("6001", "c", engine="trie")  # from the memo
    assert first == second == reference and second[1] is not first[1]
    second[1].comparisons += 100  # a caller's copy: the memo keeps its own
    assert dp.lookup("6001", "c", engine="trie") == reference


def test_reference_lookup_checks_its_arguments_like_lookup():
    from iaxsim.dialplan import DialplanError

    dp = Dialplan.from_string(TWO_BLOCKS)
    with pytest.raises(DialplanError, match="must be strings"):
        dp.reference_lookup(6001, "c")  # type: ignore[arg-type]
    with pytest.raises(DialplanError, match="unknown dialplan engine"):
        dp.reference_lookup("6001", "c", engine="regex")


# -- generated dialplans: fast paths == reference, answer and cost ------------------------------

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))

# a small literal alphabet so that patterns share long leading runs (the trie's jump table)
# and chains with a single way on (folded nodes)
LEAD = st.text(alphabet="126", min_size=0, max_size=4)
TAIL = st.lists(st.sampled_from(["X", "N", "Z", "1", "2", "[1-3]", "[5]", "[]", "[9-1]", "-", "*"]),
                max_size=4).map("".join)
END = st.sampled_from(["", "", "", ".", "!"])
patterns = st.builds(lambda lead, tail, end: "_" + lead + tail + end if lead + tail + end else "_X",
                     LEAD, TAIL, END)
literals = st.text(alphabet="126*#-", min_size=1, max_size=5).filter(lambda s: s.strip("-"))
CIDS = st.sampled_from([None, None, None, "", "5", "_1X", "_[1-3].", "12"])
entries = st.tuples(st.one_of(patterns, patterns, literals), st.sampled_from(["1", "2", "hint"]), CIDS)
INCLUDE_TIMES = st.sampled_from(["", "", ",18:00-23:59,*,*,*", ",*,mon-fri,*,*"])


dialplans = st.integers(min_value=1, max_value=5).flatmap(lambda n: st.tuples(
    st.lists(st.lists(entries, max_size=14), min_size=n, max_size=n),
    st.lists(st.lists(st.tuples(st.integers(min_value=0, max_value=n - 1), INCLUDE_TIMES), max_size=3),
             min_size=n, max_size=n),
    st.lists(st.booleans(), min_size=n, max_size=n),
))
numbers = st.one_of(st.text(alphabet="1260*#-", max_size=7), st.text(alphabet="12", max_size=7),
                    st.sampled_from(["", "_1X", "_126X", "1261", "12612"]))
WHEN = [None, datetime(2026, 11, 27, 19, 0), datetime(2026, 11, 29, 9, 0)]  # Fri 19:00, Sun 09:00


def _same(fast: tuple, reference: tuple) -> bool:
    return fast[0] is reference[0] and fast[1] == reference[1]


@SETTINGS
@given(dialplans, st.lists(numbers, min_size=1, max_size=6), st.sampled_from([None, "5", "12", "123"]),
       st.sampled_from(WHEN))
def test_every_fast_path_gives_the_reference_answer_and_cost(plan, nums, cid, when):
    text = conf_text(*plan)
    memo = Dialplan.from_string(text)
    fresh = Dialplan.from_string(text, cache_size=0)
    for ctx in memo.contexts:
        for number in nums:
            for mode in MODES:
                for prio in (1, 2, -1):
                    for engine in ("linear", "trie"):
                        args = (number, ctx, engine, mode, cid, prio, when)
                        ref = memo.reference_lookup(*args)
                        assert ref[1].contexts_searched >= 1
                        for _ in range(2):  # computed, then from the memo
                            got = memo.lookup(*args)
                            assert _same(got, ref), (text, args, got, ref)
                        got = fresh.lookup(*args)
                        assert _same(got, fresh.reference_lookup(*args)), (text, args)
                        assert (got[0] and (got[0].context, got[0].sort_key)) == \
                            (ref[0] and (ref[0].context, ref[0].sort_key))
                    answer = ref[0] is not None
                    if prio == 1:
                        method = {"match": memo.exists, "canmatch": memo.canmatch,
                                  "matchmore": memo.matchmore}[mode]
                        for engine in ("linear", "trie"):
                            assert method(number, ctx, cid, engine, when=when) is answer
                            if mode == "match":
                                assert memo.find(number, ctx, engine, cid, when=when) is ref[0]


@SETTINGS
@given(st.lists(st.tuples(LEAD.filter(lambda s: len(s) >= 2), TAIL, END), min_size=1, max_size=12),
       st.lists(st.text(alphabet="1260", max_size=8), min_size=1, max_size=8))
def test_long_shared_prefixes_jump_and_fold_as_the_reference_walks(pats, nums):
    # every pattern starts with two or more literal digits: the trie jumps over the most
    # common run, and digits that run out inside a folded chain are counted as the walk does
    text = "[c]\n" + "".join(f"exten => _{a}{b}{c},1,NoOp\n" for a, b, c in pats)
    dp = Dialplan.from_string(text, cache_size=0)
    for number in nums:
        for mode in MODES:
            got = dp.lookup(number, "c", engine="trie", mode=mode)
            ref = dp.reference_lookup(number, "c", engine="trie", mode=mode)
            assert _same(got, ref), (text, number, mode, got, ref)
            assert got[0] is dp.lookup(number, "c", engine="linear", mode=mode)[0]
