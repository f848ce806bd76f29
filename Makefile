# `make demo` and `make test` create .venv on first use (torch is pinned to the
# local CPU build; a bare `torch` would pull several GB of CUDA packages).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.ornn-installed

.PHONY: demo test bench mutation mutation-check clean-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ornn demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/ode_cells.py

# Mutation testing of the application modules and the training loop ([tool.mutmut] in pyproject.toml); slow,
# so not part of `make test`. MUTANTS narrows it to a module: make mutation MUTANTS='applications.dynamics.metrics*'
MUTANTS ?=
mutation: $(STAMP)
	$(BIN)/mutmut run --max-children 2 $(MUTANTS)
	$(BIN)/mutmut results

# The faster check of the same mutants (benchmarks/mutation_check.py): covering tests of at most 5 s, those that
# killed the function's other mutants first, then the fastest, stopping at the first failure.
# make mutation-check MUTANTS='ornn.training.*'
# SAMPLE=300 checks a seeded draw of 300 of them and prints the kill rate's 95% interval (for large modules).
SAMPLE ?=
mutation-check: $(STAMP)
	$(BIN)/python benchmarks/mutation_check.py --generate '$(or $(MUTANTS),*)' --out mutation-check.json \
		$(if $(SAMPLE),--sample $(SAMPLE))

clean-venv:
	rm -rf $(VENV)
