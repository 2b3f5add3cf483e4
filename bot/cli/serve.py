"""`kilde bot`: serve the articles as a Telegram bot. Registered in `bot.cli.main` with `cli.add_command(bot_command)`."""

from __future__ import annotations

import sys
from typing import Any

import click

from bot import logs
from retrieval.errors import KildeError
from retrieval.secrets import protect_settings, redact
from retrieval.settings import Settings
from retrieval.types import AnswerService


@click.command("bot")
@click.pass_obj
def bot_command(settings: Settings) -> None:
    """Answer questions in Telegram (long polling, or a webhook when KILDE_TELEGRAM_WEBHOOK_URL is set).

    Needs KILDE_TELEGRAM_TOKEN and either KILDE_TELEGRAM_ALLOWED_IDS or KILDE_TELEGRAM_OPEN=true.
    """
    from telegram.error import InvalidToken, TelegramError

    from bot.telegram.app import check_settings, run_bot
    from bot.telegram.sending import describe

    try:
        check_settings(settings)
        protect_settings(settings)  # before the (slow) service is built
        logs.hide_request_urls()
        service, embeddings = _service(settings)
        run_bot(settings, service, embeddings)
    except InvalidToken:
        _fail(KildeError("Telegram rejected the bot token: check KILDE_TELEGRAM_TOKEN"))
    except TelegramError as exc:
        _fail(KildeError(f"cannot talk to the Telegram Bot API at {_host(settings)}: {describe(exc)}"))
    except KildeError as exc:
        _fail(exc)


def _service(settings: Settings) -> tuple[AnswerService, Any]:
    """A live service: the bot follows edits to the article files (and /reload) without a restart; and its
    embedder, which admins' additions reuse (one model in memory, not two)."""
    import logging

    from bot.cli.indexing import ensure_index
    from retrieval.live import build_live_service
    from retrieval.service import build_embeddings

    ensure_index(settings)
    embeddings = build_embeddings(settings)
    return build_live_service(settings, logging.getLogger("bot.telegram.app").warning, embeddings), embeddings


def _host(settings: Settings) -> str:
    from urllib.parse import urlsplit

    return urlsplit(settings.telegram.api_url).netloc or settings.telegram.api_url


def _fail(exc: KildeError) -> None:
    click.echo(f"kilde: error: {redact(str(exc))}", err=True)
    sys.exit(exc.exit_code)
