"""Asterisk's own sample extensions.conf: what Asterisk would load from it and what it reports.

Expected figures were counted by hand from the sample file (contexts in file order, extension
groups and priorities per context) and from pbx_config's rules: the only complaint Asterisk
has about this file on its own is the include of ``parkedcalls`` (a context res_parking would
create, absent from the file; ``ast_context_verify_includes``).
"""
from __future__ import annotations

from iaxsim.dialplan import Dialplan
from iaxsim.dialplan.show import show_dialplan

CONTEXTS = [
    "dundi-e164-canonical", "dundi-e164-customers", "dundi-e164-via-pstn", "dundi-e164-local",
    "dundi-e164-switch", "dundi-e164-lookup", "dundi-e164", "iax2-trunk", "iaxprovider", "trunkint",
    "trunkld", "trunklocal", "trunktollfree", "international", "longdistance", "local",
    "outbound-freenum", "outbound-freenum2", "trunkdial", "stdexten", "stdPrivacyexten", "sub-page",
    "demo", "page", "public", "default", "time", "ani",
]
# (extension groups, priorities) per non-empty context, counted by hand
COUNTS = {
    "dundi-e164": (1, 1), "iax2-trunk": (1, 1), "trunkint": (1, 2), "trunkld": (1, 2), "trunklocal": (1, 1),
    "trunktollfree": (4, 4), "outbound-freenum": (6, 6), "outbound-freenum2": (3, 16), "trunkdial": (6, 15),
    "stdexten": (5, 14), "stdPrivacyexten": (7, 20), "sub-page": (1, 7), "demo": (15, 32), "page": (1, 2),
    "time": (1, 11), "ani": (1, 8),
}


def test_sample_loads_like_asterisk(asterisk_sample_conf):
    dp = Dialplan.from_file(asterisk_sample_conf)
    assert dp.order == CONTEXTS
    lines = asterisk_sample_conf.read_text().splitlines()
    include_line = lines.index("include => parkedcalls") + 1
    assert [(w.line, w.message) for w in dp.warnings] == [
        (include_line, "Context 'local' tries to include nonexistent context 'parkedcalls'")]
    for name in CONTEXTS:
        exts = dp.contexts[name].extensions
        got = (len(exts), sum(len(e.priorities) for e in exts))
        assert got == COUNTS.get(name, (0, 0)), name
    assert dp.globals == {"CONSOLE": "Console/dsp", "TRUNK": "DAHDI/G2", "TRUNKMSD": "1"}
    assert dp.contexts["dundi-e164-switch"].switches[0].module == "DUNDi"
    text, ok = show_dialplan(dp)
    assert ok and text.endswith("-= 55 extensions (142 priorities) in 28 contexts. =-\n")


def test_sample_lookups(asterisk_sample_conf):
    dp = Dialplan.from_file(asterisk_sample_conf)
    for engine in ("linear", "trie"):
        # default includes demo, which includes stdexten (whose _X. starts at priority 50000)
        assert dp.find("1234", "default", engine=engine).context == "demo"
        assert dp.find("7001", "default", engine=engine).name == "_7XXX"
        assert dp.find("7999", "default", engine=engine).name == "7999"
        assert dp.find("55", "default", engine=engine) is None
        assert dp.find("55", "default", engine=engine, priority=50000).name == "_X."
        assert dp.find("s", "trunkdial", engine=engine).priorities[2].app == "Goto"
        # freenum: _X! catches everything with '*' suffix digits; MATCHMORE is final on '!'
        assert dp.find("1234*256", "outbound-freenum", engine=engine).name == "_XXXX*X!"
        assert dp.matchmore("1234*2", "outbound-freenum", engine=engine) is False
        assert dp.canmatch("1234*2", "outbound-freenum", engine=engine) is True
    labels = [p.label for p in dp.find("s", "demo").priorities]
    assert labels == [None, None, None, None, "restart", "instruct", None]
    assert [e.name for e in dp.matches("7999", "default")] == ["7999", "_7XXX", "_X."]
