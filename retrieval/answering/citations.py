"""Pure text logic around a generated answer: the sources sent to the model, and the checks on its reply.

A reply is judged on the text exactly as it will be shown (`safe_text`). A sentence is kept only if it cites a
given source ([n]) that supports it (`supports`), and the kept sentences are renumbered 1..k. The same check runs
on a stream as it arrives (complete sentences only) and on the finished reply.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.documents import Document

from retrieval.answering.lexicon import HAND_SET
from retrieval.answering.replies import citation, unmark
from retrieval.safe_text import safe_text
from retrieval.text import content_terms, guess_language, names_in, split_sentences, stem, words
from retrieval.types import Citation, Language, Turn

REFUSAL_MARKER = "NO_ANSWER"

# [3], [1, 2], [1;2]; `_MARKER` takes the space before it, so a removed marker leaves no gap before a full stop.
_NUMBERS = r"\[\s*(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]"
_MARKER = re.compile(r"([ \t]*)" + _NUMBERS)
_LEADING_MARKERS = re.compile(rf"^(?:\s*{_NUMBERS})+")
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_SOURCES_TAIL = re.compile(
    r"\n\s*(?:\*\*)?(?:kilder|kilde|sources?|references?|referencer)(?:\*\*)?\s*:?(?:\*\*)?\s*\n.*\Z",
    re.DOTALL | re.IGNORECASE,
)
_LABEL = re.compile(
    r"^\s*(?:\*\*)?(?:answer|svar|standalone question|selvstændigt spørgsmål|question|spørgsmål)(?:\*\*)?\s*:\s*",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"«[^»]*»|“[^”]*”|”[^”]*”|\"[^\"]*\"|„[^“”]*[“”]")

NEAR: int = HAND_SET["near_words"]
_WORDS = json.loads(Path(__file__).with_name("support_words.json").read_text(encoding="utf-8"))
NEGATIONS: dict[str, frozenset[str]] = {lang: frozenset(ws) for lang, ws in _WORDS["negations"].items()}
OPPOSITES: dict[str, set[str]] = {}
for _a, _b in _WORDS["opposites"]:
    OPPOSITES.setdefault(_a, set()).add(_b)
    OPPOSITES.setdefault(_b, set()).add(_a)
# the lists start at two ("one" is mostly an article)
NUMBER_WORDS = {lang: {w: str(n) for n, w in enumerate(ws, 2)} for lang, ws in _WORDS["number_words"].items()}
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


# -- what goes to the model ------------------------------------------------------------------------------------


def neutralise(text: str) -> str:
    """Article or chat text made safe inside the delimited blocks: no tags, no look-alike citation markers."""
    return unmark(text.replace("<", "‹").replace(">", "›"))


def _attribute(value: Any) -> str:
    return neutralise(" ".join(str(value).split())).replace('"', "'")


def format_sources(docs: Sequence[Document]) -> str:
    """The numbered sources, one `<source n=... title=... date=...>` element each, in the order given."""
    parts = []
    for n, doc in enumerate(docs, start=1):
        meta = doc.metadata
        fields = {"title": meta.get("title", meta.get("doc_id", ""))}
        fields |= {key: meta[key] for key in ("date", "publisher") if meta.get(key)}
        attributes = "".join(f' {key}="{_attribute(value)}"' for key, value in fields.items())
        parts.append(f'<source n="{n}"{attributes}>\n{neutralise(doc.page_content.strip())}\n</source>')
    return "\n".join(parts)


def format_history(history: Sequence[Turn]) -> str:
    """The last turns as `User:` / `Assistant:` lines; old [n] markers go, since they name other sources."""
    lines = []
    max_chars = HAND_SET["history_chars"]
    for turn in list(history)[-HAND_SET["history_turns"] :]:
        lines.append(f"User: {neutralise(strip_markers(turn.question))}")
        answer = strip_markers(turn.answer.split("\n\n")[0])
        if len(answer) > max_chars:
            answer = answer[:max_chars].rsplit(" ", 1)[0] + " …"
        if answer:
            lines.append(f"Assistant: {neutralise(answer)}")
    return "\n".join(lines)


# -- what comes back -------------------------------------------------------------------------------------------


def strip_reasoning(text: str) -> str:
    """Drop a `<think>` block that reasoning models put first; an unclosed one hides everything after it."""
    text = _THINK.sub("", text)
    return "" if text.lstrip().lower().startswith("<think>") else text


def clean_reply(text: str) -> str:
    """The model's reply without reasoning, an `Answer:` label or a trailing list of sources."""
    text = _LABEL.sub("", strip_reasoning(text).strip(), count=1)
    return _SOURCES_TAIL.sub("", "\n" + text).strip()


