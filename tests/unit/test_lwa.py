"""The LWA client against the Amazon simulator on loopback: grants, typed errors, bounded retries."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from moto import mock_aws

from devstack.amazon import AmazonSimulator
from devstack.testapp import REDIRECT_URI, TEST_APP, running_simulator
from sellertoken import names
from sellertoken.errors import (
    AppCredentialsRejected,
    BrokerFault,
    ConfigurationError,
    InvalidGrant,
    InvalidRequest,
    LwaError,
    UpstreamUnavailable,
)
from sellertoken.lwa import DEFAULT_EXPIRES_IN, GRANTLESS_SCOPES, LwaClient, LwaToken

SELLER = "A3FHEXAMPLEYWS"
APP = TEST_APP
WRONG_SECRET = "amzn1.oa2-cs.v1." + "wr0ng" * 8
NOTIFICATIONS = "sellingpartnerapi::notifications"
REFRESH_TOKEN = "Atzr|" + "r3fr3sh" * 10


@pytest.fixture(scope="module")
def amazon():
    with running_simulator(APP, redirect_uris=[REDIRECT_URI]) as simulator:
        yield simulator


@pytest.fixture
def sim(amazon):
    amazon.reset()  # also releases any request still hanging on a fault
    yield amazon
    amazon.reset()


@pytest.fixture(scope="module")
def moto_secretsmanager():
    with mock_aws():
        client = boto3.client("secretsmanager")
        client.create_secret(Name=names.app_secret_name(), SecretString=json.dumps(APP))
        yield client


@pytest.fixture
def secretsmanager(moto_secretsmanager):
    """moto Secrets Manager holding the right app credentials where appcreds.load reads them."""
    put_app_secret(moto_secretsmanager)
    return moto_secretsmanager


@pytest.fixture
def lwa(sim, secretsmanager) -> LwaClient:
    return LwaClient(f"{sim.base_url}/auth/o2/token", names.DEFAULT_PREFIX)


def put_app_secret(secretsmanager, **fields: str) -> None:
    secretsmanager.put_secret_value(SecretId=names.app_secret_name(), SecretString=json.dumps({**APP, **fields}))


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def chain(error: BaseException):
    """The error and every exception a traceback would print with it."""
    while error is not None:
        yield error
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)


def token_calls(sim: AmazonSimulator, grant_type: str) -> int:
    return sim.calls()[f"token.{grant_type}"]


def granted(sim: AmazonSimulator, lwa: LwaClient) -> LwaToken:
    return lwa.exchange_code(sim.issue_code(SELLER, REDIRECT_URI), REDIRECT_URI)


class CraftedLwa:
    """An LWA stand-in answering every POST with one fixed status, headers and body (for answers Amazon should
    not give, or that a test must control), counting the requests."""

    def __init__(self) -> None:
        self.status, self.body, self.headers = 200, b"{}", {}
        self.requests = 0
        crafted = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                crafted.requests += 1
                self.send_response(crafted.status)
                for name, value in crafted.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(crafted.body)))
                self.end_headers()
                self.wfile.write(crafted.body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}/auth/o2/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, payload: object, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.status, self.headers, self.requests = status, dict(headers or {}), 0
        self.body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()


@pytest.fixture(scope="module")
def crafted_server():
    server = CraftedLwa()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def crafted(crafted_server, secretsmanager) -> tuple[CraftedLwa, LwaClient]:
    return crafted_server, LwaClient(crafted_server.endpoint, names.DEFAULT_PREFIX)


# ---------------------------------------------------------------- the three grants


def test_code_exchange_returns_a_refresh_token_and_an_access_token(sim, lwa):
    # Given a fresh one-time code from the consent page
    code = sim.issue_code(SELLER, REDIRECT_URI)

    # When it is exchanged
    token = lwa.exchange_code(code, REDIRECT_URI)

    # Then LWA's refresh and access tokens come back
    assert token.refresh_token in sim.refresh_tokens(SELLER)
    assert token.access_token.startswith("Atza|")
    assert token.expires_in == 3600


def test_refresh_returns_a_new_access_token_for_the_same_grant(sim, lwa):
    grant = granted(sim, lwa)

    token = lwa.refresh(grant.refresh_token)

    assert token.access_token.startswith("Atza|")
    assert token.access_token != grant.access_token
    assert token.refresh_token == grant.refresh_token  # LWA echoes it, refresh does not rotate
    assert token_calls(sim, "refresh_token") == 1


@pytest.mark.parametrize("scope", GRANTLESS_SCOPES)
def test_grantless_returns_an_access_token_without_refresh_token(sim, lwa, scope):
    token = lwa.grantless(scope)

    assert token.access_token.startswith("Atc|")
    assert token.refresh_token is None
    assert token_calls(sim, "client_credentials") == 1


# ---------------------------------------------------------------- LWA's errors


def test_refresh_of_a_revoked_grant_is_invalid_grant(sim, lwa):
    # Given a seller who removed the app
    grant = granted(sim, lwa)
    sim.revoke(SELLER)

    # When their grant is refreshed, Then LWA's invalid_grant surfaces as InvalidGrant
    with pytest.raises(InvalidGrant) as caught:
        lwa.refresh(grant.refresh_token)
    assert (caught.value.error_code, caught.value.status) == ("invalid_grant", 400)


def test_code_used_twice_is_invalid_grant(sim, lwa):
    code = sim.issue_code(SELLER, REDIRECT_URI)
    lwa.exchange_code(code, REDIRECT_URI)

    with pytest.raises(InvalidGrant):
        lwa.exchange_code(code, REDIRECT_URI)


def test_a_grantless_scope_lwa_refuses_is_an_invalid_request_asked_once(sim, lwa):
    # Given a 400 invalid_scope (the caller chose the scope: a caller mistake, not an outage)
    with pytest.raises(InvalidRequest) as caught:
        lwa.grantless("sellingpartnerapi::migration")

    # Then the caller is told, with Amazon's code, and LWA was asked exactly once
    assert "invalid_scope" in str(caught.value)
    assert token_calls(sim, "client_credentials") == 1


@pytest.mark.parametrize("code", ["invalid_request", "unsupported_grant_type", "access_denied", "invalid_scope"])
def test_an_lwa_refusal_the_broker_does_not_act_on_is_a_broker_fault_keeping_the_code(crafted, code):
    # Given LWA refuses a refresh with a code that means neither revoked, nor our credentials, nor an outage
    server, lwa = crafted
    server.answer({"error": code, "error_description": "refused"}, status=400)

    # Then it is the broker's fault (a request it built, or an answer it does not understand), with the code kept
    with pytest.raises(LwaError) as caught:
        lwa.refresh(REFRESH_TOKEN)
    assert isinstance(caught.value, BrokerFault) and not isinstance(caught.value, InvalidGrant)
    assert (caught.value.error_code, caught.value.status) == (code, 400)


@pytest.mark.parametrize("code", ["server_error", "temporarily_unavailable"])
def test_lwa_codes_amazons_sdks_retry_are_upstream_unavailable_whatever_the_status(crafted, code):
    server, lwa = crafted
    server.answer({"error": code}, status=400)

    with pytest.raises(UpstreamUnavailable):
        lwa.refresh(REFRESH_TOKEN)


def test_rejected_client_secret_is_app_credentials_rejected(sim, lwa):
    # Given Amazon no longer accepts the app's secret (e.g. past the rotation deadline)
    sim.set_client_secret_valid(False)

    with pytest.raises(AppCredentialsRejected):
        lwa.grantless(NOTIFICATIONS)


def test_rejected_secret_unchanged_in_secrets_manager_is_not_sent_again(sim, lwa, secretsmanager):
    # Given the stored secret is wrong and nobody fixed it
    put_app_secret(secretsmanager, client_secret=WRONG_SECRET)

    with pytest.raises(AppCredentialsRejected):
        lwa.grantless(NOTIFICATIONS)

    # Then the re-read found the same secret, so LWA was asked only once
    assert token_calls(sim, "client_credentials") == 1


def test_rejected_secret_is_re_read_and_the_rotated_one_is_used_at_once(sim, lwa, secretsmanager):
    # Given the client cached a wrong secret (within its cache age)
    put_app_secret(secretsmanager, client_secret=WRONG_SECRET)
    with pytest.raises(AppCredentialsRejected):
        lwa.grantless(NOTIFICATIONS)

    # When the operator stores the right secret and the next call is rejected with the cached one
    put_app_secret(secretsmanager, client_secret=APP["client_secret"])
    token = lwa.grantless(NOTIFICATIONS)

    # Then the client re-read the secret and retried once with it, without waiting for the cache to expire
    assert token.access_token.startswith("Atc|")
    assert token_calls(sim, "client_credentials") == 3
    assert sim.calls()["token.error"] == 2


FUTURE, PAST = "2999-01-01T00:00:00Z", "2000-01-01T00:00:00Z"
OTHER_WRONG_SECRET = "amzn1.oa2-cs.v1." + "0ther" * 8


def test_during_the_overlap_a_rejected_current_secret_falls_back_to_the_previous_one_once(sim, lwa, secretsmanager):
    # Given a rotation stored a new secret LWA does not accept (yet), and the previous one inside its overlap
    put_app_secret(
        secretsmanager,
        client_secret=WRONG_SECRET,
        previous_client_secret=APP["client_secret"],
        previous_client_secret_expires_at=FUTURE,
    )

    # When a grantless token is asked for
    token = lwa.grantless(NOTIFICATIONS)

    # Then the previous secret got it on the second and last try
    assert token.access_token.startswith("Atc|")
    assert (token_calls(sim, "client_credentials"), sim.calls()["token.invalid_client"]) == (2, 1)


def test_a_previous_secret_past_its_overlap_is_never_sent(sim, lwa, secretsmanager):
    put_app_secret(
        secretsmanager,
        client_secret=WRONG_SECRET,
        previous_client_secret=APP["client_secret"],
        previous_client_secret_expires_at=PAST,
    )

    with pytest.raises(AppCredentialsRejected):
        lwa.grantless(NOTIFICATIONS)

    assert token_calls(sim, "client_credentials") == 1


def test_when_both_secrets_are_rejected_each_was_sent_once(sim, lwa, secretsmanager):
    put_app_secret(
        secretsmanager,
        client_secret=WRONG_SECRET,
        previous_client_secret=OTHER_WRONG_SECRET,
        previous_client_secret_expires_at=FUTURE,
    )

    with pytest.raises(AppCredentialsRejected):
        lwa.refresh(REFRESH_TOKEN)

    assert (token_calls(sim, "refresh_token"), sim.calls()["token.invalid_client"]) == (2, 2)


def test_a_client_refused_as_unauthorized_is_not_retried_with_the_previous_secret(sim, lwa, secretsmanager):
    # Given LWA knows the client but refuses the operation (the secret is not the problem)
    put_app_secret(secretsmanager, previous_client_secret=OTHER_WRONG_SECRET, previous_client_secret_expires_at=FUTURE)
    sim.set_fault("token", status=400, error="unauthorized_client")

    with pytest.raises(AppCredentialsRejected):
        lwa.grantless(NOTIFICATIONS)

    assert token_calls(sim, "client_credentials") == 1


def test_lwa_is_asked_with_the_new_secret_first_during_the_overlap(sim, lwa, secretsmanager):
    # Given the previous secret is the one LWA does not accept any more: the current one is used, alone
    put_app_secret(secretsmanager, previous_client_secret=WRONG_SECRET, previous_client_secret_expires_at=FUTURE)

    lwa.grantless(NOTIFICATIONS)

    assert (token_calls(sim, "client_credentials"), sim.calls()["token.invalid_client"]) == (1, 0)


def test_incomplete_app_secret_is_a_configuration_error_naming_the_secret(sim, lwa, secretsmanager):
    put_app_secret(secretsmanager, client_secret="")

    with pytest.raises(ConfigurationError) as caught:
        lwa.grantless(NOTIFICATIONS)

    assert caught.value.variable == names.app_secret_name()
    assert "client_secret" in str(caught.value)
    assert token_calls(sim, "client_credentials") == 0


# ---------------------------------------------------------------- retries


def test_one_503_is_retried_and_the_retry_succeeds(sim, lwa):
    sim.set_fault("token", status=503, count=1)

    token = lwa.grantless(NOTIFICATIONS)

    assert token.access_token.startswith("Atc|")
    assert token_calls(sim, "client_credentials") == 2


def test_lasting_503_is_upstream_unavailable_after_four_attempts(sim, lwa):
    # Given LWA answers 503 to everything
    grant = granted(sim, lwa)
    sim.set_fault("token", status=503)

    # When a grant is refreshed, Then the client gives up after its bounded retries
    with pytest.raises(UpstreamUnavailable):
        lwa.refresh(grant.refresh_token)
    assert token_calls(sim, "refresh_token") == 4


def test_503s_are_retried_only_while_the_deadline_leaves_time_for_the_backoff_and_an_attempt(sim, lwa, monkeypatch):
    # Given LWA answers 503 to everything, and an invocation with 1.5 s (1.35 s after the reserve) whose
    # backoffs (0, 0.4, 0.8 s) move its clock instead of waiting
    from sellertoken import deadline
    from tests.faults.conftest import Clock

    clock = Clock()
    monkeypatch.setattr(deadline, "clock", clock)
    monkeypatch.setattr(deadline, "pause", clock.advance)
    grant = granted(sim, lwa)
    sim.set_fault("token", status=503)

    # When a grant is refreshed
    with deadline.within(1.5), pytest.raises(UpstreamUnavailable):
        lwa.refresh(grant.refresh_token)

    # Then the third backoff (0.8 s) and a fourth attempt did not fit: three attempts, not four
    assert token_calls(sim, "refresh_token") == 3


def test_429_is_retried(sim, lwa):
    grant = granted(sim, lwa)
    sim.set_fault("token", status=429, count=1)

    token = lwa.refresh(grant.refresh_token)

    assert token.access_token.startswith("Atza|")
    assert token_calls(sim, "refresh_token") == 2


def test_code_exchange_that_times_out_is_not_retried(sim, lwa):
    # Given LWA accepts the request and never answers (the code may already be spent)
    sim.set_fault("token", hang=True)
    code = sim.issue_code(SELLER, REDIRECT_URI)

    # When the code is exchanged
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable):
        lwa.exchange_code(code, REDIRECT_URI)
    elapsed = time.monotonic() - started

    # Then the client gave up after its 5 s read timeout, having sent the code once
    assert 4.5 <= elapsed < 8
    assert token_calls(sim, "authorization_code") == 1


def test_closed_port_is_upstream_unavailable_without_the_request_exception_attached(secretsmanager):
    # Given nothing listens where LWA should be
    lwa = LwaClient(f"http://127.0.0.1:{closed_port()}/auth/o2/token", names.DEFAULT_PREFIX)

    # When a grant is refreshed
    with pytest.raises(UpstreamUnavailable) as caught:
        lwa.refresh(REFRESH_TOKEN)

    # Then only the kind of failure is reported: requests' exception (which may echo the request) is not chained
    assert "ConnectionError" in str(caught.value)
    assert list(chain(caught.value)) == [caught.value]
    assert REFRESH_TOKEN not in str(caught.value)


# ---------------------------------------------------------------- answers LWA should not give


def test_code_exchange_answered_without_refresh_token_is_upstream_unavailable(crafted):
    server, lwa = crafted
    server.answer({"access_token": "Atza|only-access", "token_type": "bearer", "expires_in": 3600})

    with pytest.raises(UpstreamUnavailable):
        lwa.exchange_code("ANDLcode", REDIRECT_URI)


@pytest.mark.parametrize(
    "refresh_token",
    [
        pytest.param("", id="empty"),
        pytest.param("Atzr|" + "x" * 2048, id="too long"),
        pytest.param("Atzr|a\nb", id="newline"),
    ],
)
def test_code_exchange_answered_with_an_unusable_refresh_token_is_upstream_unavailable(crafted, refresh_token):
    server, lwa = crafted
    server.answer({"access_token": "Atza|a", "refresh_token": refresh_token, "expires_in": 3600})

    with pytest.raises(UpstreamUnavailable):
        lwa.exchange_code("ANDLcode", REDIRECT_URI)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"<html>gateway</html>", id="not json"),
        pytest.param([1, 2], id="json list"),
        pytest.param({"token_type": "bearer", "expires_in": 3600}, id="no access token"),
        pytest.param({"access_token": "Atza|" + "x" * 2048}, id="access token too long"),
    ],
)
def test_unusable_200_answer_is_upstream_unavailable(crafted, payload):
    server, lwa = crafted
    server.answer(payload)

    with pytest.raises(UpstreamUnavailable):
        lwa.grantless(NOTIFICATIONS)


@pytest.mark.parametrize(
    "expires_in",
    [
        pytest.param(None, id="missing"),
        pytest.param("soon", id="text"),
        pytest.param(0, id="zero"),
        pytest.param(-60, id="negative"),
        pytest.param(10**9, id="decades"),
        pytest.param([3600], id="list"),
    ],
)
def test_missing_or_odd_expires_in_means_one_hour(crafted, expires_in):
    server, lwa = crafted
    payload = {"access_token": "Atc|a", "token_type": "bearer"}
    if expires_in is not None:
        payload["expires_in"] = expires_in
    server.answer(payload)

    assert lwa.grantless(NOTIFICATIONS).expires_in == DEFAULT_EXPIRES_IN == 3600


def test_plausible_expires_in_is_kept(crafted):
    server, lwa = crafted
    server.answer({"access_token": "Atc|a", "expires_in": "120"})

    assert lwa.grantless(NOTIFICATIONS).expires_in == 120


def test_unknown_lwa_error_code_is_kept_but_bounded_and_printable(crafted):
    server, lwa = crafted
    server.answer({"error": "x\u0000\n" + "x" * 500}, status=400)

    with pytest.raises(LwaError) as caught:
        lwa.grantless(NOTIFICATIONS)
    assert caught.value.error_code.startswith("x??xxx") and len(caught.value.error_code) <= 64
    assert caught.value.error_code.isprintable() and len(str(caught.value)) < 100


# ---------------------------------------------------------------- no token or secret leaks


def test_token_repr_hides_the_tokens(sim, lwa):
    token = granted(sim, lwa)

    for text in (repr(token), str(token), f"{token}", repr([token])):
        assert token.access_token not in text
        assert token.refresh_token not in text
        assert "Atz" not in text


def test_errors_never_carry_the_refresh_token_or_the_client_secret(sim, lwa):
    # Given a grant refreshed after the seller revoked it, then after Amazon stopped accepting the app's secret
    grant = granted(sim, lwa)
    sim.revoke(SELLER)
    with pytest.raises(InvalidGrant) as revoked:
        lwa.refresh(grant.refresh_token)
    sim.set_client_secret_valid(False)
    with pytest.raises(AppCredentialsRejected) as rejected:
        lwa.refresh(grant.refresh_token)

    # Then neither error, nor anything chained to it, holds the token or the secret
    for error in (revoked.value, rejected.value):
        text = " ".join(f"{e!r} {e}" for e in chain(error))
        assert grant.refresh_token not in text
        assert APP["client_secret"] not in text
