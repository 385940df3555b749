"""What says a page is not an article: its HTTP status, a meta refresh, a listing's shape, or a
short body that is an error message, a consent wall or a paywall. Each rule is a reject reason;
the README's table names them. Rules look at bounded parts of the page only.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from lxml.html import HtmlElement

from builder.outcomes import RejectError, RejectReason

STUB_CHARS = 1500  # bodies at most this long are checked for error, consent and paywall wording
_LISTING_PATH = re.compile(
    r"/(?:tags?|categor(?:y|ies)|topics?|sections?|archives?|authors?|search|page/\d+|"
    r"rubriche?|themen?|schlagworte?|etiquetas?|temas?|categorias?|argomenti?)(?:/|$)",
    re.I,
)
_ERROR = re.compile(
    r"\b(?:404|page (?:was )?not found|page (?:you requested|does not exist)|"
    r"seite (?:wurde )?nicht gefunden|página no encontrada|pagina non trovata|"
    r"page (?:non trouvée|introuvable)|strona nie została znaleziona|"
    r"an error (?:has )?occurred|internal server error|service unavailable)\b",
    re.I,
)
_STUB = re.compile(
    r"(?:not available in your (?:region|country)|unavailable in your (?:region|country)|"
    r"enable (?:javascript|cookies)|accept (?:all )?cookies|cookie (?:consent|settings)|"
    r"we value your privacy|consent to (?:the use of )?cookies|"
    r"subscribe (?:now )?to (?:continue|read)|this (?:article|content) is (?:for|only for|"
    r"reserved for) (?:subscribers|members)|already a subscriber|log ?in to (?:continue|read)|"
    r"abonnieren sie|nur für abonnenten|réservé aux abonnés|solo para suscriptores|"
    r"riservato agli abbonati|zustimmen und weiter)",
    re.I,
)
_ARTICLE_TYPES = re.compile(r'"@type"\s*:\s*\[?\s*"(?:\w*Article|BlogPosting|Report)"')


def check_response(status: int | None) -> None:
    """A WARC response that is not a page's content: redirects and errors."""
    if status is None or 200 <= status < 300:
        return
    if 300 <= status < 400:
        raise RejectError(RejectReason.REDIRECT_PAGE, f"HTTP {status}: a redirect, not a page")
    raise RejectError(RejectReason.ERROR_PAGE, f"HTTP {status}: an error response")


def check_page(tree: HtmlElement, url: str | None) -> None:
    """Before extraction: a refresh to elsewhere, or a listing (a tag, category or archive path)
    without article markup. Front pages are left to the body checks: '/?p=123' is an article."""
    refresh = tree.xpath(  # one in <noscript> only sends browsers without JavaScript away
        '//meta[translate(@http-equiv,"REFSH","refsh")="refresh"][not(ancestor::noscript)]/@content'
    )
    if refresh and "url=" in refresh[0].lower() and len(tree.xpath("//p")) < 3:
        raise RejectError(
            RejectReason.REDIRECT_PAGE, f"meta refresh to another address: {refresh[0][:200]}"
        )
    if _has_article_markup(tree):
        return
    path = _path(url)
    if path is not None and _LISTING_PATH.search(path):
        raise RejectError(RejectReason.NOT_AN_ARTICLE, f"a listing page ({url}), not an article")


def check_body(text: str, title: str | None) -> None:
    """After extraction: a short body that is an error message, a consent wall or a paywall."""
    if len(text) > STUB_CHARS:
        return
    head = f"{title or ''}\n{text}"
    if _ERROR.search(head):
        raise RejectError(RejectReason.ERROR_PAGE, "the page is an error message", text[:200])
    if _STUB.search(head):
        raise RejectError(
            RejectReason.STUB_PAGE, "a consent, paywall or region stub, not the article", text[:200]
        )


def _has_article_markup(tree: HtmlElement) -> bool:
    """og:type article, or JSON-LD typed as an article: the page says it is one."""
    og = tree.xpath('//meta[@property="og:type" or @name="og:type"]/@content')
    if og and "article" in og[0].lower():
        return True
    scripts = tree.xpath('//script[@type="application/ld+json"]/text()')
    return any(_ARTICLE_TYPES.search(s[:20_000]) for s in scripts[:10])


def _path(url: str | None) -> str | None:
    """The path of an absolute URL; None for none, a relative one, or one that does not parse."""
    try:
        parts = urlsplit(url or "")
    except ValueError:  # e.g. a bracketed host that is no IPv6 address
        return None
    return parts.path if parts.scheme and parts.netloc else None