def strip_markers(text: str) -> str:
    return " ".join(_MARKER.sub("", text).split())


def cited(text: str) -> list[int]:
    """The numbers the markers of `text` name, in order, repeats and numbers naming no source included."""
    return [int(n) for m in _MARKER.finditer(text) for n in re.findall(r"\d+", m.group())]


def answer_sentences(text: str, complete: bool = True) -> list[tuple[str, str]]:
    """(whitespace before, sentence) pairs; a marker that opens a sentence belongs to the one before it. With
    `complete=False` (a reply still streaming) the last sentence, which may still grow, is left out."""
    pieces: list[list[str]] = []
    spans = split_sentences(text)
    if not complete and spans:
        last = spans.pop()
        if spans and last.text.lstrip().startswith("["):  # "… 44 år. [1" — the one before may still get it
            spans.pop()
    end = 0
    for span in spans:
        body = span.text
        lead = _LEADING_MARKERS.match(body)
        if lead and pieces:
            pieces[-1][1] += " " + lead.group().strip()
            body = body[lead.end() :].strip()
        if body:
            space = text[end : span.start]
            pieces.append(["\n\n" if "\n\n" in space else "\n" if "\n" in space else " ", body])
        end = span.end
    return [(gap, body) for gap, body in pieces]


@dataclass(frozen=True)
class Renumbered:
    text: str
    sources: list[int]  # the given source numbers (1-based) in order of first use; new number = index + 1
    invalid: int  # markers that named no given source, removed


def renumber(text: str, n_sources: int) -> Renumbered:
    """Keep only markers naming one of the `n_sources` sources, renumbered 1..k in order of first use."""
    order: dict[int, int] = {}
    invalid = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal invalid
        numbers = cited(match.group())
        valid = [k for k in numbers if 1 <= k <= n_sources]
        invalid += len(numbers) - len(valid)
        new = dict.fromkeys(order.setdefault(k, len(order) + 1) for k in valid)
        return match.group(1) + "".join(f"[{n}]" for n in new) if new else ""

    text = _MARKER.sub(replace, text)
    text = re.sub(r"(\[\d+\])(?:\1)+", r"\1", text)  # "[1][1]" after merging "[1][7][1]"
    return Renumbered(text.strip(), list(order), invalid)


def quote_for(chunk_text: str, claim_texts: Sequence[str]) -> str:
    """The chunk's sentences that best overlap the claims, as one verbatim span; the whole chunk if none does."""
    sentences = split_sentences(chunk_text)
    if len(sentences) <= 1:
        return chunk_text.strip()
    terms = [set(content_terms(s.text)) for s in sentences]
    lo, hi = len(chunk_text), 0
    for claim in claim_texts:
        wanted = set(content_terms(claim))
        scores = [len(wanted & t) for t in terms]
        best = max(range(len(sentences)), key=lambda i: (scores[i], -i))
        # One shared term is enough for a short claim or a short line (a field of the article's facts).
        short_claim = len(wanted) <= HAND_SET["quote_short_claim_terms"]
        short = short_claim or len(terms[best]) <= HAND_SET["quote_short_line_terms"]
        required = 1 if short else HAND_SET["quote_shared_terms"]
        if wanted and scores[best] >= required:
            lo, hi = min(lo, sentences[best].start), max(hi, sentences[best].end)
    return chunk_text[lo:hi] if lo < hi else chunk_text.strip()


