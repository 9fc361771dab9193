"""A loopback-only simulator of Amazon's side of SP-API authorization.

It serves the Seller/Vendor Central consent page, the Login with Amazon (LWA) token endpoint and the
few SP-API operations the broker uses, with the request and error shapes documented in
`reference/sp-api-auth.md`, plus switches (revocation, client-secret expiry, faults) for tests.
It never makes an outside call and never logs a token, code or secret.

Split by concern, the way moto splits a service; add a behaviour where its concern lives:

- `world.py`    the simulated world's state: the application, selling partners and their accounts,
                codes, tokens, call counters, the clock (and `faults.py`: injected faults)
- `consent.py`  Seller/Vendor Central: consent pages, Confirm/Cancel, Amazon-initiated starts
                (HTML in `pages.py`)
- `lwa.py`      Login with Amazon's token endpoint
- `spapi.py`    the SP-API operations the broker calls
- `control.py`  the /_control API for tests and local operators (not Amazon)
- `wire.py`     response shapes shared by the above; `simulator.py` the server that routes to them
"""

from devstack.amazon.consent import CONFIRM_PATH, CONSENT_PATH
from devstack.amazon.faults import FAULT_ENDPOINTS, HANG_SECONDS
from devstack.amazon.lwa import GRANTLESS_SCOPES, TOKEN_PATH
from devstack.amazon.simulator import AmazonSimulator
from devstack.amazon.spapi import (
    DENIED_EXPIRED,
    DENIED_INVALID,
    DENIED_SECRET,
    ORDERS_PATH,
    RDT_DATA_ELEMENTS,
    RDT_METHODS,
    RDT_PATH,
    RDT_TTL_SECONDS,
    SELLERS_PATH,
    SELLERS_RATE_LIMIT,
)
from devstack.amazon.world import (
    ACCOUNT_TYPES,
    COUNTERS,
    DEFAULT_MARKETPLACES,
    MARKETPLACES,
    SELLING_PARTNER_ID,
    new_selling_partner_id,
)

__all__ = [
    "ACCOUNT_TYPES",
    "CONFIRM_PATH",
    "CONSENT_PATH",
    "COUNTERS",
    "DEFAULT_MARKETPLACES",
    "DENIED_EXPIRED",
    "DENIED_INVALID",
    "DENIED_SECRET",
    "FAULT_ENDPOINTS",
    "GRANTLESS_SCOPES",
    "HANG_SECONDS",
    "MARKETPLACES",
    "ORDERS_PATH",
    "RDT_DATA_ELEMENTS",
    "RDT_METHODS",
    "RDT_PATH",
    "RDT_TTL_SECONDS",
    "SELLERS_PATH",
    "SELLERS_RATE_LIMIT",
    "SELLING_PARTNER_ID",
    "TOKEN_PATH",
    "AmazonSimulator",
    "new_selling_partner_id",
]
