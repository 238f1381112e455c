"""MD5 challenge/response as Asterisk does it (chan_iax2.c authenticate; RFC 5456 §8.6.16)."""
from __future__ import annotations

import hashlib
import hmac
import random


def new_challenge(rng: random.Random) -> str:
    """A challenge string: the decimal of a random 31-bit integer, like Asterisk's."""
    return str(rng.randrange(0, 2**31))


def md5_response(challenge: str, secret: str) -> str:
    """MD5_RESULT for ``challenge``: lowercase hex of MD5(challenge || secret)."""
    return hashlib.md5((challenge + secret).encode("utf-8")).hexdigest()


def md5_matches(challenge: str, secrets: str, response: object) -> bool:
    """True when ``response`` answers ``challenge`` for one of ``secrets`` (';'-separated)."""
    if not isinstance(response, str):
        return False
    answer = response.strip().lower().encode("ascii", "replace")
    return any(
        hmac.compare_digest(md5_response(challenge, s).encode("ascii"), answer)
        for s in secrets.split(";")
    )
