"""The state machine is declared once (``machine.TRANSITIONS``): docs/engine.md carries the
same table, and no other code assigns a dialog's state."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from iaxsim.iax2.constants import ControlSubclass, FrameType, IAXSubclass
from iaxsim.iax2.engine import machine
from iaxsim.iax2.engine.dialog import CELLS, Dialog, Kind, State

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "iaxsim" / "iax2" / "engine"
DOC = ROOT / "docs" / "engine.md"


def test_the_docs_tables_are_the_rendered_code_table():
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- transitions:[^\n]*-->\n(.*?)<!-- /transitions -->", text, re.S)
    assert found, "docs/engine.md has no transitions block"
    assert found.group(1) == machine.render_markdown(), (
        "docs/engine.md is out of date: paste iaxsim.iax2.engine.machine.render_markdown() "
        "between its transitions markers")


def test_only_core_advance_assigns_a_dialog_state():
    assigners = []
    for path in sorted(ENGINE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                for inner in ast.walk(node):
                    targets = (inner.targets if isinstance(inner, ast.Assign)
                               else [inner.target] if isinstance(inner, ast.AugAssign) else [])
                    if any(isinstance(t, ast.Attribute) and t.attr == "state" for t in targets):
                        assigners.append((path.name, node.name))
    assert assigners == [("core.py", "advance")]


def _dialog(kind: Kind, state: State, caller: bool = False) -> Dialog:
    d = Dialog(5, ("10.0.0.2", 4569), kind, caller, 0.0, 1.0, state=state)
    assert d.cell == CELLS[(kind, state)]
    return d


@pytest.mark.parametrize("frametype, subclass, kind, state, nxt", [
    # RFC 5456 §6.2: the caller's ACCEPT, then RINGING and ANSWER control frames
    (FrameType.IAX, IAXSubclass.ACCEPT, Kind.CALL, State.WAIT_REPLY, State.ACCEPTED),
    (FrameType.CONTROL, ControlSubclass.RINGING, Kind.CALL, State.ACCEPTED, State.RINGING),
    (FrameType.CONTROL, ControlSubclass.RINGING, Kind.CALL, State.RINGING, State.RINGING),
    (FrameType.CONTROL, ControlSubclass.ANSWER, Kind.CALL, State.RINGING, State.UP),
    (FrameType.CONTROL, ControlSubclass.BUSY, Kind.CALL, State.UP, None),
    (FrameType.IAX, IAXSubclass.HANGUP, Kind.CALL, State.CLOSING, None),
])
def test_received_frames_lead_where_the_rfc_says(frametype, subclass, kind, state, nxt):
    row = machine.received_rows(frametype, subclass)[(kind, state)]
    assert row.next is nxt and row.handler is not None


@pytest.mark.parametrize("frametype, subclass, kind, state", [
    (FrameType.IAX, IAXSubclass.ACCEPT, Kind.CALL, State.UP),          # a late ACCEPT
    (FrameType.CONTROL, ControlSubclass.ANSWER, Kind.CALL, State.WAIT_REPLY),
    (FrameType.IAX, IAXSubclass.REGACK, Kind.CALL, State.WAIT_REPLY),  # not a registration
    (FrameType.IAX, IAXSubclass.NEW, Kind.REGISTRAR, State.WAIT_REPLY),
    (FrameType.VOICE, None, Kind.CALL, State.WAIT_APP),                # voice before ACCEPT
])
def test_frames_out_of_place_have_no_row(frametype, subclass, kind, state):
    assert (kind, state) not in machine.received_rows(frametype, subclass or 0)


@pytest.mark.parametrize("frametype, subclass, kind, state, nxt", [
    (FrameType.IAX, IAXSubclass.ACCEPT, Kind.CALL, State.WAIT_APP, State.ACCEPTED),
    (FrameType.CONTROL, ControlSubclass.RINGING, Kind.CALL, State.ACCEPTED, State.RINGING),
    (FrameType.CONTROL, ControlSubclass.RINGING, Kind.CALL, State.UP, None),
    (FrameType.CONTROL, ControlSubclass.ANSWER, Kind.CALL, State.ACCEPTED, State.UP),
    (FrameType.IAX, IAXSubclass.HANGUP, Kind.CALL, State.UP, State.CLOSING),
    (FrameType.IAX, IAXSubclass.REJECT, Kind.CALL, State.AUTHENTICATING, State.CLOSING),
    (FrameType.IAX, IAXSubclass.REGAUTH, Kind.REGISTRAR, State.WAIT_REPLY,
     State.AUTHENTICATING),
    (FrameType.IAX, IAXSubclass.REGACK, Kind.REGISTRAR, State.AUTHENTICATING, State.CLOSING),
    (FrameType.IAX, IAXSubclass.PING, Kind.CALL, State.UP, None),
])
def test_sending_moves_the_called_side_and_registrar_on(frametype, subclass, kind, state, nxt):
    row = machine.sent(_dialog(kind, state), frametype, subclass)
    assert (row.next if row is not None else None) is nxt


def test_an_incoming_call_handed_to_the_application_waits_for_it():
    assert machine.told_application(_dialog(Kind.CALL, State.AUTHENTICATING)).next \
        is State.WAIT_APP
    assert machine.told_application(_dialog(Kind.CALL, State.UP)) is None
