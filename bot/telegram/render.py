"""Pure formatting for the Telegram bot: an `Answer` as Telegram HTML or plain text, and message splitting.

Nothing here talks to Telegram. Everything that came from an article, a user or a model passes `_esc`
(control and bidi characters dropped, then `html.escape`); the only markup is what these functions add
(`<a>`, `<b>`, `<blockquote>`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from bot.safe_text import safe_text
from retrieval.types import Answer, Citation, DocumentInfo, Language

MAX_MESSAGE = 4096  # Telegram's limit for one message, in UTF-16 code units
SOURCES_PREFIX = "src:"  # callback data of the sources button: "src:<answer id>"

_MARKER = re.compile(r"\[(\d+)\]")
_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z][a-zA-Z0-9-]*)[^>]*?(/?)\s*>")
_ATOM = re.compile(r"<[^>]*>|&#?\w+;|.", re.DOTALL)
_SENTENCE_END = frozenset(".!?…:;")

TEXTS: dict[str, dict[Language, str]] = {
    "help": {
        "da": (
            "Skriv et spørgsmål om artiklerne, så svarer jeg med kilder.\n\n"
            "/ask SPØRGSMÅL – spørg (i grupper også ved at nævne mig eller svare på min besked)\n"
            "/sources – de citerede passager bag det sidste svar\n"
            "/new – glem samtalen og start forfra\n"
            "/reload – læs artiklerne igen nu\n"
            "/articles – artiklerne og deres id'er\n"
            "/help – denne hjælp\n\n"
            "Administratorer tilføjer en artikel ved at sende et link eller en fil (HTML, PDF, DOCX, Markdown, "
            "tekst) og fjerner en med /remove ID."
        ),
        "en": (
            "Ask a question about the articles and I answer with sources.\n\n"
            "/ask QUESTION – ask (in groups also by mentioning me or replying to my message)\n"
            "/sources – the quoted passages behind the last answer\n"
            "/new – forget this conversation and start over\n"
            "/reload – re-read the articles now\n"
            "/articles – the articles and their ids\n"
            "/help – this help\n\n"
            "Admins add an article by sending a link or a file (HTML, PDF, DOCX, Markdown, text) and remove one "
            "with /remove ID."
        ),
    },
    "new": {
        "da": "Ny samtale: jeg har glemt de tidligere spørgsmål.",
        "en": "New conversation: I forgot the earlier questions.",
    },
    "no_answer_yet": {
        "da": "Der er ikke noget svar endnu. Stil et spørgsmål først.",
        "en": "There is no answer yet. Ask a question first.",
    },
    "no_sources": {"da": "Det svar havde ingen kilder.", "en": "That answer had no sources."},
    "sources_gone": {"da": "De kilder er ikke gemt længere.", "en": "Those sources are no longer stored."},
    "ask_usage": {
        "da": "Skriv dit spørgsmål efter kommandoen, fx /ask Hvad er Jobcamp?",
        "en": "Put your question after the command, e.g. /ask What is Jobcamp?",
    },
    "empty": {"da": "Hvad vil du spørge om?", "en": "What would you like to ask?"},
    "too_long": {
        "da": "Spørgsmålet er for langt ({n} tegn; højst {limit}). Gør det kortere.",
        "en": "The question is too long ({n} characters; at most {limit}). Please shorten it.",
    },
    "text_only": {
        "da": "Jeg kan kun læse tekst. Skriv dit spørgsmål som en besked.",
        "en": "I can only read text. Please type your question.",
    },
    "unknown_command": {
        "da": "Den kommando kender jeg ikke. Se /help.",
        "en": "I don't know that command. See /help.",
    },
    "refused": {
        "da": "Beklager, denne bot er privat. Bed ejeren om at give adgang til dit bruger-id {user_id}.",
        "en": "Sorry, this bot is private. Ask its owner to allow your user id {user_id}.",
    },
    "refused_short": {"da": "Beklager, denne bot er privat.", "en": "Sorry, this bot is private."},
    "error": {
        "da": "Beklager, noget gik galt. Prøv igen om lidt.",
        "en": "Sorry, something went wrong. Please try again shortly.",
    },
    "button_unknown": {"da": "Den knap virker ikke her.", "en": "That button does not work here."},
    "reload_fixed": {
        "da": "Artiklerne ligger fast i denne bot; der er intet at læse igen.",
        "en": "The articles are fixed in this bot; there is nothing to re-read.",
    },
    "reload_current": {
        "da": "Indekset er allerede opdateret med artiklerne ({n} artikler).",
        "en": "The index is up to date with the articles ({n} articles).",
    },
    "reload_changed": {
        "da": "Artiklerne er læst igen{changes}; indekset har nu {n} artikler.",
        "en": "Re-read the articles{changes}; the index now holds {n} articles.",
    },
    "reload_counts": {
        "da": ": {added} tilføjet, {updated} ændret, {deleted} fjernet",
        "en": ": {added} added, {updated} updated, {deleted} deleted",
    },
    "reload_problem": {
        "da": "Artiklerne kunne ikke læses igen: {detail}",
        "en": "Could not re-read the articles: {detail}",
    },
    "admins_only": {
        "da": "Beklager, kun botens administratorer kan tilføje og fjerne artikler.",
        "en": "Sorry, only the bot's admins can add and remove articles.",
    },
    "add_usage": {
        "da": "Send et link eller en fil (HTML, PDF, DOCX, Markdown eller tekst), eller skriv /add URL.",
        "en": "Send a link or a file (HTML, PDF, DOCX, Markdown or text), or write /add URL.",
    },
    "adding": {"da": "Tilføjer {name} …", "en": "Adding {name} …"},
    "added": {"da": "tilføjet: {title} ({id})", "en": "added: {title} ({id})"},
    "not_added": {"da": "ikke tilføjet: {reason}", "en": "not added: {reason}"},
    "file_too_big": {
        "da": "filen er {size:.1f} MB, og Telegram lader kun bots hente filer på højst {limit} MB",
        "en": "the file is {size:.1f} MB, and Telegram lets bots download files of at most {limit} MB",
    },
    "file_kind": {
        "da": "kan ikke læse {kind}; send HTML, PDF, DOCX, Markdown eller tekst",
        "en": "cannot read {kind}; send HTML, PDF, DOCX, Markdown or text",
    },
    "download_failed": {
        "da": "filen kunne ikke hentes fra Telegram ({detail})",
        "en": "could not download the file from Telegram ({detail})",
    },
    "failed_see_log": {
        "da": "noget gik galt; se botens log",
        "en": "something went wrong; see the bot's log",
    },
    "articles_page": {
        "da": "Artikler {first}–{last} af {total}:",
        "en": "Articles {first}–{last} of {total}:",
    },
    "no_articles": {"da": "Der er ingen artikler.", "en": "There are no articles."},
    "remove_usage": {
        "da": "Skriv artiklens id efter kommandoen, fx /remove jobcamp-2018 (id'erne står i /articles).",
        "en": "Put the article's id after the command, e.g. /remove jobcamp-2018 (see /articles for the ids).",
    },
    "no_such_article": {
        "da": "Der er ingen artikel med id {id}; se /articles.",
        "en": "There is no article with id {id}; see /articles.",
    },
    "remove_confirm": {
        "da": "Fjern «{title}» ({id}) fra artiklerne?",
        "en": "Remove “{title}” ({id}) from the articles?",
    },
    "remove_yes": {"da": "Fjern", "en": "Remove"},
    "remove_no": {"da": "Fortryd", "en": "Cancel"},
    "removing": {"da": "Fjerner {title} ({id}) …", "en": "Removing {title} ({id}) …"},
    "removed": {"da": "fjernet: {title} ({id})", "en": "removed: {title} ({id})"},
    "not_removed": {"da": "ikke fjernet: {reason}", "en": "not removed: {reason}"},
    "remove_cancelled": {
        "da": "Fortrudt: {title} ({id}) er ikke fjernet.",
        "en": "Cancelled: {title} ({id}) was not removed.",
    },
    "remove_expired": {
        "da": "Den bekræftelse er udløbet; skriv /remove igen.",
        "en": "That confirmation has expired; send /remove again.",
    },
}
BUTTON = {"da": "Kilder", "en": "Sources"}
_SCANDINAVIAN = ("da", "nb", "nn", "no", "sv")


def ui_language(language_code: str | None) -> Language:
    """The language of the bot's own messages: Danish for Scandinavian users and unknown ones, else English."""
    if not language_code:
        return "da"
    return "da" if language_code.lower().startswith(_SCANDINAVIAN) else "en"


