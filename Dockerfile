# syntax=docker/dockerfile:1
# One image for the four services: `pricealert gateway|ingestor|evaluator|notifier` (or `all`).

# ---- build ----
FROM rust:1-bookworm AS build
# librdkafka is built from source (rdkafka's bundled build): it needs a C toolchain, make and cmake.
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Cache mounts keep the registry and target directory between builds; the binary is copied out
# because the target directory is not part of the image layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p pricealert \
    && cp target/release/pricealert /usr/local/bin/pricealert

# ---- run ----
FROM debian:bookworm-slim AS runtime
# curl for the compose health checks; CA certificates for the price providers, SMTP and Twilio.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/pricealert --create-home pricealert
COPY --from=build /usr/local/bin/pricealert /usr/local/bin/pricealert
USER pricealert
WORKDIR /var/lib/pricealert
# Used only by the embedded default (SQLite file, generated JWT secret); scaled mode uses PostgreSQL.
ENV PRICEALERT_DATA_DIR=/var/lib/pricealert/data
EXPOSE 8000 8001 8002 8003
ENTRYPOINT ["pricealert"]
CMD ["all"]
