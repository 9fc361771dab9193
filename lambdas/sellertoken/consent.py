"""The consent flow: start it (/authorize, /login) and complete it (/callback).

Everything here validates its input before it writes anything; a failure raises ConsentError,
which the handler turns into an HTML page with the right status.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

from sellertoken import appcreds, events, grantcheck, grants, names, state, timestamps
from sellertoken.config import Config, require_redirect_uri
from sellertoken.errors import AppCredentialsRejected, InvalidGrant, LwaError, UpstreamUnavailable
from sellertoken.identity import View
from sellertoken.lwa import LwaClient, LwaToken
from sellertoken.observability import count, logger
from sellertoken.regions import ACCOUNT_TYPES, MARKETPLACES, REGIONS, SELLER, RegionTable, account_type_of

REFERENCE = re.compile(r"[A-Za-z0-9._~:@+=/-]{1,128}")
# RFC 3986 path characters (pchar and "/"), percent-escapes well formed. Amazon's callback URIs are plain
# paths (`/apps/authorize/confirm/<appId>`), so anything else means the value was altered on its way:
# refused, not re-encoded, because re-encoding would forward an address Amazon never issued, and a raw
# control byte, space or backslash is read differently by browsers, proxies and header parsers.
URL_PATH = re.compile(r"(?:[A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})*")
MAX_PARAMETER_LENGTH = 2048
START_AGAIN = "Start again"


class ConsentError(Exception):
    """A failure to show the browser; `reason` is a short code for logs and metrics."""

    def __init__(self, status: int, reason: str, title: str, message: str, *, restart: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.title = title
        self.message = message
        self.restart = restart  # a relative link that starts the authorization again


@dataclass(frozen=True)
class Redirect:
    location: str
    cookie_value: str | None = None  # the state cookie's new nonce
    flow_value: str | None = None  # the flow cookie's new value: the state /authorize issued
    clear_flow: bool = False  # the flow cookie has served its purpose


@dataclass(frozen=True)
class Completed:
    selling_partner_id: str
    region: str
    account_type: str
    created: bool
    reference: str | None = None


def authorize(config: Config, params: Mapping[str, str]) -> Redirect:
    """GET /authorize: pick the consent page for the region or marketplace and send the browser there."""
    table = RegionTable.of(config)
    region_code = _param(params, "region")
    market_code = _param(params, "marketplace")
    account_type = _param(params, "account_type") or SELLER
    reference = _param(params, "reference")
    if account_type not in ACCOUNT_TYPES:
        raise _bad_request("account_type", "account_type must be seller or vendor.")
    if reference is not None and not REFERENCE.fullmatch(reference):
        raise _bad_request("reference", "reference must be 1 to 128 letters, digits or . _ ~ : @ + = / -")
    if not region_code and not market_code:
        raise _bad_request("region", "Say which region (region=na, eu or fe) or marketplace (marketplace=US…).")
    region = table.region(region_code) if region_code else None
    if region_code and region is None:
        raise _bad_request("region", "Unknown region: use na, eu or fe.")
    market = table.marketplace(market_code or region.default_marketplace)  # type: ignore[union-attr]
    if market is None:
        raise _bad_request("marketplace", "Unknown marketplace code.")
    if region is not None and market.region != region.code:
        raise _bad_request("marketplace", "That marketplace is not in that region.")
    base = table.consent_base(market, account_type)
    if base is None:
        raise _bad_request("account_type", "Amazon has no Vendor Central for that marketplace.")
    issued = _issue_state(config, market.region, account_type, reference)
    query = {"application_id": appcreds.load(config.prefix).application_id, "state": issued.state}
    query["redirect_uri"] = require_redirect_uri(config)
    if config.app_is_draft:
        query["version"] = "beta"
    return Redirect(f"{base}/apps/authorize/consent?{urlencode(query)}", issued.cookie_value, issued.state)


def login(
    config: Config,
    params: Mapping[str, str],
    cookie_value: str | None = None,
    flow_value: str | None = None,
    referer: str | None = None,
) -> Redirect:
    """GET /login, the Login URI Amazon loads when an authorization starts at Amazon (Appstore, Manage Your
    Apps renewals, reportedly Draft website flows): send the browser back to `amazon_callback_uri`.

    The account type comes from the host (Vendor Central means vendor); a browser that started at /authorize
    keeps that flow's region, account type and reference (its flow cookie). Only ever to an Amazon host."""
    table = RegionTable.of(config)
    callback = _param(params, "amazon_callback_uri")
    amazon_state = _param(params, "amazon_state")
    seller = _param(params, "selling_partner_id")
    if not callback:
        raise _bad_request("amazon_callback_uri", "amazon_callback_uri is missing.")
    if not amazon_state or not amazon_state.isprintable():
        raise _bad_request("amazon_state", "amazon_state is missing or malformed.")
    if seller is not None and not names.is_selling_partner_id(seller):
        raise _bad_request("selling_partner_id", "selling_partner_id is malformed.")
    flow = _started_flow(config, flow_value, cookie_value)
    origin, parts = _amazon_callback(config, table, callback, flow, referer, seller)
    origins = table.consent_origins()
    regions = origins.get(origin) or DOCUMENTED_EXAMPLE_ORIGINS.get(origin, set())
    served = {kind for kind in ACCOUNT_TYPES if origin in table.consent_origins((kind,))} or {SELLER}
    if len(served) == 1:
        (account_type,) = served  # Vendor Central's hosts serve vendors only, Seller Central's sellers
    elif flow is not None:
        account_type = flow.account_type  # the local stack's one host serves both: the flow says which
    else:
        account_type = account_type_of(seller) if seller else SELLER
    # Amazon's hosts each serve one region. Only the local stack serves all from one host: there the flow's
    # region, or an optional region hint, picks one, North America by default.
    hint = _param(params, "region")
    if flow is not None and flow.region in regions:
        region = flow.region
    elif hint in regions:
        region = hint
    elif len(regions) == 1:
        (region,) = regions
    else:
        region = "na"
    same_flow = flow is not None and (flow.region, flow.account_type) == (region, account_type)
    issued = _issue_state(config, region, account_type, flow.reference if same_flow else None)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [("amazon_state", amazon_state), ("state", issued.state), ("redirect_uri", require_redirect_uri(config))]
    if config.app_is_draft or _param(params, "version") == "beta":
        query.append(("version", "beta"))
    location = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
    return Redirect(location, issued.cookie_value, clear_flow=True)