def text(key: str, language: Language, **values: object) -> str:
    return TEXTS[key][language].format(**values)


def utf16_len(value: str) -> int:
    """Length as Telegram counts it: in UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(value.encode("utf-16-le")) // 2


def _esc(value: str, *, one_line: bool = False) -> str:
    return html.escape(safe_text(value, one_line=one_line), quote=False)


def _line(value: str) -> str:
    return safe_text(value, one_line=True)


def safe_url(url: str | None) -> str | None:
    """The url if it is one Telegram accepts in a link (http, https), else None."""
    if not url or safe_text(url) != url or not re.match(r"https?://[^\s<>\"]+$", url.strip(), re.IGNORECASE):
        return None
    return quote(url.strip(), safe=":/?#[]@!$&'()*+,;=%~-._")


def _link(url: str | None, label: str) -> str:
    target = safe_url(url)
    return f'<a href="{html.escape(target, quote=True)}">{label}</a>' if target else label


def _meta(c: Citation, language: Language) -> list[str]:
    return [part for part in (c.date, c.publisher, c.page_label(language)) if part]


def answer_html(answer: Answer) -> str:
    """The answer in Telegram HTML: [n] linked to its source's url, then a numbered source list."""
    by_n = {c.n: c for c in answer.citations}

    def link(match: re.Match[str]) -> str:
        cited = by_n.get(int(match.group(1)))
        return _link(cited.url, match.group(0)) if cited else match.group(0)

    body = _MARKER.sub(link, _esc(answer.text.strip()))
    if answer.refused or not answer.citations:
        return body
    lines = [body, "", f"<b>{BUTTON[answer.language]}</b>"]
    for c in answer.citations:
        parts = [_esc(c.title, one_line=True), *(_esc(p, one_line=True) for p in _meta(c, answer.language))]
        if safe_url(c.url):
            parts.append(_link(c.url, _esc(c.url or "", one_line=True)))
        lines.append(f"[{c.n}] " + " · ".join(parts))
    return "\n".join(lines)


