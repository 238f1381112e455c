"""The hand-derived table: (dialplan, context, number, mode) -> the extension Asterisk answers.

Every expected answer in tests/data/dialplan/cases.txt was worked out by hand from the rules
cited in its ``rule`` column (the ``main/pbx.c`` functions named below); both
engines must give it, and ``exists``/``canmatch``/``matchmore`` must agree with it.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from iaxsim.dialplan import Dialplan

DATA = Path(__file__).parent / "data" / "dialplan"

RULES = {
    "R1": "literals sort before patterns (main/pbx.c ext_cmp)",
    "R2": "per-position score, leftmost differing position decides (ext_cmp_pattern_pos; §2.3)",
    "R3": "equal score: membership bitmap, lower character first (ext_cmp_pattern; §2.3)",
    "R4": "'.' matches one or more and decides at once (_extension_match_core; §2.2)",
    "R5": "'!' matches zero or more, early match (_extension_match_core; §2.2)",
    "R6": "MATCHMORE on a '!' pattern is a final no for that context (pbx_find_extension; §2.2)",
    "R7": "literal CANMATCH/MATCHMORE: dialled string is a prefix (_extension_match_core; §2.2)",
    "R8": "pattern ran out of digits: CANMATCH/MATCHMORE yes, MATCH no (_extension_match_core; §2.2)",
    "R9": "'-' ignored in extensions and dialled strings (ext_cmp_exten, ext_strncpy; §2.1)",
    "R10": "the extension must have the priority asked for, else the walk goes on (pbx_find_extension)",
    "R11": "caller-ID variants sort first; matchcid (ast_add_extension2_lockopt, matchcid; §2.1)",
    "R12": "local, then includes in order depth-first, each context once (pbx_find_extension; §2.5)",
    "R13": "[...] sets with ranges and several ranges (_extension_match_core; §2.1)",
    "R14": "empty set skipped while digits remain, reversed range never matches (_extension_match_core)",
    "R15": "an alias spelling with the same key joins or is refused (add_priority; §2.3)",
    "R16": "N, X, Z in any case (_extension_match_core, ext_cmp_pattern_pos)",
    "R17": "nothing matches",
}
MODES = {"M": "match", "C": "canmatch", "MM": "matchmore"}


def _load_cases() -> list[tuple]:
    rows = []
    for lineno, line in enumerate((DATA / "cases.txt").read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        ctx, number, mode, cid, prio, expected, rule = line.split("|")
        number = "" if number == "<e>" else number
        rows.append(pytest.param(ctx, number, MODES[mode], None if cid == "-" else cid, int(prio),
                                 None if expected == "-" else expected, rule,
                                 id=f"L{lineno}-{ctx}-{number or 'empty'}-{mode}"))
    return rows


CASES = _load_cases()


@pytest.fixture(scope="module")
def dp() -> Dialplan:
    return Dialplan.from_file(DATA / "cases_plans.conf")


def _label(ext) -> str | None:
    if ext is None:
        return None
    cid = f"/{ext.cid}" if ext.cid is not None else ""
    return f"{ext.name}{cid}@{ext.context}"


def test_table_is_large_and_cites_known_rules():
    assert len(CASES) >= 300
    assert {c.values[6] for c in CASES} <= set(RULES)


@pytest.mark.parametrize("ctx,number,mode,cid,prio,expected,rule", CASES)
@pytest.mark.parametrize("engine", ["linear", "trie"])
def test_case(dp, engine, ctx, number, mode, cid, prio, expected, rule):
    ext, cost = dp.lookup(number, ctx, engine=engine, mode=mode, callerid=cid, priority=prio)
    assert _label(ext) == expected, RULES[rule]
    assert cost.contexts_searched >= 1
    predicate = {"match": dp.exists, "canmatch": dp.canmatch, "matchmore": dp.matchmore}[mode]
    assert predicate(number, ctx, callerid=cid, engine=engine, priority=prio) is (expected is not None)


def test_plans_load_with_the_warnings_asterisk_logs(dp):
    messages = [w.message for w in dp.warnings]
    assert "Unable to register extension '_9X' priority 1 in 'odd', already in use by aliased extension '_9[9-1]X'" in messages
    assert "Unable to register extension '_[2-9]XX' priority 1 in 'alias', already in use by aliased extension '_NXX'" in messages
    assert "Unable to register extension '6001' priority 1 in 'alias', already in use" in messages
    assert sum(m.startswith("Unable to register extension at line") for m in messages) == 3
    assert len(messages) == 6


def test_alias_with_new_priority_joins_the_first_spelling(dp):
    ext = dp.find("234", "alias", priority=2)
    assert ext.name == "_NXX"
    assert [(p.number, p.data, p.name) for p in ext.priorities] == [(1, "first", "_NXX"), (2, "third", "_[2-9]XX")]
    lit = dp.find("6001", "alias")
    assert [p.data for p in lit.priorities] == ["a"]
