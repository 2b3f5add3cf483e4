"""A synthetic corpus of about N chunks, made from the real articles in corpus/, for scale benchmarks.

    uv run python benchmarks/synth.py --chunks 100000 --out /tmp/synth-100k [--seed 7] [--mutate 0.25]

Each synthetic article (20-40 chunks, with front matter) is a shuffle of paragraphs and sentences drawn from all
the real articles. Inside it, every person, place and organisation of the real corpus is replaced, consistently
for the whole article, by one drawn from lists below, every number by another of the same kind (year, day,
count), and a fraction `--mutate` of the longer lower-case words by other words of the corpus vocabulary: so
BM25 and dense search see Danish text on the same topics with the same vocabulary, but not hundreds of verbatim
copies of each real sentence (which no real corpus has, and which would make every fact ambiguous).

Deterministic: article i depends only on (seed, i), so the 10,000-chunk corpus is the first articles of the
100,000-chunk one (except for the last, trimmed article). The exact chunk count is computed with the real chunker
(default settings) and written to `synth.json` in the output directory.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.index.articles import Article, load_articles  # noqa: E402
from retrieval.index.chunks import article_sentences, chunk_article  # noqa: E402
from retrieval.index.tokens import count_tokens  # noqa: E402
from retrieval.text import STOPWORDS  # noqa: E402

CORPUS = ROOT / "corpus"
PROMPTS = ROOT / "tests" / "prompts"
CHUNK_TOKENS, OVERLAP_TOKENS = 160, 40

# The named entities of the real corpus, by kind. Longer forms first, so "Kim Them Serup" wins over "Serup".
PEOPLE = [
    "Thomas Kastrup-Larsen",
    "Kim Them Serup",
    "Troels Lund Poulsen",
    "Pia Lund Jeppesen",
    "Leif Lahn Jensen",
    "René Aaby Rasmussen",
    "Cecilia Lonning-Skovgaard",
    "Lene Holm Petersen",
    "Peter Hummelgaard",
    "Joram G. Menzer",
    "Annette Haugaard",
    "Jens Ive",
    "Dovne Robert",
]
# Surname-only mentions, mapped to the surname of the person that replaces the full name.
SURNAMES = {
    "Them Serup": "Kim Them Serup",
    "Holm Petersen": "Lene Holm Petersen",
    "Kastrup-Larsen": "Thomas Kastrup-Larsen",
    "Hummelgaard": "Peter Hummelgaard",
    "Ive": "Jens Ive",
    "Serup": "Kim Them Serup",
}
PLACES = [
    "Faaborg-Midtfyn",
    "Vordingborg",
    "Rudersdal",
    "Silkeborg",
    "København",
    "Hillerød",
    "Aabenraa",
    "Horsens",
    "Kolding",
    "Aalborg",
    "Ålborg",
    "Greve",
    "Køge",
    "Bruxelles",
]
ORGS = [
    "Aalborg Kongres & Kultur Center",
    "KL's Arbejdsmarkeds- og Borgerserviceudvalg",
    "KL’s Arbejdsmarkeds- og Borgerserviceudvalg",
    "Institut for Statskundskab",
    "Københavns Universitet",
    "Flere Skal Med II",
    "Flere Skal Med",
    "Arbejdsministeriet",
    "Socialdemokratiet",
    "Folketinget",
    "HK Kommunal",
    "Dansk Metal",
    "SATS-puljemidler",
    "SATS-puljen",
    "jobCAMP",
    "LO",
    "KL",
]


def _names(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _names(
    "Anders Anne Bente Birgitte Bo Camilla Carsten Charlotte Christian Dorte Erik Eva Finn Frederik Gitte "
    "Hanne Hans Helle Henrik Ida Inge Jakob Jan Jeppe Jesper Jette Johanne Jonas Karen Kasper Kirsten Lars "
    "Lise Louise Mads Maja Malene Maria Martin Mette Michael Mikkel Morten Nanna Niels Ole Poul Rasmus Rikke "
    "Rune Sara Signe Sofie Steen Susanne Søren Tina Tove Ulla Vibeke"
)
MIDDLE_NAMES = _names("Bach Due Friis Holm Juul Lind Lykke Krogh Bruun Dahl Damgaard Vestergaard Skov Berg")
LAST_NAMES = _names(
    "Andersen Bertelsen Christensen Christiansen Clausen Eriksen Frandsen Frederiksen Hansen Henriksen "
    "Iversen Jakobsen Jensen Jeppesen Johansen Jørgensen Kristensen Knudsen Larsen Laursen Lund Madsen "
    "Mikkelsen Mortensen Møller Nielsen Nissen Olesen Olsen Pedersen Petersen Poulsen Rasmussen Schmidt "
    "Simonsen Sørensen Thomsen Thygesen Villadsen Østergaard Overgaard Kjær Mathiesen Bisgaard"
)
TOWNS = _names(
    "Albertslund Allerød Assens Ballerup Billund Bornholm Brøndby Brønderslev Egedal Esbjerg Favrskov Faxe "
    "Fredensborg Fredericia Frederikssund Furesø Gentofte Gladsaxe Glostrup Gribskov Guldborgsund Haderslev "
    "Halsnæs Hedensted Helsingør Herlev Herning Hjørring Holbæk Holstebro Hørsholm Høje-Taastrup Ikast-Brande "
    "Ishøj Jammerbugt Kalundborg Kerteminde Lejre Lemvig Lolland Lyngby-Taarbæk Mariagerfjord Middelfart "
    "Morsø Norddjurs Nordfyns Nyborg Næstved Odder Odense Odsherred Randers Rebild Ringkøbing-Skjern Ringsted "
    "Roskilde Rødovre Samsø Skanderborg Skive Slagelse Solrød Sorø Stevns Struer Svendborg Syddjurs "
    "Sønderborg Thisted Tønder Tårnby Vallensbæk Varde Vejen Vejle Vesthimmerland Viborg Aarhus Ærø"
)
BODIES = [
    "3F Transport",
    "FOA",
    "Dansk Sygeplejeråd",
    "Danske Regioner",
    "Beskæftigelsesministeriet",
    "Styrelsen for Arbejdsmarked og Rekruttering",
    "Finansministeriet",
    "Det Økonomiske Råd",
    "Venstre",
    "Radikale Venstre",
    "Konservative",
    "SF",
    "Enhedslisten",
    "Dansk Arbejdsgiverforening",
    "Dansk Industri",
    "Danske Erhvervsskoler",
    "Rigsrevisionen",
    "Aarhus Universitet",
    "VIVE",
    "Ankestyrelsen",
    "Jobcenter Nord",
    "Projekt Ny Start",
    "Broen til Job",
    "Vejen til Uddannelse",
    "Ungeindsatsen",
    "Socialstyrelsen",
    "Akademikerne",
    "Ledernes Hovedorganisation",
    "Dansk Socialrådgiverforening",
    "Kommunernes Revision",
]
PUBLISHERS = ["Kommunen.dk", "sn.dk", "Altinget", "Ugebrevet A4", "Jobcenter-nyt", "DR Nyheder", "Avisen.dk"]


def _alternation(names: list[str]) -> str:
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))


_ENTITY = re.compile(
    rf"(?<![\wæøåÆØÅ])(?P<name>{_alternation(PEOPLE + list(SURNAMES) + PLACES + ORGS)})"
    r"(?P<gen>'s|’s|s)?(?![\wæøåÆØÅ])"
)
_NUMBER = re.compile(r"\d+")
_WORD = re.compile(r"(?<![\wæøåÆØÅ-])[a-zæøå]{5,}(?![\wæøåÆØÅ-])")


@dataclass(frozen=True)
class Source:
    """The real corpus cut into paragraphs of sentences, and its vocabulary of longer lower-case words."""

    paragraphs: list[list[str]]
    sentences: list[str]
    vocabulary: list[str]
    tokens_per_chunk: float

    @classmethod
    def load(cls, corpus: Path = CORPUS, needle_free: bool = False) -> Source:
        articles, problems = load_articles([corpus])
        if problems or not articles:
            raise SystemExit(f"cannot read the corpus at {corpus}: {problems}")
        is_needle = needle_test() if needle_free else None
        paragraphs: list[list[str]] = []
        for article in articles:
            for paragraph in article.text.split("\n"):
                spans = [s.text for s in article_sentences(_as_article(article, paragraph))]
                spans = [s for s in spans if is_needle is None or not is_needle(s)]
                if spans:
                    paragraphs.append(spans)
        sentences = [s for p in paragraphs for s in p]
        vocabulary = sorted(
            {w for s in sentences for w in _WORD.findall(s) if w not in STOPWORDS}  # lower-case only
        )
        body_tokens = sum(count_tokens(a.text) for a in articles)
        body_chunks = sum(len(chunk_article(a, CHUNK_TOKENS, OVERLAP_TOKENS)) - 1 for a in articles)
        return cls(paragraphs, sentences, vocabulary, body_tokens / body_chunks)


def needle_test(prompts: Path = PROMPTS) -> Callable[[str], bool]:
    """Whether a real sentence restates a test prompt's answer: it holds one of the prompt's expected strings
    (`must_include`) or at least 60% of a question's content words. A needle-free corpus leaves those out, so
    its distractors are on the same topics without stating the same facts about other names."""
    from retrieval.index.lexical import terms

    expected: set[str] = set()
    questions: list[set[str]] = []
    for path in sorted(prompts.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text()).get("cases", []):
            questions.append(set(terms(str(case["question"]))))
            for group in case.get("must_include") or []:
                expected.update(str(a).lower() for a in group if len(str(a).strip()) >= 3)

    def is_needle(sentence: str) -> bool:
        low = sentence.lower()
        if any(a in low for a in expected):
            return True
        words = set(terms(sentence))
        return any(len(q) >= 2 and len(q & words) / len(q) >= 0.6 for q in questions)

    return is_needle


def _as_article(article: Article, text: str) -> Article:
    return Article(doc_id=article.doc_id, path=article.path, text=text, title=article.title)


class Rewriter:
    """Consistent replacements for one synthetic article."""

    def __init__(self, rng: random.Random, source: Source, mutate: float) -> None:
        self.rng = rng
        self.source = source
        self.mutate = mutate
        self.mapping: dict[str, str] = {}

    def person(self) -> str:
        parts = [self.rng.choice(FIRST_NAMES)]
        if self.rng.random() < 0.3:
            parts.append(self.rng.choice(MIDDLE_NAMES))
        parts.append(self.rng.choice(LAST_NAMES))
        return " ".join(parts)

    def replace_entity(self, name: str) -> str:
        if name in self.mapping:
            return self.mapping[name]
        if name in SURNAMES:
            full = self.replace_entity(SURNAMES[name])
            new = full.split(" ", 1)[1] if " " in full else full
        elif name in PEOPLE:
            new = self.person()
        elif name in PLACES:
            new = self.rng.choice(TOWNS)
        else:
            new = self.rng.choice(BODIES)
        self.mapping[name] = new
        return new

    def number(self, match: re.Match[str]) -> str:
        digits = match.group()
        value = int(digits)
        if len(digits) == 4 and 1950 <= value <= 2030:
            return str(self.rng.randint(2005, 2026))
        if len(digits) <= 2 and value <= 31:
            return str(self.rng.randint(1, 31))
        low = 10 ** (len(digits) - 1) if len(digits) > 1 else 0
        return str(self.rng.randint(low, 10 ** len(digits) - 1))

    def word(self, match: re.Match[str]) -> str:
        if self.rng.random() < self.mutate and match.group() not in STOPWORDS:
            return self.rng.choice(self.source.vocabulary)
        return match.group()

    def sentence(self, text: str) -> str:
        def entity(m: re.Match[str]) -> str:
            new = self.replace_entity(m.group("name"))
            gen = m.group("gen") or ""
            if gen and new.endswith("s"):
                gen = "'"
            return new + gen

        text = _ENTITY.sub(entity, text)
        text = _NUMBER.sub(self.number, text)
        return _WORD.sub(self.word, text)


def make_article(
    index: int, seed: int, source: Source, mutate: float, target_chunks: int | None = None
) -> str:
    """The text (with front matter) of synthetic article `index`, of about `target_chunks` chunks."""
    rng = random.Random(f"{seed}:{index}")
    target = target_chunks if target_chunks is not None else rng.randint(20, 40)
    rewriter = Rewriter(rng, source, mutate)
    budget = (target - 1) * source.tokens_per_chunk
    paragraphs: list[str] = []
    tokens = 0
    while tokens < budget:
        if rng.random() < 0.6:  # a real paragraph, rewritten
            picked = rng.choice(source.paragraphs)
        else:  # sentences from anywhere
            picked = rng.sample(source.sentences, rng.randint(1, 3))
        paragraph = " ".join(rewriter.sentence(s) for s in picked)
        paragraphs.append(paragraph)
        tokens += count_tokens(paragraph)
    title_words = rewriter.sentence(rng.choice(source.sentences)).rstrip('.!?”"').split()[:9]
    title = " ".join(title_words).replace('"', "'")
    year = rng.randint(2015, 2024)
    front = [
        "---",
        f'title: "{title}"',
        f"publisher: {rng.choice(PUBLISHERS)}",
        f"date: {year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        f"author: {rewriter.person()}",
        f"url: https://example.org/synth/{index:06d}",
        "---",
        "",
    ]
    return "\n".join(front) + "\n\n".join(paragraphs) + "\n"


def count_chunks(path: Path, text: str) -> int:
    from retrieval.index.articles import parse_article

    return len(chunk_article(parse_article(path, text.encode()), CHUNK_TOKENS, OVERLAP_TOKENS))


def generate(
    out: Path,
    chunks: int,
    seed: int = 7,
    mutate: float = 0.25,
    quiet: bool = False,
    needle_free: bool = False,
) -> dict[str, int]:
    """Write synthetic articles into `out` until they hold `chunks` chunks (the last one trimmed to fit)."""
    manifest = out / "synth.json"
    wanted: dict[str, object] = {"chunks": chunks, "seed": seed, "mutate": mutate, "needle_free": needle_free}
    if manifest.exists():
        done = json.loads(manifest.read_text())
        if {k: done.get(k) for k in wanted} == wanted:
            return {"articles": int(done["articles"]), "chunks": int(done["actual_chunks"])}
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("synth-*.md"):
        old.unlink()
    source = Source.load(needle_free=needle_free)
    total = 0
    index = 0
    started = time.perf_counter()
    while total < chunks:
        path = out / f"synth-{index:06d}.md"
        text = make_article(index, seed, source, mutate)
        n = count_chunks(path, text)
        if total + n > chunks:  # the last article: shrink it until it fits
            remaining = chunks - total
            if remaining < 3:
                break
            for target in range(remaining, 1, -1):
                text = make_article(index, seed, source, mutate, target_chunks=target)
                n = count_chunks(path, text)
                if total + n <= chunks:
                    break
        path.write_text(text)
        total += n
        index += 1
        if not quiet and index % 500 == 0:
            print(
                f"  {index} articles, {total:,} chunks, {time.perf_counter() - started:.0f} s",
                file=sys.stderr,
            )
    manifest.write_text(json.dumps({**wanted, "articles": index, "actual_chunks": total}))
    return {"articles": index, "chunks": total}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=1000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mutate", type=float, default=0.25, help="share of longer words swapped (0-1)")
    parser.add_argument(
        "--needle-free", action="store_true", help="leave out real sentences that answer a test prompt"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    got = generate(args.out, args.chunks, args.seed, args.mutate, needle_free=args.needle_free)
    print(
        f"{got['articles']:,} articles, {got['chunks']:,} chunks in {args.out} ({time.perf_counter() - started:.1f} s)"
    )


if __name__ == "__main__":
    main()