def build_citations(text: str, used: Sequence[int], docs: Sequence[Document]) -> list[Citation]:
    """Citation n (1-based, in order of first use) for each used source, quoting the sentences that cite it."""
    claims: dict[int, list[str]] = {}
    for _, sentence in answer_sentences(text):
        for n in cited(sentence):
            claims.setdefault(n, []).append(strip_markers(sentence))
    out = []
    for n, k in enumerate(used, start=1):
        doc = docs[k - 1]
        quote = quote_for(doc.page_content, claims.get(n, []))
        out.append(
            citation(n, str(doc.metadata.get("chunk_id", doc.id)), doc.metadata, quote, doc.page_content)
        )
    return out


def answer_language(text: str) -> Language | None:
    """The language the prose of an answer is written in, or None when there is too little to tell. Names, quoted
    titles and words with æ/ø/å are left out: an English answer about Danish articles is full of Danish names."""
    prose = strip_markers(_QUOTED.sub(" ", text))
    for name in names_in(prose):
        prose = prose.replace(name, " ")
    kept = [w for w in words(prose) if not any(ch in w for ch in "æøå") and not w.isdigit()]
    return guess_language(" ".join(kept)) if len(kept) >= HAND_SET["answer_language_min_words"] else None


# -- is it supported --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    text: str  # the kept sentences, markers renumbered 1..k in order of first use
    sources: list[int]  # the given source numbers (1-based) in that order
    dropped: int  # sentences without a valid marker, or not supported by what they cite


def check_answer(text: str, passages: Sequence[str], question: str, *, complete: bool = True) -> Checked:
    """Keep the sentences of `text` that cite one of `passages` (numbered from 1) and are supported by it.

    With `complete=False` (a reply still streaming) the last sentence, which may still grow, is left out.
    """
    sentences = answer_sentences(safe_text(text), complete)
    kept: list[str] = []
    for gap, sentence in sentences:
        valid = [k for k in dict.fromkeys(cited(sentence)) if 1 <= k <= len(passages)]
        evidence = tuple(passages[k - 1] for k in valid)
        if REFUSAL_MARKER not in sentence and valid and supports(sentence, evidence, question):
            kept.append((gap if kept else "") + sentence)
    fixed = renumber("".join(kept), len(passages))
    return Checked(fixed.text, fixed.sources, len(sentences) - len(kept))


@functools.lru_cache(maxsize=int(HAND_SET["supports"]))
def supports(sentence: str, passages: tuple[str, ...], question: str) -> bool:
    """Whether `passages` (the sources a sentence cites) say what it says: each of its numbers and names is there,
    a number by the same word ("1999 medlemmer" is not where 1999 is the founding year); a negation or an opposite
    word ("flere"/"færre") agrees; most content words the question did not bring are there. Across languages only
    its names and numbers can be checked."""
    claim = strip_markers(safe_text(sentence))
    evidence = safe_text("\n".join(passages))
    language = guess_language(evidence)
    written = answer_language(claim) or language
    asked = _numbers(question, guess_language(question))
    if not _numbers(claim, written) <= _numbers(evidence, language) | asked:
        return False
    names = [w for name in names_in(claim) for w in name.lower().split()]
    flat = evidence.lower()
    if not all(w in flat or stem(w, written) in flat for w in names):
        return False
    if written != language:  # words cannot be matched across languages: its names and numbers must carry it
        return bool(names or _numbers(claim, written))
    said = [_tokens(s.text, language) for s in split_sentences(evidence)]
    told = _tokens(claim, language)
    if not (_anchored(told, said, set(names), language) and _same_polarity(told, said, language)):
        return False
    new = [t for t in content_terms(claim, language) if t not in content_terms(question, language)]
    new = new or content_terms(claim, language)
    found = _terms(evidence, language)
    return bool(new) and sum(t in found for t in new) > HAND_SET["share_needed"] * len(new)


def _tokens(text: str, language: Language) -> list[str]:
    """The words of `text`, "n't" read as "not", number words and "1.500" as digit strings ("1500")."""
    out = []
    for word in words(re.sub(r"n['’]t\b", " not", text).replace("-", " ")):
        value = str(int(re.sub(r"[.,]", "", word))) if _NUMBER.fullmatch(word) else word
        out.append(NUMBER_WORDS[language].get(value, value))
    return out


def _numbers(text: str, language: Language) -> set[str]:
    return {t for t in _tokens(text, language) if t.isdigit()}


