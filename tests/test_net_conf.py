"""Node configuration (iax.conf subset), dialplan routing steps, transport helpers: no sockets."""
from __future__ import annotations

import pytest
from net_helpers import SEED

from iaxsim.dialplan import Dialplan
from iaxsim.errors import ConfigError
from iaxsim.iax2.media import MediaFormat, ulaw_decode
from iaxsim.net.conf import load_iax_conf, parse_iax_conf
from iaxsim.net.node import Node, tone_payload
from iaxsim.net.routing import AnswerStep, DialStep, EndStep, NodeDialplan, extension_steps
from iaxsim.net.transport import NetError, parse_hostport

GOOD = """; a node
[general]
requirecalltoken = no
calltokenoptional = 127.0.0.1/32
calltokenoptional = 10.0.0.0/8
answer = tone
account = 2002
pingtime = 0.5
maxsends = 3

[cserverBi]
type = peer
host = 127.0.0.4
port = 4570
secret = linkpw

[c2002i]
type = user

[7001]
type=friend
host=dynamic
secret=pw
"""


def test_iax_conf_parses_every_setting():
    c = parse_iax_conf(GOOD, "iax.conf")
    assert (c.requirecalltoken, c.answer, c.account, c.pingtime, c.maxsends) == (
        False, "tone", "2002", 0.5, 3)
    assert c.calltokenoptional == ["127.0.0.1/32", "10.0.0.0/8"]
    assert c.peers["cserverBi"].address == ("127.0.0.4", 4570)
    assert c.peers["cserverBi"].secret == "linkpw"
    assert c.peers["7001"].address is None                     # dynamic
    assert c.users == {"c2002i": "", "7001": "pw"}             # peers do not call in


@pytest.mark.parametrize("text, line, words", [
    ("[general]\nbogus = 1\n", 2, "unknown setting 'bogus'"),
    ("[general]\nanswer = music\n", 2, "answer must be one of echo, tone"),
    ("[general]\nrequirecalltoken = maybe\n", 2, "requirecalltoken must be yes or no"),
    ("[general]\ncalltokenoptional = 300.1.1.1/8\n", 2, "calltokenoptional"),
    ("[general]\nmaxsends = 0\n", 2, "maxsends must be at least 1"),
    ("[general]\npingtime = soon\n", 2, "pingtime must be a number"),
    ("host = x\n", 1, "before any [section]"),
    ("[p]\ntype = peer\nhost = h\nport = 70000\n", 4, "port out of range"),
    ("[p]\ntype = peer\n", 1, "needs host"),
    ("[p]\ntype = router\n", 2, "type = peer, user or friend"),
    ("[p]\ntype = user\ncolour = red\n", 3, "unknown setting 'colour' in [p]"),
    ("[p]\ntype = user\n[p]\ntype = user\n", 3, "appears twice"),
    ("[p\n", 1, "malformed section header"),
    ("[p]\njust words\n", 2, "expected 'key = value'"),
    ("[p]\ntype = user\nrequirecalltoken = maybe\n", 3,
     "requirecalltoken in [p] must be yes, no or auto, got 'maybe'"),
    ("[general]\n\n[q]\ntype = friend\nhost = dynamic\nrequirecalltoken =\n", 6,
     "requirecalltoken in [q] must be yes, no or auto, got ''"),
])
def test_iax_conf_errors_name_file_and_line(text, line, words):
    with pytest.raises(ConfigError) as info:
        parse_iax_conf(text, "node/iax.conf")
    assert str(info.value).startswith(f"node/iax.conf:{line}: ")
    assert words in str(info.value)


# requirecalltoken in a section, read as chan_iax2.c build_user/build_peer read it: ast_false
# words -> no, "auto" -> auto, ast_true words -> yes (case-insensitive; Asterisk logs anything
# else and keeps the default, here it is an error). Users (user, friend) are consulted for a
# NEW, peers (peer, friend) for REGREQ/REGREL.
POLICY = """[general]
calltokenoptional = 10.0.0.0/8
[modem]
type = friend
host = dynamic
requirecalltoken = No
[phone]
type = user
requirecalltoken = auto
[gw]
type = peer
host = 127.0.0.9
requirecalltoken = Y
[plain]
type = friend
host = dynamic
"""


def test_requirecalltoken_per_section_splits_into_user_and_peer_tables():
    c = parse_iax_conf(POLICY, "iax.conf")
    assert c.peers["modem"].requirecalltoken == "no"
    assert c.peers["plain"].requirecalltoken is None          # not set: Asterisk's default
    assert c.user_calltoken_policy == {"modem": "no", "phone": "auto"}
    assert c.peer_calltoken_policy == {"modem": "no", "gw": "yes"}


@pytest.mark.parametrize("word, policy", [
    ("yes", "yes"), ("TRUE", "yes"), ("y", "yes"), ("t", "yes"), ("1", "yes"), ("On", "yes"),
    ("no", "no"), ("False", "no"), ("n", "no"), ("f", "no"), ("0", "no"), ("OFF", "no"),
    ("auto", "auto"), ("AUTO", "auto"),
])
def test_requirecalltoken_words_are_asterisks(word, policy):
    c = parse_iax_conf(f"[u]\ntype = user\nrequirecalltoken = {word}\n")
    assert c.user_calltoken_policy == {"u": policy}


