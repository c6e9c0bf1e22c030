"""The state file is what the real CLI's file backend reads and `pulumi stack import` accepts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from devtools.engine.secrets import PassphraseSecretsManager
from devtools.engine.state import (
    PULUMI_VERSION,
    SECRET_SIG,
    SIG_KEY,
    ResourceState,
    StateStore,
    deployment_json,
    resources_from_deployment,
    wrap_secret,
)

CLI_SALT = "v1:fozI5u6B030=:v1:F+6ZduKKd8G0/V7L:PGMFeIzwobWRKmEAzUdaQHqC5mMRIQ=="  # passphrase "password"


def _manager() -> PassphraseSecretsManager:
    return PassphraseSecretsManager.from_state("password", CLI_SALT)


def test_secret_properties_are_saved_as_ciphertext_of_their_json_value() -> None:
    manager = _manager()
    res = ResourceState(
        urn="urn:pulumi:dev::p::t::r", type="t", custom=True, id="1",
        inputs={"plain": "x", "token": wrap_secret("tok"), "nested": {"obj": wrap_secret({"a": 1})}},
    )  # fmt: skip
    doc = res.to_json(manager)
    token = doc["inputs"]["token"]
    assert set(token) == {SIG_KEY, "ciphertext"} and token[SIG_KEY] == SECRET_SIG
    # pkg/resource/stack/secrets.go: the ciphertext is the encrypted JSON encoding of the value.
    assert json.loads(manager.decrypt(token["ciphertext"])) == "tok"
    assert json.loads(manager.decrypt(doc["inputs"]["nested"]["obj"]["ciphertext"])) == {"a": 1}
    assert doc["inputs"]["plain"] == "x"
    assert ResourceState.from_json(doc, manager).inputs == res.inputs


def test_deployment_has_the_v3_manifest_and_passphrase_secrets_provider() -> None:
    manager = _manager()
    res = ResourceState(
        urn="urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev", type="pulumi:pulumi:Stack", custom=False
    )
    deployment = deployment_json([res], manager, None)
    assert deployment["manifest"]["version"] == PULUMI_VERSION
    assert deployment["manifest"]["magic"] == hashlib.sha256(PULUMI_VERSION.encode()).hexdigest()
    assert deployment["secrets_providers"] == {"type": "passphrase", "state": {"salt": CLI_SALT}}
    assert resources_from_deployment(deployment, manager)[0].urn == res.urn


def test_file_backend_layout_and_export_import(tmp_path: Path) -> None:
    store = StateStore(tmp_path, "proj", "dev")
    deployment = deployment_json([], _manager(), None)
    store.write_deployment(deployment)
    path = tmp_path / ".pulumi" / "stacks" / "proj" / "dev.json"
    doc = json.loads(path.read_text())
    assert doc["version"] == 3 and doc["checkpoint"]["stack"] == "organization/proj/dev"
    assert doc["checkpoint"]["latest"] == deployment
    # meta.yaml version 1 marks the project-scoped stack layout the current CLI reads.
    assert (tmp_path / ".pulumi" / "meta.yaml").read_text() == "version: 1\n"
    exported = store.export()
    assert exported == {"version": 3, "deployment": deployment}
    other = StateStore(tmp_path / "other", "proj", "dev")
    other.import_(exported)
    assert other.export() == exported


def test_outputs_stay_secret_where_the_inputs_were_even_nested() -> None:
    from devtools.engine.state import annotate_secrets

    inputs = {
        "token": wrap_secret("t"),
        "creds": {"user": "u", "pw": wrap_secret("p")},
        "list": [wrap_secret(1), 2],
    }
    outputs = {"token": "t", "creds": {"user": "u", "pw": "p", "extra": "e"}, "list": [1, 2], "id": "x"}
    assert annotate_secrets(outputs, inputs) == {
        "token": wrap_secret("t"),
        "creds": {"user": "u", "pw": wrap_secret("p"), "extra": "e"},
        "list": [wrap_secret(1), 2],
        "id": "x",
    }


def test_without_state_dir_a_file_backend_url_is_used(tmp_path: Path, monkeypatch) -> None:
    from devtools.engine.cli import default_state_dir

    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{tmp_path}/backend")
    assert default_state_dir(tmp_path / "proj") == tmp_path / "backend"
    monkeypatch.setenv("PULUMI_BACKEND_URL", "https://api.pulumi.com")
    assert default_state_dir(tmp_path / "proj") == tmp_path / "proj"
