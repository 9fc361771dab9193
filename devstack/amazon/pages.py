"""HTML for the Amazon simulator's consent pages (Seller Central / Vendor Central look-alike).

Every value that comes from a request is HTML-escaped here; the simulator never builds HTML itself.
"""

from __future__ import annotations

from html import escape

CONFIRM_PATH = "/apps/authorize/confirm"

_STYLE = """
body{margin:0;font-family:Arial,Helvetica,sans-serif;background:#f3f3f3;color:#0f1111}
header{background:#232f3e;color:#fff;padding:12px 24px;font-size:18px}
header span{color:#febd69;font-size:13px;margin-left:8px}
main{max-width:560px;margin:32px auto;background:#fff;border:1px solid #d5d9d9;border-radius:8px;
padding:24px 28px}
h1{font-size:22px;margin:0 0 12px}
code{background:#f0f2f2;padding:1px 4px;border-radius:3px;word-break:break-all}
label{display:block;font-weight:bold;margin:20px 0 6px}
input[type=text]{width:100%;box-sizing:border-box;padding:8px;font-size:15px;border:1px solid #888c8c;
border-radius:4px;font-family:monospace}
.hint{font-size:13px;color:#565959}
.error{background:#fff4f4;border:1px solid #cc0c39;color:#cc0c39;border-radius:4px;padding:10px 12px;
margin:12px 0}
.actions{margin-top:24px;display:flex;gap:12px}
button{padding:8px 20px;font-size:15px;border-radius:20px;border:1px solid #d5d9d9;background:#fff;
cursor:pointer}
button.primary{background:#ffd814;border-color:#fcd200}
"""


def _document(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        "<header>amazon seller central <span>local simulator</span></header>\n"
        f"<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def consent_page(
    *,
    application_id: str,
    state: str,
    redirect_uri: str,
    version: str,
    selling_partner_id: str,
    error: str | None = None,
) -> str:
    """The page a seller sees before authorizing an application."""
    app = escape(application_id)
    alert = f'<p class="error" role="alert">{escape(error)}</p>\n' if error else ""
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{escape(value)}">\n'
        for name, value in (
            ("application_id", application_id),
            ("state", state),
            ("redirect_uri", redirect_uri),
            ("version", version),
        )
    )
    body = (
        f"<h1>Authorize {app}?</h1>\n"
        f"<p>The application <code>{app}</code> is requesting access to your selling account "
        "through the Selling Partner API.</p>\n"
        f'<p class="hint">After you confirm you will be sent to <code>{escape(redirect_uri)}</code>.</p>\n'
        f"{alert}"
        f'<form method="post" action="{CONFIRM_PATH}">\n{hidden}'
        '<label for="selling_partner_id">Selling partner ID</label>\n'
        '<input type="text" id="selling_partner_id" name="selling_partner_id" '
        f'value="{escape(selling_partner_id)}" autocomplete="off" spellcheck="false">\n'
        '<p class="hint">The simulator signs you in as this seller. Keep the generated ID for a new '
        "seller or enter an existing one to re-authorize it.</p>\n"
        '<div class="actions">\n'
        '<button type="submit" class="primary" name="action" value="confirm">Confirm</button>\n'
        '<button type="submit" name="action" value="cancel">Cancel</button>\n'
        "</div>\n</form>"
    )
    return _document(f"Authorize {application_id}", body)


def error_page(code: str, message: str) -> str:
    """An Amazon-style consent error page, e.g. code MD5101 for a redirect URI mismatch."""
    body = (
        "<h1>We're sorry</h1>\n"
        f'<p class="error" role="alert">{escape(message)}</p>\n'
        f'<p class="hint">Error code: <code>{escape(code)}</code></p>'
    )
    return _document(f"Error {code}", body)
