# gradtrade: the trader image (default target) and the research image (target `jupyter`).
#
#   docker build -t gradtrade .                        # builder -> runtime -> trader
#   docker build --target jupyter -t gradtrade-lab .   # the same image plus JupyterLab
#   docker compose up -d                               # see compose.yaml and the README
#
# Stages: `builder` compiles the Rust extension and builds the wheel with maturin; `runtime` is a
# slim Python with that wheel installed (CPU-only PyTorch from the PyTorch CPU index, about
# 200 MB to download instead of several GB with CUDA); `jupyter` adds JupyterLab; `trader`
# (last, so a plain `docker build` gives it) is the runtime as is. No secret is ever in a layer: API keys
# come from the environment at run time (GRADTRADE_API_KEY / GRADTRADE_API_SECRET).
#
# tests/deploy/test_image_steps.py parses this file and runs the builder's `maturin build` and the
# runtime's wheel install, entrypoint and HEALTHCHECK on the test machine: keep those steps as
# single RUN/CMD lines that read WHEEL_DIR, GRADTRADE_HEALTH_URL from the environment.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------------
FROM rust:1.95-slim-bookworm AS builder

# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/maturin && /opt/maturin/bin/pip install --no-cache-dir "maturin>=1.7,<2"
ENV PATH=/opt/maturin/bin:$PATH

WORKDIR /src
COPY Cargo.toml Cargo.lock pyproject.toml README.md ./
COPY rust ./rust
# only the .rs bench targets Cargo.toml declares (.dockerignore), or the manifest does not parse
COPY benches ./benches
COPY python ./python
ARG WHEEL_DIR=/wheels
RUN maturin build --release --locked --out "$WHEEL_DIR"

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GRADTRADE_HEALTH_URL=http://127.0.0.1:9108/healthz

# CPU PyTorch first, from its own index, so the wheel's `torch` requirement is already met and
# pip never pulls the CUDA build from PyPI.
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu "torch>=2.2"

ARG WHEEL_DIR=/wheels
COPY --from=builder ${WHEEL_DIR} ${WHEEL_DIR}
RUN pip install --no-cache-dir "$WHEEL_DIR"/gradtrade-*.whl && rm -rf "$WHEEL_DIR"

# An unprivileged user owns only what it must write: the journal volume and the work folder.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin gradtrade \
    && mkdir -p /data /config /app \
    && chown gradtrade:gradtrade /data /app
WORKDIR /app
COPY --chown=gradtrade:gradtrade configs ./configs
COPY --chown=gradtrade:gradtrade notebooks ./notebooks
USER 10001:10001

# /data holds the SQLite journal (configs/trader_compose.yaml: journal under /data); /config the
# trader's YAML, mounted read-only by compose.
VOLUME ["/data"]
EXPOSE 9108

# /healthz answers 200 only while market data is fresh, the journal writable and the trader not
# HALTED; urlopen raises on any other status, so the exit code is 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; r = urllib.request.urlopen(os.environ['GRADTRADE_HEALTH_URL'], timeout=4); sys.exit(0 if r.status == 200 else 1)"]

ENTRYPOINT ["gradtrade"]
CMD ["trade", "--config", "/config/trader.yaml"]

# ---------------------------------------------------------------------------------------------
FROM runtime AS jupyter

USER 0
RUN pip install --no-cache-dir "jupyterlab>=4.2,<5"
USER 10001:10001
ENV GRADTRADE_TEST_DATA=/app/data
EXPOSE 8888
# No token is set here: JupyterLab prints a random one in `docker compose logs jupyter`.
HEALTHCHECK NONE
ENTRYPOINT ["jupyter", "lab"]
CMD ["--ip=0.0.0.0", "--port=8888", "--no-browser", "--notebook-dir=/app/notebooks"]

# ---------------------------------------------------------------------------------------------
FROM runtime AS trader
