# reclaimer service image: `docker build -t reclaimer .`, then `docker run reclaimer run`.
# Stage 1 builds the wheel and a virtualenv with every dependency; stage 2 gets only
# that virtualenv, so no pip cache, compiler or source tree ships. The ledger's Alembic
# migrations are inside the package (reclaimer/ledger/migrations) and come with the wheel.
# Only the product: the sandbox and the demo are the development distribution in dev/,
# which .dockerignore keeps out of the build context.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY . .
RUN python -m pip wheel --no-deps --wheel-dir /dist . \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install /dist/*.whl

FROM python:3.11-slim-bookworm
LABEL org.opencontainers.image.title="reclaimer" \
      org.opencontainers.image.description="Gives idle GPUs back: stops and restarts KServe InferenceServices by policy." \
      org.opencontainers.image.licenses="Apache-2.0"
# MALLOC_ARENA_MAX=2: glibc gives each thread its own malloc arena (up to 8 per core);
# two keep the worker threads' freed memory reusable and lower the service's peak RSS
# at 10,000 services by about 15 MiB (benchmarks/RESULTS.md, issue 9).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2
# A fixed numeric uid, so runAsNonRoot can verify it without resolving a name.
RUN groupadd --system --gid 10001 reclaimer \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin reclaimer
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["reclaimer"]
CMD ["run"]
