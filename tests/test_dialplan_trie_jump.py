"""The trie's jump table: a number whose leading digits are not in it costs what the walk costs.

Expected counts are derived by hand from the walk the trie describes (LookupCost docstring):
a MATCH lookup probes the literal hash once, then visits the root and one node per
character it can follow.
"""
from __future__ import annotations

import pytest

from iaxsim.dialplan import Dialplan

# every pattern starts with four literal digits, so numbers jump 4 characters in one probe
COMPLETE = "[c]\nexten => _1234XX,1,NoOp\nexten => _1299XX,1,NoOp\nexten => _5678XX,1,NoOp\n"
# _5[6-7]XXXX puts a set right below the root's '5': the walk there is no longer a chain
INCOMPLETE = COMPLETE + "exten => _5[6-7]XXXX,1,NoOp\n"


@pytest.mark.parametrize("number, name, comparisons", [
    ("123456", "_1234XX", 1 + 4 + 3),    # hash probe, 4 jumped, the node and its two X
    ("129011", None, 1 + 4),             # root, 1, 2, 9 — no '0' below 129
    ("120000", None, 1 + 3),             # root, 1, 2 — no '0' below 12
    ("900000", None, 1 + 1),             # root only
    ("567899", "_5678XX", 1 + 4 + 3),
    ("567999", None, 1 + 4),             # root, 5, 6, 7 — no '9' below 567
])
def test_complete_jump_table_costs(number, name, comparisons):
    dp = Dialplan.from_string(COMPLETE, cache_size=0)
    ext, cost = dp.lookup(number, "c", engine="trie")
    assert (ext.name if ext else None) == name
    assert cost.comparisons == comparisons
    assert cost.chars_compared == min(len(number), comparisons)
    assert dp.lookup(number, "c")[0] is ext  # the linear engine agrees


@pytest.mark.parametrize("number, name, comparisons", [
    ("590000", None, 1 + 2),              # root, 5 — neither '9' nor [6-7] below it
    # root, 5; its '6' leads to 56, whose chain wants '7' (1 visit); then [6-7] and 4 X (5)
    ("561111", "_5[6-7]XXXX", 1 + 2 + 1 + 5),
])
def test_incomplete_jump_table_walks(number, name, comparisons):
    dp = Dialplan.from_string(INCOMPLETE, cache_size=0)
    ext, cost = dp.lookup(number, "c", engine="trie")
    assert (ext.name if ext else None) == name
    assert cost.comparisons == comparisons
    assert dp.lookup(number, "c")[0] is ext


# every pattern starts "12": the root's first two steps fold into one chain
SHARED_START = "[c]\nexten => _1234XX,1,NoOp\nexten => _1256XX,1,NoOp\n"


@pytest.mark.parametrize("number, comparisons", [
    ("900000", 1 + 1),          # the chain's '1' fails at the root
    ("190000", 1 + 2),          # root, 1 — the chain wants '2'
    ("123999", 1 + 4),          # root, 1, 2, 3 — the node below 123 wants '4'
    ("129999", 1 + 3),          # root, 1, 2 — no '9' below 12
])
def test_jump_table_misses_below_a_folded_root(number, comparisons):
    dp = Dialplan.from_string(SHARED_START, cache_size=0)
    ext, cost = dp.lookup(number, "c", engine="trie")
    assert ext is None and dp.lookup(number, "c")[0] is None
    assert cost.comparisons == comparisons
