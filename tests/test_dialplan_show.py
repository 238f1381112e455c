"""``dialplan show`` layout (pbx.c show_dialplan_helper / handle_show_dialplan) and the CLI."""
from __future__ import annotations

from pathlib import Path

from iaxsim.cli import main
from iaxsim.dialplan import Dialplan
from iaxsim.dialplan.show import show_dialplan

SEED = Path(__file__).resolve().parent.parent / "data" / "seed"

CONF = """[inner]
exten => 6001,1,Dial(IAX2/b/6001)
[outer]
include => inner
ignorepat => 9
switch => IAX2/peer/ctx
exten => _6XXX/100,1,NoOp(cid)
exten => _6XXX,1,Answer()
 same => n(dial),Dial(SIP/${EXTEN},20)
exten => 6001,hint,SIP/6001
"""

# Built by hand from the format strings: "  %-17s %-45s [%s]", "[ Context '%s' created by '%s' ]",
# "  Include =>        %-45s [%s]", "  Ignore pattern => %-45s [%s]", "  Alt. Switch =>    %-45s [%s]".
FULL = (
    "[ Context 'outer' created by 'pbx_config' ]\n"
    "  '6001' =>         hint: SIP/6001                                [pbx_config]\n"
    "  '_6XXX' (CID match '100') =>  1. NoOp(cid)                                  [pbx_config]\n"
    "  '_6XXX' =>        1. Answer()                                   [pbx_config]\n"
    "     [dial]         2. Dial(SIP/${EXTEN},20)                      [pbx_config]\n"
    "  Include =>        'inner'                                       [pbx_config]\n"
    "  Ignore pattern => '9'                                           [pbx_config]\n"
    "  Alt. Switch =>    'IAX2/peer/ctx'                               [pbx_config]\n"
    "\n"
    "[ Context 'inner' created by 'pbx_config' ]\n"
    "  '6001' =>         1. Dial(IAX2/b/6001)                          [pbx_config]\n"
    "\n"
    "-= 4 extensions (5 priorities) in 2 contexts. =-\n"
)

# The include is recursed into inside the includes loop, before the context's ignore
# patterns and switches are printed (show_dialplan_helper), hence the switch line after it.
ONE = (
    "[ Context 'outer' created by 'pbx_config' ]\n"
    "  '6001' =>         hint: SIP/6001                                [pbx_config]\n"
    "  '_6XXX' (CID match '100') =>  1. NoOp(cid)                                  [pbx_config]\n"
    "  '_6XXX' =>        1. Answer()                                   [pbx_config]\n"
    "     [dial]         2. Dial(SIP/${EXTEN},20)                      [pbx_config]\n"
    "[ Included context 'inner' created by 'pbx_config' ]\n"
    "  '6001' =>         1. Dial(IAX2/b/6001)                          [pbx_config]\n"
    "\n"
    "  Alt. Switch =>    'IAX2/peer/ctx'                               [pbx_config]\n"
    "\n"
    "-= 4 extensions (5 priorities) in 2 contexts. =-\n"
)


def test_full_listing_layout():
    text, ok = show_dialplan(Dialplan.from_string(CONF))
    assert ok and text == FULL


def test_number_at_context_listing_recurses_into_includes():
    dp = Dialplan.from_string(CONF)
    text, ok = show_dialplan(dp, "6001@outer")
    assert ok and text == ONE
    assert [(e.name, e.cid, e.context) for e in dp.matches("6001", "outer")] == [
        ("6001", None, "outer"), ("_6XXX", "100", "outer"), ("_6XXX", None, "outer"), ("6001", None, "inner")]


def test_failures_are_reported_like_asterisk():
    dp = Dialplan.from_string(CONF)
    assert show_dialplan(dp, "nosuch") == ("There is no existence of 'nosuch' context\n", False)
    assert show_dialplan(dp, "7001@inner") == ("There is no existence of 7001@inner extension\n", False)


