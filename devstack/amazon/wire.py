"""The simulator's wire shapes: JSON, HTML and redirect answers, LWA's and SP-API's error bodies.

Each concern module (consent, lwa, spapi, control) answers through these, so a shape Amazon uses is
written once.
"""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from werkzeug.wrappers import Response

# source(lwa.response): LWA's token answers: access_token, token_type bearer, expires_in 3600, refresh_token,
# with Cache-Control: no-store and Pragma: no-cache (DEVGUIDE-2021 "Response fields")
TOKEN_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# inferred(consent.page-headers): Amazon's own pages' headers are not documented; no-store and no-referrer, which
# Amazon asks of apps (DEVGUIDE-2021 Step 1), keep codes and states out of caches and Referers here
PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


class Reply(Exception):
    """Raised by a handler to answer early with a prepared response."""

    def __init__(self, response: Response) -> None:
        super().__init__()
        self.response = response


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")


def html(page: str, status: int = 200) -> Response:
    return Response(page, status=status, headers=PAGE_HEADERS, content_type="text/html; charset=utf-8")


def redirect(location: str) -> Response:
    return Response("", status=302, headers={**PAGE_HEADERS, "Location": location})


def lwa_error(status: int, error: str, description: str) -> Response:
    # source(lwa.error-body): {"error", "error_description"} (DEVGUIDE-2021); newer answers add error_index and
    # request_id (models#4112)
    body = {
        "error_description": description,
        "error": error,
        "error_index": secrets.token_urlsafe(18),
        "request_id": str(uuid.uuid4()),
    }
    return json_response(body, status, TOKEN_HEADERS)


def sp_error(status: int, code: str, message: str, details: str = "") -> Response:
    # source(spapi.error-body): SP-API's ErrorList {"errors": [{code, message, details}]} (MODELS, every API
    # model's ErrorList) with an x-amzn-RequestId header (docs#702, docs#86)
    headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    # inferred(spapi.403-error-type): the 403's x-amzn-ErrorType, by analogy with the 429's (docs#86)
    if status == 403:
        headers["x-amzn-ErrorType"] = "AccessDeniedException"
    return json_response({"errors": [{"code": code, "message": message, "details": details}]}, status, headers)


def denied(details: str) -> Response:
    # 403 Unauthorized "Access to requested resource is denied." (reference §3: docs#2147, models#4489).
    return sp_error(403, "Unauthorized", "Access to requested resource is denied.", details)


def sp_ok(body: Any) -> Response:
    return json_response(body, 200, {"x-amzn-RequestId": str(uuid.uuid4())})


def with_query(uri: str, params: list[tuple[str, str]]) -> str:
    parts = urlsplit(uri)
    extra = urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
