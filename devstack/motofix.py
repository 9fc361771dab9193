"""Where moto (5.2.5) differs from AWS in a way the broker's code meets, moto is corrected here.

UpdateSecretVersionStage: moving AWSCURRENT to another version makes that version the one GetSecretValue
returns and the one PutSecretValue demotes to AWSPREVIOUS ("GetSecretValue … by default, Secrets Manager
returns the AWSCURRENT version"; "If you move AWSCURRENT, Secrets Manager automatically moves AWSPREVIOUS
to the version AWSCURRENT was removed from": docs.aws.amazon.com/secretsmanager/latest/apireference).
moto moves the labels but keeps its own notion of the default version where it was, so after a restore it
still returns the replaced value. `apply` keeps the two in step; it is idempotent.
"""

from __future__ import annotations

import functools

from moto.secretsmanager.models import SecretsManagerBackend


def apply() -> None:
    original = SecretsManagerBackend.update_secret_version_stage
    if getattr(original, "_sellertoken_fixed", False):
        return

    @functools.wraps(original)
    def update_secret_version_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id):
        answer = original(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
        if version_stage == "AWSCURRENT" and move_to_version_id:
            self.secrets[secret_id].set_default_version_id(move_to_version_id)
        return answer

    update_secret_version_stage._sellertoken_fixed = True  # type: ignore[attr-defined]
    SecretsManagerBackend.update_secret_version_stage = update_secret_version_stage  # type: ignore[method-assign]
