"""Asterisk's generic ``.conf`` reader (the part of ``main/config.c`` extensions.conf relies on).

Handles ``[category]`` headers with options ``(!)`` (template), ``(+)`` (append) and
``(tmpl1,tmpl2)`` (inherit: the templates' lines come first, keeping their own file:line),
``name => value`` / ``name = value`` lines, ``;`` comments, ``\\;`` escapes, nested
``;-- … --;`` block comments, ``#include`` / ``#tryinclude`` (relative to the including
file, glob patterns allowed, at most 10 levels deep as in Asterisk).  What Asterisk refuses
to load at all raises :class:`ConfigError`; what it warns about and skips becomes a warning.
"""
from __future__ import annotations

import glob as _glob
import os
from dataclasses import dataclass, field

from iaxsim.dialplan.model import DialplanWarning
from iaxsim.errors import ConfigError

MAX_INCLUDE_LEVEL = 10
MAX_NESTED_COMMENTS = 128


@dataclass(slots=True)
class ConfigLine:
    """One ``name => value`` line with the file and line it came from."""

    name: str
    value: str
    path: str
    line: int


@dataclass(slots=True)
class Category:
    """A ``[section]`` of a config file."""

    name: str
    path: str
    line: int
    template: bool = False
    lines: list[ConfigLine] = field(default_factory=list)


