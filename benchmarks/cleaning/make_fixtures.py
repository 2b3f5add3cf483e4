"""Write benchmarks/cleaning/raw/* (web pages, scraped text, a PDF, a Word file) and expected/*.md from articles.py.

    uv run --with fpdf2==2.8.9 python benchmarks/cleaning/make_fixtures.py

Each layout is a different kind of page: a news site with JSON-LD, a municipality with Open Graph tags, a blog
with comments, a press release with the date in the text, an article behind a cookie dialog, a magazine with pull
quotes and captions; three text dumps as copied off a site; a PDF with three pages; a Word file with its
properties set. Only the article's own paragraphs and facts go into expected/.
"""

from __future__ import annotations

import html
import json
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from articles import ARTICLES  # noqa: E402

RAW = HERE / "raw"
EXPECTED = HERE / "expected"


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def paragraphs_html(paras: list[str], heading: str = "h2") -> str:
    out = []
    for p in paras:
        if p.startswith("## "):
            out.append(f"<{heading}>{esc(p[3:])}</{heading}>")
        else:
            out.append(f"<p>{esc(p)}</p>")
    return "\n".join(out)


def expected(name: str, article: dict, body: list[str], url: str | None = None) -> None:
    facts = {"title": article["title"]}
    for key in ("publisher", "date", "author"):
        if article.get(key):
            facts[key] = article[key]
    front = yaml.safe_dump(facts, allow_unicode=True, sort_keys=False).strip()
    (EXPECTED / f"{name}.md").write_text(
        f"---\n{front}\n---\n\n" + "\n\n".join(body) + "\n", encoding="utf-8"
    )


COOKIE = """<div id="cookie-banner" class="cookie-consent"><p>We use cookies to improve your experience and to show
personalised advertising. By clicking Accept you consent to our use of cookies as described in our privacy policy.</p>
<button>Accept all</button><button>Manage settings</button></div>"""
SCRIPT = """<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}gtag('js',new Date());
var ads={slot:"top",sizes:[[728,90]]};</script>"""


def en_news(a: dict) -> str:
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": a["title"],
        "datePublished": a["date"] + "T09:30:00+00:00",
        "author": {"@type": "Person", "name": a["author"]},
        "publisher": {"@type": "Organization", "name": a["publisher"]},
    }
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{esc(a["title"])} | {a["publisher"]}</title>
<script type="application/ld+json">{json.dumps(ld)}</script>{SCRIPT}</head><body>{COOKIE}
<header><a href="/">{a["publisher"]}</a><nav><ul><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li>
<li><a href="/weather">Weather</a></li><li><a href="/opinion">Opinion</a></li><li><a href="/subscribe">Subscribe</a></li></ul></nav></header>
<main><article><h1>{esc(a["title"])}</h1><div class="byline">By <a href="/authors/me">{a["author"]}</a> · 4 March 2021</div>
<div class="share"><a href="#">Share on Facebook</a> <a href="#">Share on Twitter</a> <a href="#">Email</a></div>
{paragraphs_html(a["paragraphs"])}
</article><aside><h3>Related stories</h3><ul><li><a href="/a">Storm damage bill tops 40 million</a></li>
<li><a href="/b">Ferry service suspended for a week</a></li><li><a href="/c">Council tax to rise by 3 per cent</a></li></ul></aside></main>
<div class="newsletter"><h3>Get the morning briefing</h3><p>Sign up to our newsletter.</p><form><input type="email"><button>Sign up</button></form></div>
<footer><p>© 2021 {a["publisher"]} Ltd. All rights reserved.</p><a href="/privacy">Privacy</a> <a href="/terms">Terms of use</a> <a href="/contact">Contact</a></footer></body></html>"""


def da_kommune(a: dict) -> str:
    return f"""<!DOCTYPE html><html lang="da"><head><meta charset="utf-8"><title>{esc(a["title"])} - {a["publisher"]}</title>
