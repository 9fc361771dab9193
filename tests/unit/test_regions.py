"""Marketplaces and regions match reference/sp-api-auth.md §1 and §3; look-ups are strict."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from sellertoken import names
from sellertoken.regions import MARKETPLACES, REGIONS, SELLER, VENDOR, RegionTable

EUROPE = "https://sellercentral-europe.amazon.com"
# Marketplace -> (region, Seller Central, Vendor Central), as the reference lists them.
REFERENCE = {
    "CA": ("na", "https://sellercentral.amazon.ca", "https://vendorcentral.amazon.ca"),
    "US": ("na", "https://sellercentral.amazon.com", "https://vendorcentral.amazon.com"),
    "MX": ("na", "https://sellercentral.amazon.com.mx", "https://vendorcentral.amazon.com.mx"),
    "BR": ("na", "https://sellercentral.amazon.com.br", "https://vendorcentral.amazon.com.br"),
    "IE": ("eu", "https://sellercentral.amazon.ie", None),
    "ES": ("eu", EUROPE, "https://vendorcentral.amazon.es"),
    "UK": ("eu", EUROPE, "https://vendorcentral.amazon.co.uk"),
    "FR": ("eu", EUROPE, "https://vendorcentral.amazon.fr"),
    "BE": ("eu", "https://sellercentral.amazon.com.be", "https://vendorcentral.amazon.com.be"),
    "NL": ("eu", "https://sellercentral.amazon.nl", "https://vendorcentral.amazon.nl"),
    "DE": ("eu", EUROPE, "https://vendorcentral.amazon.de"),
    "IT": ("eu", EUROPE, "https://vendorcentral.amazon.it"),
    "SE": ("eu", "https://sellercentral.amazon.se", "https://vendorcentral.amazon.se"),
    "ZA": ("eu", "https://sellercentral.amazon.co.za", None),
    "PL": ("eu", "https://sellercentral.amazon.pl", "https://vendorcentral.amazon.pl"),
    "EG": ("eu", "https://sellercentral.amazon.eg", "https://vendorcentral.amazon.me"),
    "TR": ("eu", "https://sellercentral.amazon.com.tr", "https://vendorcentral.amazon.com.tr"),
    "SA": ("eu", "https://sellercentral.amazon.sa", "https://vendorcentral.amazon.me"),
    "AE": ("eu", "https://sellercentral.amazon.ae", "https://vendorcentral.amazon.me"),
    # The reference's sources disagree on India's Vendor Central; the code follows Amazon's sample.
    "IN": ("eu", "https://sellercentral.amazon.in", "https://www.vendorcentral.in"),
    "SG": ("fe", "https://sellercentral.amazon.sg", "https://vendorcentral.amazon.com.sg"),
    "AU": ("fe", "https://sellercentral.amazon.com.au", "https://vendorcentral.amazon.com.au"),
    "JP": ("fe", "https://sellercentral.amazon.co.jp", "https://vendorcentral.amazon.co.jp"),
}
# Region -> (SP-API production endpoint, AWS region), reference §3.
ENDPOINTS = {
    "na": ("https://sellingpartnerapi-na.amazon.com", "us-east-1"),
    "eu": ("https://sellingpartnerapi-eu.amazon.com", "eu-west-1"),
    "fe": ("https://sellingpartnerapi-fe.amazon.com", "us-west-2"),
}
OVERRIDE = "http://127.0.0.1:9000"


def test_the_table_holds_exactly_the_reference_marketplaces():
    assert set(MARKETPLACES) == set(REFERENCE)
    assert set(REGIONS) == set(ENDPOINTS)


@pytest.mark.parametrize(("code", "expected"), sorted(REFERENCE.items()))
def test_marketplace_maps_to_its_region_and_central_urls(code, expected):
    # Given Amazon's real hosts
    table = RegionTable()

    # When the marketplace is looked up
    market = table.marketplace(code)

    # Then its region and consent bases are the reference's
    region, seller_central, vendor_central = expected
    assert market is not None
    assert market.code == code
    assert market.region == region
    assert table.consent_base(market, SELLER) == seller_central
    assert table.consent_base(market, VENDOR) == vendor_central


@pytest.mark.parametrize(("region", "expected"), sorted(ENDPOINTS.items()))
def test_region_has_its_sp_api_endpoint_and_aws_region(region, expected):
    endpoint, aws_region = expected

    assert RegionTable().spapi_endpoint(region) == endpoint
    assert RegionTable.region(region).aws_region == aws_region


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_default_marketplace_of_a_region_belongs_to_it(region):
    default = REGIONS[region].default_marketplace

    assert MARKETPLACES[default].region == region


@pytest.mark.parametrize(("given", "expected"), [("us", "US"), ("Us", "US"), ("jp", "JP"), ("uk", "UK")])
def test_marketplace_look_up_ignores_case(given, expected):
    assert RegionTable.marketplace(given).code == expected


@pytest.mark.parametrize("given", ["GB", "gb"])
def test_gb_is_an_alias_of_uk(given):
    assert RegionTable.marketplace(given) is MARKETPLACES["UK"]


@pytest.mark.parametrize(("given", "expected"), [("na", "na"), ("EU", "eu"), ("Fe", "fe")])
def test_region_look_up_ignores_case(given, expected):
    assert RegionTable.region(given).code == expected


@pytest.mark.parametrize("given", ["XX", "", "USA", "U S", "A1PA6795UKMFR9"])
def test_unknown_marketplace_is_none(given):
    assert RegionTable.marketplace(given) is None


@pytest.mark.parametrize("given", ["us", "", "europe", "na "])
def test_unknown_region_is_none(given):
    assert RegionTable.region(given) is None


@pytest.mark.parametrize(
    "given",
    [
        pytest.param("\u0131n", id="dotless i"),  # upper-cases to "IN"
        pytest.param("u\u017f", id="long s"),  # upper-cases to "US"
        pytest.param("\u0130N", id="dotted capital I"),
    ],
)
def test_non_ascii_marketplace_is_none_even_when_it_upper_cases_to_a_known_code(given):
    assert RegionTable.marketplace(given) is None


@pytest.mark.parametrize(
    "given", ["\uff35\uff33", "\uff2e\uff21", "e\u00fc"], ids=["fullwidth US", "fullwidth NA", "eu umlaut"]
)
def test_non_ascii_code_is_none(given):
    assert RegionTable.marketplace(given) is None
    assert RegionTable.region(given) is None


def test_consent_override_replaces_every_consent_base():
    # Given the local stack's simulator instead of Seller and Vendor Central
    table = RegionTable(consent_base_url=OVERRIDE)

    # Then every marketplace consents there, for sellers and for vendors
    for market in MARKETPLACES.values():
        assert table.consent_base(market, SELLER) == OVERRIDE
        if market.vendor_central is not None:
            assert table.consent_base(market, VENDOR) == OVERRIDE


@pytest.mark.parametrize("code", ["IE", "ZA"])
def test_consent_override_invents_no_vendor_central(code):
    table = RegionTable(consent_base_url=OVERRIDE)

    assert table.consent_base(MARKETPLACES[code], VENDOR) is None


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_spapi_override_replaces_every_region_endpoint(region):
    assert RegionTable(spapi_base_url=OVERRIDE).spapi_endpoint(region) == OVERRIDE


def test_real_consent_origins_are_the_reference_hosts_each_with_its_region():
    # Given Amazon's real hosts, the origins expected from the reference table
    expected: dict[str, set[str]] = {}
    for region, *bases in REFERENCE.values():
        for base in bases:
            if base:
                expected.setdefault(base, set()).add(region)

    # When the allowed consent origins are listed
    origins = RegionTable().consent_origins()

    # Then they are exactly those, all https, and no host serves two regions
    assert origins == expected
    assert all(urlsplit(origin).scheme == "https" for origin in origins)
    assert all(len(regions) == 1 for regions in origins.values())


def test_real_consent_origins_are_amazon_hosts():
    hosts = {urlsplit(origin).hostname for origin in RegionTable().consent_origins()}

    assert all(h.startswith(("sellercentral", "vendorcentral", "www.vendorcentral")) for h in hosts)
    # The one host outside amazon.*: Amazon India's Vendor Central (reference §1, "Sources disagree on India")
    assert {h for h in hosts if ".amazon." not in h} == {"www.vendorcentral.in"}


def test_overridden_consent_origin_serves_all_three_regions():
    table = RegionTable(consent_base_url="http://LOCALHOST:9000")

    assert table.consent_origins() == {"http://localhost:9000": {"na", "eu", "fe"}}


def test_a_vendor_override_puts_vendor_central_on_a_host_of_its_own():
    # Given the local stack: Seller Central at one address, Vendor Central at another
    table = RegionTable(consent_base_url=OVERRIDE, vendor_consent_base_url="http://127.0.0.1:9001")

    # Then vendors consent there and sellers at the other, and each origin says which it serves
    assert table.consent_base(MARKETPLACES["US"], VENDOR) == "http://127.0.0.1:9001"
    assert table.consent_base(MARKETPLACES["US"], SELLER) == OVERRIDE
    assert "http://127.0.0.1:9001" not in table.consent_origins((SELLER,))
    assert table.consent_origins((VENDOR,)) == {"http://127.0.0.1:9001": {"na", "eu", "fe"}}


def test_the_region_table_has_exactly_the_regions_the_names_list():
    assert tuple(REGIONS) == names.REGION_CODES
