# Set-up is automatic: every target creates .venv and installs the package when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: reproduce seeds test bench validate report clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

## make reproduce: the faithful LeNet-5, 20 passes on MNIST -> results/lenet5/, then seeds 0-2 in
## float64 and float32 -> results/seeds/, README tables
reproduce: $(STAMP)
	$(PY) experiments/reproduce.py
	$(PY) experiments/seeds.py

## make seeds: the faithful run over seeds 0, 1, 2 in float64 and float32 -> results/seeds/
seeds: $(STAMP)
	$(PY) experiments/seeds.py

## make test: the test suite (a few minutes, most of it Numba compilation on a cold cache)
test: $(STAMP)
	$(PY) -m pytest -q

## make bench: training and evaluation throughput -> results/bench.json
bench: $(STAMP)
	$(PY) experiments/bench.py

## make validate: the open choices settled on a validation split -> results/validation/
validate: $(STAMP)
	$(PY) experiments/validate_choices.py

## make report: regenerate README tables and figures from results/ (no training)
report: $(STAMP)
	$(PY) -m lecun98.report

clean:
	rm -rf $(VENV) .numba_cache runs
