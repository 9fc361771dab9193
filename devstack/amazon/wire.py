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

# LWA's token answers carry both (DEVGUIDE-2021 "Response fields": Cache-Control: no-store, Pragma: no-cache).
TOKEN_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# OAuth data travels in query strings; Amazon asks for no-referrer (DEVGUIDE-2021 Step 1).
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
    # {"error", "error_description"} (DEVGUIDE-2021); newer answers add error_index and request_id (models#4112).
    body = {
        "error_description": description,
        "error": error,
        "error_index": secrets.token_urlsafe(18),
        "request_id": str(uuid.uuid4()),
    }
    return json_response(body, status, TOKEN_HEADERS)


def sp_error(status: int, code: str, message: str, details: str = "") -> Response:
    # SP-API's ErrorList {"errors": [{code, message, details}]} (MODELS, every API model's ErrorList).
    headers = {"x-amzn-RequestId": str(uuid.uuid4())}
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
