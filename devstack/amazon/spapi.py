"""The slice of SP-API the broker calls: Sellers (identity and the sweep's end-to-end check), Tokens
(Restricted Data Tokens) and Orders (to prove an RDT works). State in world.py.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.amazon.wire import Reply, denied, sp_error, sp_ok
from devstack.amazon.world import MARKETPLACES, AccessToken, World

SELLERS_PATH = "/sellers/v1/marketplaceParticipations"
RDT_PATH = "/tokens/2021-03-01/restrictedDataToken"
ORDERS_PATH = "/orders/v0/orders"

RDT_METHODS = frozenset({"GET", "PUT", "POST", "DELETE"})
RDT_DATA_ELEMENTS = frozenset({"buyerInfo", "shippingAddress", "buyerTaxInformation"})
RDT_TTL_SECONDS = 3600
# The usage plan of both Sellers API operations (sellers.json: rate 0.016, burst 15), as Amazon reports it
# in the x-amzn-RateLimit-Limit header (seen in selling-partner-api-models#1179). Not enforced here.
SELLERS_RATE_LIMIT = "0.016"

DENIED_EXPIRED = "The access token you provided has expired."
DENIED_INVALID = "The access token you provided is revoked, malformed or invalid."
DENIED_SECRET = "The LWA secret token you provided has expired."


def _path_matches(pattern: str, path: str) -> bool:
    """An RDT resource path may be generic: `{orderId}` stands for one path segment."""
    want, got = pattern.rstrip("/").split("/"), path.rstrip("/").split("/")
    return len(want) == len(got) and all(
        w == g or (w.startswith("{") and w.endswith("}") and g) for w, g in zip(want, got, strict=True)
    )


class SpApi:
    def __init__(self, world: World) -> None:
        self.world = world

    def routes(self) -> dict[str, dict[str, Any]]:
        return {
            SELLERS_PATH: {"GET": self.marketplace_participations},
            RDT_PATH: {"POST": self.restricted_data_token},
            ORDERS_PATH: {"GET": self.get_orders},
        }

    def _fault(self, endpoint: str) -> None:
        status, error = self.world.faults.answer(endpoint)
        if status is None:
            return
        if status == 403:
            # Unauthorized with Amazon's details: empty for a missing role or the wrong region, or e.g.
            # "The LWA secret token you provided has expired." (reference §3, models#4825, models#4489).
            raise Reply(denied(error or ""))
        if status == 404:
            raise Reply(sp_error(404, "NotFound", "The requested resource was not found."))
        if status == 429:
            raise Reply(sp_error(429, "QuotaExceeded", "You exceeded your quota for the requested resource."))
        if status >= 500:
            raise Reply(sp_error(status, "InternalFailure", "We encountered an internal error. Please try again."))
        raise Reply(sp_error(status, "InvalidInput", error or "The request is invalid."))

    def _authorize(self, request: Request, *, rdt_ok: bool = False) -> AccessToken:
        """The record of the request's x-amz-access-token, or a 403 reply with Amazon's details text."""
        record, secret_ok, now = self.world.access_token(request.headers.get("x-amz-access-token", ""))
        if record is None or record.kind == "grantless" or (record.kind == "rdt" and not rdt_ok):
            raise Reply(denied(DENIED_INVALID))
        if not secret_ok:
            raise Reply(denied(DENIED_SECRET))
        if record.expires_at <= now:
            raise Reply(denied(DENIED_EXPIRED))
        return record

    def marketplace_participations(self, request: Request) -> Response:
        self.world.count("sellers.marketplaceParticipations")
        self._fault("sellers")
        record = self._authorize(request)
        role = self.world.sellers_role
        account = self.world.account_for(record.selling_partner_id)
        # An app without the role gets 403 Unauthorized with empty details (models#4825, docs#173,
        # jlevers/selling-partner-api#245); the Sellers API is for sellers, so a vendor's token is
        # refused the same way (inferred: no vendor case is documented).
        if not role or account.account_type != "seller":
            raise Reply(denied(""))
        # sellers.json: marketplace, participation and storeName per marketplace the seller can list in.
        payload = [
            {
                "marketplace": MARKETPLACES[market_id],
                "participation": {"isParticipating": True, "hasSuspendedListings": False},
                "storeName": account.store_name,
            }
            for market_id in account.marketplaces
        ]
        response = sp_ok({"payload": payload})
        response.headers["x-amzn-RateLimit-Limit"] = SELLERS_RATE_LIMIT
        return response

    def get_orders(self, request: Request) -> Response:
        self.world.count("orders.getOrders")
        record = self._authorize(request, rdt_ok=True)
        if record.kind == "rdt" and not any(
            method == "GET" and _path_matches(path, ORDERS_PATH) for method, path in record.resources
        ):
            raise Reply(denied(DENIED_INVALID))
        return sp_ok({"payload": {"Orders": []}})

    def restricted_data_token(self, request: Request) -> Response:
        self.world.count("tokens.restrictedDataToken")
        self._fault("rdt")
        record = self._authorize(request)
        resources = _parse_restricted_resources(request.get_json(silent=True))
        token = self.world.issue_access("Atz.sprdt|", "rdt", record.selling_partner_id, RDT_TTL_SECONDS, resources)
        return sp_ok({"restrictedDataToken": token, "expiresIn": RDT_TTL_SECONDS})


def _parse_restricted_resources(body: Any) -> list[tuple[str, str]]:
    # tokens_2021-03-01.json CreateRestrictedDataTokenRequest: restrictedResources 1..50 of {method, path,
    # dataElements}; the messages are inferred (the model does not give them).
    def invalid(message: str) -> Reply:
        return Reply(sp_error(400, "InvalidInput", message))

    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    target = body.get("targetApplication")
    if target is not None and not isinstance(target, str):
        raise invalid("targetApplication must be a string.")
    items = body.get("restrictedResources")
    if not isinstance(items, list) or not 1 <= len(items) <= 50:
        raise invalid("restrictedResources must contain between 1 and 50 items.")
    resources = []
    for index, item in enumerate(items):
        where = f"restrictedResources[{index}]"
        if not isinstance(item, dict):
            raise invalid(f"{where} must be an object.")
        method, path, elements = item.get("method"), item.get("path"), item.get("dataElements")
        if method not in RDT_METHODS:
            raise invalid(f"{where}.method must be one of DELETE, GET, POST, PUT.")
        if not isinstance(path, str) or not path.startswith("/"):
            raise invalid(f"{where}.path must be a path starting with '/'.")
        if elements is not None and (
            not isinstance(elements, list) or not all(isinstance(e, str) and e in RDT_DATA_ELEMENTS for e in elements)
        ):
            raise invalid(f"{where}.dataElements may contain only buyerInfo, shippingAddress, buyerTaxInformation.")
        resources.append((method, path))
    return resources
