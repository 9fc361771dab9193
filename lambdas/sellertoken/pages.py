"""The consent flow's HTML pages and the security headers every response carries."""

from __future__ import annotations

import base64
import hashlib
from html import escape

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}"
    "h1{font-size:1.4rem}p{line-height:1.5}a{color:#0b57d0}.muted{color:#666;font-size:.9rem}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def page(title: str, message: str, *, link: tuple[str, str] | None = None, detail: str | None = None) -> str:
    """A small self-contained page. Every argument is escaped here: callers pass plain text."""
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p>{escape(message)}</p>",
    ]
    if link:
        href, label = link
        parts.append(f'<p><a href="{escape(href, quote=True)}">{escape(label)}</a></p>')
    if detail:
        parts.append(f'<p class="muted">{escape(detail)}</p>')
    parts.append("</body></html>")
    return "\n".join(parts)
