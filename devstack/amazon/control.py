"""The simulator's control API under /_control: what tests, the CLI's local mode and operators of the
local stack use to change the world (revoke a grant, expire the client secret, inject a fault, …).
Not Amazon: nothing here has a source to cite.
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.amazon.lwa import RateLimit
from devstack.amazon.wire import Reply, json_response
from devstack.amazon.world import World


def _body(request: Request, *, optional: bool = False) -> dict[str, Any]:
    if optional and not request.get_data(cache=True):
        return {}
    try:
        body = json.loads(request.get_data(cache=True))
    except ValueError:
        raise Reply(json_response({"error": "The request body must be JSON."}, 400)) from None
    if not isinstance(body, dict):
        raise Reply(json_response({"error": "The request body must be a JSON object."}, 400))
    return body


def _string(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise Reply(json_response({"error": f"{name} must be a non-empty string."}, 400))
    return value


class Control:
    def __init__(self, world: World) -> None:
        self.world = world

    def routes(self) -> dict[str, dict[str, Any]]:
        return {
            "/_control/revoke": {"POST": self.revoke},
            "/_control/client-secret": {"POST": self.client_secret},
            "/_control/fault": {"POST": self.fault},
            "/_control/reset": {"POST": self.reset},
            "/_control/calls": {"GET": self.calls},
            "/_control/calls/reset": {"POST": self.calls_reset},
            "/_control/code": {"POST": self.code},
            "/_control/refresh-tokens": {"GET": self.refresh_tokens},
            "/_control/accounts": {"GET": self.account, "POST": self.set_account},
            "/_control/roles": {"POST": self.roles},
            "/_control/behaviour": {"POST": self.behaviour},
            "/_control/draft": {"POST": self.draft},
            "/_control/client-mismatch": {"POST": self.client_mismatch},
            "/_control/lwa-rate-limit": {"GET": self.lwa_rate_limit, "POST": self.set_lwa_rate_limit},
        }

    def revoke(self, request: Request) -> Response:
        seller = _string(_body(request), "selling_partner_id")
        return json_response({"revoked": self.world.revoke(seller)})

    def client_secret(self, request: Request) -> Response:
        valid = _body(request).get("valid")
        if not isinstance(valid, bool):
            return json_response({"error": "valid must be true or false."}, 400)
        self.world.set_client_secret_valid(valid)
        return json_response({"valid": valid})

    def fault(self, request: Request) -> Response:
        body = _body(request)
        fields = ("latency_ms", "status", "hang", "count", "error", "retry_after")
        options = {name: body[name] for name in fields if name in body}
        if options.get("latency_ms") is None:
            options["latency_ms"] = 0
        if not isinstance(options.get("hang", False), bool):
            return json_response({"error": "hang must be true or false."}, 400)
        try:
            self.world.faults.set(_string(body, "endpoint"), **options)
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response({"endpoint": body["endpoint"], **options})

    def reset(self, request: Request) -> Response:
        _body(request, optional=True)
        self.world.reset()
        return json_response({"reset": True})

    def calls(self, request: Request) -> Response:
        return json_response(self.world.calls())

    def calls_reset(self, request: Request) -> Response:
        _body(request, optional=True)
        self.world.reset_calls()
        return json_response(self.world.calls())

    def code(self, request: Request) -> Response:
        body = _body(request)
        seller = _string(body, "selling_partner_id")
        redirect_uri = _string(body, "redirect_uri")
        try:
            return json_response({"code": self.world.issue_code(seller, redirect_uri)})
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)

    def account(self, request: Request) -> Response:
        seller = request.args.get("selling_partner_id", "")
        described = self.world.account(seller) if seller else None
        if described is None:
            return json_response({"error": "no account for that selling_partner_id."}, 404)
        return json_response(described)

    def set_account(self, request: Request) -> Response:
        body = _body(request)
        seller = _string(body, "selling_partner_id")
        unknown = sorted(set(body) - {"selling_partner_id", "store_name", "marketplaces", "account_type"})
        if unknown:
            return json_response({"error": f"unknown field: {unknown[0][:64]}"}, 400)
        try:
            return json_response(
                self.world.set_account(
                    seller,
                    store_name=body.get("store_name"),
                    marketplaces=body.get("marketplaces"),
                    account_type=body.get("account_type"),
                )
            )
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)

    def roles(self, request: Request) -> Response:
        body = _body(request)
        unknown = sorted(set(body) - {"sellers_api", "data_elements"})
        if unknown or not body:
            return json_response({"error": "give sellers_api (true or false) and/or data_elements (a list)."}, 400)
        granted = body.get("sellers_api", self.world.sellers_role)
        if not isinstance(granted, bool):
            return json_response({"error": "sellers_api must be true or false."}, 400)
        try:
            if "data_elements" in body:
                self.world.set_data_elements(body["data_elements"])
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        self.world.set_sellers_role(granted)
        return json_response({"sellers_api": granted, "data_elements": sorted(self.world.data_elements)})

    def client_mismatch(self, request: Request) -> Response:
        body = _body(request)
        seller = _string(body, "selling_partner_id")
        mismatch = body.get("mismatch", True)
        if not isinstance(mismatch, bool):
            return json_response({"error": "mismatch must be true or false."}, 400)
        self.world.set_client_mismatch(seller, mismatch)
        return json_response({"selling_partner_id": seller, "mismatch": mismatch})

    def lwa_rate_limit(self, request: Request) -> Response:
        limit = self.world.lwa_rate_limit
        return json_response(limit.describe() if limit is not None else {"per_second": None})

    def set_lwa_rate_limit(self, request: Request) -> Response:
        """{"per_second": n, "burst": m, "retry_after": true|false} throttles LWA; {"per_second": null} lifts it."""
        body = _body(request)
        unknown = sorted(set(body) - {"per_second", "burst", "retry_after"})
        if unknown:
            return json_response({"error": f"unknown field: {unknown[0][:64]}"}, 400)
        if body.get("per_second") is None:
            self.world.lwa_rate_limit = None
            return json_response({"per_second": None})
        if not isinstance(body.get("retry_after", False), bool):
            return json_response({"error": "retry_after must be true or false."}, 400)
        try:
            limit = RateLimit(body["per_second"], body.get("burst"), body.get("retry_after", False), self.world.clock)
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        self.world.lwa_rate_limit = limit
        return json_response(limit.describe())

    def refresh_tokens(self, request: Request) -> Response:
        seller = request.args.get("selling_partner_id", "")
        if not seller:
            return json_response({"error": "selling_partner_id is required."}, 400)
        return json_response({"refresh_tokens": self.world.refresh_tokens(seller)})

    def behaviour(self, request: Request) -> Response:
        try:
            return json_response(self.world.set_behaviour(**_body(request)))
        except (TypeError, ValueError) as exc:
            return json_response({"error": str(exc)}, 400)

    def draft(self, request: Request) -> Response:
        draft = _body(request).get("draft")
        if not isinstance(draft, bool):
            return json_response({"error": "draft must be true or false."}, 400)
        self.world.app.is_draft = draft
        return json_response({"draft": draft})