def answer_plain(answer: Answer) -> str:
    """The same answer without markup (for when Telegram rejects the HTML)."""
    body = safe_text(answer.text).strip()
    if answer.refused or not answer.citations:
        return body
    lines = [body, "", BUTTON[answer.language]]
    for c in answer.citations:
        lines.append(
            f"[{c.n}] "
            + " · ".join(_line(p) for p in [c.title, *_meta(c, answer.language), *([c.url] if c.url else [])])
        )
    return "\n".join(lines)


def sources_html(citations: Sequence[Citation], language: Language) -> str:
    """The quoted passages behind an answer, one block per source, paragraphs apart."""
    if not citations:
        return html.escape(text("no_sources", language))
    blocks = []
    for c in citations:
        head = f"<b>[{c.n}] {_esc(c.title, one_line=True)}</b>"
        meta = " · ".join(_esc(p, one_line=True) for p in _meta(c, language))
        link = _link(c.url, _esc(c.url or "", one_line=True)) if safe_url(c.url) else ""
        quote_block = f"<blockquote>{_esc(c.quote.strip())}</blockquote>"
        blocks.append("\n".join(p for p in (head + (f" · {meta}" if meta else ""), quote_block, link) if p))
    return "\n\n".join(blocks)


def start_html(documents: Sequence[DocumentInfo], language: Language, shown: int = 20) -> str:
    """What the bot is, how many articles it knows, and their titles."""
    if language == "da":
        intro = f"Hej! Jeg svarer på spørgsmål ud fra {len(documents)} artikler og viser altid mine kilder."
        more = "… og {n} flere."
    else:
        intro = f"Hi! I answer questions from {len(documents)} articles and always show my sources."
        more = "… and {n} more."
    lines = [html.escape(intro), ""]
    for doc in documents[:shown]:
        date = f" ({_esc(doc.date, one_line=True)})" if doc.date else ""
        lines.append(f"• {_link(doc.url, _esc(doc.title, one_line=True))}{date}")
    if len(documents) > shown:
        lines.append(more.format(n=len(documents) - shown))
    lines += ["", html.escape(TEXTS["help"][language])]
    return "\n".join(lines)


