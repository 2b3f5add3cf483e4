"""Issue 11 item 7: every sentence of a model's answer that is shown carries a valid marker and is supported by
the passage it cites; streaming shows only sentences that passed; bracketed numbers in articles are no markers."""

from __future__ import annotations

from langchain_core.documents import Document

from bot.terminal.render import plain
from retrieval.answering.citations import format_sources
from retrieval.answering.generated import LLMGenerator
from tests.test_generate import DOCS, KIM, doc, extractive_for, generate, model


def test_a_claim_whose_only_marker_is_invalid_is_not_shown() -> None:
    answer = generate(LLMGenerator(model("Kim Them Serup er 44 år [1]. Han bor i Køge [9].")))
    assert answer.text == "Kim Them Serup er 44 år [1]."
    assert answer.repairs == {"invalid_citations": 1, "unsupported_sentences": 1}


def test_a_fabricated_claim_with_a_valid_marker_is_dropped() -> None:
    reply = "Kim Them Serup er 44 år [1]. Han vandt Nobelprisen i 2019 [1]. Han bor i Køge med sin hund [1]."
    answer = generate(LLMGenerator(model(reply)))
    assert answer.answerer == "llm"
    assert answer.text == "Kim Them Serup er 44 år [1]."
    assert answer.repairs == {"unsupported_sentences": 2}
    assert answer.citations[0].quote == "Kim Them Serup er 44 år, er gift og har to børn."


def test_a_sentence_is_checked_against_the_passage_it_cites_not_another() -> None:
    # True of source 2 (JobCAMP), but cited to source 1 (Kim): not shown.
    reply = "Kim Them Serup er 44 år [1]. Over 700 deltog i konferencen i Aarhus [1]."
    answer = generate(LLMGenerator(model(reply)))
    assert answer.text == "Kim Them Serup er 44 år [1]."
    fixed = generate(LLMGenerator(model(reply.replace("Aarhus [1]", "Aarhus [2]"))))
    assert fixed.text == "Kim Them Serup er 44 år [1]. Over 700 deltog i konferencen i Aarhus [2]."


def test_numbers_must_be_in_the_cited_passage() -> None:
    answer = generate(LLMGenerator(model("Kim Them Serup er 45 år [1].")))
    assert answer.answerer == "extractive"  # nothing supported is left
    assert answer.repairs == {"unsupported_sentences": 1, "uncited_replaced": 1, "fallback": 1}


def test_when_nothing_is_supported_the_extractive_answer_comes_with_the_notice() -> None:
    extractive = extractive_for()
    answer = generate(LLMGenerator(model("Kim Them Serup er astronaut på Mars [1].")), extractive=extractive)
    assert answer.answerer == "extractive" and extractive.calls == [1]
    assert answer.text == "Kim Them Serup er 44 år [1]."
    assert plain(answer).startswith("(Sprogmodellens svar kunne ikke bekræftes af artiklerne")


def test_an_english_answer_about_danish_sources_keeps_supported_names_and_numbers() -> None:
    reply = (
        "Kim Them Serup is 44 years old and has two children [1]. "
        "He becomes head of employment in Vordingborg [1]. He used to live in Copenhagen [1]."
    )
    answer = generate(LLMGenerator(model(reply)), "How old is Kim Them Serup?")
    assert answer.answerer == "llm"
    assert answer.text == (
        "Kim Them Serup is 44 years old and has two children [1]. "
        "He becomes head of employment in Vordingborg [1]."
    )


def test_streaming_shows_only_sentences_that_passed_the_checks() -> None:
    reply = (
        "Mine instruktioner er: du svarer kun ud fra kilderne. "  # a leaked system prompt, uncited
        "Kim Them Serup er 44 år [1]. "
        "Han vandt Nobelprisen i 2019 [1]. "  # cited but unsupported
        "Han er gift og har to børn [1]."
    )
    tokens: list[str] = []
    answer = generate(LLMGenerator(model(reply)), on_token=tokens.append)
    shown = "".join(tokens)
    assert "instruktioner" not in shown and "Nobel" not in shown
    assert shown == answer.text == "Kim Them Serup er 44 år [1]. Han er gift og har to børn [1]."


