"""Publication dates written out in Danish, English and their neighbours: '07. november 2019', 'July 6, 2020',
'06-07-2020', '2020-07-06'.

Our own small parser, not dateparser (which trafilatura brings along): on the seeds' date lines
`dateparser.search.search_dates(..., languages=["da", "en"])` read "Publiceringsdato: 08-11-2018" as 11 August
(month first), made "Den 1. marts" in running text 1 March of the current year, and took 2.3 s to import and 1.1 s
for its first search. A full day, month and year is all an article's front matter needs.
"""

from __future__ import annotations

import datetime as dt
import re

_MONTHS = {
    # Danish, Norwegian, Swedish, German, Dutch, English (full names and the usual abbreviations)
    1: "januar january janvier jan jän",
    2: "februar february februari feb",
    3: "marts march mars märz maart mar mär",
    4: "april apr",
    5: "maj may mai mei",
    6: "juni june jun",
    7: "juli july jul",
    8: "august augusti augustus aug",
    9: "september sept sep",
    10: "oktober october okt oct",
    11: "november nov",
    12: "december desember dezember dec des dez",
}
MONTH_NUMBER = {name: number for number, names in _MONTHS.items() for name in names.split()}
_MONTH = "|".join(sorted(MONTH_NUMBER, key=len, reverse=True))

_PATTERNS = [
    # 2020-07-06 (ISO, also with a time after it)
    (re.compile(r"\b(?P<y>(?:19|20)\d\d)-(?P<m>[01]?\d)-(?P<d>[0-3]?\d)\b"), "ymd"),
    # 06-07-2020, 06.07.2020, 6/7/2020: day first, as in Europe
    (re.compile(r"\b(?P<d>[0-3]?\d)[./-](?P<m>[01]?\d)[./-](?P<y>(?:19|20)\d\d)\b"), "dmy"),
    # 07. november 2019, 6 July 2020, 6. Juli 2020
    (
        re.compile(rf"\b(?P<d>[0-3]?\d)\.?\s+(?P<mn>{_MONTH})\.?,?\s+(?P<y>(?:19|20)\d\d)\b", re.IGNORECASE),
        "dMy",
    ),
    # July 6, 2020 / Jul 6 2020
    (
        re.compile(
            rf"\b(?P<mn>{_MONTH})\.?\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?,?\s+(?P<y>(?:19|20)\d\d)\b",
            re.IGNORECASE,
        ),
        "Mdy",
    ),
]


def find_dates(text: str) -> list[tuple[int, dt.date]]:
    """Every full date in `text` as (offset, date), in order."""
    found: list[tuple[int, dt.date]] = []
    for pattern, _kind in _PATTERNS:
        for match in pattern.finditer(text):
            parts = match.groupdict()
            month = MONTH_NUMBER[parts["mn"].lower()] if parts.get("mn") else int(parts["m"])
            try:
                day = dt.date(int(parts["y"]), month, int(parts["d"]))
            except ValueError:
                continue
            found.append((match.start(), day))
    return sorted(found)


def first_date(text: str) -> str | None:
    """The first full date in `text`, as YYYY-MM-DD."""
    dates = find_dates(text)
    return dates[0][1].isoformat() if dates else None


def parse_date(value: str | None) -> str | None:
    """A date from a page's metadata ('2020-07-06T13:17:00+02:00', '6 July 2020') as YYYY-MM-DD."""
    if not value:
        return None
    return first_date(value.strip())
