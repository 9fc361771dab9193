"""The `sellertoken` CLI (the installed console script, as a subprocess) against the local stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.e2e.flows import ANSWER_KEYS, authorize_over_http, new_seller

pytestmark = pytest.mark.e2e

CLI = str(Path(sys.executable).with_name("sellertoken"))


@pytest.fixture(scope="module")
def endpoints_file(stack) -> Path:
    return stack.log_path.parent / "endpoints.json"


@pytest.fixture(scope="module")
def seller(stack) -> str:
    return authorize_over_http(stack)


def sellertoken(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_vend_prints_the_token_alone_on_stdout_and_its_expiry_on_stderr(endpoints_file, seller, stack):
    result = sellertoken("vend", seller, "--region", "na", "--endpoints", str(endpoints_file))

    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith("Atza|") and "\n" not in token
    assert "expires 20" in result.stderr and token not in result.stderr
    participations = requests.get(
        f"{stack.amazon}/sellers/v1/marketplaceParticipations", headers={"x-amz-access-token": token}, timeout=10
    )
    assert participations.status_code == 200


def test_vend_json_prints_the_whole_answer(endpoints_file, seller, stack):
    result = sellertoken(
        "vend", seller, "--region", "na", "--min-ttl", "600", "--json", "--endpoints", str(endpoints_file)
    )

    answer = json.loads(result.stdout)
    assert result.returncode == 0 and set(answer) == ANSWER_KEYS
    assert (answer["selling_partner_id"], answer["kind"], answer["endpoint"]) == (seller, "access", stack.amazon)
    assert answer["expires_in"] >= 600


def test_grantless_prints_a_grantless_token(endpoints_file):
    result = sellertoken("grantless", "--scope", "sellingpartnerapi::notifications", "--endpoints", str(endpoints_file))

    assert result.returncode == 0 and result.stdout.startswith("Atc|")


def test_an_unknown_seller_exits_with_grant_not_found(endpoints_file):
    result = sellertoken("vend", new_seller(), "--region", "na", "--endpoints", str(endpoints_file))

    assert result.returncode == 4 and result.stdout == ""
    assert result.stderr.startswith("GrantNotFound: no grant for ")


def test_a_malformed_seller_id_exits_with_invalid_request(endpoints_file):
    result = sellertoken("vend", "not-an-id", "--region", "na", "--endpoints", str(endpoints_file))

    assert result.returncode == 3 and result.stderr.startswith("InvalidRequest: selling_partner_id")


def test_without_a_local_stack_it_says_how_to_start_one(tmp_path):
    result = sellertoken("vend", new_seller(), "--region", "na", cwd=tmp_path)

    assert result.returncode == 2 and "make run" in result.stderr
