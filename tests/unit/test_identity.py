"""The Sellers API view of a token's account, against the Amazon simulator and a few odd answers."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from devstack.amazon import AmazonSimulator
from devstack.testapp import TEST_APP, running_simulator
from sellertoken import identity
from sellertoken.identity import Unseen, View

CALLBACK = "https://broker.example/callback"
APP = TEST_APP


@pytest.fixture(scope="module")
def running():
    with running_simulator(APP, redirect_uris=[CALLBACK]) as sim:
        yield sim


@pytest.fixture
def sim(running):
    running.reset()
    yield running
    running.reset()


def access_token(sim: AmazonSimulator, seller: str = "A3FHEXAMPLEYWS") -> str:
    answer = requests.post(
        f"{sim.base_url}/auth/o2/token",
        data={
            "grant_type": "authorization_code",
            "code": sim.issue_code(seller, CALLBACK),
            "redirect_uri": CALLBACK,
            **{k: APP[k] for k in ("client_id", "client_secret")},
        },
        timeout=5,
    )
    return answer.json()["access_token"]


def test_a_sellers_token_shows_its_marketplaces_and_store(sim):
    token = access_token(sim)
    sim.set_account("A3FHEXAMPLEYWS", store_name="Kettle Corner", marketplaces=["A2EUQ1WTGCTBG2", "ATVPDKIKX0DER"])

    assert identity.view(sim.base_url, token) == View(("A2EUQ1WTGCTBG2", "ATVPDKIKX0DER"), ("Kettle Corner",))


def test_two_sellers_tokens_show_different_views(sim):
    assert identity.view(sim.base_url, access_token(sim)) != identity.view(
        sim.base_url, access_token(sim, "A1OTHERSELLER9")
    )


def test_an_app_without_the_role_sees_no_view(sim):
    token = access_token(sim)
    sim.set_sellers_role(False)

    assert identity.view(sim.base_url, token) == Unseen(identity.NO_ROLE)


def test_a_vendors_token_sees_no_view(sim):
    token = access_token(sim)
    sim.set_account("A3FHEXAMPLEYWS", account_type="vendor")

    assert identity.view(sim.base_url, token) == Unseen(identity.NO_ROLE)


def test_a_token_amazon_does_not_accept_is_unavailable_not_a_missing_role(sim):
    assert identity.view(sim.base_url, "Atza|never-issued") == Unseen(identity.UNAVAILABLE)


@pytest.mark.parametrize("status", [500, 503, 429])
def test_an_error_status_is_unavailable_after_a_single_call(sim, status):
    token = access_token(sim)
    sim.set_fault("sellers", status=status)
    sim.reset_calls()

    assert identity.view(sim.base_url, token) == Unseen(identity.UNAVAILABLE)
    assert sim.calls()["sellers.marketplaceParticipations"] == 1


def test_a_hanging_sellers_api_is_unavailable_after_the_read_timeout(sim, monkeypatch):
    token = access_token(sim)
    monkeypatch.setattr(identity, "TIMEOUT", (0.5, 0.2))
    sim.set_fault("sellers", hang=True)
    try:
        assert identity.view(sim.base_url, token) == Unseen(identity.UNAVAILABLE)
    finally:
        sim.set_fault("sellers")


def test_nobody_listening_is_unavailable():
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()

    assert identity.view(f"http://127.0.0.1:{port}", "Atza|x") == Unseen(identity.UNAVAILABLE)


@pytest.fixture
def answering():
    """A loopback server that answers 200 with whatever body the test sets."""
    body = {"value": b""}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body["value"])

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", body
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("answer", "seen"),
    [
        (b"not json", Unseen(identity.UNAVAILABLE)),
        (b"[]", Unseen(identity.UNAVAILABLE)),
        (b'{"payload": {"marketplace": {}}}', Unseen(identity.UNAVAILABLE)),
        (b'{"payload": [{"marketplace": {"name": "no id"}, "storeName": "S"}]}', Unseen(identity.UNAVAILABLE)),
        (b'{"payload": []}', Unseen(identity.NO_ROLE)),
        (
            json.dumps(
                {"payload": [{"marketplace": {"id": "M2"}}, {"marketplace": {"id": "M1"}, "storeName": "S"}]}
            ).encode(),
            View(("M1", "M2"), ("S",)),
        ),
    ],
    ids=["not-json", "not-an-object", "payload-not-a-list", "no-marketplace-id", "no-marketplaces", "sorted"],
)
def test_an_answer_that_is_not_the_documented_shape_is_no_view(answering, answer, seen):
    base, body = answering
    body["value"] = answer

    assert identity.view(base, "Atza|x") == seen