def test_cli_show_find_resolve(capsys, tmp_path):
    assert main(["dialplan", "show", "6001@external", "--conf", str(SEED / "serverB" / "external.conf")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "[ Context 'external' created by 'pbx_config' ]"
    assert out.endswith("-= 1 extension (2 priorities) in 1 context. =-\n")
    assert main(["dialplan", "find", "6001@external", "--conf", str(SEED / "serverB" / "external.conf"),
                 "--engine", "trie"]) == 0
    assert "'_6XXX' in context 'external'" in capsys.readouterr().out
    assert main(["dialplan", "resolve", "6001", "--dir", str(SEED / "serverA"), "--account", "42"]) == 0
    assert "priority 1 -> serverB (internal) IAX2/c42i@cserverBi/6001@external" in capsys.readouterr().out
    assert main(["dialplan", "show", "zzz", "--conf", str(SEED / "serverB" / "external.conf")]) == 1
    bad = tmp_path / "bad.conf"
    bad.write_text("[ok]\n[broken\n")
    assert main(["dialplan", "show", "--conf", str(bad)]) == 2
    assert f"{bad}:2: parse error: no closing ']'" in capsys.readouterr().err


# Context order, read from Asterisk's source (master of the 19/20 era: main/pbx.c at
# check-spelling/asterisk 38c6bfe9, pbx/pbx_config.c at jsoref/asterisk 04b9d516; main/pbx.c of
# the 1.6/1.8 era, asterisk/asterisk c1b4f0c4, does the same):
# - pbx_config.c pbx_load_config walks the categories in file order, skipping general/globals, and
#   asks ast_context_find_or_create for each one on its private list;
# - pbx.c ast_context_find_or_create returns an existing context of that name untouched, and links
#   a new one in at the head of the list, so the private list ends up newest first;
# - pbx.c ast_merge_contexts_and_delete makes that private list the live one as it is (it only
#   adds, also at the head, contexts other modules had registered; on a fresh load there are none);
# - pbx.c ast_walk_contexts follows the live list from its head and show_dialplan_helper prints in
#   that walk order; nothing sorts the contexts.
# Hence [a] [b] [c] in the file print as c, b, a; a repeated [a] keeps its first place; an empty
# section is still a context and is printed with its header. Within a context (same pbx.c):
# extensions follow the ext_cmp order ast_add_extension2_lockopt inserts them in, priorities
# ascend (add_priority), and includes, ignore patterns and switches are appended in file order
# (ast_context_add_include2 / _ignorepat2 / _switch2) and printed in that order.
ORDER_CONF = """[general]
static=yes
[globals]
X=1
[a]
exten => 2,1,NoOp(a2)
[b]
[c]
include => z
include => y
exten => _X.,3,NoOp(three)
exten => _X.,1,NoOp(one)
exten => 5,1,NoOp(five)
ignorepat => 9
ignorepat => 8
switch => IAX2/p/q
switch => IAX2/a/b
[a]
exten => 1,1,NoOp(a1)
[y]
[z]
"""


def _row(left: str, right: str) -> str:
    # the extension/include row format of show_dialplan_helper: two spaces, %-17s, %-45s, [registrar]
    return "  %-17s %-45s [pbx_config]\n" % (left, right)


ORDER_SHOW = (
    "[ Context 'z' created by 'pbx_config' ]\n"
    "\n"
    "[ Context 'y' created by 'pbx_config' ]\n"
    "\n"
    "[ Context 'c' created by 'pbx_config' ]\n"
    + _row("'5' =>", "1. NoOp(five)")
    + _row("'_X.' =>", "1. NoOp(one)")
    + _row("", "3. NoOp(three)")
    + "  Include =>        %-45s [pbx_config]\n" % "'z'"
    + "  Include =>        %-45s [pbx_config]\n" % "'y'"
    + "  Ignore pattern => %-45s [pbx_config]\n" % "'9'"
    + "  Ignore pattern => %-45s [pbx_config]\n" % "'8'"
    + "  Alt. Switch =>    %-45s [pbx_config]\n" % "'IAX2/p/q'"
    + "  Alt. Switch =>    %-45s [pbx_config]\n" % "'IAX2/a/b'"
    + "\n"
    "[ Context 'b' created by 'pbx_config' ]\n"
    "\n"
    "[ Context 'a' created by 'pbx_config' ]\n"
    + _row("'1' =>", "1. NoOp(a1)")
    + _row("'2' =>", "1. NoOp(a2)")
    + "\n"
    "-= 4 extensions (5 priorities) in 5 contexts. =-\n"
)


def test_contexts_newest_first_as_pbx_config_builds_them():
    dp = Dialplan.from_string(ORDER_CONF)
    text, ok = show_dialplan(dp)
    assert ok
    assert text == ORDER_SHOW
    headers = [line for line in text.splitlines() if line.startswith("[ Context")]
    assert [h.split("'")[1] for h in headers] == ["z", "y", "c", "b", "a"]
