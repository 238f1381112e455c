"""iaxsim: measure what linking PBXs over IAX2 costs when numbering plans overlap."""

__version__ = "0.1.0"