def articles_page(documents: Sequence[DocumentInfo], page: int, language: Language, size: int) -> str:
    """Plain text: one page of the article list, each with its id (what /remove takes)."""
    if not documents:
        return text("no_articles", language)
    first = page * size
    shown = documents[first : first + size]
    lines = [text("articles_page", language, first=first + 1, last=first + len(shown), total=len(documents))]
    for n, doc in enumerate(shown, start=first + 1):
        date = f" · {_line(doc.date)}" if doc.date else ""
        lines.append(f"{n}. {_line(doc.title)}{date}\n    id: {_line(doc.doc_id)}")
    return "\n".join(lines)


def html_to_plain(markup: str) -> str:
    """Telegram HTML back to the text a reader sees: tags dropped, entities unescaped."""
    return html.unescape(_TAG.sub("", markup))


# -- splitting --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Open:
    name: str
    tag: str


def _atoms(markup: str, is_html: bool) -> list[str]:
    """Units a cut may fall between: whole tags, whole entities, single characters."""
    return _ATOM.findall(markup) if is_html else list(markup)


def _stacks(atoms: list[str], is_html: bool) -> list[tuple[_Open, ...]]:
    """The elements open before each atom (index i) and after the last one (index len)."""
    stack: tuple[_Open, ...] = ()
    out = [stack]
    for atom in atoms:
        match = _TAG.fullmatch(atom) if is_html and atom.startswith("<") else None
        if match:
            closing, name, void = match.group(1), match.group(2).lower(), match.group(3)
            if closing:
                names = [o.name for o in stack]
                if name in names:
                    cut = len(names) - 1 - names[::-1].index(name)
                    stack = stack[:cut]
            elif not void:
                stack = (*stack, _Open(name, atom))
        out.append(stack)
    return out


def _closing(stack: tuple[_Open, ...]) -> str:
    return "".join(f"</{o.name}>" for o in reversed(stack))


def _tier(atoms: list[str], j: int) -> int:
    """How good a cut before atom j is: 6 paragraph, 5 line, 4 after a sentence, 3 space, 1 anywhere."""
    here = atoms[j]
    if here == "\n":
        return 6 if j + 1 < len(atoms) and atoms[j + 1] == "\n" else 5
    if here.isspace():
        return 4 if j > 0 and atoms[j - 1] in _SENTENCE_END else 3
    return 1


def split_message(markup: str, limit: int = MAX_MESSAGE, *, is_html: bool = True) -> list[str]:
    """Split a message into parts of at most `limit` UTF-16 units, counting the markup itself.

    Cuts prefer paragraph breaks, then line breaks, sentence ends, spaces, and only then fall anywhere;
    among equals the last one that fits wins. A cut never falls inside a tag or an entity (`&amp;`), and
    a cut inside an element closes it at the end of the part and opens it again in the next one, so
    every part is valid HTML on its own. Whitespace at a cut is dropped; parts without visible text too.
    """
    markup = markup.strip()
    if utf16_len(markup) <= limit:
        return [markup] if markup else []
    atoms = _atoms(markup, is_html)
    sizes = [utf16_len(a) for a in atoms]
    stacks = _stacks(atoms, is_html)
    closing_units = {stack: utf16_len(_closing(stack)) for stack in set(stacks)}
    is_tag = [is_html and a.startswith("<") and len(a) > 1 for a in atoms]
    parts: list[str] = []
    i, n = 0, len(atoms)
    while i < n:
        while i < n and not is_tag[i] and atoms[i].isspace():
            i += 1
        if i >= n:
            break
        prefix = "".join(o.tag for o in stacks[i])
        used = utf16_len(prefix)
        best: dict[int, int] = {}
        j = i
        while j < n:
            used += sizes[j]
            j += 1
            if used + closing_units[stacks[j]] > limit:
                break
            if j == n:
                best[100] = n  # the rest fits
                break
            opens_before = is_tag[j - 1] and not atoms[j - 1].startswith("</")
            closes_next = is_tag[j] and atoms[j].startswith("</")
            if not (opens_before or closes_next):
                tier = _tier(atoms, j)
                best[tier * 2 + (0 if stacks[j] else 1)] = j
        cut = best[max(best)] if best else i + 1
        body = "".join(atoms[i:cut]).rstrip()
        part = prefix + body + _closing(stacks[cut])
        if html_to_plain(part).strip() if is_html else part.strip():
            parts.append(part)
        i = cut
    return parts
