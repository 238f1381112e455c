"""Loading extensions.conf: config.c syntax, pbx_config semantics, warnings and errors with file:line."""
from __future__ import annotations

import pytest

from iaxsim.dialplan import Dialplan
from iaxsim.errors import ConfigError


def load(text: str, **kw) -> Dialplan:
    return Dialplan.from_string(text, path="t.conf", **kw)


def msgs(dp: Dialplan) -> list[str]:
    return [str(w) for w in dp.warnings]


def test_exten_same_n_labels_and_priorities():
    dp = load("""[c]
exten => 100,1,Answer()
 same => n(again),Playback(hello)
 same => n+2,Hangup
exten => 100,hint,SIP/100
exten => 200,10,NoOp(x)
exten => 200,n,NoOp(y)
""")
    ext = dp.find("100", "c")
    assert [(p.number, p.label, p.app, p.data) for p in ext.priorities] == [
        (-1, None, "SIP/100", ""), (1, None, "Answer", ""), (2, "again", "Playback", "hello"), (5, None, "Hangup", "")]
    assert [p.line for p in ext.priorities] == [5, 2, 3, 4]
    assert dp.find("200", "c") is None  # no priority 1
    assert [p.number for p in dp.find("200", "c", priority=10).priorities] == [10, 11]
    assert dp.warnings == []


def test_next_after_a_hint_is_skipped_and_does_not_move_lastpri():
    dp = load("[c]\nexten => 1,hint,SIP/1\nexten => 1,n,NoOp(a)\nexten => 1,n,NoOp(b)\n")
    assert [(p.number, p.data) for p in dp.find("1", "c", priority=-1).priorities] == [(-1, ""), ]
    assert len(dp.warnings) == 2


def test_next_priority_continues_across_extensions_as_pbx_config_does():
    # lastpri is per context, not per extension (pbx_config.c).
    dp = load("[c]\nexten => 1,1,NoOp\nexten => 2,n,NoOp\n")
    assert dp.find("2", "c") is None
    assert dp.find("2", "c", priority=2).priorities[0].number == 2


def test_application_arguments_keep_variables_commas_and_brackets():
    dp = load("[c]\nexten => _6XXX,1,Dial(IAX2/c${ACCOUNT}i@cserverBi/${EXTEN}@external,20,tT)\n"
              "exten => _[1,2]X,1,Set(A=$[${X} + 1])\n")
    p = dp.find("6001", "c").priorities[0]
    assert (p.app, p.data) == ("Dial", "IAX2/c${ACCOUNT}i@cserverBi/${EXTEN}@external,20,tT")
    q = dp.find("15", "c").priorities[0]
    assert dp.find("15", "c").name == "_[1,2]X"
    assert (q.app, q.data) == ("Set", "A=$[${X} + 1]")


def test_variable_before_parenthesis_keeps_whole_application():
    dp = load("[c]\nexten => 100,hint,DAHDI/g0/${GLOBAL(var)}\n")
    p = dp.find("100", "c", priority=-1).priorities[0]
    assert (p.app, p.data) == ("DAHDI/g0/${GLOBAL(var)}", "")


def test_comments_escapes_and_block_comments():
    dp = load("""[c] ; a context
exten => 1,1,NoOp(a\\;b) ; trailing
;-- a block comment
exten => 2,1,NoOp(hidden)
;-- nested --;
still hidden
--;
exten => 3,1,NoOp(x) ;-- inline --; ignored
exten => 4,1,NoOp(y;--
exten => 5,1,hidden
--;z)
""")
    assert dp.find("1", "c").priorities[0].data == "a;b"
    assert dp.find("2", "c") is None
    assert dp.find("3", "c").priorities[0].data == "x"
    # config.c processes each physical line: the text before a block comment that spans
    # lines is one line, the text after its end another one
    assert dp.find("4", "c").priorities[0].data == "y"
    assert dp.find("5", "c") is None
    # (config.c reads the whole file before pbx_config builds contexts: its warnings come first)
    assert msgs(dp) == ["t.conf:11: No '=' (equal sign) in line 11 of t.conf",
                        "t.conf:9: No closing parenthesis found? 'NoOp(y' at line 9 of t.conf"]


def test_unterminated_block_comment_is_reported():
    dp = load("[c]\nexten => 1,1,NoOp\n;-- open\nexten => 2,1,NoOp\n")
    assert msgs(dp) == ["t.conf:3: Unterminated comment detected beginning on line 3"]
    assert dp.find("2", "c") is None


def test_templates_and_inheritance_keep_origin_lines():
    dp = load("""[base](!)
exten => i,1,Playback(invalid)
[extra](!)
exten => t,1,Hangup
[office](base,extra)
exten => 100,1,Dial(SIP/100)
[office2](office)
""")
    assert "base" not in dp.contexts and "extra" not in dp.contexts
    assert dp.order == ["office", "office2"]
    off = dp.contexts["office"]
    assert [(e.name, e.priorities[0].line) for e in off.sorted_extensions()] == [("100", 6), ("i", 2), ("t", 4)]
    assert {e.name for e in dp.contexts["office2"].extensions} == {"100", "i", "t"}


