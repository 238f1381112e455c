"""iaxsim.sim"""
