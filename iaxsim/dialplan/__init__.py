"""iaxsim.dialplan: Asterisk-compatible extensions.conf loading, matching and precedence.

``Dialplan.from_string`` / ``from_file`` load a dialplan; ``find``, ``lookup``, ``exists``,
``canmatch``, ``matchmore`` and ``matches`` answer as Asterisk would, with two engines
(``linear`` — Asterisk's default — and ``trie``) that give identical answers and report
their cost as the plain walks behind ``reference_lookup`` count it.
``iaxsim.dialplan.linked`` adds the trixbox linked-server lookup.
"""
from iaxsim.dialplan.dialplan import Dialplan, DialplanError
from iaxsim.dialplan.model import DialplanWarning, Extension, Include, LookupCost, Priority, Switch
from iaxsim.dialplan.parser import Context
from iaxsim.dialplan.patterns import MatchMode, match, sort_key

__all__ = [
    "Dialplan",
    "DialplanError",
    "DialplanWarning",
    "Context",
    "Extension",
    "Include",
    "LookupCost",
    "MatchMode",
    "Priority",
    "Switch",
    "match",
    "sort_key",
]
