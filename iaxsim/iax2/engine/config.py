"""Endpoint configuration: users, call-token policy, formats, dialplan, and Asterisk's timers.

Every default is Asterisk's (chan_iax2.c, iax.conf.sample); the table in docs/engine.md lists
them with their Asterisk names. Times are in seconds.
"""
from __future__ import annotations

import ipaddress
import operator
from dataclasses import dataclass, field
from typing import Any, Collection, Mapping, Optional, cast

from iaxsim.errors import ConfigError
from iaxsim.iax2.media import MediaFormat

Address = tuple[str, int]

#: Wall-clock seconds (Unix time) at engine time 0 unless configured: 2000-01-01T00:00:00Z.
#: DATETIME IEs and call-token times are ``wallclock_offset + now``; an asyncio adapter sets
#: ``wallclock_offset = time.time() - loop.time()`` to send the real date.
EPOCH_2000 = 946684800.0


@dataclass
class EndpointConfig:
    """What one IAX2 endpoint (one PBX's stack) knows and how it behaves.

    ``__post_init__`` checks every setting and reports a bad one with a ConfigError naming it
    (settings often come from files: iax.conf, a scenario, a node's configuration)."""

    #: Users/peers allowed to call or register: name -> secret ("" = no authentication).
    users: Mapping[str, str] = field(default_factory=dict)
    #: Accept NEWs that carry no USERNAME (Asterisk's "guest").
    allow_guest: bool = True
    #: Tokens required: NEW/REGREQ/REGREL without a CALLTOKEN IE are refused... (False acts
    #: like calltokenoptional = 0.0.0.0/0: every address is optional)
    calltoken_required: bool = True
    #: ...except from these networks (calltokenoptional, e.g. "127.0.0.1/32").
    calltoken_optional: Collection[str] = ()
    #: requirecalltoken of [user] sections, consulted for a token-less NEW by its USERNAME
    #: ("guest" when it names none): name -> "yes" | "no" | "auto". A name set here decides
    #: alone; an unlisted name falls back to the two settings above. See docs/engine.md.
    user_calltoken_policy: Mapping[str, str] = field(default_factory=dict)
    #: requirecalltoken of [peer] sections, consulted for a token-less REGREQ/REGREL by its
    #: USERNAME the same way.
    peer_calltoken_policy: Mapping[str, str] = field(default_factory=dict)
    #: Client side: append the empty CALLTOKEN IE to our NEW/REGREQ/REGREL.
    send_calltoken: bool = True
    #: calltokenexpiration: seconds a token stays valid (whole-second arithmetic).
    token_lifetime: int = 10
    #: Media formats we can handle, and the one we prefer.
    formats: int = MediaFormat.ULAW | MediaFormat.ALAW | MediaFormat.GSM
    preferred_format: int = MediaFormat.ULAW
    #: Dialplan answering DPREQ and (with answer_from_dialplan) incoming NEWs.
    dialplan: Any = None
    default_context: str = "default"
    #: With a dialplan: REJECT "No such context/extension" (3) at once, ACCEPT existing ones.
    answer_from_dialplan: bool = True
    #: ...and also send ANSWER at once (a policy for simple nodes and benchmarks).
    auto_answer: bool = False
    #: Call numbers 2 .. max_calls-1; the upper half is for trunked calls (TRUNK_CALL_START).
    max_calls: int = 32768
    #: maxcallnumbers_nonvalidated: call numbers that dialogs started without a call token
    #: (from calltoken_optional networks) may hold at once.
    max_calls_nonvalidated: int = 8192
    callno_hold_off: float = 60.0
    #: Retransmission: RTO = 2 x ping time, clamped, x10 per retry, max_sends sends in all.
    initial_pingtime: float = 1.0
    min_retry: float = 0.1
    max_retry: float = 10.0
    retry_factor: float = 10.0
    max_sends: int = 4
    #: In-call PING and LAGRQ intervals (None disables).
    ping_interval: Optional[float] = 21.0
    lagrq_interval: Optional[float] = 10.0
    #: Qualify: POKE retransmits use ping time = qualify_maxms / 8; a PONG later than
    #: qualify_maxms means LAGGED (maxms, DEFAULT_MAXMS).
    qualify_maxms: float = 2.0
    #: Qualify: POKE interval while the peer is fine / not (pokefreqok, pokefreqnotok).
    qualify_freq_ok: float = 60.0
    qualify_freq_notok: float = 10.0
    #: Registration (server side): REFRESH clamp and expiry grace.
    min_reg_expire: int = 60
    max_reg_expire: int = 60
    reg_expire_grace: float = 10.0
    #: Registration (client side): retry after a failure.
    reg_retry: float = 10.0
    #: DPREQ: wait for DPREP, REFRESH we announce, idle TBD-call hang-up.
    dp_timeout: float = 5.0
    dp_refresh: int = 600
    tbd_idle: float = 30.0
    #: Trunking: peers whose voice goes in meta trunk frames, every trunk_freq seconds.
    trunk_peers: Collection[Address] = ()
    trunk_timestamps: bool = True
    trunk_freq: float = 0.02
    trunk_mtu: int = 1240
    wallclock_offset: float = EPOCH_2000

    def __post_init__(self) -> None:
        self._check_types()
        try:
            self._optional_nets = tuple(
                ipaddress.ip_network(n, strict=False) for n in self.calltoken_optional
            )
        except ValueError as err:
            raise ConfigError(f"calltoken_optional: {err}") from None
        if not 4 <= self.max_calls <= 32768:
            raise ConfigError(f"max_calls must be in 4..32768, got {self.max_calls}")
        if self.max_sends < 1:
            raise ConfigError(f"max_sends must be at least 1, got {self.max_sends}")
        for name in ("initial_pingtime", "min_retry", "max_retry", "token_lifetime",
                     "trunk_freq", "dp_timeout", "qualify_maxms", "qualify_freq_ok",
                     "qualify_freq_notok"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if self.min_reg_expire > self.max_reg_expire:
            raise ConfigError("min_reg_expire is larger than max_reg_expire")
        if not self.formats & int(self.preferred_format):
            raise ConfigError("preferred_format is not among formats")
        for name, secret in self.users.items():
            if not isinstance(name, str) or not isinstance(secret, str):
                raise ConfigError(f"users: name and secret must be strings, got {name!r}")
        for table in ("user_calltoken_policy", "peer_calltoken_policy"):
            check_calltoken_policy(getattr(self, table), table)
        self.trunk_peers = frozenset(cast(Address, tuple(a)) for a in self.trunk_peers)

    def _check_types(self) -> None:
        """ConfigError naming the setting whose value has the wrong type (the engine reads them
        as declared, and would otherwise fail later with an error that names nothing).
        Integer types other than int (numpy's, say) are converted."""
        for names, kind in _TYPED_SETTINGS:
            for name in names:
                value = getattr(self, name)
                if kind == "optional float" and value is None:
                    continue
                if kind == "bool":
                    ok = isinstance(value, bool)
                elif kind == "str":
                    ok = isinstance(value, str)
                elif isinstance(value, bool):   # True is no count
                    ok = False
                elif isinstance(value, int):
                    ok = True
                elif isinstance(value, float):
                    ok = kind != "int"
                elif hasattr(value, "__index__"):
                    value, ok = operator.index(value), True
                    setattr(self, name, value)
                else:
                    ok = False
                if not ok:
                    raise ConfigError(f"{name} must be {_KIND_TEXT[kind]}, got {value!r}")

    def calltoken_policy_for(self, new: bool, name: Optional[str]) -> Optional[str]:
        """The configured requirecalltoken ("yes", "no", "auto") of the user (``new``) or
        peer that a token-less request names, or None when it has none (Asterisk's default)."""
        table = self.user_calltoken_policy if new else self.peer_calltoken_policy
        return table.get(name or "guest") if table else None

    def token_optional_for(self, host: str) -> bool:
        """True when a frame from ``host`` may start a dialog without a call token."""
        if not self.calltoken_required:
            return True
        if not self._optional_nets:
            return False
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(ip in net for net in self._optional_nets)


#: Settings the engine reads with a declared type, by that type (checked by ``_check_types``).
_TYPED_SETTINGS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("allow_guest", "calltoken_required", "send_calltoken", "answer_from_dialplan",
      "auto_answer", "trunk_timestamps"), "bool"),
    (("token_lifetime", "formats", "preferred_format", "max_calls", "max_calls_nonvalidated",
      "max_sends", "min_reg_expire", "max_reg_expire", "dp_refresh", "trunk_mtu"), "int"),
    (("callno_hold_off", "initial_pingtime", "min_retry", "max_retry", "retry_factor",
      "qualify_maxms", "qualify_freq_ok", "qualify_freq_notok", "reg_expire_grace", "reg_retry", "dp_timeout", "tbd_idle", "trunk_freq",
      "wallclock_offset"), "float"),
    (("ping_interval", "lagrq_interval"), "optional float"),
    (("default_context",), "str"),
)
_KIND_TEXT = {"bool": "True or False", "int": "an integer", "float": "a number",
              "optional float": "a number or None", "str": "a string"}

#: The values of requirecalltoken (chan_iax2.c: CALLTOKEN_YES, CALLTOKEN_NO, CALLTOKEN_AUTO).
CALLTOKEN_POLICIES = ("yes", "no", "auto")


def check_calltoken_policy(table: Any, where: str) -> None:
    """Raise ConfigError unless ``table`` maps non-empty names to "yes", "no" or "auto"."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a mapping of name -> yes/no/auto, got {table!r}")
    for name, policy in table.items():
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}: names must be non-empty strings, got {name!r}")
        if policy not in CALLTOKEN_POLICIES:
            raise ConfigError(f"{where}[{name!r}] must be one of "
                              f"{', '.join(CALLTOKEN_POLICIES)}, got {policy!r}")
