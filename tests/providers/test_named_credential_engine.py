"""Replace, in-place update and bad input of the metadata providers through the real pulumi CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.artifact_inputs import AIRCALL_TOKEN, oauth_chain
from tests.support.resource_program import Stack, changed_ops


def test_rename_replaces_delete_first_label_updates_in_place_and_bad_input_writes_nothing(
    org: Any, tmp_path: Path
) -> None:
    stack = Stack(org, tmp_path)
    consumer, auth, _app, aircall, _eci = oauth_chain(org)
    stack.resources = [consumer, auth, aircall]
    stack.secrets = {"aircallToken": AIRCALL_TOKEN}
    stack.up()

    # Renaming the credential replaces it (delete first: Salesforce names are unique); a label is in place.
    aircall["inputs"] = {**aircall["inputs"], "full_name": "Aircall_v2"}
    auth["inputs"] = {**auth["inputs"], "friendly_name": "ECI Auth Provider (Aircall)"}
    org.reset_calls()
    result = stack.up()
    assert changed_ops(result) == {"aircall": "replace", "auth": "update"}
    mdapi = org.mdapi()
    assert mdapi.NamedCredential.read("Aircall").fullName is None
    assert mdapi.NamedCredential.read("Aircall_v2").endpoint == "https://api.aircall.io/"
    assert mdapi.AuthProvider.read("ECI_Auth_Provider").friendlyName == "ECI Auth Provider (Aircall)"
    assert org.calls()["writes_by_operation"] == {
        "metadata.deleteMetadata": 1,
        "metadata.createMetadata": 1,
        "metadata.updateMetadata": 1,
    }

    # A malformed endpoint is caught by check: the error names the property, nothing is called.
    aircall["inputs"] = {**aircall["inputs"], "endpoint": "api.aircall.io"}
    org.reset_calls()
    failed = stack.up(check=False)
    assert failed.returncode != 0
    assert "endpoint" in failed.stdout + failed.stderr
    assert AIRCALL_TOKEN not in failed.stdout + failed.stderr
    assert org.calls()["writes"] == 0
