"""Seller/Vendor Central's side of a consent: the consent page, Confirm and Cancel, and (as they are
added) the starts Amazon initiates. HTML lives in pages.py; state in world.py.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.amazon import pages
from devstack.amazon.wire import html, redirect, with_query
from devstack.amazon.world import SELLER_ID, VENDOR, VENDOR_ID, World, new_selling_partner_id, new_vendor_id

CONSENT_PATH = "/apps/authorize/consent"
CONFIRM_PATH = pages.CONFIRM_PATH
SITE = "amazon.site"  # the WSGI environ key naming the site a request came to: "seller" or "vendor"


def site_of(request: Request) -> str:
    """Seller Central or Vendor Central: each is a host of its own at Amazon and a port of its own here."""
    return request.environ.get(SITE, "seller")


_ID_HINT = {
    "seller": "Enter a seller ID: A followed by 7 to 19 capital letters and digits.",
    "vendor": "Enter a vendor group ID: amzn1.vg. followed by digits.",
}


class Consent:
    def __init__(self, world: World) -> None:
        self.world = world

    def routes(self) -> dict[str, dict[str, Any]]:
        return {
            CONSENT_PATH: {"GET": self.consent_page, "POST": self.consent_submit},
            CONFIRM_PATH: {"POST": self.consent_submit},
        }

    def _fault(self, site: str) -> Response | None:
        status = self.world.faults.answer("consent")[0]
        if status is not None:
            name = pages.SITE_NAMES[site].title()
            page = pages.error_page(f"HTTP {status}", f"{name} is temporarily unavailable.", site)
            return html(page, status)
        return None

    def _validate(self, params: Any, site: str) -> tuple[str, Response | None]:
        app = self.world.app
        application_id = params.get("application_id", "")
        if application_id != app.application_id:
            page = pages.error_page("MD9100", "The application ID is not valid or the app does not exist.", site)
            return "", html(page, 400)
        if app.is_draft and params.get("version") != "beta":
            page = pages.error_page(
                "MD1000",
                "This application is in Draft state; add version=beta to the authorization URI.",
                site,
            )
            return "", html(page, 400)
        registered = list(app.redirect_uris)
        redirect_uri = params.get("redirect_uri") or (registered[0] if registered else "")
        if not redirect_uri or redirect_uri not in registered:
            page = pages.error_page(
                "MD5101", "The redirect URI does not match a redirect URI registered for this application.", site
            )
            return "", html(page, 400)
        if not params.get("state"):
            page = pages.error_page("bad_request", "The state parameter is missing.", site)
            return "", html(page, 400)
        return redirect_uri, None

    def consent_page(self, request: Request) -> Response:
        self.world.count("consent")
        site = site_of(request)
        failed = self._fault(site)
        if failed is not None:
            return failed
        redirect_uri, invalid = self._validate(request.args, site)
        if invalid is not None:
            return invalid
        page = pages.consent_page(
            application_id=self.world.app.application_id,
            state=request.args["state"],
            redirect_uri=redirect_uri,
            version=request.args.get("version", ""),
            selling_partner_id=new_vendor_id() if site == VENDOR else new_selling_partner_id(),
            site=site,
        )
        return html(page)

    def consent_submit(self, request: Request) -> Response:
        site = site_of(request)
        failed = self._fault(site)
        if failed is not None:
            return failed
        form = request.form
        redirect_uri, invalid = self._validate(form, site)
        if invalid is not None:
            return invalid
        state = form["state"]
        action = form.get("action")
        if action == "cancel":
            self.world.count("consent.cancel")
            params = [
                ("state", state),
                ("error", "access_denied"),
                ("error_description", "The user denied the request"),
            ]
            return redirect(with_query(redirect_uri, params))
        if action != "confirm":
            return html(pages.error_page("bad_request", "Choose Confirm or Cancel.", site), 400)
        seller = form.get("selling_partner_id", "").strip()
        # inferred(ids.site): Seller Central signs in sellers and Vendor Central vendor groups, so each site
        # accepts only its own form of id.
        if not (VENDOR_ID if site == VENDOR else SELLER_ID).fullmatch(seller):
            page = pages.consent_page(
                application_id=self.world.app.application_id,
                state=state,
                redirect_uri=redirect_uri,
                version=form.get("version", ""),
                selling_partner_id=seller,
                error=_ID_HINT[site],
                site=site,
            )
            return html(page, 400)
        self.world.count("consent.confirm")
        code = self.world.issue_code(seller, redirect_uri)
        params = [("state", state), ("selling_partner_id", seller), ("spapi_oauth_code", code)]
        return redirect(with_query(redirect_uri, params))
