from retrieval.text import content_terms, guess_language, names_in, split_sentences, stem


def texts(s: str) -> list[str]:
    return [span.text for span in split_sentences(s)]


def test_abbreviations_and_initials_do_not_end_sentences() -> None:
    s = "Han er uddannet cand.scient.pol. og har bl.a. arbejdet i LO. Foto: Joram G. Menzer tog billedet."
    assert texts(s) == [
        "Han er uddannet cand.scient.pol. og har bl.a. arbejdet i LO.",
        "Foto: Joram G. Menzer tog billedet.",
    ]


def test_ordinal_dates_are_not_sentence_ends() -> None:
    assert texts("Den 1. marts starter han. Det glæder ham.") == [
        "Den 1. marts starter han.",
        "Det glæder ham.",
    ]


def test_quotes_and_dashes_start_new_sentences() -> None:
    s = "Han smilede. ”Jeg er glad,” siger han. - Det er godt, siger hun."
    assert texts(s) == ["Han smilede.", "”Jeg er glad,” siger han.", "- Det er godt, siger hun."]


def test_offsets_point_into_the_text() -> None:
    s = "  Første sætning her. Anden sætning!\nTredje linje uden punktum"
    for span in split_sentences(s, offset=10):
        assert s[span.start - 10 : span.end - 10] == span.text
    assert len(split_sentences(s)) == 3


def test_language_guess() -> None:
    assert guess_language("Who is the prime minister of Sweden?") == "en"
    assert guess_language("Hvem er formand for udvalget?") == "da"
    assert guess_language("Hvad koster en billet?") == "da"
    assert guess_language("Who is the mayor of Sønderborg?") == "en"
    assert guess_language("Hvornår?") == "da"


def test_irregular_verbs_share_a_stem() -> None:
    assert stem("indgået") == stem("indgik")
    assert stem("skrev") == stem("skrive")


def test_content_terms_drop_stopwords_and_repeat() -> None:
    assert content_terms("Hvem er formand for formand i KL?") == ["formand", "kl"]


def test_names_skip_sentence_openers() -> None:
    assert names_in("Hvem er Troels Lund Poulsen?") == ["Troels Lund Poulsen"]
    assert names_in("Sådan siger borgmester Jens Ive (V).") == ["Jens Ive", "V"]


def test_a_footnote_after_the_stop_ends_the_sentence_with_it() -> None:
    text = "Apple sold it.[3] It sold well.[citation needed] The U.S. Bureau said so."
    assert [s.text for s in split_sentences(text)] == [
        "Apple sold it.[3]",
        "It sold well.[citation needed]",
        "The U.S. Bureau said so.",
    ]
