"""The app secret's fields: the previous secret and its overlap, expiries, and what may be shown of them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sellertoken import appcreds, names
from sellertoken.appcreds import AppCredentials
from sellertoken.errors import ConfigurationError

CURRENT = "amzn1.oa2-cs.v1." + "c" * 64
PREVIOUS = "amzn1.oa2-cs.v1." + "p" * 64
BASE = {
    "client_id": "amzn1.application-oa2-client.x",
    "client_secret": CURRENT,
    "application_id": "amzn1.sp.solution.x",
}
NOW = 1_800_000_000.0  # 2027-01-15


def parsed(**fields) -> tuple[AppCredentials, tuple[str, ...]]:
    return appcreds.parse("sellertoken/app", {**BASE, **fields})


def test_the_operators_three_fields_alone_make_credentials_with_nothing_known_about_rotation():
    creds, unreadable = parsed()

    assert (creds.client_secret, creds.client_secret_expires_at, creds.previous_client_secret) == (CURRENT, None, "")
    assert unreadable == ()


def test_the_rotation_fields_are_read_with_amazons_millisecond_times():
    creds, _ = parsed(
        client_secret_expires_at="2027-07-08T22:09:17.198Z",
        previous_client_secret=PREVIOUS,
        previous_client_secret_expires_at="2027-01-17T22:09:17.180Z",
        rotated_at="2027-01-10T22:09:17Z",
    )

    expected = datetime(2027, 7, 8, 22, 9, 17, 198000, tzinfo=UTC).timestamp()
    assert creds.client_secret_expires_at == pytest.approx(expected)
    assert creds.previous_client_secret == PREVIOUS
    assert creds.previous_valid(NOW + 86400 * 2) and not creds.previous_valid(NOW + 86400 * 3)


@pytest.mark.parametrize(
    "field, value",
    [
        (names.APP_SECRET_EXPIRES_AT, "next tuesday"),
        (names.APP_SECRET_EXPIRES_AT, "2027-07-08T22:09:17"),  # no zone: which day it ends is unknown
        (names.APP_PREVIOUS_SECRET, "has a space"),
        (names.APP_PREVIOUS_SECRET_EXPIRES_AT, 12345),
        (names.APP_SECRET_ROTATED_AT, ""),
    ],
)
def test_a_malformed_optional_field_reads_as_unknown_and_is_named_but_never_stops_the_credentials(field, value):
    creds, unreadable = parsed(**{field: value})

    assert creds.client_secret == CURRENT
    assert unreadable == (field,)


def test_a_missing_required_field_is_a_configuration_error_naming_the_secret():
    with pytest.raises(ConfigurationError, match="sellertoken/app: secret lacks client_secret"):
        appcreds.parse("sellertoken/app", {**BASE, "client_secret": ""})


def test_after_a_rejection_the_current_secret_then_the_previous_inside_its_overlap_are_worth_one_try():
    creds, _ = parsed(previous_client_secret=PREVIOUS, previous_client_secret_expires_at="2027-01-20T00:00:00Z")
    stale = "amzn1.oa2-cs.v1." + "s" * 64

    assert creds.secrets_after_rejection(stale, NOW) == [CURRENT, PREVIOUS]
    assert creds.secrets_after_rejection(CURRENT, NOW) == [PREVIOUS]
    assert creds.secrets_after_rejection(PREVIOUS, NOW) == [CURRENT]
    assert creds.secrets_after_rejection(CURRENT, NOW + 30 * 86400) == []  # the overlap is over


def test_a_replacement_keeps_the_replaced_secret_until_amazons_overlap_ends_and_round_trips():
    creds, _ = parsed()

    new = creds.replaced_by(PREVIOUS, expires_at=NOW + 180 * 86400, previous_until=NOW + 7 * 86400, at=NOW)
    again, unreadable = appcreds.parse("sellertoken/app", json.loads(json.dumps(new.fields())))

    assert (again.client_secret, again.previous_client_secret) == (PREVIOUS, CURRENT)
    assert again.previous_client_secret_expires_at == NOW + 7 * 86400 and again.rotated_at == NOW
    assert unreadable == ()


def test_neither_repr_nor_the_fingerprint_shows_a_secret():
    creds, _ = parsed(previous_client_secret=PREVIOUS, previous_client_secret_expires_at="2027-01-20T00:00:00Z")

    shown = repr(creds) + creds.fingerprint()

    assert CURRENT not in shown and PREVIOUS not in shown and "c" * 16 not in shown
    assert creds.fingerprint() != parsed(client_secret=PREVIOUS)[0].fingerprint()
