"""Seller/Vendor Central's side of a consent: the consent page, Confirm and Cancel, the starts Amazon
initiates (the Appstore detail page, Manage Your Apps) and the hop through the application's Login URI
back to Amazon's confirm endpoint. HTML lives in pages.py; state in world.py.

Sources: reference/sp-api-auth.md §1 (DEVGUIDE-2021 "Website authorization workflow" and "Marketplace
Appstore authorization workflow", the DOCS pages they became, public issues); each behaviour below names
its own, or says it is inferred.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from devstack.amazon import pages
from devstack.amazon.wire import html, redirect, with_query
from devstack.amazon.world import (
    SELLER_ID,
    VENDOR,
    VENDOR_ID,
    World,
    account_type_of,
    new_selling_partner_id,
    new_vendor_id,
)

CONSENT_PATH = "/apps/authorize/consent"
CONFIRM_PATH = pages.CONFIRM_PATH  # where the consent page's form posts (the simulator's own path)
# source(consent.callback-uri): models#4093, models#5204, docs#1376: Amazon's callback is
# https://sellercentral.amazon.com/apps/authorize/confirm/<appId> on the site the consent happened
AMAZON_CONFIRM_PATH = "/apps/authorize/confirm/<application_id>"
# inferred(consent.paths): the pages' own addresses: Amazon's Appstore detail pages, Manage Your Apps and the
# consent page those start are reached by clicking, at paths the sources do not give
APPSTORE_PATH = "/apps/appstore/<application_id>"
MANAGE_PATH = "/apps/manage"
START_PATH = "/apps/authorize/start"
SITE = "amazon.site"  # the WSGI environ key naming the site a request came to: "seller" or "vendor"
WEBSITE, APPSTORE, RENEWAL = "website", "appstore", "renewal"  # how a consent started

_ID_HINT = {
    "seller": "Enter a seller ID: A followed by 7 to 19 capital letters and digits.",
    "vendor": "Enter a vendor group ID: amzn1.vg. followed by digits.",
}
_YEAR_SECONDS = 365 * 86400


def site_of(request: Request) -> str:
    """Seller Central or Vendor Central: each is a host of its own at Amazon and a port of its own here."""
    return request.environ.get(SITE, "seller")


class Consent:
    def __init__(self, world: World) -> None:
        self.world = world

    def routes(self) -> dict[str, dict[str, Any]]:
        return {
            CONSENT_PATH: {"GET": self.consent_page, "POST": self.consent_submit},
            CONFIRM_PATH: {"POST": self.consent_submit},
            APPSTORE_PATH: {"GET": self.appstore_page},
            MANAGE_PATH: {"GET": self.manage_apps_page},
            START_PATH: {"GET": self.amazon_consent_page},
            AMAZON_CONFIRM_PATH: {"GET": self.amazon_confirm},
        }

    # ------------------------------------------------------------------ checks shared by the pages

    def _fault(self, site: str) -> Response | None:
        status = self.world.faults.answer("consent")[0]
        if status is not None:
            name = pages.SITE_NAMES[site].title()
            page = pages.error_page(f"HTTP {status}", f"{name} is temporarily unavailable.", site)
            return html(page, status)
        return None

    def _error(self, code: str, message: str, site: str, status: int = 400) -> Response:
        return html(pages.error_page(code, message, site), status)

    def _unknown_app(self, application_id: str, site: str) -> Response | None:
        if application_id != self.world.app.application_id:
            # source(consent.md9100): DOCS authorization-errors (MD9100: the application ID is not valid)
            return self._error("MD9100", "The application ID is not valid or the app does not exist.", site)
        return None

    def _draft_without_beta(self, version: str | None, site: str) -> Response | None:
        if self.world.app.is_draft and version != "beta":
            # source(consent.md1000): DOCS authorization-errors; DEVGUIDE-2021 (version=beta while in Draft, on the
            # consent URI and, in the Login-URI hop, on the Amazon callback URI)
            return self._error(
                "MD1000", "This application is in Draft state; add version=beta to the authorization URI.", site
            )
        return None

    def _redirect_uri(self, given: str | None, site: str) -> tuple[str, Response | None]:
        registered = list(self.world.app.redirect_uris)
        # source(consent.redirect-uri): DEVGUIDE-2021 Step 1 and Appstore Step 3: redirect_uri is optional, must be
        # registered, and defaults to the first registered one; DOCS authorization-errors: MD5101 on a mismatch
        redirect_uri = given or (registered[0] if registered else "")
        if not redirect_uri or redirect_uri not in registered:
            message = "The redirect URI does not match a redirect URI registered for this application."
            return "", self._error("MD5101", message, site)
        return redirect_uri, None

    def _validate(self, params: Any, site: str) -> tuple[str, Response | None]:
        """A consent URI the app built: application, Draft version, redirect URI, state."""
        refused = self._unknown_app(params.get("application_id", ""), site) or self._draft_without_beta(
            params.get("version"), site
        )
        if refused is not None:
            return "", refused
        redirect_uri, refused = self._redirect_uri(params.get("redirect_uri"), site)
        if refused is not None:
            return "", refused
        if not params.get("state"):
            # inferred(consent.state-required): the app's state is how it checks the answer (DEVGUIDE-2021 Step 1);
            # Amazon's page for a missing one is undocumented
            return "", self._error("bad_request", "The state parameter is missing.", site)
        return redirect_uri, None

    def _new_partner_id(self, site: str) -> str:
        # inferred(consent.sign-in): Amazon signs the partner in; here the consent page offers a fresh id (or takes a
        # typed one), which is who "signed in"
        # source(ids.site): Vendor Central signs in vendor groups (amzn1.vg.…), Seller Central sellers
        # (models#2397: "vendor authorizes … amzn1.vg.xxxxx … while seller authorization returns" an A… id)
        return new_vendor_id() if site == VENDOR else new_selling_partner_id()

    # ------------------------------------------------------------------ the website flow (the app starts it)

    def consent_page(self, request: Request) -> Response:
        self.world.count("consent")
        site = site_of(request)
        failed = self._fault(site)
        if failed is not None:
            return failed
        redirect_uri, invalid = self._validate(request.args, site)
        if invalid is not None:
            return invalid
        hidden = [
            ("flow", WEBSITE),
            ("state", request.args["state"]),
            ("redirect_uri", redirect_uri),
            ("version", request.args.get("version", "")),
        ]
        page = pages.consent_page(
            application_id=self.world.app.application_id,
            hidden=hidden,
            selling_partner_id=self._new_partner_id(site),
            redirect_uri=redirect_uri,
            site=site,
        )
        return html(page)

    def consent_submit(self, request: Request) -> Response:
        site = site_of(request)
        failed = self._fault(site)
        if failed is not None:
            return failed
        form = request.form
        flow = form.get("flow") or WEBSITE
        if flow not in (WEBSITE, APPSTORE, RENEWAL):
            return self._error("bad_request", "The authorization request is not valid.", site)
        if flow == WEBSITE:
            redirect_uri, invalid = self._validate(form, site)
        else:
            redirect_uri, invalid = "", self._unknown_app(form.get("application_id", ""), site)
        if invalid is not None:
            return invalid
        action = form.get("action")
        if action == "cancel":
            self.world.count("consent.cancel")
            # source(consent.cancel-stays): DEVGUIDE-2021 Step 2 ("the seller can click the Cancel button to exit
            # without authorizing") documents no redirect, no cancel URI can be registered, and Cancel "performs no
            # operation" visible to the app (selling-partner-api-docs#953); the page saying so is inferred
            if flow != WEBSITE or not self.world.behaviour.cancel_redirects:
                return html(pages.cancelled_page(application_id=self.world.app.application_id, site=site))
            # inferred(consent.cancel-redirect): the switch: RFC 6749 §4.1.2.1's error=access_denied to the redirect
            # URI, the generic OAuth answer a developer guessed Amazon might send (selling-partner-api-docs#29)
            params = [
                ("state", form["state"]),
                ("error", "access_denied"),
                ("error_description", "The user denied the request"),
            ]
            return redirect(with_query(redirect_uri, params))
        if action != "confirm":
            return self._error("bad_request", "Choose Confirm or Cancel.", site)
        seller = form.get("selling_partner_id", "").strip()
        # inferred(ids.site-only): each site signs in only its own kind of account
        if not (VENDOR_ID if site == VENDOR else SELLER_ID).fullmatch(seller):
            if flow == RENEWAL:
                return self._error("bad_request", _ID_HINT[site], site)
            hidden = [(k, form.get(k, "")) for k in ("flow", "state", "redirect_uri", "version") if k in form]
            page = pages.consent_page(
                application_id=self.world.app.application_id,
                hidden=hidden,
                selling_partner_id=seller,
                redirect_uri=redirect_uri if flow == WEBSITE else None,
                error=_ID_HINT[site],
                site=site,
            )
            return html(page, 400)
        # source(consent.website-hop): the switch: the current DOCS website-authorization-workflow page lists the Login
        # URI hop in the website flow too, and developers report a Draft app's website flow goes through it
        # (selling-partner-api-docs#1726, #695); Amazon keeps the app's first state to itself (inferred)
        if flow == WEBSITE and not self.world.behaviour.website_login_hop:
            self.world.count("consent.confirm")
            code = self.world.issue_code(seller, redirect_uri)
            # source(consent.website-redirect): DEVGUIDE-2021 Website Step 3: the Redirect URI gets state,
            # selling_partner_id and spapi_oauth_code (mws_auth_token only for hybrid MWS apps: not modelled)
            params = [("state", form["state"]), ("selling_partner_id", seller), ("spapi_oauth_code", code)]
            return redirect(with_query(redirect_uri, params))
        if flow == RENEWAL and self.world.authorized_at(seller) is None:
            return self._error("bad_request", "This application is not authorized for your account.", site)
        # A Draft app's flows carry version=beta through the hop (DEVGUIDE-2021 Appstore Step 2 note).
        beta = form.get("version") == "beta"
        return self._to_login_uri(request, seller, site, beta=beta)

    # ------------------------------------------------------------------ starts at Amazon

    def appstore_page(self, request: Request, application_id: str) -> Response:
        site = site_of(request)
        failed = self._fault(site) or self._unknown_app(application_id, site)
        if failed is not None:
            return failed
        # source(appstore.sellers-only): DEVGUIDE-2021 and SAMPLES README: the Appstore flow is for sellers only
        if site == VENDOR:
            return self._error("not_found", "The Appstore is part of Seller Central.", site, 404)
        # source(appstore.published-only): DEVGUIDE-2021 "To convert your test authorization workflow": listing in
        # the Appstore is what publishes an app, so a Draft app has no detail page (its test starts at the consent
        # URI with version=beta)
        if self.world.app.is_draft:
            return self._error("not_found", "This application is not listed in the Appstore.", site, 404)
        self.world.count("consent.appstore")
        start = f"{START_PATH}?{urlencode({'application_id': application_id, 'flow': APPSTORE})}"
        return html(pages.appstore_page(application_id=application_id, start=start, site=site))

    def manage_apps_page(self, request: Request) -> Response:
        site = site_of(request)
        failed = self._fault(site)
        if failed is not None:
            return failed
        # The partner is whoever is signed in; here the query names them (the simulator has no sign-in).
        partner = request.args.get("selling_partner_id", "")
        if not (VENDOR_ID if site == VENDOR else SELLER_ID).fullmatch(partner):
            return self._error("bad_request", _ID_HINT[site], site)
        self.world.count("consent.manage")
        apps = []
        authorized_at = self.world.authorized_at(partner)
        if authorized_at is not None:
            # source(manage.renew): DOCS renew-authorizations: re-authorize every 365 days, from Manage Your Apps
            expires = _date(authorized_at + _YEAR_SECONDS)
            query = {"application_id": self.world.app.application_id, "flow": RENEWAL, "selling_partner_id": partner}
            apps.append((self.world.app.application_id, expires, f"{START_PATH}?{urlencode(query)}"))
        return html(pages.manage_apps_page(selling_partner_id=partner, apps=apps, site=site))

    def amazon_consent_page(self, request: Request) -> Response:
        """The consent page of a flow Amazon started: "Authorize now" (Appstore) or "Re-authorize"."""
        site = site_of(request)
        failed = self._fault(site) or self._unknown_app(request.args.get("application_id", ""), site)
        if failed is not None:
            return failed
        flow = request.args.get("flow")
        if flow == APPSTORE and (site == VENDOR or self.world.app.is_draft):
            return self._error("not_found", "This application is not listed in the Appstore.", site, 404)
        if flow == APPSTORE:
            partner, locked, beta = self._new_partner_id(site), False, False
        elif flow == RENEWAL:
            # inferred(manage.signed-in): a renewal is for the partner signed in to Manage Your Apps: no other id
            partner, locked = request.args.get("selling_partner_id", ""), True
            if self.world.authorized_at(partner) is None or account_type_of(partner) != site:
                return self._error("bad_request", "This application is not authorized for your account.", site)
            # inferred(manage.renew-draft): a Draft app's renewal is a test flow, so it carries version=beta
            beta = self.world.app.is_draft
        else:
            return self._error("bad_request", "The authorization request is not valid.", site)
        self.world.count("consent")
        hidden = [("flow", flow), ("version", "beta" if beta else "")]
        page = pages.consent_page(
            application_id=self.world.app.application_id,
            hidden=hidden,
            selling_partner_id=partner,
            locked=locked,
            site=site,
        )
        return html(page)

    # ------------------------------------------------------------------ the hop through the app's Login URI

    def _to_login_uri(self, request: Request, partner: str, site: str, *, beta: bool) -> Response:
        login_uri = self.world.app.login_uri
        if not login_uri:
            # inferred(login-uri.missing): an app without a Login URI cannot take a flow that starts at Amazon
            return self._error("bad_request", "This application has no Login URI.", site)
        self.world.count("consent.login_uri")
        callback = AMAZON_CONFIRM_PATH.replace("<application_id>", self.world.app.application_id)
        # source(consent.relative-callback): the switch: a bare-path amazon_callback_uri, reported intermittently
        # (selling-partner-api-docs#1376)
        if not self.world.behaviour.relative_callback_uri:
            callback = request.host_url.rstrip("/") + callback
        # source(login-uri.params): DEVGUIDE-2021 Appstore Step 2, DOCS selling-partner-appstore-authorization-workflow:
        # the Login URI gets amazon_callback_uri, amazon_state and selling_partner_id, plus version=beta for a test
        params = [
            ("amazon_callback_uri", callback),
            ("amazon_state", self.world.new_amazon_state(partner, site, beta=beta)),
            ("selling_partner_id", partner),
        ]
        if beta:
            params.append(("version", "beta"))
        return redirect(with_query(login_uri, params))

    def amazon_confirm(self, request: Request, application_id: str) -> Response:
        """The app sends the browser back here from its Login URI; Amazon then calls its Redirect URI."""
        site = site_of(request)
        args = request.args
        failed = (
            self._fault(site)
            or self._unknown_app(application_id, site)
            or self._draft_without_beta(args.get("version"), site)
        )
        if failed is not None:
            return failed
        redirect_uri, refused = self._redirect_uri(args.get("redirect_uri"), site)
        if refused is not None:
            return refused
        if not args.get("state"):
            # source(login-uri.state): DEVGUIDE-2021 Appstore Step 3 lists state (the app's) without "Optional"
            return self._error("bad_request", "The state parameter is missing.", site)
        # source(login-uri.amazon-state): DEVGUIDE-2021 Appstore Step 2-3: amazon_state guards against CSRF and must
        # come back as it was sent; single use and bound to its site: inferred
        flow = self.world.take_amazon_state(args.get("amazon_state", ""), site)
        if flow is None:
            return self._error("bad_request", "This authorization has expired. Please start again.", site)
        self.world.count("consent.confirm")
        code = self.world.issue_code(flow.selling_partner_id, redirect_uri)
        # source(login-uri.redirect): DEVGUIDE-2021 Appstore Step 4: state, selling_partner_id, spapi_oauth_code
        params = [("state", args["state"]), ("selling_partner_id", flow.selling_partner_id), ("spapi_oauth_code", code)]
        return redirect(with_query(redirect_uri, params))


def _date(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")