def test_append_to_existing_category_and_duplicate_sections_merge():
    dp = load("[c]\nexten => 1,1,NoOp\n[d]\nexten => 9,1,NoOp\n[c](+)\nexten => 2,1,NoOp\n[c]\nexten => 3,1,NoOp\n")
    assert [e.name for e in dp.contexts["c"].sorted_extensions()] == ["1", "2", "3"]
    assert dp.order == ["c", "d"]


def test_general_and_globals_are_settings_and_globals_expand_in_extension_names():
    dp = load("[general]\nstatic=yes\n[globals]\nPREFIX=6\n[c]\nexten => _${PREFIX}XXX,1,Dial(${PREFIX})\n")
    assert dp.general == {"static": "yes"}
    assert dp.globals == {"PREFIX": "6"}
    assert list(dp.contexts) == ["c"]
    ext = dp.find("6001", "c")
    assert ext.name == "_6XXX" and ext.priorities[0].data == "${PREFIX}"


def test_include_switch_ignorepat_and_timespec_kept_verbatim():
    dp = load("[c]\ninclude => d,09:00-17:00,mon-fri,*,*\nswitch => IAX2/peer/ctx\nignorepat => 9\n[d]\n")
    ctx = dp.contexts["c"]
    inc = ctx.includes[0]
    assert (inc.name, inc.target, inc.timespec) == ("d,09:00-17:00,mon-fri,*,*", "d", "09:00-17:00,mon-fri,*,*")
    sw = ctx.switches[0]
    assert (sw.module, sw.data, sw.evaluate) == ("IAX2", "peer/ctx", False)
    assert ctx.ignorepats == ["9"]
    assert dp.ignorepat("9", "c") and dp.ignorepat("91", "c") is False


def test_callerid_qualified_extension():
    dp = load("[c]\nexten => 1000/_6XXX,1,NoOp(from6)\nexten => 1000,1,NoOp(other)\n")
    assert dp.find("1000", "c", callerid="6001").cid == "_6XXX"
    assert dp.find("1000", "c", callerid="7001").cid is None
    assert dp.find("1000", "c").priorities[0].data == "other"


@pytest.mark.parametrize("text,line,message", [
    ("[c]\nexten => 1,n,NoOp\n", 2, "Can't use 'next' priority on the first entry at line 2 of t.conf!"),
    ("[c]\nexten => 1,s,NoOp\n", 2, "Can't use 'same' priority on the first entry at line 2 of t.conf!"),
    ("[c]\nsame => n,NoOp\n", 2, "No previous pattern in the first entry of context 'c' to match 'same' at line 2 of t.conf!"),
    ("[c]\nexten => 1,1(lab,NoOp\n", 2, "Label missing trailing ')' at line 2 of t.conf"),
    ("[c]\nexten => 1,0,NoOp\n", 2, "Invalid priority '0' at line 2 of t.conf"),
    ("[c]\nexten => 1,foo,NoOp\n", 2, "Invalid priority/label 'foo' at line 2 of t.conf"),
    ("[c]\nexten => 1,1,NoOp(open\n", 2, "No closing parenthesis found? 'NoOp(open' at line 2 of t.conf"),
    ("[c]\nexten => _.,1,NoOp\n", 2, "The use of '_.' for an extension is strongly discouraged and can have unexpected behavior.  Please use '_X.' instead at line 2 of t.conf"),
    ("[c]\nfoo => bar\n", 2, "==!!== Unknown directive: foo at line 2 of t.conf -- IGNORING!!!"),
    ("[c]\njust words\n", 2, "No '=' (equal sign) in line 2 of t.conf"),
    ("[c]\ninclude => nowhere\n", 2, "Context 'c' tries to include nonexistent context 'nowhere'"),
    ("[c]\ninclude => d\ninclude => d\n[d]\n", 3, "Context 'd' already included in 'c' context on include at line 3 of t.conf"),
    ("[c]\nexten => 1,1,A\nexten => 1,1,B\n", 3, "Unable to register extension '1' priority 1 in 'c', already in use"),
    ("[c]\n#bogus x\n", 2, "Unknown directive '#bogus' at line 2 of t.conf"),
    ("[c]\n#exec /bin/true\n", 2, "Cannot perform #exec unless execincludes option is enabled in asterisk.conf (options section)!"),
    ("[c]\nexten => 1,1(a),A\nexten => 1,2(a),B\n", 3, "Extension '1' priority 2 in 'c', label 'a' already in use at priority 1"),
    ("[c]\nexten => 1,hint,SIP/1\nexten => 1,n,NoOp\n", 3, "Priority works out to 0 at line 3 of t.conf; Asterisk skips this line"),
])
def test_warnings_name_file_and_line(text, line, message):
    dp = load(text)
    assert (dp.warnings[0].path, dp.warnings[0].line, dp.warnings[0].message) == ("t.conf", line, message)
    assert str(dp.warnings[0]) == f"t.conf:{line}: {message}"
    with pytest.raises(ConfigError) as err:
        load(text, strict=True)
    assert str(err.value) == f"t.conf:{line}: {message}"


