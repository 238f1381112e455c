"""iaxsim.dialplan"""
