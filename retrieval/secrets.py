"""The one registry of secrets (bot token, API keys, url credentials): `redact` masks them in any text.

Logs, error lines and replies pass through `redact`, so a secret is never logged or echoed, not even in an error.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import quote, unquote, urlsplit

from retrieval.settings import Settings

_USERINFO = re.compile(r"(?<=://)[^/\s@'\"<>]+@")
_SECRETS: dict[str, str] = {}  # secret -> what is shown in its place
_lock = threading.Lock()


def redact(text: str) -> str:
    """`text` with registered secrets and the user:password part of any url masked."""
    text = _USERINFO.sub("***@", text)
    with _lock:
        secrets = sorted(_SECRETS.items(), key=lambda item: len(item[0]), reverse=True)
    for secret, placeholder in secrets:  # longest first: a secret may contain a shorter one
        text = text.replace(secret, placeholder)
    return text


def protect(secret: str | None, placeholder: str = "***") -> None:
    """Mask `secret` (and its url-quoted form) from now on; shorter than 4 characters would mask ordinary words."""
    if secret and len(secret) >= 4:
        with _lock:
            _SECRETS[secret] = placeholder
            _SECRETS[quote(secret, safe="")] = placeholder


def protect_url(url: str | None) -> None:
    """Mask the user name and password of `url`, wherever they show up without the url around them."""
    if not url:
        return
    parts = urlsplit(url)
    for value in (parts.username, parts.password):
        if value:
            protect(unquote(value))
            protect(value)


def protect_settings(settings: Settings) -> None:
    """Register every configured secret, before anything can log it (HTTP clients log urls)."""
    if settings.llm.api_key.get_secret_value() != "not-needed":  # the default is no secret, and a common word
        protect(settings.llm.api_key.get_secret_value())
    for secret in (settings.chroma.token, settings.telegram.webhook_secret):
        protect(secret.get_secret_value() if secret else None)
    if settings.telegram.token:
        protect(settings.telegram.token.get_secret_value().strip(), "<token>")
    protect_url(settings.llm.base_url)
    protect_url(settings.chroma.url)
