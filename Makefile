# Two commands on a fresh machine: `make demo` and `make test`.
# Both bootstrap .venv from nothing but python3; the Kafka jars are resolved
# through Maven on first use of the embedded broker (cached under ~/.cache/streamwise).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.streamwise-installed
# llama.cpp must be built portable: the native build enables AMX, which these
# CPUs advertise but the sandbox forbids (segfault on the first decode).
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF

.PHONY: demo test lint format bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip wheel setuptools
	@echo "Installing streamwise and its dependencies (first run builds llama.cpp: ~15 min on 2 cores)..."
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install --progress-bar off -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/streamwise demo

lint: $(STAMP)
	$(BIN)/ruff check pipelines models state tests bench
	$(BIN)/ruff format --check pipelines models state tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format pipelines models state tests bench
	$(BIN)/ruff check --fix pipelines models state tests bench

test: lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .streamwise .pytest_cache .mypy_cache .ruff_cache
