"""SP-API's Application Management API (rotateApplicationClientSecret), and the control calls that stand for
the Developer Console's notification preferences and for time passing. State in clientsecret.py.
"""

from __future__ import annotations

import uuid
from typing import Any

from werkzeug.wrappers import Request, Response

from devstack.amazon.clientsecret import DAY, ClientSecrets
from devstack.amazon.control import _body
from devstack.amazon.spapi import DENIED_EXPIRED, DENIED_INVALID, DENIED_SECRET
from devstack.amazon.wire import Reply, denied, json_response, sp_error
from devstack.amazon.world import World

ROTATION_PATH = "/applications/2023-11-30/clientSecret"
ROTATION_SCOPE = "sellingpartnerapi::client_credential:rotation"
# source(apps.rotation): POST /applications/2023-11-30/clientSecret answers 204 and delivers the new secret
# to the registered queue; usage plan rate 0.0167 requests per second, burst 1, above it 429 (MODELS
# application_2023-11-30.json; DOCS rotating-your-apps-lwa-credentials)
ROTATION_RATE_LIMIT = "0.0167"
ROTATION_INTERVAL_SECONDS = 60.0
# source(apps.not-enrolled): no queue registered for the notices: 400 InvalidInput with this message (MODELS
# application_2023-11-30.json, the 400 answer's sandbox example)
NOT_ENROLLED = (
    "Application is not enrolled for rotation notification. "
    "Please update application notification preference in Developer console."
)
MAX_ADVANCE_DAYS = 3650


class Applications:
    def __init__(self, world: World, client_secrets: ClientSecrets) -> None:
        self.world = world
        self.secrets = client_secrets

    def routes(self) -> dict[str, dict[str, Any]]:
        return {
            ROTATION_PATH: {"POST": self.rotate},
            # Control (not Amazon): the Developer Console step, the clock, and what the app's secret is doing.
            "/_control/notification-queue": {"GET": self.queue, "POST": self.register_queue},
            "/_control/clock": {"GET": self.now, "POST": self.advance},
            "/_control/client-secrets": {"GET": self.describe},
        }

    def rotate(self, request: Request) -> Response:
        self.world.count("applications.rotateApplicationClientSecret")
        self._fault()
        record, secret_ok, now = self.world.access_token(request.headers.get("x-amz-access-token", ""))
        if record is None:
            raise Reply(denied(DENIED_INVALID))
        # source(apps.grantless): a grantless operation of scope sellingpartnerapi::client_credential:rotation
        # (MODELS application_2023-11-30.json); inferred(apps.other-tokens): a seller's token, or a grantless
        # token of another scope, is refused like a missing role (403 with empty details; no case is documented)
        if record.kind != "grantless" or ROTATION_SCOPE not in record.scopes:
            raise Reply(denied(""))
        if not secret_ok:
            raise Reply(denied(DENIED_SECRET))
        if record.expires_at <= now:
            raise Reply(denied(DENIED_EXPIRED))
        if not self.secrets.take_rotation_slot(ROTATION_INTERVAL_SECONDS):
            raise Reply(sp_error(429, "QuotaExceeded", "You exceeded your quota for the requested resource."))
        if self.secrets.queue_url is None:
            raise Reply(sp_error(400, "InvalidInput", NOT_ENROLLED))
        self.world.app.client_secret = self.secrets.rotate()
        headers = {"x-amzn-RequestId": str(uuid.uuid4()), "x-amzn-RateLimit-Limit": ROTATION_RATE_LIMIT}
        return Response(status=204, headers=headers)

    def _fault(self) -> None:
        status, error, _retry_after = self.world.faults.answer("applications")
        if status is None:
            return
        if status == 429:
            raise Reply(sp_error(429, "QuotaExceeded", "You exceeded your quota for the requested resource."))
        if status >= 500:
            raise Reply(sp_error(status, "InternalFailure", "We encountered an internal error. Please try again."))
        if status == 403:
            raise Reply(denied(error or ""))
        raise Reply(sp_error(status, "InvalidInput", error or "The request is invalid."))

    # ------------------------------------------------------------------ control

    def queue(self, request: Request) -> Response:
        return json_response({"queue_url": self.secrets.queue_url})

    def register_queue(self, request: Request) -> Response:
        body = _body(request)
        url = body.get("queue_url")
        if set(body) != {"queue_url"} or not (url is None or (isinstance(url, str) and url.startswith("http"))):
            return json_response({"error": 'the body is {"queue_url": an SQS queue URL, or null}.'}, 400)
        self.secrets.register_queue(url)
        return json_response({"queue_url": url})

    def now(self, request: Request) -> Response:
        return json_response({"now": self.secrets.clock()})

    def advance(self, request: Request) -> Response:
        body = _body(request)
        days = body.get("advance_days")
        if set(body) != {"advance_days"} or isinstance(days, bool) or not isinstance(days, int | float):
            return json_response({"error": 'the body is {"advance_days": a number of days}.'}, 400)
        if not 0 < days <= MAX_ADVANCE_DAYS:
            return json_response({"error": f"advance_days must be more than 0 and at most {MAX_ADVANCE_DAYS}."}, 400)
        due = self.secrets.advance(days * DAY)
        return json_response({"now": self.secrets.clock(), "notifications": [n["notificationType"] for n in due]})

    def describe(self, request: Request) -> Response:
        """The current secret's dates and the notifications so far; never a secret."""
        return json_response(self.secrets.describe())