# DEVGUIDE-2021's Appstore example sends amazon_callback_uri=https://amazon.com/apps/authorize/confirm/<appId>:
# a form Amazon documents, so it is accepted (for North America's sellers, whose Seller Central it serves).
DOCUMENTED_EXAMPLE_ORIGINS = {"https://amazon.com": {"na"}}


def _started_flow(config: Config, flow_value: str | None, cookie_value: str | None) -> state.StateClaims | None:
    """The flow this browser started at /authorize, if its flow cookie still verifies (signed, unexpired, bound
    to this browser's nonce); else None. Nothing is consumed: the flow continues with /login's own state."""
    if not flow_value or not cookie_value:
        return None
    try:
        claims = state.verify(appcreds.state_key(config.prefix), flow_value, cookie_value)
    except state.InvalidState:
        return None
    return claims if _plausible(claims) else None


def _amazon_callback(
    config: Config,
    table: RegionTable,
    callback: str,
    flow: state.StateClaims | None,
    referer: str | None,
    seller: str | None,
) -> tuple[str, SplitResult]:
    """The Amazon origin and parts of the address to send the browser to, or a 400 ConsentError.

    Amazon sends `https://sellercentral.amazon.com/apps/authorize/confirm/<appId>` (models#4093, #5204), the
    developer guide's example host `https://amazon.com/…`, and, reported intermittently, the bare path
    `/apps/authorize/confirm/<appId>` (selling-partner-api-docs#1376). A bare path is completed with the
    Amazon origin the browser came from (Referer), else the one its flow started at, else (inferred: the
    only host the reports name) North America's Seller Central, or Vendor Central for a vendor's id."""
    parts = urlsplit(callback)
    if not parts.scheme and not parts.netloc and callback.startswith("/") and not callback.startswith("//"):
        origin = _relative_origin(table, flow, referer, seller)
        parts = urlsplit(origin + callback)
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    local = origin in {u.lower() for u in (config.consent_base_url, config.vendor_consent_base_url) if u}
    known = origin in table.consent_origins() or origin in DOCUMENTED_EXAMPLE_ORIGINS
    if not known or (parts.scheme != "https" and not local) or parts.username or parts.password:
        raise _bad_request("amazon_callback_uri", "amazon_callback_uri is not an Amazon consent address.")
    if not URL_PATH.fullmatch(parts.path):
        raise _bad_request("amazon_callback_uri", "amazon_callback_uri is not a valid Amazon consent address.")
    return origin, parts


