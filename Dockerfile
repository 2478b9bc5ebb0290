# syntax=docker/dockerfile:1
# One image for every streamwise service: `docker run IMAGE run fraud`, `... serve`, `... topics`.
# The embedding model and the GGUF ship inside Python wheels, so a container needs no network
# at run time. Build: docker build -t streamwise .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# llama-cpp-python has no wheel on PyPI: compile it, portable. The native build enables AMX,
# which many hosts advertise but sandboxes forbid (segfault on the first decode).
ARG CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF"
# The CPU build of torch (PyPI's carries ~3 GB of CUDA libraries the image would never use).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/streamwise
ENV PATH=/opt/streamwise/bin:$PATH
RUN pip install --no-cache-dir --upgrade pip wheel setuptools \
    && pip install --no-cache-dir --index-url "${TORCH_INDEX_URL}" "torch==2.13.0"
WORKDIR /src
# Dependencies first (cached while only the code changes), then the package itself.
COPY pyproject.toml README.md ./
RUN mkdir -p pipelines models state && touch pipelines/__init__.py models/__init__.py state/__init__.py \
    && CMAKE_ARGS="${CMAKE_ARGS}" pip install --no-cache-dir . \
    && pip uninstall -y streamwise
COPY pipelines pipelines
COPY models models
COPY state state
RUN pip install --no-cache-dir --no-deps .

FROM ${PYTHON_IMAGE} AS runtime
# libgomp: OpenMP for llama.cpp and torch on the CPU.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --create-home --home-dir /home/streamwise streamwise \
    && mkdir /data && chown streamwise:streamwise /data
COPY --from=build /opt/streamwise /opt/streamwise
ENV PATH=/opt/streamwise/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    STREAMWISE_DATA_DIR=/data \
    STREAMWISE_METRICS_PORT=9100
USER streamwise
WORKDIR /home/streamwise
# Pipeline state (RocksDB) is a cache of the changelog topics. Without a named volume each
# container gets an anonymous one of its own, which is what replicas of one pipeline need.
VOLUME /data
EXPOSE 9100
# Liveness of a pipeline (`streamwise run ...`): its main loop keeps polling Kafka.
HEALTHCHECK --interval=15s --timeout=5s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/livez' % os.environ['STREAMWISE_METRICS_PORT'], timeout=4)"]
ENTRYPOINT ["streamwise"]
CMD ["--help"]
