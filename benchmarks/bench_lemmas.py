"""How often a question's content word is found in the article that answers it, by four ways of matching words.

    uv run python benchmarks/bench_lemmas.py

Ways: Snowball stems alone; Snowball after the hand-written irregular-verb table (the first answerer's `stem`);
simplemma lemmas; simplemma lemmas plus compound parts (`retrieval.answering.language.part_match`). Questions: the project's
tuning prompts (Danish, over corpus/) and the SQuAD set (English, over its articles). Only answerable
same-language questions count. Prints the share of question words found, per set and way.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import Stemmer  # noqa: E402

from retrieval.answering.language import lemma, part_match  # noqa: E402
from retrieval.evaluation.runner import load_cases  # noqa: E402
from retrieval.index.articles import load_articles  # noqa: E402
from retrieval.langid import detect_language  # noqa: E402
from retrieval.text import STOPWORDS, words  # noqa: E402
from retrieval.text import lemma as irregular  # noqa: E402

SETS = {
    "danish tuning prompts": (
        ROOT / "corpus",
        [ROOT / "tests/prompts/dev.yaml", ROOT / "tests/prompts/extra.yaml"],
    ),
    "squad (English)": (
        ROOT.parent / "shared/eval/squad/corpus",
        [ROOT.parent / "shared/eval/squad/questions.yaml"],
    ),
}


@functools.cache
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer("danish" if language == "da" else "english")


def ways(language: str) -> dict[str, functools.partial[str] | object]:
    stem = _stemmer(language).stemWord
    return {
        "snowball stem": stem,
        "irregular table + stem": lambda w: stem(irregular(w)) if language == "da" else stem(w),
        "simplemma lemma + stem": lambda w: stem(lemma(w, language)),  # type: ignore[arg-type]
        "simplemma lemma": lambda w: lemma(w, language),  # type: ignore[arg-type]
    }


def main() -> int:
    for name, (corpus, prompts) in SETS.items():
        articles, _ = load_articles([corpus])
        by_id = {a.doc_id: a for a in articles}
        language = detect_language(" ".join(a.text[:2000] for a in articles[:3]))
        cases = [c for c in load_cases(prompts) if c.answerable and detect_language(c.question) == language]
        found: dict[str, list[bool]] = {}
        forms = ways(language)
        doc_forms: dict[tuple[str, str], set[str]] = {}
        for case in cases:
            text_words = {w for d in case.expected_sources if d in by_id for w in words(by_id[d].text)}
            for word in (
                w for w in words(case.question) if w not in STOPWORDS and len(w) > 2 and not w.isdigit()
            ):
                for way, fn in forms.items():
                    key = (way, "|".join(case.expected_sources))
                    if key not in doc_forms:
                        doc_forms[key] = {fn(w) for w in text_words}  # type: ignore[operator]
                    found.setdefault(way, []).append(fn(word) in doc_forms[key])  # type: ignore[operator]
                    if way == "simplemma lemma":
                        hit = part_match(fn(word), doc_forms[key]) > 0  # type: ignore[operator]
                        found.setdefault("simplemma lemma + compound parts", []).append(hit)
        print(f"\n{name}: {len(cases)} questions, {len(found['snowball stem'])} content words")
        for way, hits in found.items():
            print(f"  {way:34s} {sum(hits) / len(hits):.3f}  ({sum(hits)}/{len(hits)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
