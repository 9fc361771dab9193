"""The consent flow's pages escape every argument; every response carries strict security headers."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser

import pytest

from sellertoken.pages import SECURITY_HEADERS, page

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>&amp;\'"'


class Parsed(HTMLParser):
    """What a browser would build from the page: elements, their attributes, the text of each."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: dict[str, list[str]] = {}
        self._open: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._open.append(tag)

    def handle_endtag(self, tag):
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data):
        if self._open:
            self.text.setdefault(self._open[-1], []).append(data)

    def names(self) -> list[str]:
        return [tag for tag, _ in self.tags]

    def only(self, name: str) -> dict[str, str | None]:
        found = [attrs for tag, attrs in self.tags if tag == name]
        assert len(found) == 1, f"expected one <{name}>, found {len(found)}"
        return found[0]


def csp_directives() -> dict[str, str]:
    directives = (d.strip() for d in SECURITY_HEADERS["Content-Security-Policy"].split(";"))
    return dict(d.split(" ", 1) for d in directives if d)


@pytest.fixture
def hostile_page() -> Parsed:
    return Parsed(page(HOSTILE, HOSTILE, link=(f'https://x.test/"{HOSTILE}', HOSTILE), detail=HOSTILE))


def test_hostile_arguments_create_no_element(hostile_page):
    # Only the page's own skeleton, whatever the arguments held
    assert sorted(set(hostile_page.names())) == ["a", "body", "h1", "head", "html", "meta", "p", "style", "title"]
    assert "script" not in hostile_page.names()
    assert "img" not in hostile_page.names()


def test_title_is_shown_as_text(hostile_page):
    assert hostile_page.text["title"] == [HOSTILE]
    assert hostile_page.text["h1"] == [HOSTILE]


def test_message_and_detail_are_shown_as_text(hostile_page):
    paragraphs = hostile_page.text["p"]

    assert paragraphs.count(HOSTILE) == 2  # message and detail


def test_link_href_and_label_are_escaped(hostile_page):
    assert hostile_page.only("a") == {"href": f'https://x.test/"{HOSTILE}'}
    assert hostile_page.text["a"] == [HOSTILE]


def test_raw_markup_never_reaches_the_page():
    html = page(HOSTILE, HOSTILE, link=(HOSTILE, HOSTILE), detail=HOSTILE)

    assert "<script>" not in html
    assert "<img" not in html
    assert 'href="<' not in html


def test_page_without_link_or_detail_has_neither():
    parsed = Parsed(page("Connected", "You can close this window."))

    assert "a" not in parsed.names()
    assert all(attrs.get("class") != "muted" for _, attrs in parsed.tags)
    assert parsed.text["p"] == ["You can close this window."]


def test_detail_is_set_apart_as_muted_text():
    parsed = Parsed(page("Denied", "Authorization was cancelled.", detail="Reference: r-1"))

    assert ("p", {"class": "muted"}) in parsed.tags


def test_page_declares_utf8_and_a_language():
    parsed = Parsed(page("t", "m"))

    assert ("meta", {"charset": "utf-8"}) in parsed.tags
    assert parsed.only("html") == {"lang": "en"}


def test_responses_are_never_cached():
    assert SECURITY_HEADERS["Cache-Control"] == "no-store"
    assert SECURITY_HEADERS["Pragma"] == "no-cache"


def test_responses_send_no_referrer():
    # OAuth codes and state travel in query strings (reference §1, State / CSRF guidance)
    assert SECURITY_HEADERS["Referrer-Policy"] == "no-referrer"


def test_csp_allows_nothing_by_default_and_cannot_be_framed():
    directives = csp_directives()

    assert directives["default-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["form-action"] == "'none'"
    assert "script-src" not in directives  # falls back to default-src 'none'
    assert SECURITY_HEADERS["X-Frame-Options"] == "DENY"
    assert SECURITY_HEADERS["X-Content-Type-Options"] == "nosniff"


def test_csp_style_hash_matches_the_inline_style():
    # Given the inline style the browser sees
    style = re.search(r"<style>(.*?)</style>", page("t", "m"), re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()

    # Then the CSP allows exactly that style
    assert csp_directives()["style-src"] == f"'sha256-{digest}'"
