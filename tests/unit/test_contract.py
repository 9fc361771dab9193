"""The vend contract is defined once (lambdas/sellertoken/errors.py); everything that repeats it agrees:
Lambda's wire names, the client library's classes, the CLI's exit codes and the README's table."""

from __future__ import annotations

import pytest

from sellertoken import errors
from sellertoken.errors import CONTRACT, BrokerFault, ConfigurationError, InvalidGrant, LwaError, closed, echo
from sellertoken_client import cli
from sellertoken_client import errors as client
from tests import doc_tables

REGENERATE = "regenerate with `PYTHONPATH=lambdas .venv/bin/python -m tests.doc_tables`"


def test_each_contract_class_is_named_after_its_wire_name():
    # Lambda reports type(error).__name__ as errorType: the class name is what callers see
    assert [cls.__name__ for cls in CONTRACT] == [cls.error_type for cls in CONTRACT]


def test_each_contract_error_says_what_it_means_and_what_to_do_with_its_own_exit_code():
    assert all(cls.meaning and cls.action and isinstance(cls.retryable, bool) for cls in CONTRACT)
    codes = [cls.exit_code for cls in CONTRACT]
    assert len(set(codes)) == len(codes) and not {cli.EXIT_FAILURE, cli.EXIT_USAGE, 0} & set(codes)


def test_the_client_has_one_class_per_error_type_with_the_same_retryability():
    assert set(client.BROKER_ERRORS) == {cls.error_type for cls in CONTRACT}
    for cls in CONTRACT:
        mirrored = client.BROKER_ERRORS[cls.error_type]
        assert mirrored.__name__ == cls.error_type and issubclass(mirrored, client.SellerTokenError)
        assert mirrored.retryable is cls.retryable, cls.error_type


def test_the_client_raises_each_error_type_as_its_own_class():
    for cls in CONTRACT:
        raised = client.from_function_error({"errorType": cls.error_type, "errorMessage": "m"})
        assert type(raised) is client.BROKER_ERRORS[cls.error_type] and raised.error_type == cls.error_type


def test_the_cli_exits_with_each_error_types_code():
    assert cli.EXIT_CODES == {cls.error_type: cls.exit_code for cls in CONTRACT}


def test_the_readme_table_is_the_contract():
    shown = doc_tables.section(doc_tables.README.read_text(), "errortypes")

    assert shown == doc_tables.errortype_table(), REGENERATE


@pytest.mark.parametrize(
    ("error", "wire"),
    [
        (LwaError("access_denied", 400), "BrokerFault"),
        (InvalidGrant(), "BrokerFault"),
        (ConfigurationError("SELLERTOKEN_TABLE_NAME", "is required and not set"), "BrokerFault"),
        (KeyError("Atza|a-token-in-a-bug"), "BrokerFault"),
        (errors.UpstreamUnavailable("LWA answered 503"), "UpstreamUnavailable"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else value,
)
def test_any_failure_is_closed_into_exactly_one_contract_class(error, wire):
    failure = closed(error)

    assert type(failure).__name__ == wire and type(failure) in CONTRACT


def test_a_bug_becomes_a_broker_fault_naming_only_its_type():
    failure = closed(KeyError("Atza|a-token-in-a-bug"))

    assert isinstance(failure, BrokerFault) and str(failure) == "internal error (KeyError)"


def test_a_misconfiguration_names_the_variable():
    failure = closed(ConfigurationError("SELLERTOKEN_TABLE_NAME", "is required and not set"))

    assert "SELLERTOKEN_TABLE_NAME" in str(failure)


def test_outside_text_is_echoed_bounded_and_printable():
    assert echo("field") == "field"
    assert echo("a\x00b\x7fc\n") == "a?b?c?"
    shown = echo("x" * 1_000_000)
    assert len(shown) == errors.MAX_ECHO and shown.endswith("...")
