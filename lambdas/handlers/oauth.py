"""The oauth function: GET /authorize, /login and /callback behind an HTTP API (payload v2)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from sellertoken import consent, deadline, names, pages, state
from sellertoken.config import get_config, require_redirect_uri
from sellertoken.consent import ConsentError
from sellertoken.observability import count, logger, metrics, tracer

require_redirect_uri(get_config())  # fail at cold start, naming the variable, when misconfigured

app = APIGatewayHttpResolver()
HTML = "text/html; charset=utf-8"


@app.get("/authorize")
def authorize() -> Response:
    return _redirect(consent.authorize(get_config(), _query()))


@app.get("/login")
def login() -> Response:
    headers = app.current_event.headers or {}
    cookies = (_cookie(state.COOKIE_NAME), _cookie(state.FLOW_COOKIE_NAME))
    return _redirect(consent.login(get_config(), _query(), *cookies, referer=headers.get("referer")))


@app.get("/callback")
def callback() -> Response:
    config = get_config()
    completed = consent.callback(config, _query(), _cookie(state.COOKIE_NAME))
    clear = [_state_cookie("", max_age=0), _state_cookie("", max_age=0, name=state.FLOW_COOKIE_NAME)]
    location = consent.success_location(config, completed)
    if location:
        return _redirect(consent.Redirect(location), cookies=clear)
    noun = "vendor" if completed.account_type == "vendor" else "seller"
    body = pages.page(
        "Authorized",
        f"The {noun} {completed.selling_partner_id} has authorized the application "
        f"in region {completed.region.upper()}. You can close this page.",
    )
    return _html(200, body, cookies=clear)


@app.exception_handler(ConsentError)
def consent_failed(error: ConsentError) -> Response:
    logger.info("consent failed", extra={"reason": error.reason, "status": error.status})
    count(names.METRIC_CONSENT_FAILED)
    link = (error.restart, consent.START_AGAIN) if error.restart else None
    return _html(error.status, pages.page(error.title, error.message, link=link))


@app.not_found
def not_found(_: Exception) -> Response:
    return _html(404, pages.page("Not found", "There is nothing at this address."))


@app.exception_handler(Exception)
def unexpected(error: Exception) -> Response:
    logger.exception("unexpected error")
    body = pages.page("Something went wrong", "The authorization could not be completed. Please try again later.")
    return _html(500, body)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False)
@metrics.log_metrics
@tracer().capture_lambda_handler(capture_response=False)
@deadline.bounded  # LWA and AWS calls end before the function's timeout
def handler(event: dict, context) -> dict:
    return app.resolve(event, context)


def _query() -> dict[str, str]:
    return dict(app.current_event.query_string_parameters or {})


def _cookie(name: str) -> str | None:
    for pair in app.current_event.cookies or []:
        key, _, value = pair.partition("=")
        if key.strip() == name:
            return value.strip()
    return None


def _state_cookie(value: str, *, max_age: int = state.STATE_TTL_SECONDS, name: str = state.COOKIE_NAME) -> Cookie:
    return Cookie(
        name=name,
        value=value,
        path="/",
        secure=True,
        http_only=True,
        max_age=max_age,
        same_site=SameSite.LAX_MODE,
    )


def _redirect(redirect: consent.Redirect, cookies: list[Cookie] | None = None) -> Response:
    cookies = list(cookies or [])
    if redirect.cookie_value:
        cookies.append(_state_cookie(redirect.cookie_value))
    if redirect.flow_value:
        cookies.append(_state_cookie(redirect.flow_value, name=state.FLOW_COOKIE_NAME))
    elif redirect.clear_flow:
        cookies.append(_state_cookie("", max_age=0, name=state.FLOW_COOKIE_NAME))
    return Response(
        status_code=302,
        content_type=HTML,
        body="",
        headers={**pages.SECURITY_HEADERS, "Location": redirect.location},
        cookies=cookies,
    )


def _html(status: int, body: str, cookies: list[Cookie] | None = None) -> Response:
    return Response(
        status_code=status, content_type=HTML, body=body, headers=dict(pages.SECURITY_HEADERS), cookies=cookies or []
    )
