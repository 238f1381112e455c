"""IAX2 (RFC 5456 + Asterisk) wire codec: frames, information elements, media formats, pcap.

>>> from iaxsim.iax2 import FullFrame, IE, IEType, IAXSubclass, decode
>>> f = FullFrame(source_call=5, subclass=IAXSubclass.NEW, ies=[IE(IEType.CALLED_NUMBER, "6000")])
>>> decode(f.encode()).ie(IEType.CALLED_NUMBER)
'6000'
"""
from iaxsim.iax2.constants import (DEFAULT_PORT, MAX_CALLNO, PROTOCOL_VERSION, AuthMethod, Cause,
                                   ControlSubclass, DecodeError, DPStatus, EncodeError, Encryption,
                                   FrameType, IAXSubclass, IEType, MetaCommand, ModemSubclass,
                                   SamplingRate)
from iaxsim.iax2.frames import (Frame, FullFrame, MiniFrame, TrunkEntry, TrunkFrame, VideoFrame,
                                compress_subclass, decode, frametype_name, subclass_name,
                                uncompress_subclass)
from iaxsim.iax2.ies import (IE, IE_TABLE, MsgCount, OspBlock, RRLoss, SockAddr, calltoken_last,
                             encode_ies, ie_name, join_osp_blocks, merge_variables, parse_ies,
                             split_variable)
from iaxsim.iax2.media import (MediaFormat, alaw_decode, alaw_encode, format_name, payload_bytes,
                               ulaw_decode, ulaw_encode)

__all__ = [
    "DEFAULT_PORT", "MAX_CALLNO", "PROTOCOL_VERSION", "AuthMethod", "Cause", "ControlSubclass",
    "DecodeError", "DPStatus", "EncodeError", "Encryption", "FrameType", "IAXSubclass", "IEType",
    "MetaCommand", "ModemSubclass", "SamplingRate", "Frame", "FullFrame", "MiniFrame",
    "TrunkEntry", "TrunkFrame", "VideoFrame", "compress_subclass", "decode", "frametype_name",
    "subclass_name", "uncompress_subclass", "IE", "IE_TABLE", "MsgCount", "OspBlock", "RRLoss",
    "SockAddr", "calltoken_last", "encode_ies", "ie_name", "join_osp_blocks", "merge_variables",
    "parse_ies", "split_variable",
    "MediaFormat", "alaw_decode", "alaw_encode", "format_name", "payload_bytes", "ulaw_decode",
    "ulaw_encode",
]