def test_a_stream_cut_in_the_middle_of_a_sentence_showed_nothing_of_it() -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    broken = FakeListChatModel(responses=["Kim Them Serup er 44 år [1]."], error_on_chunk_number=10)
    tokens: list[str] = []
    answer = generate(LLMGenerator(broken), on_token=tokens.append)
    assert tokens == [] and answer.answerer == "extractive"


def test_bracketed_numbers_in_articles_reach_the_model_as_plain_text() -> None:
    article = doc(0, KIM + " Se note [7], tabel [ 3 ] og [1, 2] samt [4;5].", "kim")
    block = format_sources([article, DOCS[1]])
    body = block.split("\n", 1)[1]
    assert "[" not in body.split("</source>")[0]
    assert "note (7), tabel (3) og (1, 2) samt (4;5)." in body


def test_a_marker_copied_from_an_article_is_no_citation() -> None:
    # The article says "[2]" (a footnote); the model copies it as "(2)": that is text, not a citation.
    article = doc(0, KIM + " Han fik prisen [2].", "kim")
    answer = generate(
        LLMGenerator(model("Kim Them Serup er 44 år [1]. Han fik prisen (2).")), docs=[article, DOCS[1]]
    )
    assert answer.text == "Kim Them Serup er 44 år [1]."
    assert [c.doc_id for c in answer.citations] == ["kim"]


def test_the_support_test_uses_the_documents_given() -> None:
    other = Document(page_content="Intet om alder her.", metadata=dict(DOCS[0].metadata))
    answer = generate(LLMGenerator(model("Kim Them Serup er 44 år [1].")), docs=[other])
    assert answer.answerer == "extractive"


LEAKY = (
    "Mine instruktioner er: du svarer kun ud fra kilderne. "
    "Kim Them Serup er 44 år [1]. "
    "Han vandt Nobelprisen i 2019 [1]. "
    "Han er gift og har to børn [1]."
)


def test_the_terminal_never_shows_an_unchecked_sentence() -> None:
    import io

    from rich.console import Console

    from bot.terminal.streaming import live_answer

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, color_system=None)
    gen = LLMGenerator(model(LEAKY))
    answer = live_answer(console, lambda on_token: generate(gen, on_token=on_token))
    shown = out.getvalue()
    assert "Kim Them Serup er 44 år [1]." in shown and "Tænker" in shown  # the neutral state, then text
    assert "instruktioner" not in shown and "Nobel" not in shown
    assert answer.text == "Kim Them Serup er 44 år [1]. Han er gift og har to børn [1]."


async def test_telegram_drafts_never_show_an_unchecked_sentence() -> None:
    import asyncio

    from bot.telegram.streaming import MessageStreamer

    edits: list[str] = []

    async def edit(text: str) -> None:
        edits.append(text)

    gen = LLMGenerator(model(LEAKY))
    async with MessageStreamer(edit, interval=0.0) as streamer:
        answer = await asyncio.to_thread(generate, gen, on_token=streamer.on_token)
        await streamer.final(answer.text)
    assert edits and edits[-1] == answer.text
    assert not any("instruktioner" in e or "Nobel" in e for e in edits)


def test_an_answer_streaming_in_the_wrong_language_is_not_shown() -> None:
    reply = (
        "Kim Them Serup is 44 years old and he has two children [1]. He is married and has two children [1]."
    )
    tokens: list[str] = []
    answer = generate(LLMGenerator(model(reply)), "Hvor gammel er Kim Them Serup?", on_token=tokens.append)
    assert tokens == [] and answer.repairs == {"wrong_language": 1, "fallback": 1}
