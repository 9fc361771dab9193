"""A selling partner id has one of Amazon's two forms, a seller's (A…) or a vendor group's (amzn1.vg.…), and
nothing else gets through anywhere an id enters the broker: the vend payload, the ops payload, secret names,
the client library and the CLI. Amazon's simulator issues ids that pass the same check."""

from __future__ import annotations

import pytest

from devstack.amazon.world import account_type_of, new_selling_partner_id, new_vendor_id
from sellertoken import names, operations, vending
from sellertoken.errors import InvalidRequest
from sellertoken_client import cli
from sellertoken_client import names as client_names
from sellertoken_client.broker import TokenBroker
from sellertoken_client.errors import InvalidRequest as ClientInvalidRequest

ACCEPTED = {
    "developer guide's seller": "A3FHEXAMPLEYWS",
    "model's seller": "A3TH9S8BH6GOGM",
    "short seller": "A1234567",
    "long seller": "A" + "Z" * 19,
    "vendor group": "amzn1.vg.2072811",
    "one-digit vendor group": "amzn1.vg.7",
}
REFUSED = {
    "empty": "",
    "the old pattern's digits-only id": "12345678",
    "a seller id not starting with A": "B3FHEXAMPLEYWS",
    "lower case": "a3fhexampleyws",
    "too short": "A123456",
    "too long": "A" + "Z" * 20,
    "trailing newline": "A3FHEXAMPLEYWS\n",
    "a path": "A3FHEXAMPLEYWS/../x",
    "vendor without digits": "amzn1.vg.",
    "vendor with letters": "amzn1.vg.12a4",
    "vendor upper case": "AMZN1.VG.1234567",
    "vendor with a country suffix": "amzn1.vg.2072811-GB",
    "vendor with non-ASCII digits": "amzn1.vg.\u0661\u0662\u0663",
    "vendor with too many digits": "amzn1.vg." + "1" * 21,
    "another amzn1 id": "amzn1.sp.solution.1234",
}


@pytest.mark.parametrize("value", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_both_documented_forms_are_accepted(value):
    assert names.is_selling_partner_id(value)
    assert vending.parse_request({"selling_partner_id": value, "region": "na"}).selling_partner_id == value
    assert operations.parse_request({"operation": "revoke", "selling_partner_id": value, "region": "eu"})
    assert names.grant_secret_name("na", value) == f"sellertoken/grants/na/{value}"


@pytest.mark.parametrize("value", REFUSED.values(), ids=REFUSED.keys())
def test_every_other_form_is_refused_by_the_vend_and_ops_payloads_and_never_names_a_secret(value):
    assert not names.is_selling_partner_id(value)
    with pytest.raises(InvalidRequest, match=r"a seller's id .* or a vendor's"):
        vending.parse_request({"selling_partner_id": value, "region": "na"})
    with pytest.raises(InvalidRequest, match=r"a seller's id .* or a vendor's"):
        operations.parse_request({"operation": "revoke", "selling_partner_id": value, "region": "na"})
    with pytest.raises(ValueError):
        names.grant_secret_name("na", value)


@pytest.mark.parametrize("value", [*ACCEPTED.values(), *REFUSED.values()])
def test_the_client_library_judges_every_id_as_the_broker_does(value):
    assert client_names.is_selling_partner_id(value) is names.is_selling_partner_id(value)


class NeverInvoked:
    def invoke(self, **_):
        raise AssertionError("a malformed id must be refused before the vend function is invoked")


@pytest.mark.parametrize("value", ["12345678", "amzn1.vg.", "A3FHEXAMPLEYWS/x"])
def test_the_client_refuses_a_malformed_id_before_invoking_the_broker(value):
    broker = TokenBroker(names.function_name("vend"), lambda_client=NeverInvoked())

    with pytest.raises(ClientInvalidRequest, match="vendor's"):
        broker.get_access_token(value, "na")
    with pytest.raises(ClientInvalidRequest, match="vendor's"):
        broker.get_restricted_data_token(value, "na", [{"method": "GET", "path": "/orders/v0/orders"}])


@pytest.mark.parametrize("command", [["vend"], ["rdt", "--resource", "GET:/orders/v0/orders"]])
def test_the_cli_exits_with_invalid_request_for_a_malformed_id_without_a_broker(command, tmp_path, capsys):
    missing = tmp_path / "no-endpoints.json"  # no broker at all: the id is judged first

    status = cli.main([command[0], "amzn1.vg.x", "--region", "na", "--endpoints", str(missing), *command[1:]])

    assert status == cli.EXIT_CODES["InvalidRequest"]
    assert "InvalidRequest" in capsys.readouterr().err


def test_the_simulator_issues_ids_the_broker_accepts_and_knows_a_vendor_by_its_id():
    sellers = {new_selling_partner_id() for _ in range(50)}
    vendors = {new_vendor_id() for _ in range(50)}

    assert all(names.is_selling_partner_id(i) for i in sellers | vendors)
    assert {account_type_of(i) for i in sellers} == {"seller"}
    assert {account_type_of(i) for i in vendors} == {"vendor"}
