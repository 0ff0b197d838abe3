# syntax=docker/dockerfile:1
#
# One image for every cets service; the command picks which:
#   cets node serve · cets federation serve · cets gateway serve · cets ingest FILE
#
# Runs as the unprivileged user 10001, needs no shell, and writes only to the volumes it is
# given (audit logs, /tmp), so it runs with a read-only root filesystem. k8s/ deploys it.
#
# The base image is pinned by version; for a production build pin its digest as well
# (the digest of the image you reviewed, e.g. `docker buildx imagetools inspect`):
#   --build-arg PYTHON_IMAGE=python:3.11.17-slim-bookworm@sha256:<digest>
ARG PYTHON_IMAGE=python:3.11.17-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# pdqhash (PDQ image hashes) is built from its source distribution: it needs a C++ compiler.
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_BINARY=pdqhash
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
RUN python -m venv /opt/cets
COPY pyproject.toml constraints.txt README.md LICENSE ./
COPY protos/gen ./protos/gen
COPY services ./services
# Every dependency at the version in constraints.txt, the versions the tests ran with.
RUN /opt/cets/bin/pip install --no-cache-dir -c constraints.txt . \
 && /opt/cets/bin/pip uninstall --yes pip

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="cets" \
      org.opencontainers.image.description="Federated search for child-exploitation investigations" \
      org.opencontainers.image.licenses="Apache-2.0"
# pdqhash's extension needs the C++ runtime.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libstdc++6 \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 cets \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin cets
COPY --from=build /opt/cets /opt/cets
# Bytecode was compiled at install time; nothing tries to write it to the read-only root.
ENV PATH=/opt/cets/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /tmp
USER 10001:10001
EXPOSE 50051 50061 8080
ENTRYPOINT ["cets"]
CMD ["--help"]
