"""The linear index answers what the plain linear walk answers and counts what it counts.

``linear.search`` is the definition of Asterisk's linear lookup (pbx.c ``pbx_find_extension``
with ``extenpatternmatchnew=no``) and of its cost; the index only skips extensions whose
failure the first characters already decide.  On seeded random contexts (literals, X/N/Z,
sets and ranges, broken sets, '.', '!', '-', '/', mixed lengths, caller-ID variants, several
priorities) and numbers of every length, in all three modes, the index must give the same
answer, the same deciding extension and the same increments of both cost counters.
"""
from __future__ import annotations

import random

import pytest

from iaxsim.dialplan import Dialplan, LookupCost
from iaxsim.dialplan import dialplan as dialplan_module
from iaxsim.dialplan import linear
from iaxsim.dialplan.linear_index import LinearIndex
from iaxsim.dialplan.patterns import CANMATCH, MATCH, MATCHMORE, strip_fluff

MODES = (MATCH, CANMATCH, MATCHMORE)
TOKENS = ["X", "N", "Z", "x", "0", "1", "2", "4", "5", "9", "*", "#", "[1-3]", "[135]", "[0-9]",
          "[9-1]", "[]", "[", "-", "/1"]


def _pattern(rng: random.Random) -> str:
    body = "".join(rng.choice(TOKENS) if rng.random() < 0.5 else rng.choice("0124")
                   for _ in range(rng.randint(0, 6)))
    end = rng.choice(["", "", "", "", ".", "!"])
    return "_" + body + end if body + end else "_X"


def _literal(rng: random.Random) -> str:
    text = "".join(rng.choice("01245*#-") for _ in range(rng.randint(1, 7)))
    return text if text.strip("-") else "1"


def random_context(rng: random.Random, size: int) -> str:
    """extensions.conf text of one context ``c`` with ``size`` entries."""
    lines = ["[c]"]
    for k in range(size):
        ext = _pattern(rng) if rng.random() < 0.7 else _literal(rng)
        cid = rng.choice([None] * 6 + ["", "5", "_1X", "_[1-3].", "12"])
        prio = rng.choice(["1", "1", "2", "hint"])
        name = ext if cid is None else f"{ext}/{cid}"
        app = "SIP/x" if prio == "hint" else f"NoOp({k})"
        lines.append(f"exten => {name},{prio},{app}")
    return "\n".join(lines) + "\n"


def random_number(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.05:
        return ""
    if kind < 0.1:
        return "_" + "".join(rng.choice("12X") for _ in range(rng.randint(0, 4)))
    alphabet = "0124" if kind < 0.7 else "0124*#-a"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 9)))


def _walk(search, data, mode, cid, prio):  # type: ignore[no-untyped-def]
    cost = LookupCost(comparisons=7, chars_compared=11)  # the walks add to what is there
    answer = search(data, mode, cid, prio, cost)
    return answer, (cost.comparisons, cost.chars_compared)


@pytest.mark.parametrize("seed", range(4))
def test_index_counts_what_the_walk_counts(seed):
    rng = random.Random(seed)
    for _ in range(8):
        dp = Dialplan.from_string(random_context(rng, rng.randint(1, 120)), cache_size=0)
        exts = dp.contexts["c"].sorted_extensions()
        index = LinearIndex(exts, depth=rng.randint(1, 4))
        for _ in range(25):
            data = strip_fluff(random_number(rng))
            for mode in MODES:
                for cid in (None, "", "5"):
                    for prio in (1, 2, -1):
                        want = _walk(lambda *a: linear.search(exts, *a), data, mode, cid, prio)
                        got = _walk(index.search, data, mode, cid, prio)
                        assert got[0][0] is want[0][0] and got[0][1] is want[0][1], (data, mode, cid, prio)
                        assert got[1] == want[1], (data, mode, cid, prio)


