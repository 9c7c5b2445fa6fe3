# `make demo` runs the main job on MovieLens 100k; `make test` runs the tests;
# `make notebooks` re-executes the notebooks and saves their outputs;
# `make bench` runs the benchmarks (BENCH_ARGS=--quick for a smoke run).
# All create the virtual environment $(VENV) on first use.
PYTHON ?= python3
VENV ?= .venv
PYTEST_ARGS ?=
BENCH_ARGS ?= --json benchmarks/latest.json

# Real data: ../shared/data when it is there, else the loader's own search
# (HYBRID_REC_DATA set by you, the download cache, then a download).
SHARED_DATA := $(wildcard $(abspath ../shared/data))
ifneq ($(strip $(HYBRID_REC_DATA)),)
export HYBRID_REC_DATA
else ifneq ($(SHARED_DATA),)
export HYBRID_REC_DATA := $(SHARED_DATA)
endif

.PHONY: demo test notebooks bench venv clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --upgrade pip
	$(VENV)/bin/python -m pip install -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

demo: $(VENV)/.installed
	$(VENV)/bin/hybrid-rec demo --out demo-output

test: $(VENV)/.installed
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# Re-execute notebooks/*.ipynb at normal settings and save them with their outputs.
notebooks: $(VENV)/.installed
	$(VENV)/bin/python notebooks/execute.py

bench: $(VENV)/.installed
	$(VENV)/bin/python -m benchmarks.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .venv-* demo-output .pytest_cache build *.egg-info