def test_node_hands_the_tables_to_its_engine(tmp_path):
    (tmp_path / "extensions.conf").write_text("[default]\nexten => 100,1,Answer()\n")
    (tmp_path / "iax.conf").write_text(POLICY)
    node = Node(tmp_path)
    cfg = node.endpoint.config
    assert cfg.user_calltoken_policy == {"modem": "no", "phone": "auto"}
    assert cfg.peer_calltoken_policy == {"modem": "no", "gw": "yes"}
    assert cfg.calltoken_optional == ("10.0.0.0/8",) and cfg.calltoken_required
    # a reload re-reads them with the users
    (tmp_path / "iax.conf").write_text(POLICY.replace("requirecalltoken = No",
                                                      "requirecalltoken = yes"))
    node.reload()
    assert node.endpoint.config.user_calltoken_policy == {"modem": "yes", "phone": "auto"}


def test_missing_iax_conf_gives_asterisk_defaults(tmp_path):
    c = load_iax_conf(tmp_path)
    assert c.requirecalltoken and c.answer == "echo" and c.peers == {}
    assert c.user_calltoken_policy == {} and c.peer_calltoken_policy == {}
    # channels/chan_iax2.c: pingtime starts at DEFAULT_RETRY_TIME (1000 ms); max_retries = 4
    assert (c.pingtime, c.maxsends) == (1.0, 4)


def test_seed_routing_follows_external_then_link():
    a = NodeDialplan.from_dir(SEED / "serverA")
    # A owns 7XXX: Dial(IAX2/${EXTEN},20) to the phone, then VoiceMail answers
    assert a.route("7001", "from-internal") == [
        DialStep("7001", "7001", None, None, None, "IAX2/7001", 1),
        AnswerStep("VoiceMail", None, 2)]
    # 6XXX goes to server B: internal address first, then external, into context external
    steps = a.route("6001", "from-internal")
    assert [(s.peer, s.username, s.number, s.context, s.priority) for s in steps] == [
        ("cserverBi", "c1001i", "6001", "external", 1),
        ("cserverBx", "c1001x", "6001", "external", 2)]
    assert a.route("6001", "external") is None          # external = A's own extensions only
    assert a.route("7001", "link") is None               # link = link.conf only
    assert a.route("6001", "link")[0].peer == "cserverBi"
    assert a.route("5000", "from-internal") is None
    assert a.route("7001", "no-such-context") is None
    # DPREQ answers use the same contexts
    assert a.exists("7001", "external") and not a.exists("6001", "external")
    assert a.exists("6001", "from-internal") and a.matchmore("6", "from-internal")
    assert not a.canmatch("6", "external")


def test_extension_steps_from_extensions_conf():
    dp = Dialplan.from_string(
        "[default]\n"
        "exten => 1,1,Dial(IAX2/alice:pw@far/200@inbound&IAX2/backup/200,30)\n"
        "exten => 1,2,Congestion()\n"
        "exten => 2,1,Dial(SIP/x)\n"
        "exten => 2,2,Echo()\n"
        "exten => 3,1,Milliwatt()\n", "ext.conf")
    r = NodeDialplan(dialplan=dp)
    assert r.route("1", "default") == [
        DialStep("far", "200", "inbound", "alice", "pw", "IAX2/alice:pw@far/200@inbound", 1),
        DialStep("backup", "200", None, None, None, "IAX2/backup/200", 1),
        EndStep("Congestion", 2)]
    assert r.route("2", "default") == [AnswerStep("Echo", "echo", 2)]   # SIP is skipped
    assert r.route("3", "default") == [AnswerStep("Milliwatt", "tone", 1)]
    bad = Dialplan.from_string("[default]\nexten => 9,1,Dial(IAX2/)\n", "bad.conf")
    with pytest.raises(ConfigError, match=r"bad.conf:2: Dial target 'IAX2/'"):
        extension_steps(bad.find("9", "default"), "9", "1001")


def test_conf_dir_without_a_dialplan_is_an_error(tmp_path):
    (tmp_path / "external.conf").write_text("[external]\n")
    with pytest.raises(ConfigError, match="no extensions.conf, nor external.conf"):
        Node(tmp_path)
    with pytest.raises(ConfigError, match="not a directory"):
        NodeDialplan.from_dir(tmp_path / "nope")


def test_tone_is_a_1khz_sine_in_g711():
    data = tone_payload(MediaFormat.ULAW)
    assert len(data) == 160                              # 20 ms at 8 kHz, one byte a sample
    samples = ulaw_decode(data).astype(float)
    # 1000 Hz at 8000 samples/s repeats every 8 samples
    assert max(abs(samples[i] - samples[i + 8]) for i in range(150)) < 300
    assert 0.2 * 32767 < samples.max() < 0.3 * 32767
    assert len(tone_payload(MediaFormat.ALAW)) == 160
    with pytest.raises(ValueError, match="no tone generator"):
        tone_payload(MediaFormat.GSM)


@pytest.mark.parametrize("text, expected", [
    ("127.0.0.1", ("127.0.0.1", 4569)),
    ("127.0.0.1:4570", ("127.0.0.1", 4570)),
    ("[::1]:5000", ("::1", 5000)),
    ("::1", ("::1", 4569)),
    ("pbx.example", ("pbx.example", 4569)),
])
def test_parse_hostport(text, expected):
    assert parse_hostport(text) == expected


@pytest.mark.parametrize("text", ["127.0.0.1:x", ":4569", "[::1", "h:70000", "[::1]x"])
def test_parse_hostport_errors(text):
    with pytest.raises(NetError):
        parse_hostport(text)