def test_index_on_a_link_conf_of_five_digit_blocks():
    # the shape that made the walk slow: thousands of 5-digit patterns and literals
    rng = random.Random(42)
    lines = ["[link]"]
    for k in range(2400):
        head = f"{rng.randint(10, 99)}{rng.randint(0, 9)}"
        form = rng.random()
        ext = (f"_{head}{rng.randint(0, 9)}X" if form < 0.4 else f"_{head}[{rng.randint(0, 4)}-{rng.randint(5, 9)}]X"
               if form < 0.6 else f"{head}{rng.randint(0, 99):02d}")
        lines.append(f"exten => {ext},1,Dial(IAX2/s{k % 50}/${{EXTEN}})")
        lines.append(f"exten => {ext},2,Dial(IAX2/s{(k + 1) % 50}/${{EXTEN}})")
    dp = Dialplan.from_string("\n".join(lines) + "\n", cache_size=0)
    exts = dp.contexts["link"].sorted_extensions()
    index = LinearIndex(exts)
    for _ in range(25):
        number = "".join(rng.choice("0123456789") for _ in range(5))
        for data in (number[:i] for i in range(6)):
            for mode in MODES:
                for prio in (1, 3):
                    want = _walk(lambda *a: linear.search(exts, *a), data, mode, None, prio)
                    got = _walk(index.search, data, mode, None, prio)
                    assert got[0][0] is want[0][0] and got[1] == want[1], (data, mode, prio)


def test_counted_by_hand():
    text = ("[c]\nexten => 100,1,NoOp\nexten => 7001,1,NoOp\nexten => 7002,1,NoOp\n"
            "exten => _5XXX,1,NoOp\nexten => _7[0-1]0X,1,NoOp\nexten => _70XX,1,NoOp\n")
    dp = Dialplan.from_string(text, cache_size=0)
    exts = dp.contexts["c"].sorted_extensions()
    assert [e.name for e in exts] == ["100", "7001", "7002", "_5XXX", "_70XX", "_7[0-1]0X"]
    index = LinearIndex(exts, depth=2)
    # 7003: 100 is shorter than the number (tested, nothing compared); 7001 and 7002 differ at
    # the 4th character (4 each); _5XXX fails on the first (1); _70XX matches reading all 4
    cost = LookupCost()
    assert index.search("7003", MATCH, None, 1, cost) == (exts[4], exts[4])
    assert (cost.comparisons, cost.chars_compared) == (5, 13)
    # 6003: 100 (0), then every other extension fails on the first character (1 each)
    cost = LookupCost()
    assert index.search("6003", MATCH, None, 1, cost) == (None, None)
    assert (cost.comparisons, cost.chars_compared) == (6, 5)
    # 71, CANMATCH: 100 fails on the first character (1); 7001 and 7002 on the second (2 each);
    # _5XXX on the first (1); _70XX on the second (2); _7[0-1]0X reads both and can match (2)
    cost = LookupCost()
    assert index.search("71", CANMATCH, None, 1, cost) == (exts[5], exts[5])
    assert (cost.comparisons, cost.chars_compared) == (6, 10)
    # priority 2 exists nowhere: the walk goes to the end, _7[0-1]0X matching too (7003:
    # 0 + 4 + 4 + 1 + 4 + 4)
    cost = LookupCost()
    assert index.search("7003", MATCH, None, 2, cost) == (None, None)
    assert (cost.comparisons, cost.chars_compared) == (6, 17)


def test_index_falls_back_for_a_stop_key():
    dp = Dialplan.from_string("[c]\nexten => _1X,1,NoOp\nexten => _2X,1,NoOp\nexten => _X.,1,NoOp\n",
                              cache_size=0)
    exts = dp.contexts["c"].sorted_extensions()
    index = LinearIndex(exts)
    for stop in (exts[1].sort_key, exts[2].sort_key):
        want, got = LookupCost(), LookupCost()
        assert index.search("25", MATCH, None, 1, got, stop) == linear.search(exts, "25", MATCH, None, 1, want, stop)
        assert got == want


