"""iaxsim: measure what linking PBXs over IAX2 costs when numbering plans overlap."""

from iaxsim.native import install_source_finder as _install_source_finder

__version__ = "0.1.0"

# compiled modules (iaxsim native build) run unless IAXSIM_PURE is set or the build is stale
_install_source_finder()