def _relative_origin(
    table: RegionTable, flow: state.StateClaims | None, referer: str | None, seller: str | None
) -> str:
    if referer:
        came_from = urlsplit(referer)
        origin = f"{came_from.scheme}://{came_from.netloc}".lower()
        if came_from.scheme and origin in table.consent_origins():
            return origin
    if flow is not None:
        market = table.marketplace(REGIONS[flow.region].default_marketplace)
        base = table.consent_base(market, flow.account_type) if market else None
        if base:
            return _origin_of(base)
    account_type = account_type_of(seller) if seller else SELLER
    return _origin_of(table.consent_base(MARKETPLACES["US"], account_type) or "")


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def callback(config: Config, params: Mapping[str, str], cookie_value: str | None) -> Completed:
    """GET /callback: verify state and cookie, exchange the code, store the grant, tell the bus."""
    restart = _restart_link(config, params)
    code = _param(params, "spapi_oauth_code")
    # A seller who cancels at Amazon is documented to stay there (selling-partner-api-docs#953: nothing reaches
    # the app); their state is never consumed and simply expires (state.STATE_TTL_SECONDS), writing nothing.
    # OAuth's error=access_denied redirect is not documented for SP-API but handled the same way if it comes.
    if _param(params, "error") is not None or not code:
        raise ConsentError(
            400,
            "not_completed",
            "Authorization was not completed",
            "The authorization was not completed, so nothing was stored. You can start again.",
            restart=restart,
        )
    try:
        claims = state.verify(appcreds.state_key(config.prefix), _param(params, "state"), cookie_value)
    except state.InvalidState as exc:
        raise _invalid_state(exc.reason, restart) from None
    if not _plausible(claims):
        # Signed by us, yet not what /authorize or /login issue: a leaked key or a bug. Trust none of it.
        logger.error("state signed with our key carries claims we never issue")
        raise _invalid_state("implausible", "authorize?region=na")
    seller = _param(params, "selling_partner_id")
    if not names.is_selling_partner_id(seller):
        raise _bad_request("selling_partner_id", "Amazon's answer carried a malformed selling_partner_id.")
    try:
        state.consume(config.table_name, claims)
    except state.InvalidState as exc:
        raise _invalid_state(exc.reason, restart) from None
    lwa = LwaClient(config.lwa_endpoint, config.prefix)
    try:
        token = lwa.exchange_code(code, require_redirect_uri(config))
    except InvalidGrant:
        raise ConsentError(
            400,
            "code_rejected",
            "This authorization has expired",
            "Amazon's one-time code has expired or was already used. Start the authorization again.",
            restart=restart,
        ) from None
    except AppCredentialsRejected:
        count(names.METRIC_APP_CREDENTIALS_REJECTED)
        raise ConsentError(
            502, "app_credentials_rejected", "Authorization failed", "Amazon rejected this application's credentials."
        ) from None
    except (UpstreamUnavailable, LwaError) as exc:
        logger.warning("code exchange failed", extra={"error": str(exc)})
        raise ConsentError(
            502,
            "upstream_unavailable",
            "Amazon is not answering",
            "Login with Amazon did not answer in time. Please try the authorization again in a few minutes.",
            restart=restart,
        ) from None
    return _land(config, lwa, claims, seller, token, restart)


def _land(
    config: Config, lwa: LwaClient, claims: state.StateClaims, seller: str, token: LwaToken, restart: str
) -> Completed:
    """Store the new refresh token under `seller` if the identity policy lets it land there (grantcheck)."""
    endpoint = RegionTable.of(config).spapi_endpoint(claims.region)
    client_id = appcreds.load(config.prefix).client_id
    known_new = None
    # Twice at most: a first-time consent that loses the race to create the secret is checked against the
    # winner's grant like any re-authorization.
    for _ in range(2):
        existing = grants.find(config.prefix, claims.region, seller)
        seen = grantcheck.observe(endpoint, lwa, token.access_token, existing, claims.account_type, known_new=known_new)
        known_new = seen.new
        verdict = grantcheck.decide(existing, claims.account_type, claims.reference, seen)
        if verdict.outcome == grantcheck.REFUSE:
            raise _refused(config, claims, seller, existing, verdict, restart)
        if verdict.outcome == grantcheck.RETRY:
            raise _unconfirmed(restart)
        grant = grants.Grant(
            selling_partner_id=seller,
            region=claims.region,
            account_type=claims.account_type,
            refresh_token=token.refresh_token or "",
            client_id=client_id,
            authorized_at=timestamps.now_iso(),
            # A consent without a reference (Amazon-initiated, via /login) keeps the grant's binding.
            reference=claims.reference or (existing.reference if existing else None),
            identity_fingerprint=seen.new.fingerprint() if isinstance(seen.new, View) else None,
        )
        if existing is None:
            version = grants.create(config.prefix, config.kms_key_id, grant)
            if version is None:
                continue
            _announce(config, grant, verdict, version_id=version)
        else:
            outcome = grants.replace(config.prefix, grant)
            _announce(config, grant, verdict, version_id=outcome.version_id, previous=existing,
                      previous_status=outcome.previous_status)  # fmt: skip
        return Completed(seller, grant.region, grant.account_type, existing is None, grant.reference)
    raise _unconfirmed(restart)  # created and deleted again under our feet: let the seller start over


