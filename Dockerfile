# orders-bridge container image. Build: docker build -t orders-bridge .  Run: README.md "Docker".
# Two stages: the builder installs the package and its locked dependencies into a virtual
# environment; the runtime stage copies only that environment and the demo files, and runs as
# an unprivileged user.
#
# Dependencies come only from the lock files (requirements/build.txt and runtime.txt: exact
# pins with hashes, `make lock`), as for `make run`; the package itself is installed with
# --no-deps. The base image is pinned by tag only: its digest could not be read where this
# file was written (no Docker engine or registry reachable there), and a digest is never
# written from memory. Pin it where a registry is reachable, in one place:
#   docker buildx imagetools inspect python:3.11-slim-bookworm   (the "Digest:" line)
#   docker build --build-arg PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:<digest> .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY requirements/build.txt requirements/runtime.txt ./requirements/
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --require-hashes --no-deps -r requirements/build.txt \
    && /opt/venv/bin/pip install --require-hashes --no-deps -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY bridge ./bridge
COPY mappings ./mappings
RUN /opt/venv/bin/pip install --no-deps --no-build-isolation . \
    && /opt/venv/bin/pip check \
    && /opt/venv/bin/orders-bridge --help > /dev/null

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BRIDGE_HOST=0.0.0.0 \
    BRIDGE_PORT=8080 \
    BRIDGE_DATABASE_URL=sqlite:////data/orders-bridge.db \
    BRIDGE_LOG_FORMAT=json
RUN groupadd --system --gid 10001 bridge \
    && useradd --system --uid 10001 --gid bridge --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin bridge \
    && mkdir -p /data \
    && chown bridge:bridge /data
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY demo ./demo
USER bridge:bridge
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('BRIDGE_PORT', '8080'), timeout=2)"]
ENTRYPOINT ["orders-bridge"]
CMD ["serve"]
