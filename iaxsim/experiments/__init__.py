"""iaxsim.experiments"""
