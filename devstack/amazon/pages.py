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
a.button{display:inline-block;padding:8px 20px;font-size:15px;border-radius:20px;border:1px solid #d5d9d9;
color:#0f1111;text-decoration:none}
a.button.primary{background:#ffd814;border-color:#fcd200}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:8px 6px;border-bottom:1px solid #d5d9d9}
"""


SITE_NAMES = {"seller": "seller central", "vendor": "vendor central"}


def _document(title: str, body: str, site: str = "seller") -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<header>amazon {SITE_NAMES[site]} <span>local simulator</span></header>\n"
        f"<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def consent_page(
    *,
    application_id: str,
    hidden: list[tuple[str, str]],
    selling_partner_id: str,
    redirect_uri: str | None = None,
    locked: bool = False,
    error: str | None = None,
    site: str = "seller",
) -> str:
    """The page a seller (Seller Central) or vendor (Vendor Central) sees before authorizing an application:
    with `redirect_uri` for a flow the app started, without it for one started at Amazon (Appstore, Manage
    Your Apps), which continues at the app's Login URI. `locked`: the partner is the one signed in."""
    app = escape(application_id)
    alert = f'<p class="error" role="alert">{escape(error)}</p>\n' if error else ""
    fields = "".join(
        f'<input type="hidden" name="{name}" value="{escape(value)}">\n'
        for name, value in [("application_id", application_id), *hidden]
    )
    if redirect_uri is not None:
        after = f"After you confirm you will be sent to <code>{escape(redirect_uri)}</code>."
    else:
        after = "After you confirm you will sign in to the application's website to finish."
    if locked:
        who = (
            f'<p>Signed in as <code id="selling_partner_id_shown">{escape(selling_partner_id)}</code>.</p>\n'
            f'<input type="hidden" name="selling_partner_id" value="{escape(selling_partner_id)}">\n'
        )
    else:
        who = (
            '<label for="selling_partner_id">Selling partner ID</label>\n'
            '<input type="text" id="selling_partner_id" name="selling_partner_id" '
            f'value="{escape(selling_partner_id)}" autocomplete="off" spellcheck="false">\n'
            f'<p class="hint">The simulator signs you in as this {site}. Keep the generated ID for a new '
            f"{site} or enter an existing one to re-authorize it.</p>\n"
        )
    body = (
        f"<h1>Authorize {app}?</h1>\n"
        f"<p>The application <code>{app}</code> is requesting access to your selling account "
        "through the Selling Partner API.</p>\n"
        f'<p class="hint">{after}</p>\n'
        f"{alert}"
        f'<form method="post" action="{CONFIRM_PATH}">\n{fields}{who}'
        '<div class="actions">\n'
        '<button type="submit" class="primary" name="action" value="confirm">Confirm</button>\n'
        '<button type="submit" name="action" value="cancel">Cancel</button>\n'
        "</div>\n</form>"
    )
    return _document(f"Authorize {application_id}", body, site)


def appstore_page(*, application_id: str, start: str, site: str = "seller") -> str:
    """The application's Appstore detail page; `start` is where "Authorize now" leads (a relative URL)."""
    app = escape(application_id)
    body = (
        f"<h1>{app}</h1>\n"
        "<p>A Selling Partner Appstore application.</p>\n"
        f'<div class="actions"><a class="button primary" href="{escape(start)}">Authorize now</a></div>'
    )
    return _document(f"Appstore: {application_id}", body, site)


def manage_apps_page(*, selling_partner_id: str, apps: list[tuple[str, str, str]], site: str = "seller") -> str:
    """Manage Your Apps for one signed-in partner: (application id, authorization expiry, renewal URL) each."""
    rows = "".join(
        f"<tr><td><code>{escape(app)}</code></td><td>{escape(expires)}</td>"
        f'<td><a class="button" href="{escape(start)}">Re-authorize</a></td></tr>\n'
        for app, expires, start in apps
    )
    listing = (
        f"<table>\n<tr><th>Application</th><th>Authorization expires</th><th></th></tr>\n{rows}</table>"
        if apps
        else "<p>You have not authorized any application.</p>"
    )
    body = (
        "<h1>Manage Your Apps</h1>\n"
        f'<p class="hint">Signed in as <code>{escape(selling_partner_id)}</code>.</p>\n{listing}'
    )
    return _document("Manage Your Apps", body, site)


def cancelled_page(*, application_id: str, site: str = "seller") -> str:
    """Where Cancel leaves the seller: still on Amazon, nothing sent to the application."""
    body = (
        "<h1>Authorization cancelled</h1>\n"
        f"<p>You did not authorize <code>{escape(application_id)}</code>. Nothing was shared with it.</p>"
    )
    return _document("Authorization cancelled", body, site)


def error_page(code: str, message: str, site: str = "seller") -> str:
    """An Amazon-style consent error page, e.g. code MD5101 for a redirect URI mismatch."""
    body = (
        "<h1>We're sorry</h1>\n"
        f'<p class="error" role="alert">{escape(message)}</p>\n'
        f'<p class="hint">Error code: <code>{escape(code)}</code></p>'
    )
    return _document(f"Error {code}", body, site)
