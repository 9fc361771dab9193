"""A seller whose grant secret was deleted (within Secrets Manager's recovery window) authorizes again: the
grant is restored with the new refresh token, never created twice and never lost."""

from __future__ import annotations

from sellertoken import names


def test_a_consent_restores_a_grant_deleted_within_its_recovery_window(authorize, aws):
    seller = authorize()
    name = names.grant_secret_name("na", seller)
    old_token = aws.grant("na", seller)[0]["refresh_token"]
    aws.clients["secretsmanager"].delete_secret(SecretId=name, RecoveryWindowInDays=7)

    authorize(seller=seller)

    value, tags = aws.grant("na", seller)
    described = aws.clients["secretsmanager"].describe_secret(SecretId=name)
    assert "DeletedDate" not in described and tags[names.TAG_STATUS] == names.STATUS_ACTIVE
    assert value["refresh_token"] not in ("", old_token)
    assert aws.grant_names().count(name) == 1