<meta property="og:title" content="{esc(a["title"])}"><meta property="og:site_name" content="{a["publisher"]}">
<meta property="article:published_time" content="{a["date"]}T08:00:00+02:00"><meta name="author" content="{a["author"]}">
{SCRIPT}</head><body><div class="cookie"><p>Vi bruger cookies til statistik. Læs mere om cookies og persondata.</p><button>OK</button></div>
<nav class="top"><a href="/">Forside</a> <a href="/borger">Borger</a> <a href="/erhverv">Erhverv</a> <a href="/politik">Politik og indflydelse</a> <a href="/job">Job i kommunen</a></nav>
<ol class="breadcrumb"><li><a href="/">Forside</a></li><li><a href="/nyheder">Nyheder</a></li><li>Cykelsti</li></ol>
<div class="layout"><div class="sidebar"><h4>Genveje</h4><ul><li><a href="/affald">Affald og genbrug</a></li><li><a href="/skole">Skole og SFO</a></li><li><a href="/selvbetjening">Selvbetjening</a></li></ul></div>
<div class="content"><h1>{esc(a["title"])}</h1><p class="dato">17. maj 2022</p>
{paragraphs_html(a["paragraphs"])}
<p class="kontakt">Kontakt: Teknik og Miljø, tlf. 70 11 22 33</p></div></div>
<footer><p>{a["publisher"]} · Rådhuspladsen 1 · 4700 Egebjerg · CVR 29188888</p><p><a href="/tilgaengelighed">Tilgængelighedserklæring</a> <a href="/cookies">Cookies</a></p></footer></body></html>"""


def de_blog(a: dict) -> str:
    return f"""<!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>{esc(a["title"])} – {a["publisher"]}</title>
<meta name="description" content="Die Stadtbibliothek öffnet sonntags."><link rel="stylesheet" href="/wp-content/themes/x/style.css">{SCRIPT}</head>
<body class="post-template"><div id="masthead"><p class="site-title"><a href="/">{a["publisher"]}</a></p><p class="site-description">Neues aus Lindenau</p>
<nav id="site-navigation"><ul><li><a href="/">Start</a></li><li><a href="/kategorie/kultur">Kultur</a></li><li><a href="/kategorie/politik">Politik</a></li><li><a href="/ueber">Über uns</a></li></ul></nav></div>
<article class="post"><header class="entry-header"><h1 class="entry-title">{esc(a["title"])}</h1>
<div class="entry-meta">Veröffentlicht am <time class="entry-date published" datetime="{a["date"]}T10:12:00+01:00">22. Januar 2023</time> von <span class="author vcard"><a class="url fn n" href="/author/katrin">{a["author"]}</a></span></div></header>
<div class="entry-content">{paragraphs_html(a["paragraphs"], "h3")}</div>
<footer class="entry-footer">Kategorien: <a href="/kategorie/kultur">Kultur</a> Schlagwörter: <a href="/tag/bibliothek">Bibliothek</a></footer></article>
<div id="comments"><h2 class="comments-title">3 Kommentare</h2><ol class="comment-list"><li><p>Endlich! Wir waren schon zweimal sonntags da.</p></li>
<li><p>Schade, dass das Café nicht auch geöffnet hat.</p></li><li><p>Tolle Sache, danke für den Bericht.</p></li></ol>
<div id="respond"><h3>Schreibe einen Kommentar</h3><form><textarea></textarea><input type="submit" value="Kommentar abschicken"></form></div></div>
<footer id="colophon"><p>© 2023 {a["publisher"]} · Impressum · Datenschutz</p><p>Stolz präsentiert von WordPress</p></footer></body></html>"""


def sv_press(a: dict) -> str:
    return f"""<html><head><title>Pressmeddelande: {esc(a["title"])}</title></head><body>
<div id="top"><a href="/">Startsida</a> | <a href="/press">Press</a> | <a href="/kontakt">Kontakta oss</a> | <a href="/en">English</a></div>
<div id="main"><h1>{esc(a["title"])}</h1><p class="meta">Publicerad 3 mars 2021 av {a["author"]}, kommunikationsavdelningen</p>
{paragraphs_html(a["paragraphs"])}
<h4>Dela</h4><p><a href="#">Facebook</a> <a href="#">LinkedIn</a> <a href="#">E-post</a></p></div>
<div id="foot"><p>{a["publisher"]}, 891 00 Älvby. Telefon 0660-123 45. Vi använder kakor (cookies) för att webbplatsen ska fungera.</p></div></body></html>"""


def nb_kultur(a: dict) -> str:
    return f"""<!doctype html><html lang="nb"><head><meta charset="utf-8"><meta property="og:title" content="{esc(a["title"])}">
