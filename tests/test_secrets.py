"""The one secrets registry: whatever is registered, in any form, never shows in text that passes `redact`."""

from __future__ import annotations

from pydantic import SecretStr

from retrieval.secrets import protect, protect_settings, protect_url, redact
from retrieval.settings import Settings


def test_a_secret_and_its_url_quoted_form_are_masked() -> None:
    protect("s3cret/with space")
    assert redact("key s3cret/with space, quoted s3cret%2Fwith%20space") == "key ***, quoted ***"


def test_url_credentials_are_masked_with_and_without_the_url() -> None:
    protect_url("http://alice-k9:pa%40ss-word@llm.example:8080/v1")
    assert redact("GET http://bob:other@host/v1") == "GET http://***@host/v1"
    assert redact("name alice-k9, password pa@ss-word") == "name ***, password ***"


def test_short_values_are_not_registered() -> None:
    protect("abc")
    assert redact("abc") == "abc"


def test_every_configured_secret_is_registered() -> None:
    settings = Settings(
        telegram_token=SecretStr(" 123456:tg-token-value "),
        chroma_token=SecretStr("chroma-token-value"),
        llm_api_key=SecretStr("sk-settings-key"),
    )
    protect_settings(settings)
    assert redact("123456:tg-token-value chroma-token-value sk-settings-key") == "<token> *** ***"


def test_the_default_api_key_is_no_secret() -> None:
    protect_settings(Settings())
    assert redact("api key not-needed") == "api key not-needed"
