"""The client package's copy of the broker's names must equal the originals in lambdas/sellertoken/names.py."""

from __future__ import annotations

from sellertoken import names as broker
from sellertoken import table
from sellertoken.regions import REGIONS
from sellertoken_client import names as client
from sellertoken_client import sp_api


def test_every_name_the_client_copies_equals_the_brokers():
    copied = {k: v for k, v in vars(client).items() if k.isupper() and k != "SWEEP_LATEST_KEY"}

    assert copied and all(getattr(broker, k) == v for k, v in copied.items()), copied
    assert client.grants_prefix("x") == broker.grants_prefix("x")
    for key in broker.FUNCTION_HANDLERS:
        assert client.function_name(key, "x") == broker.function_name(key, "x")


def test_the_table_keys_the_operator_commands_read_equal_the_table_modules():
    assert client.SWEEP_LATEST_KEY == table.SWEEP_LATEST_KEY
    assert client.health_key("na", "A1B2C3D4E5F6G7") == table.health_key("na", "A1B2C3D4E5F6G7")
    assert client.sweep_run_key("cli-1") == table.sweep_run_key("cli-1")


def test_the_sp_api_adapters_region_table_equals_the_brokers():
    assert set(sp_api.DEFAULT_MARKETPLACES) == set(REGIONS) == set(broker.REGION_CODES)
    for code, region in REGIONS.items():
        assert sp_api.DEFAULT_MARKETPLACES[code].name == region.default_marketplace
        assert sp_api.AWS_REGIONS[code] == region.aws_region
