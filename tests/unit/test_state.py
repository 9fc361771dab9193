"""OAuth state: signed, expiring, bound to the browser's cookie, single-use."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from sellertoken import names, state
from sellertoken import table as records
from sellertoken.state import MAX_STATE_LENGTH, STATE_TTL_SECONDS, InvalidState

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
NOW = 1_700_000_000
TABLE = "sellertoken-test"


def issue(**overrides) -> state.IssuedState:
    args = {"region": "eu", "account_type": "vendor", "reference": "order-42", "now": NOW, **overrides}
    return state.issue(KEY, **args)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signed(body: str, key: bytes = KEY) -> str:
    """A state whose body is `body`, correctly signed: what only the key holder can make."""
    return f"{body}.{b64(hmac.new(key, body.encode(), hashlib.sha256).digest())}"


def reason(key: bytes, given: str | None, cookie: str | None, now: float = NOW) -> str:
    with pytest.raises(InvalidState) as caught:
        state.verify(key, given, cookie, now=now)
    return caught.value.reason


@pytest.fixture
def table():
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": names.TABLE_PARTITION_KEY, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": names.TABLE_PARTITION_KEY, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield TABLE


# ---------------------------------------------------------------- round trip


def test_verified_state_carries_region_account_type_and_reference():
    # Given a state issued for an EU vendor with a caller reference
    issued = issue(region="eu", account_type="vendor", reference="order-42")

    # When the same browser comes back with it
    claims = state.verify(KEY, issued.state, issued.cookie_value, now=NOW + 1)

    # Then the claims are those issued
    assert claims == issued.claims
    assert (claims.region, claims.account_type, claims.reference) == ("eu", "vendor", "order-42")
    assert claims.expires_at == NOW + STATE_TTL_SECONDS


def test_state_without_reference_verifies_with_none():
    issued = issue(region="na", account_type="seller", reference=None)

    claims = state.verify(KEY, issued.state, issued.cookie_value, now=NOW)

    assert claims.reference is None
    assert (claims.region, claims.account_type) == ("na", "seller")


def test_each_state_has_its_own_id_and_cookie():
    first, second = issue(), issue()

    assert first.claims.state_id != second.claims.state_id
    assert first.cookie_value != second.cookie_value


def test_state_stays_within_the_accepted_length_even_with_a_long_reference():
    issued = issue(reference="r" * 256)

    assert len(issued.state) <= MAX_STATE_LENGTH
    assert state.verify(KEY, issued.state, issued.cookie_value, now=NOW).reference == "r" * 256


# ---------------------------------------------------------------- rejected states


def test_tampered_body_is_rejected():
    # Given a state whose claims were edited (EU -> NA) but whose signature was kept
    issued = issue(region="eu")
    body, signature = issued.state.split(".")
    claims = json.loads(unb64(body))
    forged_body = b64(json.dumps({**claims, "r": "na"}, separators=(",", ":")).encode())

    # Then it is rejected as tampered
    assert reason(KEY, f"{forged_body}.{signature}", issued.cookie_value) == "tampered"


def test_tampered_signature_is_rejected():
    issued = issue()
    body, signature = issued.state.split(".")
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]

    assert reason(KEY, f"{body}.{flipped}", issued.cookie_value) == "tampered"


def test_state_signed_with_another_key_is_rejected():
    issued = state.issue(OTHER_KEY, region="eu", account_type="seller", reference=None, now=NOW)

    assert reason(KEY, issued.state, issued.cookie_value) == "tampered"


def test_state_is_accepted_until_the_last_second_of_its_ttl():
    issued = issue()

    assert state.verify(KEY, issued.state, issued.cookie_value, now=issued.claims.expires_at - 1)


def test_expired_state_is_rejected():
    issued = issue()

    assert reason(KEY, issued.state, issued.cookie_value, now=issued.claims.expires_at) == "expired"


@pytest.mark.parametrize("given", [None, ""])
def test_missing_state_is_rejected(given):
    assert reason(KEY, given, "cookie") == "missing"


@pytest.mark.parametrize("cookie", [None, ""])
def test_missing_cookie_is_rejected(cookie):
    issued = issue()

    assert reason(KEY, issued.state, cookie) == "cookie missing"


def test_another_browsers_cookie_is_rejected():
    # Given a state lifted from one browser and replayed with another browser's cookie
    victim, attacker = issue(), issue()

    assert reason(KEY, victim.state, attacker.cookie_value) == "cookie does not match"


@pytest.mark.parametrize(
    "given",
    [
        pytest.param("a" * MAX_STATE_LENGTH + ".b", id="oversized"),
        pytest.param("no-dot-at-all", id="one part"),
        pytest.param("a.b.c", id="three parts"),
        pytest.param("é.b", id="non-ascii"),
        pytest.param("body.AAAAA", id="signature not base64"),
    ],
)
def test_malformed_state_is_rejected(given):
    assert reason(KEY, given, "cookie") == "malformed"


def test_non_ascii_variant_of_a_valid_state_is_rejected():
    issued = issue()
    body, signature = issued.state.split(".")

    assert reason(KEY, f"{body}é.{signature}", issued.cookie_value) == "malformed"


def test_oversized_variant_of_a_valid_state_is_rejected_before_its_signature_is_checked():
    issued = issue()
    body, signature = issued.state.split(".")
    padded = f"{body}.{signature}{'=' * MAX_STATE_LENGTH}"  # the signature alone would still decode

    assert reason(KEY, padded, issued.cookie_value) == "malformed"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("!!garbage!!", id="body not base64"),
        pytest.param(b64(b"\xff\xfe not json"), id="body not json"),
        pytest.param(b64(b"[1,2]"), id="body not an object"),
        pytest.param(b64(b'{"id":"x","r":"eu","t":"seller"}'), id="no expiry"),
        pytest.param(b64(b'{"id":"x","r":"eu","t":"seller","exp":"soon","b":"x"}'), id="expiry not a number"),
        pytest.param(b64(b'{"id":"x","r":"eu","t":"seller","exp":1}'), id="no browser binding"),
    ],
)
def test_signed_body_that_is_not_our_claims_is_rejected_as_malformed(body):
    assert reason(KEY, signed(body), "cookie") == "malformed"


def _claims_of(issued: state.IssuedState) -> dict:
    return json.loads(unb64(issued.state.split(".")[0]))


@pytest.mark.parametrize("ahead", [STATE_TTL_SECONDS + 31, 10 * 365 * 86400])
def test_signed_state_that_lives_longer_than_any_we_issue_is_rejected_as_malformed(ahead):
    issued = issue()
    claims = _claims_of(issued) | {"exp": NOW + ahead}

    assert reason(KEY, signed(b64(json.dumps(claims).encode())), issued.cookie_value) == "malformed"


def test_state_issued_by_a_container_whose_clock_runs_a_little_ahead_is_accepted():
    issued = issue(now=NOW + state.CLOCK_SKEW_SECONDS)

    assert state.verify(KEY, issued.state, issued.cookie_value, now=NOW).region == "eu"


@pytest.mark.parametrize(
    "changes",
    [{"id": "short"}, {"id": "a/b#c" * 5}, {"ref": 42}, {"ref": ["x"]}],
    ids=["id too short", "id with separators", "reference a number", "reference a list"],
)
def test_signed_state_with_an_id_or_reference_we_never_issue_is_rejected_as_malformed(changes):
    issued = issue()
    claims = _claims_of(issued) | changes

    assert reason(KEY, signed(b64(json.dumps(claims).encode())), issued.cookie_value) == "malformed"


# ---------------------------------------------------------------- peek


def test_peek_returns_the_claims_of_an_expired_state():
    issued = issue(now=NOW - 10 * STATE_TTL_SECONDS)

    assert state.peek(KEY, issued.state) == issued.claims


@pytest.mark.parametrize("forged", ["a.b", "garbage", "a" * 2000])
def test_peek_returns_none_for_a_malformed_state(forged):
    assert state.peek(KEY, forged) is None


def test_peek_returns_none_for_a_state_signed_with_another_key():
    issued = state.issue(OTHER_KEY, region="eu", account_type="seller", reference=None)

    assert state.peek(KEY, issued.state) is None


# ---------------------------------------------------------------- browser binding


def test_state_does_not_contain_the_cookie_nonce():
    # Given an issued state (it travels in URLs and Referer headers; the cookie does not)
    issued = issue()
    body = unb64(issued.state.split(".")[0]).decode()

    # Then neither the nonce nor its base64 appears in it
    assert issued.cookie_value not in issued.state
    assert issued.cookie_value not in body
    assert b64(issued.cookie_value.encode()) not in issued.state


def test_binding_read_from_the_state_does_not_pass_as_the_cookie():
    # Given someone who read the state and copied its browser binding into a cookie
    issued = issue()
    binding = json.loads(unb64(issued.state.split(".")[0]))["b"]

    assert reason(KEY, issued.state, binding) == "cookie does not match"


def test_cookie_nonce_is_long_enough_not_to_be_guessed():
    assert len(unb64(issue().cookie_value)) >= 32


# ---------------------------------------------------------------- single use


def test_first_consume_records_the_state_until_it_expires(table):
    issued = issue()

    state.consume(table, issued.claims)

    item = boto3.client("dynamodb").get_item(
        TableName=table, Key=records.key(records.state_key(issued.claims.state_id))
    )["Item"]
    assert item[names.TABLE_TTL_ATTRIBUTE] == {"N": str(issued.claims.expires_at)}


def test_second_consume_of_the_same_state_is_a_replay(table):
    # Given a state already used once
    issued = issue()
    state.consume(table, issued.claims)

    # When it is used again, Then it is rejected as replayed
    with pytest.raises(InvalidState) as caught:
        state.consume(table, issued.claims)
    assert caught.value.reason == "replayed"


def test_consuming_one_state_does_not_use_up_another(table):
    first, second = issue(), issue()
    state.consume(table, first.claims)

    state.consume(table, second.claims)  # no InvalidState

    assert len(boto3.client("dynamodb").scan(TableName=table)["Items"]) == 2


def test_consume_without_the_table_fails_loudly_not_as_a_replay(table):
    with pytest.raises(ClientError) as caught:
        state.consume("no-such-table", issue().claims)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