def _content(word: str, language: Language) -> str | None:
    return None if word.isdigit() else next(iter(content_terms(word, language)), None)


def _stems(tokens: Iterable[str], language: Language) -> set[str]:
    return {t for w in tokens if (t := _content(w, language))}


def _side(
    tokens: list[str], i: int, step: int, reach: int, language: Language, *, skip: Set[str] = frozenset()
) -> list[str]:
    """Content terms from token i outwards (step -1 or 1), at most `reach` words, not past another number."""
    out = []
    for j in range(i + step, i + step * (reach + 1), step):
        if not 0 <= j < len(tokens) or tokens[j].isdigit():
            break
        if tokens[j] not in skip and (term := _content(tokens[j], language)):
            out.append(term)
    return out


def _related(a: Iterable[str], b: Iterable[str]) -> bool:
    """Whether two sets of stems share one, or two stems share their first letters ("deltog"/"deltag")."""
    n = HAND_SET["stem_prefix_chars"]
    return any(x == y or (min(len(x), len(y)) >= n and x[:n] == y[:n]) for x in a for y in b)


def _anchored(told: list[str], said: list[list[str]], names: Set[str], language: Language) -> bool:
    """Each number of the claim stands in the passage by the word it stands by in the claim: the word after it
    (its unit: "77 medlemmer"), else the one before ("stiftet i 1999"). Each name is in a passage sentence with
    the word that follows it in the claim (what the claim says it did: "Tom Reed opened")."""
    present = {t for s in said for t in _stems(s, language)}
    for i, token in enumerate(told):
        places = [(s, j) for s in said for j, w in enumerate(s) if w == token]
        if not places or not (token.isdigit() or token in names):
            continue
        after = _side(told, i, 1, HAND_SET["unit_words"], language, skip=names)
        if token in names:
            wanted = after[:1]
            fits = [_related(wanted, _stems(s, language)) for s, _ in places]
        else:
            wanted = (after or _side(told, i, -1, NEAR, language, skip=names))[:1]
            near = None if after else _around(told, i, language)
            fits = [_in_place(wanted, s, j, language, claim=near) for s, j in places]
        if _related(wanted, present) and not any(fits):
            return False
    return True


def _in_place(
    wanted: list[str], tokens: list[str], j: int, language: Language, *, claim: list[str] | None
) -> bool:
    """Whether the number at tokens[j] stands by `wanted`: the claim's unit (then `claim` is None), or its word
    before the number; or the passage's word before the number is by it in the claim (`claim`, the words around
    it there: "founded the bakery in 1952")."""
    following = _side(tokens, j, 1, NEAR, language)
    if claim is None and following:  # a unit follows its number in the passage too, unless the sentence ends
        return _related(wanted, following)
    before = _side(tokens, j, -1, NEAR, language)[:1] if claim is not None else []
    return _related(wanted, _around(tokens, j, language)) or _related(before, claim or [])


def _around(tokens: list[str], j: int, language: Language) -> list[str]:
    reach = HAND_SET["around_words"]
    return _side(tokens, j, -1, reach, language) + _side(tokens, j, 1, reach, language)


def _same_polarity(told: list[str], said: list[list[str]], language: Language) -> bool:
    """A negation (or one word of an opposite pair) in the claim must be in the passage sentence it matches best,
    and one there that bears on the claim's words (the ones after it) must be in the claim."""
    negations = NEGATIONS[language]
    wanted = _stems(told, language) | {w for w in told if w.isdigit()}
    best = max(said, key=lambda s: len(wanted & (_stems(s, language) | set(s))))
    if any(w in negations for w in told):
        return any(w in negations for w in best)
    for i, word in enumerate(best):
        after = _side(best, i, 1, NEAR, language) + [w for w in best[i + 1 : i + 1 + NEAR] if w.isdigit()]
        if word in negations and _related(after, wanted):
            return False
    return not any(w not in best and OPPOSITES.get(w, set()) & set(best) for w in told)


@functools.lru_cache(maxsize=int(HAND_SET["terms"]))
def _terms(text: str, language: Language) -> frozenset[str]:
    return frozenset(content_terms(text, language))
