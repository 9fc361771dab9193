"""The client package's copy of the broker's names must equal the originals in lambdas/sellertoken/names.py."""

from __future__ import annotations

from sellertoken import names as broker
from sellertoken_client import names as client


def test_every_name_the_client_copies_equals_the_brokers():
    copied = {k: v for k, v in vars(client).items() if k.isupper()}

    assert copied and all(getattr(broker, k) == v for k, v in copied.items()), copied
    assert client.grants_prefix("x") == broker.grants_prefix("x")
    assert client.ops_function_name("x") == broker.function_name("ops", "x")
    assert client.rotation_function_name("x") == broker.function_name("rotation", "x")
