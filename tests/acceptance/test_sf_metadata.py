"""The Salesforce CLI's Metadata workflows after our `up` (the demo stack through the real pulumi CLI):
list metadata / metadata-types, retrieve of every component the stack made (each file read with the
providers' own mapping and compared with what the stack configured), deploy --dry-run and a real deploy, then
`refresh` reporting the deployed change as drift.

The CLI is an independent reader: jsforce's SOAP client and source-deploy-retrieve's file conversion, neither
of which this project wrote. A setting it retrieves differently from what our providers read back is a bug in
the emulator or in a provider.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from devtools.pulumi_cli.api import stack_export
from devtools.sf_emulator.client import EmulatorHandle
from providers.auth_provider import AuthProviderProvider
from providers.connected_app import ConnectedAppProvider
from providers.custom_site import CustomSiteProvider
from providers.kit import MetadataProvider
from providers.named_credential import NamedCredentialProvider
from salesforce.client import _plain, metadata_wsdl_client
from tests.support import REPO
from tests.support.demo_stack import STACK, engine
from tests.support.sf_cli import Sf

MD = "http://soap.sforce.com/2006/04/metadata"
PROVIDERS: dict[str, MetadataProvider] = {
    p.kind: p
    for p in (ConnectedAppProvider(), AuthProviderProvider(), NamedCredentialProvider(), CustomSiteProvider())
}
# Source-format folders and suffixes (source-deploy-retrieve's registry) of the types the stack makes.
SOURCE_PATHS = {
    "ConnectedApp": "connectedApps/{}.connectedApp-meta.xml",
    "AuthProvider": "authproviders/{}.authprovider-meta.xml",
    "NamedCredential": "namedCredentials/{}.namedCredential-meta.xml",
    "CustomSite": "sites/{}.site-meta.xml",
}
SFDX_PROJECT = {"packageDirectories": [{"path": "force-app", "default": True}], "sourceApiVersion": "63.0"}


@dataclass
class Stack:
    org: EmulatorHandle
    state: Path
    # (metadata type, fullName) -> the resource's outputs in the state: what the stack configured
    components: dict[tuple[str, str], dict[str, Any]]
    project: Path


def _project(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "force-app").mkdir()
    (root / "sfdx-project.json").write_text(json.dumps(SFDX_PROJECT))
    return root


@pytest.fixture(scope="module")
def stack(sf: Sf, sf_org: EmulatorHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    state = tmp_path_factory.mktemp("stack-state")
    engine("up", sf_org, state)
    resources = stack_export(stack=STACK, cwd=REPO, state_dir=state)["deployment"]["resources"]
    components = {}
    for r in resources:
        kind = r["type"].rsplit(":", 1)[-1]
        if kind in PROVIDERS:
            components[(kind, r["id"])] = r["outputs"]
    sf.login("emu")
    yield Stack(sf_org, state, components, _project(tmp_path_factory.mktemp("sf-project") / "p"))


def test_the_stack_made_the_components_this_module_checks(stack: Stack) -> None:
    assert sorted(stack.components) == [
        ("AuthProvider", "ECI_Auth_Provider"),
        ("ConnectedApp", "ECI_Connected_App"),
        ("CustomSite", "VoiceConnector"),
        ("NamedCredential", "Aircall"),
        ("NamedCredential", "ECI_Named_Credential"),
    ]


@pytest.mark.parametrize("kind", ["ConnectedApp", "AuthProvider"])
def test_list_metadata_finds_what_up_made(sf: Sf, stack: Stack, kind: str) -> None:
    listed = sf("org", "list", "metadata", "--metadata-type", kind, "--target-org", "emu")["result"]
    made = sorted(name for k, name in stack.components if k == kind)
    assert sorted(item["fullName"] for item in listed) == made
    for item in listed:
        assert item["type"] == kind
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z", item["createdDate"])


def test_list_metadata_types_describes_the_served_types(sf: Sf, stack: Stack) -> None:
    described = sf("org", "list", "metadata-types", "--target-org", "emu")["result"]
    by_name = {o["xmlName"]: o for o in described["metadataObjects"]}
    for kind, path in SOURCE_PATHS.items():
        assert by_name[kind]["directoryName"] == path.split("/")[0]


@pytest.fixture(scope="module")
def retrieved(sf: Sf, stack: Stack) -> dict[str, Any]:
    args = ["project", "retrieve", "start", "--target-org", "emu"]
    for kind, name in sorted(stack.components):
        args += ["--metadata", f"{kind}:{name}"]
    result = sf(*args, cwd=stack.project)["result"]
    assert isinstance(result, dict)
    return result


def test_retrieve_brings_every_component_the_stack_made(retrieved: dict[str, Any], stack: Stack) -> None:
    assert retrieved["success"] is True and retrieved["messages"] == []
    files = {(f["type"], f["fullName"]) for f in retrieved["files"] if f["state"] != "Failed"}
    assert files == set(stack.components)


@pytest.mark.parametrize(
    "kind, name",
    [
        ("ConnectedApp", "ECI_Connected_App"),
        ("AuthProvider", "ECI_Auth_Provider"),
        ("NamedCredential", "Aircall"),
        ("NamedCredential", "ECI_Named_Credential"),
        ("CustomSite", "VoiceConnector"),
    ],
)
def test_each_retrieved_file_says_what_the_stack_configured(
    retrieved: dict[str, Any], stack: Stack, kind: str, name: str
) -> None:
    path = stack.project / "force-app" / "main" / "default" / SOURCE_PATHS[kind].format(name)
    root = etree.fromstring(path.read_bytes())
    assert root.tag == f"{{{MD}}}{kind}"
    # The file read the way our providers read a readMetadata reply: the product's WSDL types, then the
    # provider's own mapping to its input names.
    client = metadata_wsdl_client()
    record = _plain(client.get_type(f"ns0:{kind}").parse_xmlelement(root, client.wsdl.types))
    record["fullName"] = name
    provider = PROVIDERS[kind]
    read = provider.from_salesforce(record)
    configured = stack.components[(kind, name)]
    compared = {
        key: (read[key], configured[key])
        for key in read
        if key in configured and not isinstance(configured[key], dict)  # secrets are encrypted in state
    }
    assert len(compared) >= 3, (read, configured)
    assert {k: a for k, (a, _) in compared.items()} == {k: b for k, (_, b) in compared.items()}


def _site_project(stack: Stack, root: Path, clickjack: str) -> Path:
    project = _project(root)
    source = stack.project / "force-app" / "main" / "default" / "sites" / "VoiceConnector.site-meta.xml"
    target = project / "force-app" / "main" / "default" / "sites"
    target.mkdir(parents=True)
    text = source.read_text()
    assert "<clickjackProtectionLevel>SameOriginOnly<" in text
    (target / source.name).write_text(
        text.replace("<clickjackProtectionLevel>SameOriginOnly<", f"<clickjackProtectionLevel>{clickjack}<")
    )
    return project


def test_deploy_dry_run_then_deploy_then_refresh_reports_the_change_as_drift(
    sf: Sf, stack: Stack, retrieved: dict[str, Any], tmp_path: Path
) -> None:
    project = _site_project(stack, tmp_path / "deploy", "AllowAllFraming")
    md: Any = stack.org.mdapi()

    deploy = ("project", "deploy", "start", "--source-dir", "force-app", "--target-org", "emu")
    checked = sf(*deploy, "--dry-run", cwd=project)["result"]
    assert (checked["success"], checked["checkOnly"], checked["status"]) == (True, True, "Succeeded")
    assert md.CustomSite.read(["VoiceConnector"]).clickjackProtectionLevel == "SameOriginOnly"

    deployed = sf(*deploy, cwd=project)["result"]
    assert (deployed["success"], deployed["checkOnly"], deployed["status"]) == (True, False, "Succeeded")
    assert [(f["type"], f["fullName"]) for f in deployed["files"]] == [("CustomSite", "VoiceConnector")]
    assert md.CustomSite.read(["VoiceConnector"]).clickjackProtectionLevel == "AllowAllFraming"

    refresh = engine("refresh", stack.org, stack.state)
    # "diffs" is what the provider returned (none from a Python dynamic provider); "inputDiff" the keys the
    # CLI displays, from comparing inputs (pulumi/pulumi pkg/backend/display/rows.go getDiffInfo).
    drift = {s["urn"].rsplit("::", 1)[-1]: s["inputDiff"] for s in refresh.data["steps"] if s["op"] != "same"}
    assert drift == {"eci-aircall-site": ["clickjack_protection_level"]}
    shutil.rmtree(project)
