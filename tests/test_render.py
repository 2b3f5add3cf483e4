from bot.terminal.render import plain
from retrieval.types import Answer, Citation


def answer(**kwargs: object) -> Answer:
    base: dict[str, object] = {
        "question": "Hvem?",
        "text": "Pia Lund Jeppesen er næstformand. [1]",
        "refused": False,
        "language": "da",
        "citations": [Citation(1, "doc", "c1", "Titel", "2022-09-15", None, "quote")],
    }
    base.update(kwargs)
    return Answer(**base)  # type: ignore[arg-type]


def test_plain_lists_numbered_sources() -> None:
    text = plain(answer())
    assert text.splitlines()[-1] == "[1] Titel · 2022-09-15  (doc)"
    assert "Kilder:" in text


def test_a_refusal_shows_no_sources() -> None:
    assert plain(answer(refused=True, citations=[], text="Det kan jeg ikke finde i artiklerne.")) == (
        "Det kan jeg ikke finde i artiklerne."
    )


def test_a_failed_model_is_said_in_the_question_language() -> None:
    assert plain(answer(repairs={"model_error": 1, "fallback": 1})).startswith("(Sprogmodellen svarede ikke")
    english = plain(answer(language="en", repairs={"model_error": 1}))
    assert english.startswith("(The language model did not answer")
    assert "Sprogmodellen" not in plain(answer())
