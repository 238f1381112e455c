"""iaxsim.net"""
