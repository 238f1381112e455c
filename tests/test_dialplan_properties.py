"""Property tests: the two engines agree; Asterisk's ordering is a total order consistent with matches."""
from __future__ import annotations

import functools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iaxsim.dialplan import Dialplan
from iaxsim.errors import ConfigError

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ELEMENTS = ["0", "1", "2", "5", "6", "9", "X", "N", "Z", "x", "n", "z", "*", "#", "-",
            "[1-3]", "[13]", "[24-6]", "[0-9]", "[5]", "[]", "[9-1]", "[1-35-7]"]
patterns = st.builds(
    lambda body, tail: "_" + "".join(body) + tail,
    st.lists(st.sampled_from(ELEMENTS), min_size=1, max_size=5),
    st.sampled_from(["", "", "", ".", "!"]),
)
literals = st.text(alphabet="0125*#-", min_size=1, max_size=4).filter(lambda s: s.strip("-"))
extens = st.one_of(patterns, literals)
entries = st.tuples(extens, st.sampled_from(["1", "2", "hint"]), st.sampled_from([None, None, "", "5", "_1X", "_[1-3]."]))
numbers = st.text(alphabet="0123456789*#-", max_size=6)


def conf_text(contexts: list[list[tuple]], includes: list[list[int | tuple[int, str]]],
              switches: list[bool] | None = None) -> str:
    """extensions.conf text: context ``c<i>`` with its includes (a context index, or an index and
    a time spec), an IAX2 switch where ``switches[i]``, then its (extension, priority, cid)s."""
    lines = []
    for i, ents in enumerate(contexts):
        lines.append(f"[c{i}]")
        for inc in includes[i]:
            target, times = inc if isinstance(inc, tuple) else (inc, "")
            lines.append(f"include => c{target}{times}")
        if switches and switches[i]:
            lines.append(f"switch => IAX2/peer{i}/ctx")
        for k, (ext, prio, cid) in enumerate(ents):
            name = ext if cid is None else f"{ext}/{cid}"
            app = "SIP/x" if prio == "hint" else f"NoOp({k})"
            lines.append(f"exten => {name},{prio},{app}")
    return "\n".join(lines) + "\n"


dialplans = st.integers(min_value=1, max_value=3).flatmap(lambda n: st.tuples(
    st.lists(st.lists(entries, max_size=12), min_size=n, max_size=n),
    st.lists(st.lists(st.integers(min_value=0, max_value=n - 1), max_size=2), min_size=n, max_size=n),
))


@SETTINGS
@given(dialplans, st.lists(numbers, min_size=1, max_size=6), st.sampled_from([None, "5", "12", "123"]))
def test_linear_and_trie_give_the_same_answer(plan, nums, cid):
    dp = Dialplan.from_string(conf_text(*plan))
    for ctx in dp.contexts:
        for number in nums:
            for mode in ("match", "canmatch", "matchmore"):
                for prio in (1, 2, -1):
                    a, _ = dp.lookup(number, ctx, engine="linear", mode=mode, callerid=cid, priority=prio)
                    b, _ = dp.lookup(number, ctx, engine="trie", mode=mode, callerid=cid, priority=prio)
                    assert a is b, (ctx, number, mode, prio, a, b)


