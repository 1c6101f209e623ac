# The two commands of the README's quick start: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXAMPLE := examples/poisoned-digits

.PHONY: demo test test-fast lint typecheck bench policy-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files: reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,art,torch,sign,oscal,mlflow,model-signing,text,parquet]'
	touch $@ $(VENV)/.installed

# The gate decision is the demo's output, not its success: exit 1 (gate failed) still means the
# demo ran; exit 2 (bad input) or a crash stops make.
demo: $(VENV)/.installed
	$(BIN)/python $(EXAMPLE)/make_example.py
	$(BIN)/riskframe assess $(EXAMPLE)/pipeline.yaml --policy policies/data-poisoning.yaml \
		--out reports/poisoned-digits --format json,md,html; \
	status=$$?; [ $$status -eq 0 ] || [ $$status -eq 1 ]

# Compiled modules are kept between runs even where the environment sets PYTHONDONTWRITEBYTECODE (as
# container images often do): every worker, command-line subprocess and worker server of the suite
# would otherwise compile riskframe and the tests again (pytest keeps its rewritten test modules there).
test: $(VENV)/.installed-dev
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q

# The fast lane while you work: everything not marked slow, on two worker processes (pytest-xdist).
# --dist loadfile keeps each test module on one worker, so its module fixtures are built once and the
# contract suite trains its tiny CNN once. (loadgroup would be finer, but pytest-xdist 3.8 ignores
# xdist_group marks under pytest 9.2: pytest-dev/pytest-xdist#1386.)
test-fast: $(VENV)/.installed-dev
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -m "not slow" -n 2 --dist loadfile

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check riskframe tests benchmarks examples devtools

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy riskframe

# Benchmarks are run by hand; each prints a table (see benchmarks/README.md).
bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/label_flip.py --assess
	$(BIN)/python benchmarks/policy_scale.py

# The bundled policies' own tests (riskframe test), also part of make test.
policy-test: $(VENV)/.installed-dev
	$(BIN)/riskframe test policies/tests

clean:
	rm -rf $(VENV) reports .pytest_cache .mypy_cache .ruff_cache
