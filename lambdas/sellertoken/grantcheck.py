"""Whether a completed consent may land on the grant stored under its `selling_partner_id`.

The id on Amazon's redirect passes through the browser and LWA's answer does not name the account, so
the broker compares what Amazon shows of the two accounts: the stored grant's token (refreshed now) and
the consent's new token, each seen through the Sellers API (identity.py). `decide` is the policy, a pure
function of what was observed; `observe` gathers the observations within a deadline. The policy, row by
row with the test that proves each, is in docs/identity.md.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from sellertoken import identity
from sellertoken.errors import ClientUnauthorized, InvalidGrant, SellerTokenError
from sellertoken.grants import Grant
from sellertoken.identity import Unseen, View
from sellertoken.lwa import LwaClient
from sellertoken.regions import VENDOR

# Both looks at Amazon run in parallel and must end within this, or count as unavailable: the one-time
# code is already spent, and the oauth function has 15 s in all.
DEADLINE_SECONDS = 4.0
# The stored grant's token no longer refreshes (LWA invalid_grant): the seller revoked the app.
TOKEN_DEAD = "token_dead"

# How an accepted consent was decided (the events' `identity_check`).
NEW_GRANT = "new_grant"  # nothing stored under this id: nothing to compare with
LIVE_VIEWS_MATCH = "live_views_match"  # verified: both tokens show the same account now
STORED_FINGERPRINT_MATCH = "stored_fingerprint_match"  # verified: the new account matches the stored fingerprint
UNVERIFIED_VENDOR = "vendor"  # Amazon offers vendors no account data
UNVERIFIED_NO_ROLE = "no_role"  # Amazon showed neither token's account (the app lacks the role)
UNVERIFIED_PREVIOUS_TOKEN_DEAD = "previous_token_dead"  # the stored token is revoked and no fingerprint matches
UNVERIFIED_PREVIOUS_VIEW_REFUSED = "previous_view_refused"  # stored token predates the role; no fingerprint matches
# Why a consent was refused (the `Seller Consent Refused` event's `reason`).
REFUSED_VIEWS_DIFFER = "views_differ"
REFUSED_NEW_TOKEN_UNSEEN = "new_token_refused"  # the stored token shows its account, the new one cannot
REFUSED_ACCOUNT_TYPE = "account_type_mismatch"
REFUSED_REFERENCE = "reference_mismatch"

ACCEPT, REFUSE, RETRY = "accept", "refuse", "retry"


@dataclass(frozen=True)
class Observation:
    new: View | Unseen | None  # None: not looked at (a vendor)
    old: View | Unseen | None = None  # None: no stored grant, or a vendor's; Unseen(TOKEN_DEAD) when revoked


@dataclass(frozen=True)
class Verdict:
    outcome: str  # ACCEPT, REFUSE or RETRY ("could not tell now: nothing written, start again later")
    why: str  # how it was decided (ACCEPT), the refusal's reason (REFUSE), what was unavailable (RETRY)
    verified: bool = False

    @classmethod
    def accept(cls, why: str, *, verified: bool) -> Verdict:
        return cls(ACCEPT, why, verified)


def decide(existing: Grant | None, account_type: str, reference: str | None, seen: Observation) -> Verdict:
    """The identity policy: may a consent of `account_type` carrying `reference` replace `existing`?"""
    if existing is None:
        return Verdict.accept(NEW_GRANT, verified=False)
    if existing.account_type != account_type:
        return Verdict(REFUSE, REFUSED_ACCOUNT_TYPE)
    if account_type == VENDOR:
        return _unverified(existing, reference, UNVERIFIED_VENDOR)
    new, old = seen.new, seen.old
    if isinstance(new, View):
        if isinstance(old, View):
            if old == new:
                return Verdict.accept(LIVE_VIEWS_MATCH, verified=True)
            return Verdict(REFUSE, REFUSED_VIEWS_DIFFER)
        if existing.identity_fingerprint is not None and existing.identity_fingerprint == new.fingerprint():
            return Verdict.accept(STORED_FINGERPRINT_MATCH, verified=True)
    if _reason(old) == TOKEN_DEAD:
        # Nothing works under this id any more: the seller revoked the app and authorizes again, possibly
        # after their account changed. Accepted without proof, like an app without the role.
        return _unverified(existing, reference, UNVERIFIED_PREVIOUS_TOKEN_DEAD)
    if _reason(new) == identity.UNAVAILABLE or _reason(old) == identity.UNAVAILABLE:
        # A working grant is not replaced on a guess. Unavailability can be provoked (the Sellers API
        # allows a burst of 15, then one call a minute), so it never counts as "no proof offered".
        return Verdict(RETRY, identity.UNAVAILABLE)
    if isinstance(old, View):
        return Verdict(REFUSE, REFUSED_NEW_TOKEN_UNSEEN)
    if isinstance(new, View):
        return _unverified(existing, reference, UNVERIFIED_PREVIOUS_VIEW_REFUSED)
    return _unverified(existing, reference, UNVERIFIED_NO_ROLE)


def _unverified(existing: Grant, reference: str | None, why: str) -> Verdict:
    """No proof either way: the company's own binding decides. A grant bound to another of its users'
    references is not replaced; otherwise the token is replaced and the previous one kept restorable."""
    if existing.reference is not None and reference is not None and existing.reference != reference:
        return Verdict(REFUSE, REFUSED_REFERENCE)
    return Verdict.accept(why, verified=False)


def _reason(seen: View | Unseen | None) -> str | None:
    return seen.reason if isinstance(seen, Unseen) else None


def observe(
    endpoint: str,
    lwa: LwaClient,
    new_access_token: str,
    existing: Grant | None,
    account_type: str,
    *,
    known_new: View | Unseen | None = None,
) -> Observation:
    """Look at both accounts in parallel (the stored grant's token needs an LWA refresh first); whatever
    has not answered by the deadline counts as unavailable. Nothing is written or cached."""
    look_new = account_type != VENDOR and known_new is None
    look_old = existing is not None and existing.account_type != VENDOR and account_type != VENDOR
    if not look_new and not look_old:
        return Observation(known_new, None)
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="identity")
    try:
        new_future = pool.submit(identity.view, endpoint, new_access_token) if look_new else None
        old_future = pool.submit(_old_view, endpoint, lwa, existing) if look_old else None
        ends = time.monotonic() + DEADLINE_SECONDS
        new = _result(new_future, ends) if new_future else known_new
        old = _result(old_future, ends) if old_future else None
    finally:
        # A call still hanging ends on its own timeout; nobody waits for it or uses its answer.
        pool.shutdown(wait=False, cancel_futures=True)
    return Observation(new, old)


def _old_view(endpoint: str, lwa: LwaClient, grant: Grant) -> View | Unseen:
    if not grant.refresh_token:
        return Unseen(TOKEN_DEAD)
    try:
        token = lwa.refresh(grant.refresh_token)
    except (InvalidGrant, ClientUnauthorized):
        # The new code was just exchanged with the application's credentials, so an unauthorized_client here is
        # the stored token's own (a token of another client id): as dead for this application as a revoked one.
        return Unseen(TOKEN_DEAD)
    except SellerTokenError:
        return Unseen(identity.UNAVAILABLE)
    return identity.view(endpoint, token.access_token)


def _result(future, ends: float) -> View | Unseen:
    try:
        return future.result(timeout=max(0.0, ends - time.monotonic()))
    except FutureTimeout:
        return Unseen(identity.UNAVAILABLE)
