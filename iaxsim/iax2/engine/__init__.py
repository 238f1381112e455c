"""The sans-I/O IAX2 protocol engine: one ``Endpoint`` per PBX, driven by bytes and ``now``.

>>> from iaxsim.iax2.engine import Endpoint, EndpointConfig
>>> ep = Endpoint(EndpointConfig(), seed=1)
>>> call = ep.place_call(("127.0.0.1", 4569), "6000", now=0.0)
>>> [len(data) > 12 for data, addr in ep.datagrams_to_send(0.0)]
[True]
>>> ep.get_timer()   # first retransmission: 2 x the initial 1 s ping time
2.0
"""
from iaxsim.iax2.engine.config import EndpointConfig
from iaxsim.iax2.engine.endpoint import Endpoint, EngineError, unwrap_timestamp
from iaxsim.iax2.engine.events import (CallAccepted, CallAnswered, CallBusy, CallCongestion,
                                       CallFailed, CallHungUp, CallProgress, CallRefused,
                                       CallRejected, CallRinging, CallStarted, DialplanReply,
                                       DialplanTimeout, DtmfReceived, Event, IncomingCall,
                                       LagReply, PeerRegistered, PeerUnregistered, PokeTimeout,
                                       PongReceived, Registered, RegistrationFailed,
                                       VoiceReceived)
from iaxsim.iax2.engine.qualify import PeerStatus, Qualify
from iaxsim.iax2.engine.stats import EndpointStats

__all__ = [
    "Endpoint", "EndpointConfig", "EndpointStats", "EngineError", "unwrap_timestamp",
    "Event", "IncomingCall", "CallRefused", "CallAccepted", "CallRinging", "CallProgress",
    "CallStarted", "CallAnswered", "CallBusy", "CallCongestion", "CallRejected", "CallHungUp", "CallFailed",
    "VoiceReceived", "DtmfReceived", "Registered", "RegistrationFailed", "PeerRegistered",
    "PeerUnregistered", "PongReceived", "LagReply", "PokeTimeout", "DialplanReply",
    "DialplanTimeout", "Qualify", "PeerStatus",
]
