"""The identity policy, row by row: what a consent may do to the grant stored under its seller id."""

from __future__ import annotations

import dataclasses

import pytest

from sellertoken import grantcheck, identity
from sellertoken.grantcheck import ACCEPT, REFUSE, RETRY, Observation, decide
from sellertoken.grants import Grant
from sellertoken.identity import Unseen, View

V = View(("ATVPDKIKX0DER",), ("Victim's store",))
A = View(("ATVPDKIKX0DER",), ("Attacker's store",))
NO_ROLE = Unseen(identity.NO_ROLE)
UNAVAILABLE = Unseen(identity.UNAVAILABLE)
DEAD = Unseen(grantcheck.TOKEN_DEAD)


def grant(*, account_type: str = "seller", reference: str | None = None, fingerprint: str | None = None) -> Grant:
    return Grant(
        selling_partner_id="A3FHEXAMPLEYWS",
        region="na",
        account_type=account_type,
        refresh_token="Atzr|old",
        client_id="amzn1.application-oa2-client.x",
        authorized_at="2026-01-01T00:00:00Z",
        reference=reference,
        identity_fingerprint=fingerprint,
    )


def outcome(existing, seen, *, account_type="seller", reference=None) -> tuple[str, str, bool]:
    verdict = decide(existing, account_type, reference, seen)
    return verdict.outcome, verdict.why, verdict.verified


def test_a_brand_new_grant_is_accepted_with_nothing_to_verify_it_against():
    assert outcome(None, Observation(A)) == (ACCEPT, grantcheck.NEW_GRANT, False)


def test_the_same_account_seen_through_both_tokens_is_verified():
    assert outcome(grant(), Observation(V, V)) == (ACCEPT, grantcheck.LIVE_VIEWS_MATCH, True)


@pytest.mark.parametrize("reference", [None, "user-v", "user-a"])
def test_another_account_is_refused_whatever_the_reference(reference):
    existing = grant(reference="user-v")

    assert outcome(existing, Observation(A, V), reference=reference)[:2] == (REFUSE, grantcheck.REFUSED_VIEWS_DIFFER)


@pytest.mark.parametrize("old", [DEAD, NO_ROLE, UNAVAILABLE], ids=["dead", "no_role", "unavailable"])
def test_without_a_live_old_view_a_matching_stored_fingerprint_verifies(old):
    existing = grant(fingerprint=V.fingerprint())

    assert outcome(existing, Observation(V, old)) == (ACCEPT, grantcheck.STORED_FINGERPRINT_MATCH, True)


@pytest.mark.parametrize("fingerprint", [None, A.fingerprint()], ids=["none", "other"])
@pytest.mark.parametrize("new", [V, NO_ROLE, UNAVAILABLE], ids=["view", "no_role", "unavailable"])
def test_a_dead_old_token_without_a_matching_fingerprint_is_accepted_unverified(new, fingerprint):
    existing = grant(fingerprint=fingerprint)

    assert outcome(existing, Observation(new, DEAD)) == (ACCEPT, grantcheck.UNVERIFIED_PREVIOUS_TOKEN_DEAD, False)


@pytest.mark.parametrize(
    ("new", "old"),
    [(V, UNAVAILABLE), (UNAVAILABLE, V), (UNAVAILABLE, NO_ROLE), (NO_ROLE, UNAVAILABLE), (UNAVAILABLE, UNAVAILABLE)],
)
def test_an_unavailable_look_at_a_live_grant_means_try_again_later(new, old):
    assert outcome(grant(fingerprint=A.fingerprint()), Observation(new, old))[:2] == (RETRY, identity.UNAVAILABLE)


def test_a_new_token_that_cannot_show_its_account_never_replaces_one_that_can():
    assert outcome(grant(), Observation(NO_ROLE, V))[:2] == (REFUSE, grantcheck.REFUSED_NEW_TOKEN_UNSEEN)


def test_an_old_token_that_predates_the_role_is_replaced_unverified():
    assert outcome(grant(), Observation(V, NO_ROLE)) == (ACCEPT, grantcheck.UNVERIFIED_PREVIOUS_VIEW_REFUSED, False)


def test_an_app_without_the_role_replaces_unverified():
    assert outcome(grant(), Observation(NO_ROLE, NO_ROLE)) == (ACCEPT, grantcheck.UNVERIFIED_NO_ROLE, False)


def test_vendors_are_replaced_unverified_without_looking():
    existing = grant(account_type="vendor")

    assert outcome(existing, Observation(None), account_type="vendor") == (ACCEPT, grantcheck.UNVERIFIED_VENDOR, False)


@pytest.mark.parametrize(("stored", "consent"), [("seller", "vendor"), ("vendor", "seller")])
def test_a_consent_of_another_account_type_is_refused(stored, consent):
    existing = grant(account_type=stored)

    assert outcome(existing, Observation(None), account_type=consent)[:2] == (REFUSE, grantcheck.REFUSED_ACCOUNT_TYPE)


@pytest.mark.parametrize(
    ("existing", "seen", "account_type"),
    [
        (grant(account_type="vendor", reference="user-v"), Observation(None), "vendor"),
        (grant(reference="user-v"), Observation(NO_ROLE, NO_ROLE), "seller"),
        (grant(reference="user-v"), Observation(V, DEAD), "seller"),
        (grant(reference="user-v"), Observation(A, NO_ROLE), "seller"),
    ],
    ids=["vendor", "no_role", "previous_token_dead", "previous_view_refused"],
)
def test_without_proof_another_reference_is_refused_and_the_same_or_none_is_accepted(existing, seen, account_type):
    assert outcome(existing, seen, account_type=account_type, reference="user-a")[:2] == (
        REFUSE,
        grantcheck.REFUSED_REFERENCE,
    )
    assert outcome(existing, seen, account_type=account_type, reference="user-v")[0] == ACCEPT
    assert outcome(existing, seen, account_type=account_type, reference=None)[0] == ACCEPT
    unbound = dataclasses.replace(existing, reference=None)
    assert outcome(unbound, seen, account_type=account_type, reference="user-a")[0] == ACCEPT


def test_a_verified_consent_may_carry_another_reference():
    assert outcome(grant(reference="user-v"), Observation(V, V), reference="user-w")[:2] == (
        ACCEPT,
        grantcheck.LIVE_VIEWS_MATCH,
    )


def test_the_fingerprint_is_a_hash_of_the_view_that_never_holds_a_store_name():
    fingerprint = V.fingerprint()

    assert fingerprint.startswith("sha256:") and len(fingerprint) == len("sha256:") + 64
    assert "Victim" not in fingerprint
    assert fingerprint == View(("ATVPDKIKX0DER",), ("Victim's store",)).fingerprint() != A.fingerprint()
