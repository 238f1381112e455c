"""``extensions.conf`` semantics on top of the config reader (Asterisk's ``pbx/pbx_config.c``).

Turns categories into contexts: ``exten =>`` / ``same =>`` lines with numeric, ``n``,
``n+k``, ``s``, ``hint`` and label priorities, ``include =>`` (time spec kept verbatim),
``switch =>`` / ``lswitch =>`` / ``eswitch =>`` and ``ignorepat =>``; ``[general]`` and
``[globals]`` are settings, templates are skipped.  Every refusal Asterisk logs becomes a
:class:`DialplanWarning` with file and line (its message text where Asterisk has one).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from iaxsim.dialplan.config import Category, ConfigLine, ConfigReader
from iaxsim.dialplan.model import PRIORITY_HINT, DialplanWarning, Extension, Include, Priority, Switch
from iaxsim.dialplan.linear import cid_ok
from iaxsim.dialplan.patterns import MATCH, Key, compile_pattern, match_compiled, shrink_phone_number, strip_fluff
from iaxsim.dialplan.timing import build_timing

_VAR = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


@dataclass(slots=True)
class Context:
    """A dialplan context: extensions in Asterisk's order, includes, switches, ignore patterns."""

    name: str
    path: str
    line: int
    extensions: list[Extension] = field(default_factory=list)
    includes: list[Include] = field(default_factory=list)
    switches: list[Switch] = field(default_factory=list)
    ignorepats: list[str] = field(default_factory=list)
    _sorted: bool = True
    _groups: dict[Key, Extension] = field(default_factory=dict)

    def sorted_extensions(self) -> list[Extension]:
        """The extensions in precedence order (sorted once, cached)."""
        if not self._sorted:
            self.extensions.sort(key=_sort_key)
            self._sorted = True
        return self.extensions


def _sort_key(e: Extension) -> Key:
    return e.sort_key


def clean_name(ext: str) -> str:
    """Remove spaces outside ``[...]`` (kept inside sets of patterns), as ``ext_strncpy`` does."""
    if " " not in ext:
        return ext
    is_pattern = ext.startswith("_")
    out = []
    insq = False
    for ch in ext:
        if ch == "[" and is_pattern:
            insq = True
        elif ch == "]":
            insq = False
        elif ch == " " and not insq:
            continue
        out.append(ch)
    return "".join(out)


def remove_fluff(ext: str) -> str:
    """Remove ``-`` outside sets of a pattern (all of them for a literal): the stored ``exten``."""
    if "-" not in ext:
        return ext
    if not ext.startswith("_"):
        return ext.replace("-", "")
    out = []
    insq = False
    for ch in ext:
        if ch == "[":
            insq = True
        elif ch == "]":
            insq = False
        elif ch == "-" and not insq:
            continue
        out.append(ch)
    return "".join(out)


def split_bracket_aware(text: str, delim: str = ",") -> tuple[str, str | None]:
    """First field of ``text`` up to ``delim`` outside ``[...]`` (``pbx_strsep``); rest or None."""
    if "[" not in text and "\\" not in text:
        head, sep, tail = text.partition(delim)
        return (head, tail) if sep else (text, None)
    square = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "[":
            square += 1
        elif ch == "]":
            if square:
                square -= 1
        elif ch == "\\":
            i += 1
        elif ch == delim and not square:
            return text[:i], text[i + 1:]
        i += 1
    return text, None