@pytest.mark.parametrize("text,line,fragment", [
    ("[c\nexten => 1,1,NoOp\n", 1, "no closing ']'"),
    ("[c](!\n", 1, "no closing ')'"),
    ("[c](nosuch)\n", 1, "Inheritance requested, but category 'nosuch' does not exist"),
    ("[c](+)\n", 1, "Category addition requested, but category 'c' does not exist"),
    ("exten => 1,1,NoOp\n", 1, "No category context"),
    ("[c]\n\n#include other.conf\n", 3, "#include"),
])
def test_text_asterisk_cannot_load_is_an_error(text, line, fragment):
    with pytest.raises(ConfigError) as err:
        load(text)
    assert err.value.path == "t.conf" and err.value.line == line
    assert fragment in str(err.value)
    assert str(err.value).startswith(f"t.conf:{line}: ")


def test_include_files_relative_to_including_file(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "more.conf").write_text("exten => 2,1,NoOp(from more)\n[other]\nexten => 3,1,NoOp\n")
    (sub / "a.conf").write_text("[g1]\nexten => 7,1,NoOp\n")
    (sub / "b.conf").write_text("[g2]\nexten => 8,1,NoOp\n")
    (sub / "main.conf").write_text("[c]\n#include \"more.conf\"\nexten => 1,1,NoOp\n#tryinclude missing.conf\n#include a*.conf\n")
    dp = Dialplan.from_file(sub / "main.conf")
    # lines after #include go on in the includer's category (config.c keeps its own 'cat')
    assert sorted(e.name for e in dp.contexts["c"].extensions) == ["1", "2"]
    assert [e.name for e in dp.contexts["other"].extensions] == ["3"]
    assert "g1" in dp.contexts and "g2" not in dp.contexts
    two = dp.find("2", "c").priorities[0]
    assert two.path.endswith("more.conf") and two.line == 1
    assert dp.warnings == []


def test_missing_include_and_include_loop_are_errors(tmp_path):
    (tmp_path / "main.conf").write_text("[c]\n#include nothere.conf\n")
    with pytest.raises(ConfigError) as err:
        Dialplan.from_file(tmp_path / "main.conf")
    assert err.value.line == 2 and err.value.path.endswith("main.conf")
    (tmp_path / "loop.conf").write_text("[c]\n#include loop.conf\n")
    with pytest.raises(ConfigError) as err:
        Dialplan.from_file(tmp_path / "loop.conf")
    assert "Maximum Include level (10) exceeded" in str(err.value)


def test_default_context_for_headerless_fragments():
    dp = Dialplan.from_string("exten => _6XXX,1,NoOp\n", "link.conf", default_context="link")
    assert dp.find("6001", "link").name == "_6XXX"


def test_label_priorities_are_found_by_matching_like_findlabel():
    dp = load("""[c]
exten => _6XXX,1(start),Answer()
exten => 6001,start+2,NoOp(jumps)
exten => _7XXX,1,NoOp
exten => 7001,nolabel,NoOp
""")
    # '6001' matches _6XXX, which carries the label: priority 1 + 2
    assert dp.find("6001", "c", priority=3).priorities[0].data == "jumps"
    assert [str(w) for w in dp.warnings] == ["t.conf:5: Invalid priority/label 'nolabel' at line 5 of t.conf"]


def test_hint_of_a_literal_expands_globals():
    dp = load("[globals]\nDEV=SIP/100\n[c]\nexten => 100,hint,${DEV}&SIP/101\nexten => _1XX,hint,${DEV}\n")
    assert dp.find("100", "c", priority=-1).priorities[0].app == "SIP/100&SIP/101"
    assert dp.find("150", "c", priority=-1).priorities[0].app == "${DEV}"


def test_block_comment_markers_need_their_own_dashes():
    # ";--;" opens a block comment (config.c looks for "--;" only after the ";--" it just read)
    dp = load("[c]\nexten => 1,1,NoOp ;--;\nexten => 2,1,NoOp\n--;\nexten => 3,1,NoOp\n")
    assert dp.find("1", "c") is not None and dp.find("2", "c") is None and dp.find("3", "c") is not None


def test_text_with_a_file_name_resolves_includes_next_to_it(tmp_path):
    (tmp_path / "users.conf").write_text("exten => 100,1,NoOp\n")
    dp = Dialplan.from_string("[c]\n#include users.conf\n", path=str(tmp_path / "extensions.conf"))
    assert dp.find("100", "c").priorities[0].path == str(tmp_path / "users.conf")
    with pytest.raises(ConfigError, match="no directory"):
        Dialplan.from_string("[c]\n#include users.conf\n")
