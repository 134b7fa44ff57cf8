# Set-up is automatic: every target creates .venv and installs the package when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: reproduce seeds ablations figures test bench validate report clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

## make reproduce: the faithful LeNet-5, 20 passes on MNIST -> results/lenet5/, then seeds 0-2 in
## float64 and float32 -> results/seeds/, the distortion-trained LeNet-5 (seeds 0-9, and 20 vs
## 40 passes) -> results/lenet5_distorted/, the modern LeNet-5 -> results/modern/ (seeds 0-9 ->
## results/modern_seeds/), the ablations -> results/ablations/, Fig. 6 and the other figures ->
## results/figures/, README tables
reproduce: $(STAMP)
	$(PY) experiments/reproduce.py lenet5
	$(PY) experiments/seeds.py
	$(PY) experiments/reproduce.py lenet5_distorted
	$(PY) experiments/distorted_seeds.py
	$(PY) experiments/reproduce.py modern
	$(PY) experiments/modern_seeds.py
	$(PY) experiments/ablations.py
	$(PY) experiments/training_size.py
	$(PY) experiments/distortion_passes.py
	$(PY) experiments/figures.py

## make figures: the paper's figures and the robustness study from results/ -> results/figures/
figures: $(STAMP)
	$(PY) experiments/figures.py

## make ablations: every one-factor ablation, 3 seeds -> results/ablations/
ablations: $(STAMP)
	$(PY) experiments/ablations.py

## make seeds: the faithful run over seeds 0, 1, 2 in float64 and float32 -> results/seeds/
seeds: $(STAMP)
	$(PY) experiments/seeds.py

## make test: the test suite, two processes (minutes on a cold cache: most of it is Numba compiling)
test: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadfile

## make bench: training and evaluation throughput -> results/bench.json
bench: $(STAMP)
	$(PY) experiments/bench.py

## make validate [VALIDATE="1998 modern distortions distortions2"]: the open choices settled on a
## validation split -> results/validation/
validate: $(STAMP)
	$(PY) experiments/validate_choices.py $(VALIDATE)

## make report: regenerate README tables and figures from results/ (no training)
report: $(STAMP)
	$(PY) -m lecun98.report

clean:
	rm -rf $(VENV) .numba_cache runs
