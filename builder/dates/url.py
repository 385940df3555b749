"""Dates in a URL's path: /2021/02/17/slug is a day, /2021/02/slug a month; a year alone is
nothing (/2021/report is not a publication date)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from builder.dates.parse import DateError, Stamp, checked

MAX_URL = 2048  # longer paths are cut: the date, when there is one, is near the host
_DAY = re.compile(
    r"(?<!\w)(?P<y>(?:19|20)\d{2})[/_.-](?P<m>\d{1,2})[/_.-](?P<d>\d{1,2})(?!\d)"
    r"|/(?P<y8>(?:19|20)\d{2})(?P<m8>\d{2})(?P<d8>\d{2})(?=[/._-]|$)"
)
_MONTH = re.compile(r"/(?P<y>(?:19|20)\d{2})[/_-](?P<m>\d{1,2})(?=/|[_-]\D|$)")


def _day(path: str) -> Stamp | None:
    for match in _DAY.finditer(path):
        g = match.groupdict()
        fields = (g["y"], g["m"], g["d"]) if g["y"] else (g["y8"], g["m8"], g["d8"])
        try:
            return checked(match.group(0), *map(int, fields))
        except DateError:
            continue
    return None


def url_date(url: str | None) -> Stamp | None:
    """The first real date in the URL's path (and query), at the precision it shows, or None."""
    if not url:
        return None
    parts = urlsplit(url[:MAX_URL])
    path = f"{parts.path}?{parts.query}" if parts.query else parts.path
    if stamp := _day(path):
        return stamp
    for match in _MONTH.finditer(path):
        try:
            return checked(match.group(0), int(match.group("y")), int(match.group("m")), None)
        except DateError:
            continue
    return None
