"""Three linked nodes on loopback with interleaved ranges: B owns 60XX, C owns 61XX, and A's
link.conf only knows "_6XXX: try B, then C". A call to C's extension reaches B first, B
rejects it as Asterisk would ("No such context/extension", cause 3) and A moves on to its
next priority -- the wrong-server cost of overlapping numbering plans, on real sockets."""
from __future__ import annotations

from net_helpers import FAST, Phone, run

from iaxsim.iax2.engine import CallAnswered, CallHungUp, CallRejected
from iaxsim.net.node import Node

A_LINK = """[link]
exten => _6XXX,1,Dial(IAX2/c${ACCOUNT}i@cserverBi/${EXTEN}@external)
exten => _6XXX,2,Dial(IAX2/c${ACCOUNT}i@cserverCi/${EXTEN}@external)
"""


def _server(root, name, owns):
    d = root / name
    d.mkdir()
    (d / "external.conf").write_text(f"[external]\nexten => {owns},1,Answer()\n")
    (d / "link.conf").write_text(A_LINK if name == "serverA" else "[link]\n")
    (d / "iax.conf").write_text("[c1001i]\ntype = user\n")   # A calls in under this name
    return d


def test_wrong_server_rejects_and_the_next_priority_answers(tmp_path):
    dirs = {n: _server(tmp_path, n, owns) for n, owns in
            (("serverA", "_7XXX"), ("serverB", "_60XX"), ("serverC", "_61XX"))}

    async def main():
        nodes = {n: Node(d, seed=i, log=lambda m: None) for i, (n, d) in enumerate(dirs.items())}
        addrs = {}
        for n, host in (("serverA", "127.0.0.2"), ("serverB", "127.0.0.4"),
                        ("serverC", "127.0.0.6")):
            addrs[n] = (await nodes[n].start([(host, 0)]))[0]
        (dirs["serverA"] / "iax.conf").write_text(
            f"[general]\n{FAST}"
            f"[cserverBi]\ntype = peer\nhost = 127.0.0.4\nport = {addrs['serverB'][1]}\n"
            f"[cserverCi]\ntype = peer\nhost = 127.0.0.6\nport = {addrs['serverC'][1]}\n")
        nodes["serverA"].reload()
        phone = await Phone().start()
        try:
            results = {}
            for number in ("6001", "6101", "6201"):
                done = phone.tr.expect(lambda e: isinstance(e, (CallAnswered, CallRejected,
                                                                 CallHungUp)))
                t0 = phone.tr.now()
                call = phone.tr.command("place_call", addrs["serverA"], number,
                                        context="from-internal")
                event = await phone.tr.wait(done, 8)
                results[number] = (event, phone.tr.now() - t0)
                if isinstance(event, CallAnswered):
                    phone.tr.command("hangup", call)
            return nodes, results
        finally:
            phone.close()
            for node in nodes.values():
                node.close()

    nodes, results = run(main())
    a_in = {r.number: r for r in nodes["serverA"].records if r.direction == "in"}
    # 6001: B owns it, first priority answers
    assert isinstance(results["6001"][0], CallAnswered)
    assert len(a_in["6001"].attempts) == 1 and "cserverBi" in a_in["6001"].attempts[0]
    # 6101: B rejects at once (cause 3), C answers -- no retransmission timeout involved
    event, elapsed = results["6101"]
    assert isinstance(event, CallAnswered) and elapsed < 1.0
    assert [("cserverBi" in a, "No such context/extension (3)" in a)
            for a in a_in["6101"].attempts] == [(True, True), (False, False)]
    assert "cserverCi" in a_in["6101"].attempts[1]
    # 6201: nobody owns it: both reject, A hangs the caller up with the last cause
    event, _ = results["6201"]
    assert isinstance(event, CallHungUp) and event.code == 3
    assert [r.outcome for r in nodes["serverB"].records] == ["answered-local", "rejected",
                                                             "rejected"]
    assert [r.outcome for r in nodes["serverC"].records] == ["answered-local", "rejected"]
