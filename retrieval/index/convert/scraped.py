"""Plain text and Markdown: kept as they are when they carry front matter; scraped text cleaned.

Text copied or scraped off a news site holds the article between menus, share and cookie lines, CMS field labels,
the title and lead twice, "related articles" and footers. Cleaning it is paragraph classification as
article-extraction libraries do it: jusText (which trafilatura brings along) judges each line by its length, link
density and share of stop words in its language; around it, our own general steps that jusText lacks for text
without markup: duplicate and contained lines (a repeated lead, a pull quote) are dropped, CMS field labels
("Titel:", "Navn:") are read as facts, short date and byline lines give the date and author, and lines with the
vocabulary of footers and banners (copyright, cookies, subscriptions, "related") are dropped outside the article's
prose. Nothing here knows a particular site.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.index.convert import ArticleError, Converted
from retrieval.index.convert.dates import find_dates

# CMS field labels whose value is an article fact, in the languages kilde meets (lower case, without the colon).
TITLE_LABELS = {"titel", "title", "overskrift", "headline", "rubrik", "tittel"}
AUTHOR_LABELS = {
    "navn",
    "name",
    "forfatter",
    "author",
    "journalist",
    "skribent",
    "af",
    "by",
    "byline",
    "autor",
    "författare",
}
DATE_LABELS = {
    "publiceringsdato", "dato", "date", "published", "publiceret", "udgivet", "publication date", "datum",
    "publicerad", "publisert", "veröffentlicht",
}  # fmt: skip
PUBLISHER_LABELS = {"udgiver", "publisher", "medie", "site", "source", "kilde", "utgiver", "herausgeber"}
LEAD_LABELS = {"kort tekst", "lead", "manchet", "summary", "resumé", "ingress", "teaser", "standfirst"}
BODY_LABELS = {"lang tekst", "brødtekst", "body", "text", "tekst", "artikel", "article", "content", "indhold"}
# Labels whose value is never the article's text (footers, comment boxes, disclaimers, photo fields).
BOILERPLATE_LABELS = {
    "disclaimer", "ophavsret", "copyright", "kommentarer", "comments", "kommentar", "relaterede artikler",
    "related", "related articles", "tags", "emner", "topics", "billede", "image", "foto", "photo", "fotoreportage",
    "billedtekst", "caption", "del", "share", "del artiklen", "nyhedslinks", "links", "fakta", "faktatitel",
}  # fmt: skip

# Words of footers, banners and link lists (stems, lower case) in Danish, Norwegian, Swedish, German and English.
_BOILERPLATE_WORDS = re.compile(
    r"©|\bcopyright|ophavsret|upphovsrätt|opphavsrett|urheberrecht|alle rettigheder|all rights reserved"
    r"|\bcookie|samtykke|consent|\bgdpr\b|privatlivs|privacy|persondata|datenschutz|integritet"
    r"|abonne|subscri|nyhedsbrev|newsletter|nyhetsbrev|log ind|log in\b|login|sign in|sign up|tilmeld"
    r"|del artiklen|del på|share this|share on|dela |teilen|send til din ven|e-mail til en ven"
    r"|vilkår og betingelser|terms of (?:use|service)|nutzungsbedingungen|forbeholder sig"
    r"|til toppen|back to top|tilbage til forsiden|fra forsiden|gå til forsiden|\bmenu\b|\bannonce\b|\badvertisement\b|\bannons\b|\banzeige\b",
    re.IGNORECASE,
)
_RELATED = re.compile(
    r"^(?:andre nyheder|andre artikler|læs også|læs mere|relaterede?(?: artikler| nyheder)?|se også|mest læste"
    r"|related(?: articles| stories| posts)?|read more|read also|more from|more stories|you may also like"
    r"|les også|relaterte saker|läs också|relaterat|mehr zum thema|lesen sie auch|weitere artikel)\b",
    re.IGNORECASE,
)
_LABEL = re.compile(r"^(?P<label>[\w][\w .\-/()]{0,30}?)\s*:\s*(?P<value>.*)$")
_BYLINE = re.compile(
    r"(?:^|[\s|·•–—-])(?:Af|By|Von|Av|Door|Par|Skrevet af|Written by|Tekst|Text)[:\s]+"
    r"(?P<name>(?:[A-ZÆØÅÄÖÜÉ][\w'’\-]*\.?)(?:\s+(?:[A-ZÆØÅÄÖÜÉ][\w'’\-]*\.?|van|von|de|der|den|af))*)"
)
_EMAIL = re.compile(r"\b[\w.+-]+@(?P<domain>[\w-]+(?:\.[\w-]+)+)\b")
_DOMAIN_LINE = re.compile(r"^(?:www\.)?[\w-]+(?:\.[\w-]+)*\.[a-z]{2,6}$", re.IGNORECASE)
_COPYRIGHT = re.compile(
    r"(?:©|\(c\)|copyright)\s*(?:\d{4}\s*)?(?P<holder>[A-ZÆØÅ][\w&\- ]{1,60}?)(?:\s+\d{4})?\s*(?:[.|·,]|$)",
    re.IGNORECASE,
)
# A photo credit at the end of a caption ("... på området. Foto: Jane Doe"): not part of the sentence.
_CREDIT = re.compile(r"\s+(?:Foto|Photo|Billede|Illustration|Grafik|Bild|Kilde)\s*:\s*[\w .'’&/-]{2,60}$")
# An image's file name left in the text ("DSC01683_flok med balloner", "image3._Kastrup", "IMG_2231.jpg").
_IMAGE_NAME = re.compile(
    r"\b(?:img|image|dsc|dscn|photo|foto|pic)[\W_]*\d|\w_\w|\w_(?:\s|$)|\.(?:jpe?g|png|gif|webp)\b",
    re.IGNORECASE,
)
_CONJUNCTIONS = {"og", "and", "und", "och", "&", "|", "-", "–", "og/eller"}
_STOPLISTS = ("Danish", "English", "German", "Swedish", "Norwegian_Bokmal", "Dutch", "French", "Spanish")


def decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16").replace("\r\n", "\n").replace("\r", "\n")
    if b"\x00" in data[:8192]:
        raise ArticleError("binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # the usual other encoding of a saved web page's text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def convert_text(data: bytes, url: str | None, source_file: str | None, markdown: bool = False) -> Converted:
    text = decode(data)
    if re.match(r"---[ \t]*\n", text):  # front matter already: the article is kept as its author wrote it
        return Converted(title="", body="", url=url, source_file=source_file, markdown=text)
    if markdown:  # Markdown is written, not scraped: kept whole, its first heading (or line) the title
        heading = re.search(r"^#{1,6}[ \t]+(.+)$", text, re.MULTILINE)
        first = heading.group(1) if heading else text.strip().split("\n", 1)[0]
        if not text.strip():
            raise ArticleError("no article text")
        return Converted(title=first.strip("# ").strip()[:200], body=text.strip(), url=url, source_file=source_file)
    cleaned = clean_text(text)
    return Converted(
        title=cleaned.title or (Path(source_file).stem if source_file else "untitled"),
        body=cleaned.body,
        publisher=cleaned.publisher,
        date=cleaned.date,
        author=cleaned.author,
        url=url,
        source_file=source_file,
    )


@dataclass
class Cleaned:
    body: str
    title: str | None = None
    date: str | None = None
    author: str | None = None
    publisher: str | None = None
    dropped: list[str] = field(default_factory=list)  # for benchmarks and -v: what was left out


def _norm(line: str) -> str:
    return re.sub(r"\W+", " ", line.casefold()).strip()


def _words(line: str) -> list[str]:
    return re.findall(r"\w[\w'’.-]*", line)


def clean_text(text: str) -> Cleaned:
    """The article in scraped text, its facts, and what was dropped."""
    lines = [re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.split("\n")]
    lines = [line.lstrip("#").strip() if line.startswith("#") else line for line in lines]
    lines = [_CREDIT.sub("", line) for line in lines if line]
    if not lines:
        raise ArticleError("no article text")
    facts: dict[str, str] = {}
    keep = [True] * len(lines)
    role = [""] * len(lines)  # "lead" or "body" when a CMS label said so

    # 1. CMS field labels: "Titel:" alone on a line (its value on the next lines) or "Dato: 08-11-2018".
    current: str | None = None
    for i, line in enumerate(lines):
        match = _LABEL.match(line)
        label = match.group("label").casefold() if match else None
        if match and label is not None and len(label.split()) <= 3 and _is_label(label, match.group("value")):
            keep[i] = False
            value = match.group("value").strip()
            current = label
            if value:
                _take_fact(facts, label, value)
                current = None if label not in LEAD_LABELS | BODY_LABELS else label
            continue
        if current is None:
            continue
        if current in LEAD_LABELS or current in BODY_LABELS:
            role[i] = "lead" if current in LEAD_LABELS else "body"
            continue
        if current in BOILERPLATE_LABELS:
            keep[i] = False
            continue
        if _take_fact(facts, current, line):
            keep[i] = False
        current = None

    # 2. The title: a labelled one, else the first heading-like line followed by prose or a date/byline line.
    title = facts.get("title")
    if title is None:
        first_prose_line = next((i for i, line in enumerate(lines) if keep[i] and _prose(line)), 0)
        limit = max(3, len(lines) * 2 // 5, first_prose_line + 1)
        for i in range(min(limit, len(lines))):
            if keep[i] and _heading_like(lines[i]) and not _meta_line(lines[i]):
                after = next((lines[j] for j in range(i + 1, len(lines)) if keep[j]), "")
                if _prose(after) or _meta_line(after):
                    title = lines[i]
                    break
    if title:
        for i, line in enumerate(lines):
            if _norm(line) == _norm(title):
                keep[i] = False

    # 3. Date, byline and site lines: facts, not text.
    for i, line in enumerate(lines):
        if not keep[i] or role[i]:
            continue
        if _meta_line(line):
            keep[i] = False
            _date_and_byline(line, facts)
            email = _EMAIL.search(line)
            if email:
                facts.setdefault("site", email.group("domain"))
        elif i < 3 and _DOMAIN_LINE.match(line):
            keep[i] = False
            facts.setdefault("site", line)

    # 4. Repeated lines (a lead shown twice, a whole article pasted twice) and lines inside longer ones (pull quotes).
    seen: set[str] = set()
    kept_norms = [_norm(line) for line in lines]
    for i, norm in enumerate(kept_norms):
        if not keep[i]:
            continue
        if norm in seen:
            keep[i] = False
            continue
        seen.add(norm)
    _drop_contained(lines, kept_norms, keep)

    # 5. Paragraph classification (jusText) on what is left, then the footer/banner vocabulary and link lists.
    candidates = [i for i in range(len(lines)) if keep[i]]
    good = _classify([lines[i] for i in candidates])
    for i, is_good in zip(candidates, good, strict=True):
        if not is_good and not role[i]:
            keep[i] = False
    prose_rows = [
        i
        for i in range(len(lines))
        if keep[i] and _prose(lines[i]) and not _BOILERPLATE_WORDS.search(lines[i])
    ]
    first_prose = prose_rows[0] if prose_rows else 0
    last_prose = prose_rows[-1] if prose_rows else len(lines) - 1
    # The footer: from the first line with footer vocabulary after which less than 15 % of the prose is left.
    total = sum(len(lines[i]) for i in prose_rows) or 1
    left = total
    for i, line in enumerate(lines):
        if i in prose_rows:
            left -= len(line)
        if keep[i] and i > first_prose and _BOILERPLATE_WORDS.search(line) and left < 0.15 * total:
            keep[i:] = [False] * (len(lines) - i)
            last_prose = min(last_prose, i - 1)
            break
    in_links = False
    for i, line in enumerate(lines):
        if _RELATED.match(line) and len(_words(line)) <= 6:
            keep[i] = False
            in_links = True
            continue
        if in_links:
            if _prose(line) and len(_words(line)) > 25:
                in_links = False
            else:
                keep[i] = False
                continue
        outside = i < first_prose or i > last_prose
        if keep[i] and _BOILERPLATE_WORDS.search(line) and (len(_words(line)) < 15 or outside):
            keep[i] = False
        if keep[i] and not role[i] and (i < first_prose or i > last_prose) and not _prose(line):
            keep[i] = False
        if keep[i] and len(_words(line)) <= 8 and _IMAGE_NAME.search(line):
            keep[i] = False
    # Runs of very short lines are menus and link lists ("Facebook / LinkedIn / Mail"); a subheading stands alone.
    short = [len(_words(line)) <= 4 and not _prose(line) for line in lines]
    for i in range(len(lines)):
        if keep[i] and short[i] and ((i > 0 and short[i - 1]) or (i + 1 < len(lines) and short[i + 1])):
            keep[i] = False

    # The copyright holder or the site's name or mail domain stands for the publisher when nothing else does.
    publisher = facts.get("publisher") or facts.get("site")
    if publisher is None:
        for line in lines:
            holder = _COPYRIGHT.search(line)
            if holder:
                publisher = holder.group("holder").strip(" .")
                break
    paragraphs: list[str] = []
    for i, line in enumerate(lines):
        if keep[i]:
            heading = _heading_like(line) and not _prose(line) and role[i] != "lead"
            paragraphs.append(f"## {line}" if heading and paragraphs else line)
    while paragraphs and paragraphs[-1].startswith("## "):
        paragraphs.pop()
    body = "\n\n".join(paragraphs)
    if len(_words(body)) < 20:
        raise ArticleError("no article text found (only menus, links or short lines)")
    return Cleaned(
        body=body,
        title=title,
        date=facts.get("date"),
        author=facts.get("author"),
        publisher=publisher,
        dropped=[line for i, line in enumerate(lines) if not keep[i]],
    )


def _is_label(label: str, value: str) -> bool:
    known = (
        TITLE_LABELS
        | AUTHOR_LABELS
        | DATE_LABELS
        | PUBLISHER_LABELS
        | LEAD_LABELS
        | BODY_LABELS
        | BOILERPLATE_LABELS
    )
    if label in known:
        return True
    # An unknown "Word:" alone on a line is a field label of a CMS dump; with text after it, it is prose.
    return not value and len(label.split()) <= 2


def _take_fact(facts: dict[str, str], label: str, value: str) -> bool:
    value = value.strip()
    if not value:
        return False
    if label in TITLE_LABELS and "title" not in facts:
        facts["title"] = value
        return True
    if label in AUTHOR_LABELS and "author" not in facts and len(_words(value)) <= 6:
        facts["author"] = value
        return True
    if label in DATE_LABELS:
        dates = find_dates(value)
        if dates:
            facts.setdefault("date", dates[0][1].isoformat())
            return True
    if label in PUBLISHER_LABELS and "publisher" not in facts:
        facts["publisher"] = value
        return True
    return label in BOILERPLATE_LABELS or label not in LEAD_LABELS | BODY_LABELS


_LOOSE_BYLINE = re.compile(
    _BYLINE.pattern.replace("(?:Af|By|Von|Av|Door|Par|", "(?:[Aa]f|[Bb]y|[Vv]on|[Aa]v|[Dd]oor|[Pp]ar|")
)


def _date_and_byline(line: str, facts: dict[str, str]) -> None:
    """The first date and the author a date or byline line gives, unless already found."""
    dates = find_dates(line)
    if dates:
        facts.setdefault("date", dates[0][1].isoformat())
    byline = _byline(line)
    if byline:
        facts.setdefault("author", byline)


def _byline(line: str) -> str | None:
    # "Publicerad 3 mars 2021 av Johan Lindqvist": after a date, the byline word may be in lower case.
    match = (_LOOSE_BYLINE if find_dates(line) else _BYLINE).search(line)
    if not match:
        return None
    names = match.group("name").split()
    rest = line[match.end("name") :].split()
    # "Af Joram G. Menzer Kontakt redaktionen": the capitalised word that starts a phrase is not the name.
    if len(names) >= 3 and rest and rest[0][:1].islower() and rest[0] not in _CONJUNCTIONS:
        names = names[:-1]
    names = names[:4]
    return " ".join(names) if len(names) >= 2 else None


def _meta_line(line: str) -> bool:
    """A short line that is mostly a date or a byline ("07. november 2019", "Af Jane Doe · 6 July 2020")."""
    words = _words(line)
    if not words or len(words) > 25:
        return False
    if _byline(line) and (len(words) <= 12 or find_dates(line)):
        return True
    dates = find_dates(line)
    if not dates:
        return False
    return len(words) <= 6 or 3 * len(dates) / len(words) >= 0.4


def _heading_like(line: str) -> bool:
    words = _words(line)
    return (
        1 <= len(words) <= 20
        and not line.rstrip().endswith((".", ",", ";", ":", "”", '"', "»"))
        and any(c.islower() for c in line)
        and not _DOMAIN_LINE.match(line)
        and not _BOILERPLATE_WORDS.search(line)
    )


def _prose(line: str) -> bool:
    """Running text: a sentence of some length that ends as sentences do."""
    return len(_words(line)) >= 8 and bool(re.search(r"[.!?:”\"»)]\s*$", line))


def _classify(lines: list[str]) -> list[bool]:
    """jusText's verdict on each line (True: article text), with the stop words of the text's language."""
    import justext

    if not lines:
        return []
    document = (
        "<html><body>"
        + "".join(
            f"<h2>{html.escape(line)}</h2>"
            if _heading_like(line) and not _prose(line)
            else f"<p>{html.escape(line)}</p>"
            for line in lines
        )
        + "</body></html>"
    )
    stoplist = _stoplist(" ".join(lines))
    # Lower length bounds than jusText's defaults (70/200 characters, made for whole web pages): a short article's
    # paragraphs are often under 200 characters, and with no paragraph long enough jusText keeps nothing at all.
    paragraphs = justext.justext(
        document.encode(), stoplist, length_low=40, length_high=100, encoding="utf-8"
    )
    verdicts = [not p.is_boilerplate for p in paragraphs]
    if len(verdicts) != len(
        lines
    ):  # jusText merged or split something: judge nothing rather than the wrong line
        return [True] * len(lines)
    return verdicts


def _stoplist(text: str) -> frozenset[str]:
    import justext

    words = [w.casefold() for w in _words(text)[:3000]]
    best: frozenset[str] = frozenset()
    best_share = -1.0
    for language in _STOPLISTS:
        stoplist = justext.get_stoplist(language)
        share = sum(w in stoplist for w in words) / max(len(words), 1)
        if share > best_share:
            best, best_share = stoplist, share
    return best


def tidy_extracted(body: str, title: str | None) -> Cleaned:
    """What an extraction library left around the article: the title again, date and byline lines, a pull quote
    that repeats a sentence of the text, a kicker above the title, contact lines below the last paragraph."""
    paragraphs = [re.sub(r"[ \t\u00a0]+", " ", p).strip() for p in re.split(r"\n\s*\n", body)]
    paragraphs = [p for p in paragraphs if p]
    facts: dict[str, str] = {}
    keep = [True] * len(paragraphs)
    plain = [p.lstrip("#").strip() for p in paragraphs]
    norms = [_norm(p) for p in plain]
    seen: set[str] = set()
    for i, line in enumerate(plain):
        if (title and norms[i] == _norm(title)) or norms[i] in seen:
            keep[i] = False
            continue
        seen.add(norms[i])
        if _meta_line(line) and not _prose(line):
            keep[i] = False
            _date_and_byline(line, facts)
    _drop_contained(plain, norms, keep)
    prose_rows = [i for i in range(len(plain)) if keep[i] and _prose(plain[i])]
    if prose_rows:
        for i in range(len(plain)):
            # A kicker above the title ("KULTUR") and contact lines below the text; a lead without a full stop stays.
            before, after = i < prose_rows[0], i > prose_rows[-1]
            if keep[i] and (
                (before and len(_words(plain[i])) <= 4 and not paragraphs[i].startswith("#")) or after
            ):
                keep[i] = False
    return Cleaned(
        body="\n\n".join(p for i, p in enumerate(paragraphs) if keep[i]),
        title=title,
        date=facts.get("date"),
        author=facts.get("author"),
        dropped=[p for i, p in enumerate(paragraphs) if not keep[i]],
    )


def _drop_contained(lines: list[str], norms: list[str], keep: list[bool]) -> None:
    """Drop a kept line (six words or more) that a longer kept line holds: a pull quote, a repeated lead."""
    long_lines = [norms[i] for i in range(len(lines)) if keep[i] and len(norms[i]) > 80]
    for i, norm in enumerate(norms):
        if keep[i] and len(_words(lines[i])) >= 6 and any(norm != other and norm in other for other in long_lines):
            keep[i] = False
