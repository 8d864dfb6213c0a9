# Scar Guide container image.
#
#   docker build -t scar-guide .
#   docker run --rm -e TELOXIDE_TOKEN=... scar-guide
#
# Two stages: a full Rust toolchain builds the binary; the image that runs it holds only the
# binary and glibc, and runs as a non-root user.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /app

# Dependencies first, in their own layer, so that a change to src/ or dialogues/ does not rebuild
# them. The manifest names a bench and a test target, and cargo refuses a manifest whose targets
# are missing, so empty stand-ins are created for them (they are never compiled by `cargo build`).
# build.rs only asks cargo to watch dialogues/, so it can come this early.
# No OpenSSL or pkg-config: teloxide/reqwest use rustls (with ring, built with the image's gcc),
# and redis is built without TLS.
# vendor/ holds the patched teloxide-core the manifest points at.
COPY Cargo.toml Cargo.lock build.rs ./
COPY vendor ./vendor
RUN mkdir -p src benches tests \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs tests/main.rs \
    && for bench in conversation memory burst_memory burst faults; do echo 'fn main() {}' > benches/$bench.rs; done \
    && cargo build --release --locked \
    && rm -r src

# dialogues/ is embedded into the binary at compile time (include_dir!), so it must be here
# before the real build. COPY keeps the files' old modification times, which cargo would take
# for "older than the stand-in build", so the sources are touched to force a rebuild.
COPY dialogues ./dialogues
COPY src ./src
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked \
    && cp target/release/scar-guide /usr/local/bin/scar-guide

# distroless "cc": glibc and libgcc (all the binary links against), nothing else: no shell, no
# package manager. Debian 12 like the build stage, so the glibc matches. Its :nonroot tag runs as
# uid/gid 65532.
# CA certificates are not needed: the Bot API client uses rustls with the webpki-roots bundle
# compiled into the binary (the image happens to include them anyway).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /usr/local/bin/scar-guide /usr/local/bin/scar-guide

# Inside a container the webhook server must listen on all interfaces to be reachable. Used only
# in webhook mode (WEBHOOK_URL set). In polling mode nothing listens unless METRICS_ADDR is set,
# e.g. -e METRICS_ADDR=0.0.0.0:8080. Publish the ports on the host's loopback only
# (-p 127.0.0.1:8080:8080): the reverse proxy on the host forwards the webhook path alone, and
# /healthz and /metrics (unauthenticated) are for the monitoring; in webhook mode
# -e METRICS_ADDR=0.0.0.0:9090 -p 127.0.0.1:9090:9090 moves them off the webhook's port.
ENV LISTEN_ADDR=0.0.0.0:8080
EXPOSE 8080

# No HEALTHCHECK: the image has no shell or curl to run one. Orchestrators should probe
# GET /healthz on port 8080 (200 when ready, 503 while starting or when Redis is unreachable).
# Docker's `docker stop` sends SIGTERM; the bot finishes updates in flight (SHUTDOWN_GRACE,
# default 8s, within Docker's default 10s) and exits 0.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/scar-guide"]
# `run` is the bot only: a missing or bad token is one error line and exit 1, never the console.
CMD ["run"]