class ConfigReader:
    """Reads one config text (and what it includes) into an ordered list of categories."""

    def __init__(self, default_category: str | None = None) -> None:
        self.categories: list[Category] = []
        self.warnings: list[DialplanWarning] = []
        self._default = default_category

    def _find(self, name: str) -> Category | None:
        for cat in reversed(self.categories):
            if cat.name.lower() == name.lower():
                return cat
        return None

    def read_text(self, text: str, path: str, base_dir: str | None, level: int = 0,
                  cat: Category | None = None) -> Category | None:
        """Parse ``text`` (from ``path``); returns the category current at its end."""
        depth = 0
        nest_start = 0
        for lineno, raw in enumerate(text.splitlines(), start=1):
            if not depth and ";" not in raw:  # fast path: no comment on this line
                process = raw.strip()
                if process:
                    cat = self._line(process, path, lineno, base_dir, level, cat)
                continue
            buf = raw
            pos = 0
            out = []  # pieces of processable text on this line
            start = 0 if not depth else None
            while True:
                semi = buf.find(";", pos)
                if semi < 0:
                    break
                if semi > pos and buf[semi - 1] == "\\":
                    buf = buf[:semi - 1] + buf[semi:]
                    pos = semi
                    continue
                if buf.startswith(";--", semi) and not buf.startswith(";---", semi):
                    if depth < MAX_NESTED_COMMENTS:
                        if depth == 0 and start is not None:
                            out.append(buf[start:semi])
                            start = None
                        depth += 1
                        if depth == 1:
                            nest_start = lineno
                        pos = semi + 3
                    else:
                        pos = semi + 1
                    continue
                if semi >= pos + 2 and buf[semi - 2:semi] == "--" and depth > 0:
                    depth -= 1
                    pos = semi + 1
                    if depth == 0:
                        start = pos
                    continue
                if depth == 0:
                    if start is not None:
                        out.append(buf[start:semi])
                        start = None
                    pos = len(buf)
                    break
                pos = semi + 1
            if start is not None and depth == 0:
                out.append(buf[start:])
            process = "".join(out).strip()
            if process:
                cat = self._line(process, path, lineno, base_dir, level, cat)
        if depth:
            self.warnings.append(DialplanWarning(path, nest_start, "Unterminated comment detected beginning on line %d" % nest_start))
        return cat

    def read_file(self, path: str, level: int = 0, cat: Category | None = None,
                  origin: tuple[str, int] | None = None) -> Category | None:
        """Read a file from disk (used for the top file and for ``#include``)."""
        if level > MAX_INCLUDE_LEVEL:
            where = origin or (path, None)
            raise ConfigError(f"Maximum Include level ({MAX_INCLUDE_LEVEL}) exceeded including {path}", where[0], where[1])
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8", "replace")
        return self.read_text(text, path, os.path.dirname(os.path.abspath(path)), level, cat)

    # -- one logical line -------------------------------------------------------------
    def _line(self, cur: str, path: str, lineno: int, base_dir: str | None, level: int,
              cat: Category | None) -> Category | None:
        if cur.startswith("["):
            return self._category(cur, path, lineno)
        if cur.startswith("#"):
            self._directive(cur, path, lineno, base_dir, level, cat)
            return cat
        if cat is None:
            if self._default is not None and level == 0:
                cat = self._find(self._default) or Category(self._default, path, lineno)
                if cat not in self.categories:
                    self.categories.append(cat)
            else:
                raise ConfigError("parse error: No category context for line", path, lineno)
        eq = cur.find("=")
        if eq < 0:
            self.warnings.append(DialplanWarning(path, lineno, f"No '=' (equal sign) in line {lineno} of {path}"))
            return cat
        name = cur[:eq]
        value = cur[eq + 1:]
        append = False
        if value.startswith(">"):
            value = value[1:]
        elif name.endswith("+"):
            name = name[:-1]
            append = True
        name = name.strip()
        value = value.strip()
        if not name:
            self.warnings.append(DialplanWarning(path, lineno, f"Empty variable name in line {lineno} of {path}"))
            return cat
        if append:
            for old in reversed(cat.lines):
                if old.name == name:
                    old.value += value
                    return cat
        cat.lines.append(ConfigLine(name, value, path, lineno))
        return cat

    def _category(self, cur: str, path: str, lineno: int) -> Category:
        close = cur.find("]")
        if close < 0:
            raise ConfigError(f"parse error: no closing ']', line {lineno} of {path}", path, lineno)
        name = cur[1:close]
        rest = cur[close + 1:]
        options: list[str] = []
        if rest.startswith("("):
            end = rest.find(")")
            if end < 0:
                raise ConfigError(f"parse error: no closing ')', line {lineno} of {path}", path, lineno)
            options = rest[1:end].split(",")
        new = Category(name, path, lineno)
        for opt in options:
            if opt == "!":
                new.template = True
            elif opt.startswith("+"):
                existing = self._find(name)
                if existing is None:
                    raise ConfigError(f"Category addition requested, but category '{name}' does not exist, line {lineno} of {path}", path, lineno)
                return existing
            else:
                base = self._find(opt)
                if base is None:
                    raise ConfigError(f"Inheritance requested, but category '{opt}' does not exist, line {lineno} of {path}", path, lineno)
                new.lines.extend(ConfigLine(v.name, v.value, v.path, v.line) for v in base.lines)
        self.categories.append(new)
        return new

    def _directive(self, cur: str, path: str, lineno: int, base_dir: str | None, level: int,
                   cat: Category | None) -> None:
        body = cur[1:]
        word_end = 0
        while word_end < len(body) and ord(body[word_end]) > 32:
            word_end += 1
        word = body[:word_end].lower()
        arg = body[word_end:].strip()
        if word not in ("include", "tryinclude", "exec", "tryexec"):
            self.warnings.append(DialplanWarning(path, lineno, f"Unknown directive '#{body[:word_end]}' at line {lineno} of {path}"))
            return
        if word in ("exec", "tryexec"):
            self.warnings.append(DialplanWarning(path, lineno, "Cannot perform #exec unless execincludes option is enabled in asterisk.conf (options section)!"))
            return
        if not arg:
            self.warnings.append(DialplanWarning(path, lineno, f"Directive '#{word}' needs an argument (filename) at line {lineno} of {path}"))
            return
        if len(arg) >= 2 and ((arg[0] == '"' and arg[-1] == '"') or (arg[0] == "<" and arg[-1] == ">")):
            arg = arg[1:-1]
        if base_dir is None:
            raise ConfigError(f"#{word} {arg}: no directory to resolve it from (text given as a string)", path, lineno)
        target = arg if os.path.isabs(arg) else os.path.join(base_dir, arg)
        if any(ch in target for ch in "*?["):
            files = sorted(_glob.glob(target))
        else:
            files = [target] if os.path.exists(target) else []
        if not files:
            if word == "tryinclude":
                return
            raise ConfigError(f"#include of '{arg}' failed: no such file", path, lineno)
        for fn in files:
            if level + 1 > MAX_INCLUDE_LEVEL:
                raise ConfigError(f"Maximum Include level ({MAX_INCLUDE_LEVEL}) exceeded including {fn}", path, lineno)
            try:
                self.read_file(fn, level + 1, cat, origin=(path, lineno))
            except OSError as err:
                if word == "tryinclude":
                    continue
                raise ConfigError(f"#include of '{arg}' failed: {err.strerror}", path, lineno) from None
        # As in config.c, the including file carries on in the category it was in.
