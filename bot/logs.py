"""Logging for every command: secrets and url credentials masked in every record, control characters removed.

Masking happens when a record is created (a log record factory), so it holds whichever logger or handler a
record goes through: HTTP clients log request urls at INFO (`httpx`, and `httpx2` under the OpenAI client),
and a url such as `http://user:password@host/v1` or a Bot API url carries a secret.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from bot.safe_text import safe_text
from retrieval.secrets import redact

_lock = threading.Lock()
_installed = False
HTTP_LOGGERS = ("httpx", "httpx2", "httpcore", "httpcore2")


class Redactor(logging.Filter):
    """Masks secrets in a record's message, traceback and stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string is the logging module's to report
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info:
            record.exc_text = redact(record.exc_text or logging.Formatter().formatException(record.exc_info))
            record.exc_info = None  # handlers must print the redacted text, not format the traceback again
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_redactor() -> None:
    """Mask the secrets registered in `retrieval.secrets` in every log record from now on."""
    global _installed  # noqa: PLW0603 (one record factory per process)
    with _lock:
        if _installed:
            return
        previous, redactor = logging.getLogRecordFactory(), Redactor()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            redactor.filter(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True


def hide_request_urls() -> None:
    """HTTP clients log every request url at INFO, and a Bot API url holds the bot token: log them at WARNING."""
    install_redactor()
    for name in HTTP_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


class TerminalFormatter(logging.Formatter):
    """Log lines for a terminal: text from articles (file names, titles) cannot carry escape sequences."""

    def format(self, record: logging.LogRecord) -> str:
        return safe_text(super().format(record))


class OneLine(logging.Filter):
    """Drops the traceback of python-telegram-bot's "Network Retry Loop ... Aborting" record: the error itself
    reaches the command's edge and is reported there in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Network Retry Loop"):
            record.exc_info, record.exc_text = None, None
        return True


def configure(verbose: bool) -> None:
    """Logging for a `kilde` command: INFO with `-v`, else WARNING; secrets masked from the start."""
    root = logging.getLogger()
    if not root.handlers:  # else someone (a test, an embedding program) set logging up already
        handler = logging.StreamHandler()
        handler.setFormatter(TerminalFormatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("telegram.ext").addFilter(OneLine())
    install_redactor()
