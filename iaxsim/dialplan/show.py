"""Text of Asterisk's ``dialplan show [[exten@]context]`` (``handle_show_dialplan``) for a Dialplan."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from iaxsim.dialplan.model import PRIORITY_HINT, REGISTRAR, Extension, Priority
from iaxsim.dialplan.patterns import MatchMode, match

if TYPE_CHECKING:
    from iaxsim.dialplan.dialplan import Dialplan

__all__ = ["show_dialplan"]


def _prio_text(p: Priority) -> str:
    if p.number == PRIORITY_HINT:
        return f"hint: {p.app}"
    return f"{p.number}. {p.app}({p.data})"


def _ext_lines(ext: Extension) -> list[str]:
    first = ext.priorities[0]
    if ext.cid is not None:
        head = f"'{ext.name}' (CID match '{ext.cid}') => "
    else:
        head = f"'{ext.name}' =>"
    lines = [f"  {head:<17} {_prio_text(first):<45} [{REGISTRAR}]"]
    for p in ext.priorities[1:]:
        lab = f"   [{p.label}]" if p.label else ""
        lines.append(f"  {lab:<17} {_prio_text(p):<45} [{REGISTRAR}]")
    return lines


def show_dialplan(dp: Dialplan, target: str | None = None) -> tuple[str, bool]:
    """Render ``dialplan show [target]``; returns (text, success) like the CLI's status.

    Contexts are listed most recently created first: pbx_config creates them in file order and
    ``ast_context_find_or_create`` puts each new one at the head of the list that
    ``ast_merge_contexts_and_delete`` installs unchanged and ``ast_walk_contexts`` walks from
    the head (main/pbx.c, pbx/pbx_config.c). A repeated section keeps its first place.
    """
    exten: str | None = None
    context: str | None = None
    if target:
        if "@" in target:
            exten, _, context = target.partition("@")
            exten = exten or None
        else:
            context = target
        context = context or None
    out: list[str] = []
    counters = _Counters()
    _helper(dp, out, context, exten, counters, False, [])
    if context and not counters.ctx_exist:
        out.append(f"There is no existence of '{context}' context")
        return "\n".join(out) + "\n", False
    if exten and not counters.ext_exist:
        if context:
            out.append(f"There is no existence of {exten}@{context} extension")
        else:
            out.append(f"There is no existence of '{exten}' extension in all contexts")
        return "\n".join(out) + "\n", False
    e, p, c = counters.exten, counters.prio, counters.ctx
    out.append(f"-= {e} {'extension' if e == 1 else 'extensions'} ({p} {'priority' if p == 1 else 'priorities'})"
               f" in {c} {'context' if c == 1 else 'contexts'}. =-")
    return "\n".join(out) + "\n", True


@dataclass
class _Counters:
    """What ``show_dialplan_helper`` counts while it prints."""

    exten: int = 0
    prio: int = 0
    ctx: int = 0
    ctx_exist: bool = False
    ext_exist: bool = False


def _helper(dp: Dialplan, out: list[str], context: str | None, exten: str | None, counters: _Counters,
            rinclude: bool, chain: list[str]) -> None:
    for name in reversed(dp.order):  # dp.order: first appearance in the file
        if context and name != context:
            continue
        ctx = dp.contexts[name]
        counters.ctx_exist = True
        printed = False
        if not exten:
            counters.ctx += 1
            out.append(f"[ Context '{name}' created by '{REGISTRAR}' ]")
            printed = True
        for ext in ctx.sorted_extensions():
            if exten and not match(ext.name, exten, MatchMode.MATCH):
                continue
            counters.ext_exist = True
            if not printed:
                counters.ctx += 1
                kind = "Included context" if rinclude else "Context"
                out.append(f"[ {kind} '{name}' created by '{REGISTRAR}' ]")
                printed = True
            counters.prio += len(ext.priorities)
            counters.exten += 1
            out.extend(_ext_lines(ext))
        for inc in ctx.includes:
            if exten:
                if len(chain) >= 512 or any(c.lower() == inc.name.lower() for c in chain):
                    continue
                _helper(dp, out, inc.name, exten, counters, True, chain + [inc.name])
            else:
                out.append(f"  Include =>        {repr_q(inc.name):<45} [{REGISTRAR}]")
        for ip in ctx.ignorepats:
            if not exten or match(f"_{ip}.", exten, MatchMode.MATCH):
                out.append(f"  Ignore pattern => {repr_q(ip):<45} [{REGISTRAR}]")
        if not rinclude:
            for sw in ctx.switches:
                out.append(f"  Alt. Switch =>    {repr_q(sw.module + '/' + sw.data):<45} [{REGISTRAR}]")
        if printed:
            out.append("")


def repr_q(text: str) -> str:
    """Asterisk quotes names with single quotes in this listing."""
    return f"'{text}'"
