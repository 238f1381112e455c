"""Stateless call tokens, shaped like Asterisk's (chan_iax2.c, doc/IAX2-security.txt).

A token is ``"<unix time>?<sha1 hex>"`` where the SHA1 covers the peer's ``host:port``, that
time and a secret drawn once per endpoint. Validating needs no stored state: recompute the
hash and check the age in whole seconds, ``0 <= now - time < lifetime``.
"""
from __future__ import annotations

import hashlib
import hmac
import random

Address = tuple[str, int]


class CallTokens:
    """Issue and check call tokens for one endpoint."""

    __slots__ = ("_secret", "lifetime", "_memo")

    def __init__(self, rng: random.Random, lifetime: float = 10):
        self._secret = str(rng.getrandbits(31))
        self.lifetime = lifetime
        self._memo: dict[tuple[str, int, str], str] = {}

    def _digest(self, addr: Address, stamp: str) -> str:
        # Issuing and checking a token for the same peer within one second hash the same
        # text: remember the last few digests (a pure function of addr and stamp).
        key = (addr[0], addr[1], stamp)
        memo = self._memo
        digest = memo.get(key)
        if digest is None:
            text = f"{addr[0]}:{addr[1]}{stamp}{self._secret}"
            digest = hashlib.sha1(text.encode("utf-8")).hexdigest()
            if len(memo) >= 64:
                memo.clear()
            memo[key] = digest
        return digest

    def issue(self, addr: Address, wall: float) -> bytes:
        """A token for ``addr`` at wall-clock time ``wall`` (seconds)."""
        stamp = str(int(wall))
        return f"{stamp}?{self._digest(addr, stamp)}".encode("ascii")

    def valid(self, token: bytes | str, addr: Address, wall: float) -> bool:
        """True when ``token`` was issued by us for ``addr`` less than ``lifetime`` s ago."""
        if isinstance(token, bytes):
            try:
                token = token.decode("ascii")
            except UnicodeDecodeError:
                return False
        stamp, sep, digest = token.partition("?")
        if not sep or not stamp.isdigit() or len(stamp) > 12:
            return False
        age = int(wall) - int(stamp)
        if age < 0 or age >= self.lifetime:
            return False
        return hmac.compare_digest(digest.encode("ascii", "replace"),
                                   self._digest(addr, stamp).encode("ascii"))
