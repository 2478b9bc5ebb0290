# One image for every streamwise service: `docker run IMAGE run fraud`, `... serve`, `... topics`.
# The embedding model and the GGUF ship inside Python wheels, so a container needs no network
# at run time, and the build needs none either: `make image` builds it from a base image made
# from Debian packages (deploy/base-image.sh) and the wheels in .wheelhouse (deploy/wheelhouse.sh),
# installed with `pip install --no-index`. Sites with a registry keep the usual base:
#   make image BASE_IMAGE=python:3.11-slim-bookworm
# No `# syntax=` line: fetching a Dockerfile frontend needs a registry.

ARG BASE_IMAGE=streamwise-base:bookworm

FROM ${BASE_IMAGE} AS build
# The host's extra CA certificates (`make image` copies them into .build/; never committed):
# TLS-intercepting proxies re-sign everything, and a build that reaches an index must trust them.
COPY .build/ca-certificates/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null && python3 -m venv /opt/streamwise
ENV PATH=/opt/streamwise/bin:$PATH \
    PIP_NO_INDEX=1 \
    PIP_FIND_LINKS=/wheels \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY .wheelhouse /wheels
WORKDIR /src
# Dependencies first (cached while only the code changes), then the package itself.
COPY pyproject.toml README.md ./
RUN mkdir -p pipelines models state \
    && touch pipelines/__init__.py models/__init__.py state/__init__.py \
    && pip install --quiet --upgrade setuptools wheel \
    && pip install --quiet --no-build-isolation . \
    && pip uninstall --quiet -y streamwise \
    # setuptools' build/ would keep the stub packages: their copies are newer than the code's.
    && rm -rf build *.egg-info \
    # triton compiles GPU kernels; torch on the CPU never imports it (691 MB).
    && pip uninstall --quiet -y triton
COPY pipelines pipelines
COPY models models
COPY state state
RUN pip install --quiet --no-deps --no-build-isolation . && rm -rf build *.egg-info

FROM ${BASE_IMAGE} AS runtime
COPY --from=build /usr/local/share/ca-certificates/ /usr/local/share/ca-certificates/
# libgomp1 (OpenMP for llama.cpp) is in the Debian-made base; python:3.11-slim lacks it.
RUN update-ca-certificates >/dev/null \
    && if [ ! -e /usr/lib/x86_64-linux-gnu/libgomp.so.1 ]; then \
         apt-get update && apt-get install -y --no-install-recommends libgomp1 \
         && rm -rf /var/lib/apt/lists/*; \
       fi \
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
# Liveness of a pipeline (`streamwise run ...`): its main loop keeps polling Kafka. With
# STREAMWISE_METRICS_PORT=0 (replicas on a host network) each pipeline takes a free port and
# writes it to /data/run/<pipeline>.metrics-port, where this check reads it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import glob, os, urllib.request; port = os.environ['STREAMWISE_METRICS_PORT']; ports = [port] if port != '0' else [open(f).read().strip() for f in glob.glob('/data/run/*.metrics-port')]; assert ports, 'no metrics port yet'; [urllib.request.urlopen(f'http://127.0.0.1:{p}/livez', timeout=4) for p in ports]"]
ENTRYPOINT ["streamwise"]
CMD ["--help"]
