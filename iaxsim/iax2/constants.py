"""IAX2 protocol tables: frame types, subclasses, IE numbers, flag sets, and the codec's errors.

Numbers come from RFC 5456 (and the IANA IAX registry, RFC 5457) plus Asterisk's additions
(``iax2.h``, ``frame.h``). Names are RFC 5456's in upper case with underscores; where Asterisk
uses a different spelling it is kept as an enum alias.
"""
from __future__ import annotations

import enum

from iaxsim.errors import IaxsimError

#: Asterisk's default IAX2 UDP port (``IAX_DEFAULT_PORTNO``).
DEFAULT_PORT = 4569
#: Protocol version carried in the VERSION IE.
PROTOCOL_VERSION = 2
#: Largest call number (15 bits).
MAX_CALLNO = 0x7FFF


class DecodeError(IaxsimError, ValueError):
    """A datagram is not a well-formed IAX2 frame.

    ``offset`` is the byte offset where the problem was found and ``ie`` the name of the
    information element being read (or ``None``); both appear in ``str(err)``.
    """

    def __init__(self, message: str, offset: int | None = None, ie: str | None = None):
        self.message = message
        self.offset = offset
        self.ie = ie
        where = []
        if offset is not None:
            where.append(f"offset {offset}")
        if ie is not None:
            where.append(f"IE {ie}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class EncodeError(IaxsimError, ValueError):
    """A frame or IE built from Python values cannot be put on the wire (value out of range...)."""


class FrameType(enum.IntEnum):
    """Full frame types (byte 10 of the header), RFC 5456 names; 11 and 12 are Asterisk's.

    Asterisk's names are aliases: DTMF_END (1, Asterisk splits DTMF into begin/end) and CNG (10).
    """

    DTMF = 1
    VOICE = 2
    VIDEO = 3
    CONTROL = 4
    NULL = 5
    IAX = 6
    TEXT = 7
    IMAGE = 8
    HTML = 9
    COMFORT_NOISE = 10
    MODEM = 11
    DTMF_BEGIN = 12
    # Asterisk aliases
    DTMF_END = 1
    CNG = 10


class IAXSubclass(enum.IntEnum):
    """Subclasses of IAX (type 6) frames, 1 NEW ... 40 CALLTOKEN (Asterisk ``iax_frame_subclass``)."""

    NEW = 1
    PING = 2
    PONG = 3
    ACK = 4
    HANGUP = 5
    REJECT = 6
    ACCEPT = 7
    AUTHREQ = 8
    AUTHREP = 9
    INVAL = 10
    LAGRQ = 11
    LAGRP = 12
    REGREQ = 13
    REGAUTH = 14
    REGACK = 15
    REGREJ = 16
    REGREL = 17
    VNAK = 18
    DPREQ = 19
    DPREP = 20
    DIAL = 21
    TXREQ = 22
    TXCNT = 23
    TXACC = 24
    TXREADY = 25
    TXREL = 26
    TXREJ = 27
    QUELCH = 28
    UNQUELCH = 29
    POKE = 30
    PAGE = 31
    MWI = 32
    UNSUPPORT = 33
    TRANSFER = 34
    PROVISION = 35
    FWDOWNL = 36
    FWDATA = 37
    TXMEDIA = 38
    RTKEY = 39
    CALLTOKEN = 40


class ControlSubclass(enum.IntEnum):
    """Subclasses of control (type 4) frames: RFC 5456 names, Asterisk's numbers beyond them."""

    HANGUP = 1
    RING = 2
    RINGING = 3
    ANSWER = 4
    BUSY = 5
    TAKEOFFHOOK = 6
    OFFHOOK = 7
    CONGESTION = 8
    FLASH_HOOK = 9
    WINK = 10
    OPTION = 11
    KEY_RADIO = 12
    UNKEY_RADIO = 13
    PROGRESS = 14
    PROCEEDING = 15
    HOLD = 16
    UNHOLD = 17
    VIDUPDATE = 18
    SRCUPDATE = 20
    TRANSFER = 21
    CONNECTED_LINE = 22
    REDIRECTING = 23
    T38_PARAMETERS = 24
    CC = 25
    SRCCHANGE = 26
    READ_ACTION = 27
    AOC = 28
    END_OF_Q = 29
    INCOMPLETE = 30
    MCID = 31
    UPDATE_RTP_PEER = 32
    PVT_CAUSE_CODE = 33
    # Asterisk spellings
    FLASH = 9
    RADIO_KEY = 12
    RADIO_UNKEY = 13
    CALL_PROGRESS = 14
    CALL_PROCEEDING = 15


class ModemSubclass(enum.IntEnum):
    """Subclasses of MODEM (type 11) frames (Asterisk / Wireshark)."""

    T38 = 1
    V150 = 2


class IEType(enum.IntEnum):
    """Information element numbers 1-57 (RFC 5456 §8.6 plus Asterisk's extensions)."""

    CALLED_NUMBER = 1
    CALLING_NUMBER = 2
    CALLING_ANI = 3
    CALLING_NAME = 4
    CALLED_CONTEXT = 5
    USERNAME = 6
    PASSWORD = 7
    CAPABILITY = 8
    FORMAT = 9
    LANGUAGE = 10
    VERSION = 11
    ADSICPE = 12
    DNID = 13
    AUTHMETHODS = 14
    CHALLENGE = 15
    MD5_RESULT = 16
    RSA_RESULT = 17
    APPARENT_ADDR = 18
    REFRESH = 19
    DPSTATUS = 20
    CALLNO = 21
    CAUSE = 22
    IAX_UNKNOWN = 23
    MSGCOUNT = 24
    AUTOANSWER = 25
    MUSICONHOLD = 26
    TRANSFERID = 27
    RDNIS = 28
    PROVISIONING = 29
    AESPROVISIONING = 30
    DATETIME = 31
    DEVICETYPE = 32
    SERVICEIDENT = 33
    FIRMWAREVER = 34
    FWBLOCKDESC = 35
    FWBLOCKDATA = 36
    PROVVER = 37
    CALLINGPRES = 38
    CALLINGTON = 39
    CALLINGTNS = 40
    SAMPLINGRATE = 41
    CAUSECODE = 42
    ENCRYPTION = 43
    ENCKEY = 44
    CODEC_PREFS = 45
    RR_JITTER = 46
    RR_LOSS = 47
    RR_PKTS = 48
    RR_DELAY = 49
    RR_DROPPED = 50
    RR_OOO = 51
    VARIABLE = 52
    OSPTOKEN = 53
    CALLTOKEN = 54
    CAPABILITY2 = 55
    FORMAT2 = 56
    CALLINGANI2 = 57


class AuthMethod(enum.IntFlag):
    """AUTHMETHODS bits."""

    PLAINTEXT = 1
    MD5 = 2
    RSA = 4


class DPStatus(enum.IntFlag):
    """DPSTATUS bits (Asterisk ``IAX_DPSTATUS_*``)."""

    EXISTS = 0x1
    CANEXIST = 0x2
    NONEXISTENT = 0x4
    IGNOREPAT = 0x4000
    MATCHMORE = 0x8000


class SamplingRate(enum.IntFlag):
    """SAMPLINGRATE bits (Asterisk ``IAX_RATE_*``; RFC's text says Hz, Asterisk sends flags)."""

    RATE_8KHZ = 0x1
    RATE_11KHZ = 0x2
    RATE_16KHZ = 0x4
    RATE_22KHZ = 0x8
    RATE_44KHZ = 0x10
    RATE_48KHZ = 0x20


class Encryption(enum.IntFlag):
    """ENCRYPTION bits."""

    AES128 = 0x1
    KEYROTATE = 0x8000


class MetaCommand(enum.IntEnum):
    """Meta frame commands (byte 2 of a meta frame)."""

    TRUNK = 1
    T38_PRIMARY_IFP = 2


#: Q.931 cause codes most often seen in CAUSECODE (RFC 5456 §8.6.33 lists them all).
class Cause(enum.IntEnum):
    """Common Q.931 cause codes carried in CAUSECODE."""

    UNALLOCATED = 1
    NO_ROUTE_TRANSIT_NET = 2
    NO_ROUTE_DESTINATION = 3
    NORMAL_CLEARING = 16
    USER_BUSY = 17
    NO_USER_RESPONSE = 18
    NO_ANSWER = 19
    CALL_REJECTED = 21
    NUMBER_CHANGED = 22
    DESTINATION_OUT_OF_ORDER = 27
    INVALID_NUMBER_FORMAT = 28
    FACILITY_REJECTED = 29
    NORMAL_UNSPECIFIED = 31
    NORMAL_CIRCUIT_CONGESTION = 34
    NETWORK_OUT_OF_ORDER = 38
    NORMAL_TEMPORARY_FAILURE = 41
    SWITCH_CONGESTION = 42
    REQUESTED_CHAN_UNAVAIL = 44
    SUBSCRIBER_ABSENT = 20
    BEARERCAPABILITY_NOTAUTH = 57
    BEARERCAPABILITY_NOTAVAIL = 58
    BEARERCAPABILITY_NOTIMPL = 65
    INCOMPATIBLE_DESTINATION = 88
    MANDATORY_IE_MISSING = 96
    INTERWORKING = 127
