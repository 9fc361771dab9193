"""Amazon's regions and marketplaces: consent hosts, SP-API endpoints, look-ups.

Sources: shared/reference/sp-api-auth.md §1 (Seller/Vendor Central URLs) and §3 (endpoints).
Authorizations are regional: consent through any marketplace of a region grants the whole region.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

SELLER = "seller"
VENDOR = "vendor"
ACCOUNT_TYPES = (SELLER, VENDOR)


def account_type_of(selling_partner_id: str) -> str:
    """A (valid) id's own account type: vendor groups' ids are amzn1.vg.… (names.SELLING_PARTNER_ID_PATTERN)."""
    return VENDOR if selling_partner_id.startswith("amzn1.vg.") else SELLER


@dataclass(frozen=True)
class Region:
    code: str
    aws_region: str
    spapi_endpoint: str
    default_marketplace: str


@dataclass(frozen=True)
class Marketplace:
    code: str
    marketplace_id: str
    region: str
    seller_central: str
    vendor_central: str | None  # None where Amazon documents no Vendor Central

    def consent_base(self, account_type: str) -> str | None:
        return self.vendor_central if account_type == VENDOR else self.seller_central


REGIONS: dict[str, Region] = {
    "na": Region("na", "us-east-1", "https://sellingpartnerapi-na.amazon.com", "US"),
    "eu": Region("eu", "eu-west-1", "https://sellingpartnerapi-eu.amazon.com", "DE"),
    "fe": Region("fe", "us-west-2", "https://sellingpartnerapi-fe.amazon.com", "JP"),
}

_EUROPE = "https://sellercentral-europe.amazon.com"
MARKETPLACES: dict[str, Marketplace] = {
    m.code: m
    for m in (
        Marketplace("CA", "A2EUQ1WTGCTBG2", "na", "https://sellercentral.amazon.ca", "https://vendorcentral.amazon.ca"),
        Marketplace(
            "US",
            "ATVPDKIKX0DER",
            "na",
            "https://sellercentral.amazon.com",
            "https://vendorcentral.amazon.com",
        ),
        Marketplace(
            "MX",
            "A1AM78C64UM0Y8",
            "na",
            "https://sellercentral.amazon.com.mx",
            "https://vendorcentral.amazon.com.mx",
        ),
        Marketplace(
            "BR",
            "A2Q3Y263D00KWC",
            "na",
            "https://sellercentral.amazon.com.br",
            "https://vendorcentral.amazon.com.br",
        ),
        Marketplace("IE", "A28R8C7NBKEWEA", "eu", "https://sellercentral.amazon.ie", None),
        Marketplace("ES", "A1RKKUPIHCS9HS", "eu", _EUROPE, "https://vendorcentral.amazon.es"),
        Marketplace("UK", "A1F83G8C2ARO7P", "eu", _EUROPE, "https://vendorcentral.amazon.co.uk"),
        Marketplace("FR", "A13V1IB3VIYZZH", "eu", _EUROPE, "https://vendorcentral.amazon.fr"),
        Marketplace(
            "BE",
            "AMEN7PMS3EDWL",
            "eu",
            "https://sellercentral.amazon.com.be",
            "https://vendorcentral.amazon.com.be",
        ),
        Marketplace("NL", "A1805IZSGTT6HS", "eu", "https://sellercentral.amazon.nl", "https://vendorcentral.amazon.nl"),
        Marketplace("DE", "A1PA6795UKMFR9", "eu", _EUROPE, "https://vendorcentral.amazon.de"),
        Marketplace("IT", "APJ6JRA9NG5V4", "eu", _EUROPE, "https://vendorcentral.amazon.it"),
        Marketplace("SE", "A2NODRKZP88ZB9", "eu", "https://sellercentral.amazon.se", "https://vendorcentral.amazon.se"),
        Marketplace("ZA", "AE08WJ6YKNBMC", "eu", "https://sellercentral.amazon.co.za", None),
        Marketplace("PL", "A1C3SOZRARQ6R3", "eu", "https://sellercentral.amazon.pl", "https://vendorcentral.amazon.pl"),
        Marketplace("EG", "ARBP9OOSHTCHU", "eu", "https://sellercentral.amazon.eg", "https://vendorcentral.amazon.me"),
        Marketplace(
            "TR",
            "A33AVAJ2PDY3EV",
            "eu",
            "https://sellercentral.amazon.com.tr",
            "https://vendorcentral.amazon.com.tr",
        ),
        Marketplace("SA", "A17E79C6D8DWNP", "eu", "https://sellercentral.amazon.sa", "https://vendorcentral.amazon.me"),
        Marketplace("AE", "A2VIGQ35RCS4UG", "eu", "https://sellercentral.amazon.ae", "https://vendorcentral.amazon.me"),
        # Sources disagree on India's Vendor Central; Amazon's own sample uses this host.
        Marketplace("IN", "A21TJRUUN4KGV", "eu", "https://sellercentral.amazon.in", "https://www.vendorcentral.in"),
        Marketplace(
            "SG",
            "A19VAU5U5O7RUS",
            "fe",
            "https://sellercentral.amazon.sg",
            "https://vendorcentral.amazon.com.sg",
        ),
        Marketplace(
            "AU",
            "A39IBJ37TRP1C6",
            "fe",
            "https://sellercentral.amazon.com.au",
            "https://vendorcentral.amazon.com.au",
        ),
        Marketplace(
            "JP",
            "A1VC38T7YXB528",
            "fe",
            "https://sellercentral.amazon.co.jp",
            "https://vendorcentral.amazon.co.jp",
        ),
    )
}
_ALIASES = {"GB": "UK"}


class RegionTable:
    """The table above, with Amazon's base URLs optionally replaced (the local stack's simulator)."""

    def __init__(
        self,
        consent_base_url: str | None = None,
        spapi_base_url: str | None = None,
        vendor_consent_base_url: str | None = None,
    ) -> None:
        self._consent_override = consent_base_url
        self._spapi_override = spapi_base_url
        self._vendor_override = vendor_consent_base_url or consent_base_url

    @classmethod
    def of(cls, config: Any) -> RegionTable:
        """The table with the overrides a Config names."""
        return cls(config.consent_base_url, config.spapi_base_url, config.vendor_consent_base_url)

    @staticmethod
    def region(code: str) -> Region | None:
        return REGIONS.get(code.lower()) if code.isascii() else None

    @staticmethod
    def marketplace(code: str) -> Marketplace | None:
        if not code.isascii():
            return None
        code = code.upper()
        return MARKETPLACES.get(_ALIASES.get(code, code))

    def consent_base(self, marketplace: Marketplace, account_type: str) -> str | None:
        base = marketplace.consent_base(account_type)
        if base is None:
            return None
        return (self._vendor_override if account_type == VENDOR else self._consent_override) or base

    def spapi_endpoint(self, region: str) -> str:
        return self._spapi_override or REGIONS[region].spapi_endpoint

    def consent_origins(self, account_types: tuple[str, ...] = ACCOUNT_TYPES) -> dict[str, set[str]]:
        """Each allowed consent origin (scheme://host[:port]) with the regions it serves."""
        origins: dict[str, set[str]] = {}
        for market in MARKETPLACES.values():
            for account_type in account_types:
                base = self.consent_base(market, account_type)
                if base:
                    origins.setdefault(_origin(base), set()).add(market.region)
        return origins


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
