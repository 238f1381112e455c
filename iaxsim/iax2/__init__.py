"""iaxsim.iax2"""