class DialplanBuilder:
    """Builds contexts from config categories the way pbx_config loads them."""

    def __init__(self) -> None:
        self.contexts: dict[str, Context] = {}
        self.order: list[str] = []
        self.general: dict[str, str] = {}
        self.globals: dict[str, str] = {}
        self.warnings: list[DialplanWarning] = []

    def warn(self, path: str, line: int | None, message: str) -> None:
        self.warnings.append(DialplanWarning(path, line, message))

    def _subst(self, text: str) -> str:
        if "${" not in text:
            return text
        return _VAR.sub(lambda m: self.globals.get(m.group(1), ""), text)

    def load(self, categories: list[Category]) -> None:
        """Load every non-template category; ``general``/``globals`` are settings."""
        for cat in categories:
            if cat.template:
                continue
            low = cat.name.lower()
            if low == "general":
                for v in cat.lines:
                    self.general[v.name] = v.value
            elif low == "globals":
                for v in cat.lines:
                    self.globals[v.name] = self._subst(v.value)
        for cat in categories:
            if cat.template or cat.name.lower() in ("general", "globals"):
                continue
            ctx = self.contexts.get(cat.name)
            if ctx is None:
                ctx = Context(cat.name, cat.path, cat.line)
                self.contexts[cat.name] = ctx
                self.order.append(cat.name)
            self._load_context(ctx, cat)
        for ctx in self.contexts.values():
            ctx.sorted_extensions()
            for inc in ctx.includes:
                if inc.target not in self.contexts:
                    self.warn(inc.path, inc.line, f"Context '{ctx.name}' tries to include nonexistent context '{inc.target}'")

    def _load_context(self, ctx: Context, cat: Category) -> None:
        lastext = ""
        lastpri = -2
        for v in cat.lines:
            name = v.name.lower()
            if name.startswith("same"):
                if not lastext:
                    self.warn(v.path, v.line, f"No previous pattern in the first entry of context '{cat.name}' to match '{v.name}' at line {v.line} of {v.path}!")
                    continue
                lastpri = self._extension(ctx, v, lastext, v.value, lastpri)
            elif name == "exten":
                ext, rest = split_bracket_aware(v.value)
                realext = self._subst(ext)
                lastext = realext
                lastpri = self._extension(ctx, v, realext, rest, lastpri)
            elif name == "include":
                value = self._subst(v.value)
                cut = min((i for i in (value.find("|"), value.find(",")) if i >= 0), default=-1)
                target = value if cut < 0 else value[:cut]
                timespec = None if cut < 0 else value[cut + 1:]
                if any(i.name.lower() == value.lower() for i in ctx.includes):
                    self.warn(v.path, v.line, f"Context '{v.value}' already included in '{cat.name}' context on include at line {v.line} of {v.path}")
                    continue
                timing = None
                if timespec is not None:
                    timing, problems = build_timing(timespec)
                    for problem in problems:
                        self.warn(v.path, v.line, problem)
                ctx.includes.append(Include(value, target, timespec, v.path, v.line, timing))
            elif name == "ignorepat":
                value = self._subst(v.value)
                if any(p.lower() == value.lower() for p in ctx.ignorepats):
                    self.warn(v.path, v.line, f"Unable to include ignorepat '{v.value}' in context '{cat.name}' at line {v.line} of {v.path}")
                    continue
                ctx.ignorepats.append(value)
            elif name in ("switch", "lswitch", "eswitch"):
                value = self._subst(v.value) if name == "switch" else v.value
                module, _, data = value.partition("/")
                if any(s.module.lower() == module.lower() and s.data.lower() == data.lower() for s in ctx.switches):
                    self.warn(v.path, v.line, f"Unable to include switch '{v.value}' in context '{cat.name}' at line {v.line} of {v.path}")
                    continue
                ctx.switches.append(Switch(module, data, name == "eswitch", v.path, v.line))
            else:
                self.warn(v.path, v.line, f"==!!== Unknown directive: {v.name} at line {v.line} of {v.path} -- IGNORING!!!")

    def _extension(self, ctx: Context, v: ConfigLine, realext: str, rest: str | None, lastpri: int) -> int:
        """Process one exten/same line; returns the new ``lastpri``."""
        cidmatch = None
        if "/" in realext:
            realext, _, cid = realext.partition("/")
            cidmatch = shrink_phone_number(cid)
        pri_field, _, tail = (rest or "").partition(",")
        app_field = tail if rest is not None and "," in rest else None
        pri = pri_field.strip()
        label = None
        if "(" in pri:
            pri, _, lab = pri.partition("(")
            if ")" not in lab:
                self.warn(v.path, v.line, f"Label missing trailing ')' at line {v.line} of {v.path}")
                return lastpri
            label = lab[:lab.index(")")] or None
        plus = None
        if "+" in pri:
            pri, _, plus = pri.partition("+")
        if pri == "hint":
            ipri = PRIORITY_HINT
        elif pri in ("next", "n"):
            if lastpri <= -2:
                self.warn(v.path, v.line, f"Can't use 'next' priority on the first entry at line {v.line} of {v.path}!")
                return lastpri
            ipri = lastpri + 1
        elif pri in ("same", "s"):
            if lastpri <= -2:
                self.warn(v.path, v.line, f"Can't use 'same' priority on the first entry at line {v.line} of {v.path}!")
                return lastpri
            ipri = lastpri
        elif pri.isdigit() and pri.isascii():
            ipri = int(pri)
            if ipri < 1:
                self.warn(v.path, v.line, f"Invalid priority '{pri}' at line {v.line} of {v.path}")
                return lastpri
        else:
            m = re.match(r"\s*([+-]?\d+)", pri)
            if m:
                ipri = int(m.group(1))
                if ipri < 1:
                    self.warn(v.path, v.line, f"Invalid priority '{pri}' at line {v.line} of {v.path}")
                    return lastpri
            else:
                found = self._find_label(ctx, realext, cidmatch, pri)
                if found is None:
                    self.warn(v.path, v.line, f"Invalid priority/label '{pri}' at line {v.line} of {v.path}")
                    return lastpri
                ipri = found
        appl = app_field or ""
        data = ""
        if "(" in appl:
            head, _, after = appl.partition("(")
            if "${" in head or "$[" in head:
                data = ""
            else:
                appl = head
                end = after.rfind(")")
                if end >= 0:
                    data = after[:end]
                else:
                    data = after
                    self.warn(v.path, v.line, f"No closing parenthesis found? '{appl}({data}' at line {v.line} of {v.path}")
        appl = appl.lstrip()
        if ipri == 0:
            # 'n' right after a hint works out to 0: pbx_config skips the line without a word
            # (and without touching lastpri); iaxsim says so.
            self.warn(v.path, v.line, f"Priority works out to 0 at line {v.line} of {v.path}; Asterisk skips this line")
            return lastpri
        if plus is not None:
            m = re.match(r"\s*([+-]?\d+)", plus)
            ipri += int(m.group(1)) if m else 0
        lastpri = ipri
        if ipri == PRIORITY_HINT and "${" in appl and not realext.startswith("_"):
            appl = self._subst(appl)  # Asterisk expands variables in a literal's hint when adding it
        if realext in ("_.", "_!"):
            self.warn(v.path, v.line, f"The use of '{realext}' for an extension is strongly discouraged and can have unexpected behavior.  Please use '_X{realext[1]}' instead at line {v.line} of {v.path}")
        if not self.add_extension(ctx, realext, ipri, label, cidmatch, appl, data, v.path, v.line):
            self.warn(v.path, v.line, f"Unable to register extension at line {v.line} of {v.path}")
        return lastpri

    def _find_label(self, ctx: Context, realext: str, cid: str | None, label: str) -> int | None:
        """``ast_findlabel_extension2`` as pbx_config calls it: the first extension of this
        context (precedence order) that the written extension matches, whose CID match accepts
        the line's caller-ID pattern, and that has the label."""
        data = strip_fluff(realext)
        for ext in ctx.sorted_extensions():
            if not match_compiled(ext.compiled, data, MATCH)[0]:
                continue
            if ext.cid is not None and not cid_ok(ext, cid):
                continue
            p = ext.find_label(label)
            if p is not None:
                return p.number
        return None

    def add_extension(self, ctx: Context, extension: str, priority: int, label: str | None,
                      cid: str | None, app: str, data: str, path: str, line: int) -> bool:
        """``ast_add_extension2``: add one priority; False (with a warning) when Asterisk refuses."""
        if not extension:
            self.warn(path, line, f"You have to be kidding-- add exten '' to context {ctx.name}? Figure out a name and call me back. Action ignored.")
            return False
        name = clean_name(extension)
        exten = remove_fluff(name)
        cid_clean = remove_fluff(clean_name(cid)) if cid is not None else None
        prio = Priority(priority, app, data, label, name, path, line)
        compiled = compile_pattern(exten)
        key: Key
        if cid_clean is None:
            key = (compiled.key, 1, ())
        else:
            key = (compiled.key, 0, compile_pattern(cid_clean).key)
        group = ctx._groups.get(key)
        if group is not None:  # ext_cmp() == 0: same extension (possibly an alias spelling)
            return self._add_priority(ctx, group, prio)
        probe = Extension(name, exten, ctx.name, cid_clean, cid)
        probe._insert(prio)
        ctx._groups[probe.sort_key] = probe
        if ctx.extensions and ctx._sorted and ctx.extensions[-1].sort_key > probe.sort_key:
            ctx._sorted = False
        ctx.extensions.append(probe)
        return True

    def _add_priority(self, ctx: Context, group: Extension, prio: Priority) -> bool:
        for other in group.priorities:
            if other.label and prio.label and other.number != prio.number and other.label == prio.label:
                if other.name != prio.name:
                    self.warn(prio.path, prio.line, f"Extension '{prio.name}' priority {prio.number} in '{ctx.name}', label '{prio.label}' already in use at aliased extension '{other.name}' priority {other.number}")
                else:
                    self.warn(prio.path, prio.line, f"Extension '{prio.name}' priority {prio.number} in '{ctx.name}', label '{prio.label}' already in use at priority {other.number}")
                prio = Priority(prio.number, prio.app, prio.data, None, prio.name, prio.path, prio.line)
                break
        existing = group.priority(prio.number)
        if existing is not None:
            if existing.name != prio.name:
                self.warn(prio.path, prio.line, f"Unable to register extension '{prio.name}' priority {prio.number} in '{ctx.name}', already in use by aliased extension '{existing.name}'")
            else:
                self.warn(prio.path, prio.line, f"Unable to register extension '{prio.name}' priority {prio.number} in '{ctx.name}', already in use")
            return False
        group._insert(prio)
        return True


def build(categories: list[Category]) -> DialplanBuilder:
    """Load parsed categories into contexts."""
    b = DialplanBuilder()
    b.load(categories)
    return b


def read(text: str | None, path: str, *, from_file: bool = False,
         default_context: str | None = None) -> DialplanBuilder:
    """Parse extensions.conf text (or the file at ``path``) into a builder with contexts."""
    reader = ConfigReader(default_context)
    if from_file:
        reader.read_file(path)
    else:
        # text given with a file name resolves #include next to that name; "<string>" cannot
        base = None if path.startswith("<") else os.path.dirname(os.path.abspath(path))
        reader.read_text(text or "", path, base)
    builder = build(reader.categories)
    builder.warnings[:0] = reader.warnings
    return builder
