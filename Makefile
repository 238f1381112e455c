# Thin aliases for make.py, which needs nothing but python3.
.PHONY: report test bench
report:
	python3 make.py report
test:
	python3 make.py test
bench:
	python3 make.py bench
