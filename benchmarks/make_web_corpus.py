"""Save a folder of Markdown articles as web pages, the way a news site would serve them, to check that kilde
answers as well from the pages as from the Markdown:

    uv run python benchmarks/make_web_corpus.py corpus /tmp/web-corpus
    uv run kilde eval tests/prompts --corpus corpus --json > md.json
    uv run kilde eval tests/prompts --corpus /tmp/web-corpus --json > web.json

Each page has what the article's own text does not: a cookie banner, scripts, navigation with a subscription link,
a share bar, the date and byline as a line of their own, a newsletter box, "related articles" and a footer. The
facts go where sites put them (Open Graph and article meta tags); the file keeps the article's id as its name.
"""

from __future__ import annotations

import argparse
import html
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.index.articles import parse_article  # noqa: E402


def page(title: str, paragraphs: list[str], facts: dict[str, str | None], others: list[str]) -> str:
    e = html.escape
    meta = [f'<meta property="og:title" content="{e(title)}">']
    if facts.get("publisher"):
        meta.append(f'<meta property="og:site_name" content="{e(facts["publisher"] or "")}">')
    if facts.get("date"):
        meta.append(
            f'<meta property="article:published_time" content="{e(facts["date"] or "")}T08:00:00+01:00">'
        )
    if facts.get("author"):
        meta.append(f'<meta name="author" content="{e(facts["author"] or "")}">')
    body = []
    for paragraph in paragraphs:
        if paragraph.startswith("## "):
            body.append(f"<h2>{e(paragraph[3:])}</h2>")
        else:
            body.append(f"<p>{e(paragraph)}</p>")
    byline = " · ".join(
        x for x in (f"Af {facts['author']}" if facts.get("author") else None, facts.get("date")) if x
    )
    related = "".join(f'<li><a href="/{i}">{e(t)}</a></li>' for i, t in enumerate(others))
    site = e(facts.get("publisher") or "Nyhedssiden")
    return f"""<!DOCTYPE html>
<html lang="da"><head><meta charset="utf-8"><title>{e(title)} | {site}</title>
{chr(10).join(meta)}
<script>window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push(arguments)}};gtag('config','G-XXXX');</script>
<script src="/static/app.js" defer></script><style>.cookie{{position:fixed}}</style></head>
<body>
<div class="cookie-banner" id="cookies"><p>Vi bruger cookies til at forbedre din oplevelse, til statistik og til
målrettede annoncer. Ved at klikke på Accepter giver du samtykke til vores brug af cookies.</p>
<button>Accepter alle</button><button>Kun nødvendige</button><a href="/privatliv">Læs vores privatlivspolitik</a></div>
<header><a class="logo" href="/">{site}</a>
<nav><ul><li><a href="/nyheder">Nyheder</a></li><li><a href="/politik">Politik</a></li><li><a href="/job">Job</a></li>
<li><a href="/debat">Debat</a></li><li><a href="/abonnement">Bliv abonnent</a></li><li><a href="/login">Log ind</a></li></ul></nav></header>
<main><article>
<h1>{e(title)}</h1>
<p class="byline">{e(byline)}</p>
<div class="share"><a href="#">Del på Facebook</a> <a href="#">Del på LinkedIn</a> <a href="#">Send til en ven</a></div>
{chr(10).join(body)}
</article>
<aside class="newsletter"><h3>Få nyhedsbrevet</h3><p>Tilmeld dig vores nyhedsbrev og få dagens vigtigste historier.</p>
<form><input type="email" placeholder="Din e-mail"><button>Tilmeld</button></form></aside>
<section class="related"><h3>Relaterede artikler</h3><ul>{related}</ul></section></main>
<footer><p>© {site}. Alle rettigheder forbeholdes.</p><p><a href="/om">Om os</a> · <a href="/kontakt">Kontakt redaktionen</a>
· <a href="/cookies">Cookiepolitik</a> · <a href="/vilkaar">Vilkår og betingelser</a></p></footer>
</body></html>
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    args = parser.parse_args()
    args.target.mkdir(parents=True, exist_ok=True)
    articles = [parse_article(p, p.read_bytes()) for p in sorted(args.source.glob("*.md"))]
    for article in articles:
        paragraphs = [
            p.strip()
            for p in article.path.read_text(encoding="utf-8").split("\n---", 1)[-1].split("\n")
            if p.strip()
        ]
        paragraphs = [p for p in paragraphs if p != "---"]
        facts = {"publisher": article.publisher, "date": article.date, "author": article.author}
        others = [a.title for a in articles if a.doc_id != article.doc_id][:3]
        (args.target / f"{article.doc_id}.html").write_text(
            page(article.title, paragraphs, facts, others), encoding="utf-8"
        )
    print(f"{len(articles)} pages in {args.target}")


if __name__ == "__main__":
    main()
