"""Public API details: costs, caching, engines, include depth, pattern helpers."""
from __future__ import annotations

import pytest

from iaxsim.dialplan import Dialplan, DialplanError, LookupCost, MatchMode, match, sort_key
from iaxsim.dialplan.patterns import match_compiled, compile_pattern


def test_lookup_cost_counts_and_adds():
    dp = Dialplan.from_string("[c]\nexten => 100,1,NoOp\nexten => _2XX,1,NoOp\nexten => _3XX,1,NoOp\n", cache_size=0)
    ext, cost = dp.lookup("301", "c")
    assert ext.name == "_3XX"
    # linear: 100 (too short? no: lp 3 == ld 3, differs at char 1), _2XX fails at char 1, _3XX matches 3 chars
    assert (cost.comparisons, cost.chars_compared, cost.contexts_searched) == (3, 1 + 1 + 3, 1)
    _, tcost = dp.lookup("301", "c", engine="trie")
    # trie: literal root (no '3' below it), then pattern root -> '3' -> X -> X
    assert tcost.comparisons == 1 + 4
    total = cost + tcost
    assert isinstance(total, LookupCost) and total.comparisons == 3 + 5


def test_repeated_lookups_answer_from_the_memo_with_the_same_cost():
    dp = Dialplan.from_string("[c]\nexten => _6XXX,1,NoOp\n")
    first = dp.lookup("6001", "c")
    first[1].comparisons = 99  # callers may mutate their copy
    again = dp.lookup("6001", "c")
    assert again[0] is first[0] and again[1].comparisons == 1


def test_switches_are_counted_not_consulted():
    dp = Dialplan.from_string("[c]\nswitch => IAX2/peer\nswitch => DUNDi/e164\ninclude => d\n[d]\nexten => 1,1,NoOp\n")
    ext, cost = dp.lookup("1", "c")
    assert ext.context == "d" and cost.switches == 2 and cost.contexts_searched == 2


def test_bad_arguments_raise_clear_errors():
    dp = Dialplan.from_string("[c]\nexten => 1,1,NoOp\n")
    with pytest.raises(DialplanError, match="unknown dialplan engine"):
        dp.find("1", "c", engine="regex")
    with pytest.raises(ValueError, match="unknown match mode"):
        dp.lookup("1", "c", mode="sometimes")
    with pytest.raises(DialplanError):
        dp.find(1, "c")
    assert dp.find("1", "nosuch") is None
    with pytest.raises(KeyError, match="nosuch"):
        dp.context("nosuch")


@pytest.mark.parametrize("engine", ["linear", "trie"])
def test_include_stack_is_limited_to_512_contexts(engine):
    # AST_PBX_MAX_STACK: a chain c0 -> c1 -> ... searches at most 512 contexts
    text = "".join(f"[c{i}]\ninclude => c{i + 1}\n" for i in range(600))
    text += "[c511]\nexten => 7,1,NoOp\n[c512]\nexten => 8,1,NoOp\n"
    dp = Dialplan.from_string(text)
    assert dp.find("7", "c0", engine=engine).context == "c511"
    ext, cost = dp.lookup("8", "c0", engine=engine)
    assert ext is None and cost.contexts_searched == 512


def test_match_helper_modes_and_early_match():
    assert match("_6XXX", "6001") == 1
    assert match("_6XXX", "600", MatchMode.CANMATCH) == 1
    assert match("_6XXX", "600", "match") == 0
    assert match("_6X!", "60", "matchmore") == 2
    assert match("_X.", "1", "matchmore") == 1
    assert match("_1[23", "1", "canmatch") == 1   # unclosed set: not reached yet
    assert match("_1[23", "12", "match") == 0     # reached: unconditional failure
    assert match("_X.", "_X.", "match") == 1      # data compared as a pattern first
    assert match("_N/XX", "5", "match") == 1      # '/' ends the pattern (cid separator)
    assert match_compiled(compile_pattern("6001"), "6001", MatchMode.MATCH) == (1, 4)


def test_sort_key_orders_like_reference_examples():
    names = ["_X.", "_X!", "_X", "_XX", "_NXXX", "_6XXX", "6001", "_[2-9]XXX", "_1XXXXX", "_X11111"]
    assert sorted(names, key=sort_key) == ["6001", "_1XXXXX", "_6XXX", "_NXXX", "_[2-9]XXX", "_X11111", "_XX",
                                           "_X.", "_X!", "_X"]
    assert sort_key("_NXXX") == sort_key("_[2-9]XXX") == sort_key("_n-x-x-x")
