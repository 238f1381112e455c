"""iaxsim.numbering"""