def test_index_is_rebuilt_when_the_context_grows():
    dp = Dialplan.from_string("[c]\n" + "".join(f"exten => _{i:02d}X,1,NoOp\n" for i in range(40)),
                              cache_size=0)
    assert dp.lookup("990", "c")[0] is None
    ctx = dp.contexts["c"]
    first = dp._linear_index(ctx)
    dp2 = Dialplan.from_string("[c]\nexten => _99X,1,NoOp\n", cache_size=0)
    ctx.extensions.append(dp2.contexts["c"].extensions[0])
    assert dp._linear_index(ctx) is not first
    assert dp.lookup("990", "c")[0] is ctx.extensions[-1]
    assert dp.lookup("990", "c") == dp.reference_lookup("990", "c")


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("threshold", [0, 32])
def test_dialplan_linear_lookup_matches_the_reference(seed, threshold, monkeypatch):
    monkeypatch.setattr(dialplan_module, "LINEAR_INDEX_MIN", threshold)
    rng = random.Random(100 + seed)
    parts = []
    for i in range(3):
        body = random_context(rng, rng.randint(10, 80)).replace("[c]", f"[c{i}]")
        includes = "".join(f"include => c{j}\n" for j in range(3) if j != i and rng.random() < 0.5)
        switch = "switch => IAX2/peer/ctx\n" if rng.random() < 0.5 else ""
        parts.append(body.replace(f"[c{i}]\n", f"[c{i}]\n{includes}{switch}", 1))
    text = "".join(parts)
    memo = Dialplan.from_string(text)
    fresh = Dialplan.from_string(text, cache_size=0)
    for _ in range(30):
        number = random_number(rng)
        for ctx in ("c0", "c1", "c2"):
            for mode in ("match", "canmatch", "matchmore"):
                for cid in (None, "5"):
                    for prio in (1, 2):
                        args = (number, ctx, "linear", mode, cid, prio)
                        ref = fresh.reference_lookup(*args)
                        for dp in (memo, fresh):
                            got = dp.lookup(*args)
                            assert got[0] is not None or ref[0] is None
                            assert (got[0] and got[0].sort_key) == (ref[0] and ref[0].sort_key), (text, args)
                            assert got[1] == ref[1], (text, args)


def test_sample_extensions_conf_through_the_index(asterisk_sample_conf, monkeypatch):
    monkeypatch.setattr(dialplan_module, "LINEAR_INDEX_MIN", 0)
    dp = Dialplan.from_file(asterisk_sample_conf, cache_size=0)
    numbers = ["", "s", "1234", "7001", "7999", "55", "1234*256", "1234*2", "011441234567890",
               "18005551212", "6000", "8500", "500", "600", "i", "t", "#", "*", "0", "911"]
    for ctx in dp.contexts:
        for number in numbers:
            for mode in ("match", "canmatch", "matchmore"):
                for prio in (1, 2, 50000):
                    got = dp.lookup(number, ctx, mode=mode, priority=prio)
                    ref = dp.reference_lookup(number, ctx, mode=mode, priority=prio)
                    assert got[0] is ref[0] and got[1] == ref[1], (ctx, number, mode, prio)
    assert dp.find("7001", "default").name == "_7XXX"


def test_a_pickled_dialplan_leaves_its_indexes_behind_and_builds_them_again():
    import pickle

    text = "[c]\n" + "".join(f"exten => _{i:02d}X,1,NoOp\nexten => {i:02d}5,1,NoOp\n" for i in range(40))
    dp = Dialplan.from_string(text, cache_size=0)
    before = [dp.lookup(n, "c", mode=m) for n in ("1", "12", "125", "1255", "991") for m in MODES]
    assert dp._linear_indexes
    copy = pickle.loads(pickle.dumps(dp))
    assert not copy._linear_indexes
    after = [copy.lookup(n, "c", mode=m) for n in ("1", "12", "125", "1255", "991") for m in MODES]
    assert [(a and a.sort_key, c) for a, c in after] == [(a and a.sort_key, c) for a, c in before]
    # and what the rebuilt index answers is still the walk's answer and cost
    assert after[6] == copy.reference_lookup("125", "c", mode=MATCH)