<meta property="og:site_name" content="{a["publisher"]}"><meta name="author" content="{a["author"]}"><meta name="article:published_time" content="{a["date"]}T06:00:00+02:00">
<title>{esc(a["title"])}</title>{SCRIPT}</head><body>
<div class="consent-dialog" role="dialog"><h2>Vi bryr oss om ditt personvern</h2><p>Vi og våre partnere bruker informasjonskapsler (cookies) for å tilpasse annonser og måle trafikk. Du kan endre samtykket ditt når som helst.</p><button>Godta alle</button><button>Avvis</button></div>
<header><a class="logo" href="/">{a["publisher"]}</a><nav><a href="/nyheter">Nyheter</a> <a href="/kultur">Kultur</a> <a href="/sport">Sport</a> <a href="/abonnement">Kjøp abonnement</a> <a href="/logginn">Logg inn</a></nav></header>
<main><article><p class="kicker">KULTUR</p><h1>{esc(a["title"])}</h1><p class="byline">Av {a["author"]} · Publisert 11.08.2022</p>
<figure><img src="/img/fabrikk.jpg" alt=""><figcaption>Den gamle sildefabrikken på Nesodden brygge. Foto: Ola Berg</figcaption></figure>
{paragraphs_html(a["paragraphs"])}
</article>
<section class="newsletter"><h3>Få nyhetsbrevet vårt</h3><p>Meld deg på og få de viktigste sakene hver morgen.</p></section>
<section class="more"><h3>Mer fra Kultur</h3><ul><li><a href="/1">Kinoen får nye seter</a></li><li><a href="/2">Koret feirer 50 år</a></li></ul></section></main>
<footer><p>Ansvarlig redaktør: Per Hansen. © {a["publisher"]}</p></footer></body></html>"""


def en_magazine(a: dict) -> str:
    p = a["paragraphs"]
    pull = '<blockquote class="pullquote">"Everyone eats bread, and nobody likes driving twenty minutes to buy it."</blockquote>'
    body = paragraphs_html(p[:2]) + "\n" + pull + "\n" + paragraphs_html(p[2:])
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{esc(a["title"])}</title>
<meta name="author" content="{a["author"]}"><meta property="og:site_name" content="{a["publisher"]}">
<meta itemprop="datePublished" content="{a["date"]}">{SCRIPT}</head><body>
<div class="promo-bar">Subscribe today and get 3 issues for 5 pounds</div>
<nav><a href="/">Home</a> <a href="/food">Food</a> <a href="/travel">Travel</a> <a href="/gardens">Gardens</a> <a href="/shop">Shop</a></nav>
<article><header><h1>{esc(a["title"])}</h1><p class="standfirst">How small villages are getting their bread back</p>
<p class="byline">Words by {a["author"]} | 19 November 2020</p></header>
<figure><img src="bakery.jpg"><figcaption>The converted forge on Mill Lane. Photo: Anna Price</figcaption></figure>
{body}
<div class="tags">Tags: <a>bakeries</a> <a>villages</a> <a>food</a></div></article>
<section class="related"><h2>You may also like</h2><a href="/1">The last village shops of Wessex</a><a href="/2">Ten breads to bake this winter</a></section>
<footer>© 2020 {a["publisher"]}. All rights reserved. <a href="/cookies">Cookie settings</a></footer></body></html>"""


def en_scraped(a: dict) -> str:
    p = a["paragraphs"]
    return "\n\n".join(
        [
            "westburynews.co.uk",
            "Home\nNews\nSport\nWhat's On\nJobs\nSubscribe",
            "Share on Facebook\nShare on Twitter\nCopy link",
            a["title"],
            f"By {a['author']} | June 9, 2021",
            *p,
            "Related stories",
            "Westbury library to open on Sundays\nNew play area for Victoria Park\nTown council meets on Thursday",
            "Sign up to our newsletter for the latest news from Westbury and around.",
            "© 2021 Westbury News. All rights reserved. | Privacy policy | Cookie settings",
        ]
    )


