"""Seller/Vendor Central's side of a consent: the consent page, Confirm and Cancel, and (as they are
added) the starts Amazon initiates. HTML lives in pages.py; state in world.py.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.amazon import pages
from devstack.amazon.wire import html, redirect, with_query
from devstack.amazon.world import SELLING_PARTNER_ID, World, new_selling_partner_id

CONSENT_PATH = "/apps/authorize/consent"
CONFIRM_PATH = pages.CONFIRM_PATH


class Consent:
    def __init__(self, world: World) -> None:
        self.world = world

    def routes(self) -> dict[str, dict[str, Any]]:
        return {
            CONSENT_PATH: {"GET": self.consent_page, "POST": self.consent_submit},
            CONFIRM_PATH: {"POST": self.consent_submit},
        }

    def _fault(self) -> Response | None:
        status = self.world.faults.answer("consent")[0]
        if status is not None:
            page = pages.error_page(f"HTTP {status}", "Seller Central is temporarily unavailable.")
            return html(page, status)
        return None

    def _validate(self, params: Any) -> tuple[str, Response | None]:
        app = self.world.app
        application_id = params.get("application_id", "")
        if application_id != app.application_id:
            page = pages.error_page("MD9100", "The application ID is not valid or the app does not exist.")
            return "", html(page, 400)
        if app.is_draft and params.get("version") != "beta":
            page = pages.error_page(
                "MD1000",
                "This application is in Draft state; add version=beta to the authorization URI.",
            )
            return "", html(page, 400)
        registered = list(app.redirect_uris)
        redirect_uri = params.get("redirect_uri") or (registered[0] if registered else "")
        if not redirect_uri or redirect_uri not in registered:
            page = pages.error_page(
                "MD5101", "The redirect URI does not match a redirect URI registered for this application."
            )
            return "", html(page, 400)
        if not params.get("state"):
            page = pages.error_page("bad_request", "The state parameter is missing.")
            return "", html(page, 400)
        return redirect_uri, None

    def consent_page(self, request: Request) -> Response:
        self.world.count("consent")
        failed = self._fault()
        if failed is not None:
            return failed
        redirect_uri, invalid = self._validate(request.args)
        if invalid is not None:
            return invalid
        page = pages.consent_page(
            application_id=self.world.app.application_id,
            state=request.args["state"],
            redirect_uri=redirect_uri,
            version=request.args.get("version", ""),
            selling_partner_id=new_selling_partner_id(),
        )
        return html(page)

    def consent_submit(self, request: Request) -> Response:
        failed = self._fault()
        if failed is not None:
            return failed
        form = request.form
        redirect_uri, invalid = self._validate(form)
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
            return html(pages.error_page("bad_request", "Choose Confirm or Cancel."), 400)
        seller = form.get("selling_partner_id", "").strip()
        if not SELLING_PARTNER_ID.fullmatch(seller):
            page = pages.consent_page(
                application_id=self.world.app.application_id,
                state=state,
                redirect_uri=redirect_uri,
                version=form.get("version", ""),
                selling_partner_id=seller,
                error="Enter a selling partner ID of 8 to 20 capital letters and digits.",
            )
            return html(page, 400)
        self.world.count("consent.confirm")
        code = self.world.issue_code(seller, redirect_uri)
        params = [("state", state), ("selling_partner_id", seller), ("spapi_oauth_code", code)]
        return redirect(with_query(redirect_uri, params))