def _announce(
    config: Config,
    grant: grants.Grant,
    verdict: grantcheck.Verdict,
    *,
    version_id: str,
    previous: grants.Grant | None = None,
    previous_status: str | None = None,
) -> None:
    detail: dict[str, object] = {
        **grant.public_fields(),
        "identity_verified": verdict.verified,
        "identity_check": verdict.why,
        "version_id": version_id,
    }
    if previous is None:
        events.publish(config.event_bus_name, names.EVENT_SELLER_AUTHORIZED, detail)
    else:
        detail["previous_status"] = previous_status
        detail["previous_version_id"] = previous.version_id
        if previous.reference != grant.reference:
            detail["previous_reference"] = previous.reference
        events.publish(config.event_bus_name, names.EVENT_SELLER_REAUTHORIZED, detail)
    count(names.METRIC_SELLER_AUTHORIZED)
    if not verdict.verified and previous is not None:
        count(names.METRIC_IDENTITY_UNVERIFIED)
    logger.info(
        "grant stored",
        extra={
            "selling_partner_id": grant.selling_partner_id,
            "region": grant.region,
            "new_grant": previous is None,
            "identity_check": verdict.why,
        },
    )


def _refused(
    config: Config,
    claims: state.StateClaims,
    seller: str,
    existing: grants.Grant | None,
    verdict: grantcheck.Verdict,
    restart: str,
) -> ConsentError:
    """Nothing is written; the security event and the alarmed metric tell the operator."""
    detail: dict[str, object] = {
        "selling_partner_id": seller,
        "region": claims.region,
        "account_type": claims.account_type,
        "reason": verdict.why,
        "refused_at": timestamps.now_iso(),
    }
    if claims.reference is not None:
        detail["reference"] = claims.reference
    if existing is not None:
        detail["grant_account_type"] = existing.account_type
        if existing.reference is not None:
            detail["grant_reference"] = existing.reference
    events.publish(config.event_bus_name, names.EVENT_CONSENT_REFUSED, detail)
    count(names.METRIC_CONSENT_REFUSED)
    logger.warning("consent refused", extra={"selling_partner_id": seller, "region": claims.region,
                                              "reason": verdict.why})  # fmt: skip
    return ConsentError(
        400,
        f"refused_{verdict.why}",
        "This authorization was refused",
        f"The Amazon account that just authorized is not the one already connected as {seller}, so nothing "
        "was changed. Sign in to Seller Central with the account you mean to connect and start again.",
        restart=restart,
    )


def _unconfirmed(restart: str) -> ConsentError:
    return ConsentError(
        502,
        "identity_unavailable",
        "Amazon is not answering",
        "Amazon did not confirm which account authorized, so nothing was changed. "
        "Please try the authorization again in a few minutes.",
        restart=restart,
    )


def success_location(config: Config, completed: Completed) -> str | None:
    if not config.success_url:
        return None
    parts = urlsplit(config.success_url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [("selling_partner_id", completed.selling_partner_id), ("region", completed.region)]
    if completed.reference is not None:
        # The company's site checks that the user who comes back is the one it sent (its own reference).
        query.append(("reference", completed.reference))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _issue_state(config: Config, region: str, account_type: str, reference: str | None) -> state.IssuedState:
    return state.issue(appcreds.state_key(config.prefix), region=region, account_type=account_type, reference=reference)


def _param(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if len(value) > MAX_PARAMETER_LENGTH or not value.isascii():
        raise _bad_request(name, f"{name} is too long or holds characters that are not allowed.")
    return value


def _bad_request(field: str, message: str) -> ConsentError:
    return ConsentError(400, f"bad_{field}", "This link is not valid", message)


def _restart_link(config: Config, params: Mapping[str, str]) -> str:
    """Where "start again" points: the same region, account type and reference when the state tells them."""
    query = {"region": "na"}
    raw = params.get("state")
    if raw:
        claims = state.peek(appcreds.state_key(config.prefix), raw)
        if claims is not None and _plausible(claims):
            query = {"region": claims.region, "account_type": claims.account_type}
            if claims.reference is not None:
                query["reference"] = claims.reference
    return f"authorize?{urlencode(query)}"


def _plausible(claims: state.StateClaims) -> bool:
    """The claims are ones /authorize or /login could have issued (the state is input, signed or not)."""
    return (
        claims.region in REGIONS
        and claims.account_type in ACCOUNT_TYPES
        and (claims.reference is None or REFERENCE.fullmatch(claims.reference) is not None)
    )


def _invalid_state(reason: str, restart: str) -> ConsentError:
    return ConsentError(
        400,
        f"state_{reason.replace(' ', '_')}",
        "This authorization link is no longer valid",
        "The authorization could not be verified (it expired, was already used, or was started in another "
        "browser). Nothing was stored. Please start again.",
        restart=restart,
    )