def da_scraped2(a: dict) -> str:
    p = a["paragraphs"]
    return "\n\n".join(
        [
            "Forside > Nyheder > Arbejdsmiljø",
            a["title"],
            p[0],
            "Del artiklen\nFacebook\nLinkedIn\nMail",
            a["title"],
            f"Publiceret 12.03.2021 · Af {a['author']}",
            *p,
            "Læs også",
            "Flere sygeplejersker på deltid end nogensinde\nRegion vil ansætte 200 nye sosu-assistenter",
            "Tilmeld dig vores nyhedsbrev og få nyheder fra sundhedsområdet hver uge.",
            "© Sundhedsnyt 2021 · Cookiepolitik · Privatlivspolitik · Kontakt redaktionen",
        ]
    )


def de_scraped(a: dict) -> str:
    p = a["paragraphs"]
    return "\n".join(
        [
            "Startseite",
            "Lokales",
            "Altheim",
            "",
            a["title"],
            "",
            f"Von {a['author']}, 5. Mai 2022",
            "",
            *[x + "\n" for x in p],
            "Mehr zum Thema",
            "Neuer Radweg nach Bergdorf eröffnet",
            "Kreistag beschließt Haushalt",
            "",
            "Artikel teilen: Facebook | WhatsApp | E-Mail",
            "© 2022 Kreisbote | Impressum | Datenschutz | Cookie-Einstellungen",
        ]
    )


def da_rapport(a: dict) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(a["title"])
    pdf.set_author(a["author"])
    pdf.set_creation_date(__import__("datetime").datetime.fromisoformat(a["date"] + "T12:00:00+00:00"))
    pdf.add_font("dejavu", "", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    for n, page in enumerate(a["pages"], 1):
        pdf.add_page()
        pdf.set_auto_page_break(True, margin=25)
        pdf.set_font("dejavu", size=9)
        pdf.cell(0, 8, f"{a['publisher']} · {a['title']}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("dejavu", size=16 if n == 1 else 11)
        if n == 1:
            pdf.multi_cell(0, 9, a["title"], new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("dejavu", size=11)
        for para in page:
            pdf.multi_cell(0, 6, para, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
        pdf.set_auto_page_break(False)
        pdf.set_y(-20)
        pdf.set_font("dejavu", size=9)
        pdf.cell(0, 8, f"Side {n} af {len(a['pages'])}", align="C")
    pdf.output(str(RAW / "da_rapport.pdf"))


def en_memo(a: dict) -> None:
    import datetime as dt

    import docx

    document = docx.Document()
    document.core_properties.title = a["title"]
    document.core_properties.author = a["author"]
    document.core_properties.created = dt.datetime.fromisoformat(a["date"] + "T10:00:00")
    document.add_heading(a["title"], level=1)
    for para in a["paragraphs"]:
        if para.startswith("## "):
            document.add_heading(para[3:], level=2)
        else:
            document.add_paragraph(para)
    document.save(str(RAW / "en_memo.docx"))


PAGES = {
    "en_news": en_news,
    "da_kommune": da_kommune,
    "de_blog": de_blog,
    "sv_press": sv_press,
    "nb_kultur": nb_kultur,
    "en_magazine": en_magazine,
}
TEXTS = {"en_scraped": en_scraped, "da_scraped2": da_scraped2, "de_scraped": de_scraped}


def main() -> None:
    RAW.mkdir(exist_ok=True)
    EXPECTED.mkdir(exist_ok=True)
    for name, make in PAGES.items():
        (RAW / f"{name}.html").write_text(make(ARTICLES[name]), encoding="utf-8")
        expected(name, ARTICLES[name], ARTICLES[name]["paragraphs"])
    for name, make in TEXTS.items():
        (RAW / f"{name}.txt").write_text(make(ARTICLES[name]), encoding="utf-8")
        expected(name, ARTICLES[name], ARTICLES[name]["paragraphs"])
    da_rapport(ARTICLES["da_rapport"])
    expected(
        "da_rapport", ARTICLES["da_rapport"], [p for page in ARTICLES["da_rapport"]["pages"] for p in page]
    )
    en_memo(ARTICLES["en_memo"])
    expected("en_memo", ARTICLES["en_memo"], ARTICLES["en_memo"]["paragraphs"])


if __name__ == "__main__":
    main()