# --- an independent transcription of pbx.c's comparison, walking strings like the C code ---
def _pos(s: bytes, i: int) -> tuple[int, int, bytearray]:
    bitwise = bytearray(32)
    while True:
        while i < len(s) and s[i] == 0x2D:
            i += 1
        if i >= len(s):
            return 0x30000, -1, bitwise
        c = s[i]
        i += 1
        ch = chr(c)
        if ch in "nN":
            bitwise[6], bitwise[7] = 0x3F, 0xC0
            return 0x0800 | ord("2"), i, bitwise
        if ch in "xX":
            bitwise[6], bitwise[7] = 0xFF, 0xC0
            return 0x0A00 | ord("0"), i, bitwise
        if ch in "zZ":
            bitwise[6], bitwise[7] = 0x7F, 0xC0
            return 0x0900 | ord("1"), i, bitwise
        if ch == ".":
            return 0x18000, i, bitwise
        if ch == "!":
            return 0x28000, i, bitwise
        if ch != "[":
            bitwise[c // 8] = 1 << (7 - c % 8)
            return 0x0100 | c, i, bitwise
        end = s.find(b"]", i)
        if end < 0:
            return 0x40000, i, bitwise
        count, cmin = 0, 0xFF
        while i < end:
            c1 = s[i]
            if i + 2 < end and s[i + 1] == 0x2D:
                c2 = s[i + 2]
                i += 2
            else:
                c2 = c1
            cmin = min(cmin, c1)
            for c in range(c1, c2 + 1):
                mask = 1 << (7 - c % 8)
                if not bitwise[c // 8] & mask:
                    bitwise[c // 8] |= mask
                    count += 0x100
            i += 1
        i += 1
        if count:
            return count | cmin, i, bitwise


def ref_ext_cmp(left: str, right: str) -> int:
    """pbx.c ext_cmp, transcribed step by step (sign only)."""
    if not left.startswith("_"):
        if right.startswith("_"):
            return -1
        a, b = left.replace("-", "").encode(), right.replace("-", "").encode()
        return (a > b) - (a < b)
    if not right.startswith("_"):
        return 1
    l, r = left[1:].encode(), right[1:].encode()
    i = j = 0
    while True:
        ls, i, lb = _pos(l, i)
        rs, j, rb = _pos(r, j)
        cmp = ls - rs
        if not cmp:
            cmp = (bytes(rb) > bytes(lb)) - (bytes(rb) < bytes(lb))
        if cmp:
            return (cmp > 0) - (cmp < 0)
        if i < 0:
            return 0


@SETTINGS
@given(st.lists(extens, min_size=2, max_size=8))
def test_sort_order_is_pbx_ext_cmp_and_total(names):
    from iaxsim.dialplan.patterns import exten_cmp

    for a in names:
        for b in names:
            assert exten_cmp(a, b) == ref_ext_cmp(a, b), (a, b)
            assert exten_cmp(a, b) == -exten_cmp(b, a)
    ordered = sorted(names, key=functools.cmp_to_key(exten_cmp))
    for a, b in zip(ordered, ordered[1:]):
        assert ref_ext_cmp(a, b) <= 0


@SETTINGS
@given(st.lists(entries, min_size=1, max_size=12), st.lists(numbers, min_size=1, max_size=5))
def test_matches_follow_the_sorted_order_and_find_takes_the_first(ents, nums):
    dp = Dialplan.from_string(conf_text([ents], [[]]))
    ctx = dp.contexts["c0"]
    from iaxsim.dialplan.patterns import match

    for number in nums:
        got = dp.matches(number, "c0")
        expected = [e for e in ctx.sorted_extensions() if match(e.name, number, "match")]
        assert got == expected
        keys = [e.sort_key for e in got]
        assert keys == sorted(keys)
        first = next((e for e in got if e.has_priority(1) and not e.cid), None)
        assert dp.find(number, "c0") is first


FUZZ_ALPHABET = st.sampled_from([
    "[", "]", "(", ")", "!", "+", ",", ";", ";--", "--;", "\\", "=", "=>", "#include", "#", "\n",
    "exten", "same", "include", "switch", "ignorepat", "n", "hint", "_", "X", ".", "/", " ", "1", "ctx", "${A}",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(FUZZ_ALPHABET, max_size=60).map("".join), numbers)
def test_fuzzed_text_never_crashes_the_loader(text, number):
    try:
        dp = Dialplan.from_string(text, "fuzz.conf")
    except ConfigError as err:
        assert str(err).startswith("fuzz.conf:")
        return
    for w in dp.warnings:
        assert w.path == "fuzz.conf" and isinstance(w.line, int)
    for ctx in dp.contexts:
        for engine in ("linear", "trie"):
            dp.lookup(number, ctx, engine=engine, mode="canmatch")
        dp.matches(number, ctx)


FIXED = Dialplan.from_string("""[c]
exten => _X.,1,NoOp
exten => _[a-c]!,1,NoOp
exten => s,1,NoOp
exten => é1,1,NoOp
exten => _1[]2/_5.,1,NoOp
include => d
[d]
exten => _N!,1,NoOp
""", cache_size=0)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=8), st.one_of(st.none(), st.text(max_size=4)))
def test_any_dialled_text_is_answered_without_crashing_and_engines_agree(number, cid):
    for mode in ("match", "canmatch", "matchmore"):
        a, _ = FIXED.lookup(number, "c", engine="linear", mode=mode, callerid=cid)
        b, _ = FIXED.lookup(number, "c", engine="trie", mode=mode, callerid=cid)
        assert a is b
