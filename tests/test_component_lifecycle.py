"""The acceptance lifecycle kit (tests/support/lifecycle.py) over the whole program (`__main__.py` →
EciAircallIntegration),
against the org emulator: sharedEci = create, adopt (shared artifacts seeded first through the ordinary APIs,
as another voice connector's setup would have left them) and skip, and an org that blocks connected apps,
configured with an external client app.

The kit's "remove a resource" step needs a config edit that only deletes; in this program every removal
(sharedEci → skip) also updates Preflight (it is told to check the shared artifacts instead), so that step is
proven separately in `test_switching_to_skip_deletes_exactly_the_shared_artifacts`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from devtools.sf_emulator.client import EmulatorHandle
from tests.support import REPO
from tests.support.component_graph import SHARED
from tests.support.demo_stack import NS, STACK, engine, stack_config
from tests.support.lifecycle import CliRunner, Lifecycle
from tests.support.org_snapshot import org_restored, org_snapshot
from tests.support.seeds import seed_shared_eci

SHARED_NAMES = {f"eci-aircall-{name}" for name in SHARED}


def lifecycle(org: EmulatorHandle, tmp_path: Path, **overrides: str) -> Lifecycle:
    config, secrets = stack_config(org, **overrides)
    shared = overrides.get("sharedEci", "create") != "skip"
    return Lifecycle(
        runner=CliRunner(REPO, STACK, tmp_path / "state"),
        config=config,
        secrets=secrets,
        secret_values=[org.access_token, org.aircall_api_token],
        # A new contact email and Aircall endpoint: in-place updates of exactly the artifacts that carry them
        # (the integration user has its own email in the demo stack file, so it stays the same).
        change_config={
            f"{NS}:contactEmail": "ops@demo.example",
            f"{NS}:aircallEndpoint": "https://api.eu.aircall.io/",
        },
        expected_change_ops={
            "eci-aircall-aircall-named-credential": "update",
            **({"eci-aircall-oauth-app": "update", "eci-aircall-site": "update"} if shared else {}),
        },
        remove_config={},
        expected_removed=set(),
        snapshot=lambda: org_snapshot(org),
        org_restored=org_restored,
    )


def _report(label: str, timings: dict[str, float]) -> None:
    print(f"\n{label}: " + ", ".join(f"{k}={v:.1f}s" for k, v in timings.items()))


def test_lifecycle_shared_eci_create(org: EmulatorHandle, tmp_path: Path) -> None:
    _report("lifecycle create", lifecycle(org, tmp_path).run())


def test_lifecycle_shared_eci_adopt_keeps_the_shared_artifacts(org: EmulatorHandle, tmp_path: Path) -> None:
    seed_shared_eci(org)
    seeded = org_snapshot(org)
    kit = lifecycle(org, tmp_path, sharedEci="adopt")
    _report("lifecycle adopt", kit.run())
    # org_restored compared every artifact list: the seeded shared ones are still there after destroy.
    after = org_snapshot(org)
    for key in ("connected_apps", "auth_providers", "named_credentials", "sites"):
        assert after[key] == seeded[key] and after[key]


def test_lifecycle_shared_eci_skip(org: EmulatorHandle, tmp_path: Path) -> None:
    seed_shared_eci(org)
    _report("lifecycle skip", lifecycle(org, tmp_path, sharedEci="skip").run())


def test_lifecycle_external_client_app_where_connected_apps_are_blocked(
    org: EmulatorHandle, tmp_path: Path
) -> None:
    org.settings(connected_app_creation_allowed=False)
    try:
        kit = lifecycle(org, tmp_path, oauthAppKind="externalClientApp")
        _report("lifecycle externalClientApp", kit.run())
    finally:
        org.settings(connected_app_creation_allowed=True)


def test_connected_app_path_in_a_blocked_org_names_the_option_and_switching_converges(
    org: EmulatorHandle, tmp_path: Path
) -> None:
    org.settings(connected_app_creation_allowed=False)
    try:
        failed = engine("up", org, tmp_path, check=False)
        assert failed.returncode != 0
        assert "eci-aircall:oauthAppKind" in failed.stdout + failed.stderr
        # The way forward the message gives: switch to an external client app; what the failed run created
        # is kept in state and the next up completes the setup.
        engine("up", org, tmp_path, overrides={"oauthAppKind": "externalClientApp"})
        engine(
            "preview", org, tmp_path, overrides={"oauthAppKind": "externalClientApp"}, expect_no_changes=True
        )
    finally:
        org.settings(connected_app_creation_allowed=True)
    snap = org_snapshot(org)
    assert snap["connected_apps"] == [] and snap["external_client_apps"] == ["ECI_Connected_App"]


def test_switching_to_skip_deletes_exactly_the_shared_artifacts(org: EmulatorHandle, tmp_path: Path) -> None:
    state = tmp_path / "state"
    engine("up", org, state)
    started = time.monotonic()
    result = engine("up", org, state, overrides={"sharedEci": "skip"})
    ops = {s["urn"].rsplit("::", 1)[-1]: s["op"] for s in result.data["steps"] if s["op"] != "same"}
    assert ops == {**dict.fromkeys(SHARED_NAMES, "delete"), "eci-aircall-preflight": "update"}, (
        f"{time.monotonic() - started:.1f}s"
    )
    snap = org_snapshot(org)
    assert snap["connected_apps"] == [] and snap["sites"] == [] and snap["auth_providers"] == []


def test_adopted_artifacts_show_drift_on_refresh_and_survive_destroy(
    org: EmulatorHandle, tmp_path: Path
) -> None:
    seed_shared_eci(org)
    state = tmp_path / "state"
    up = engine("up", org, state, overrides={"sharedEci": "adopt"})
    assert up.returncode == 0
    md = org.mdapi()
    site: Any = md.CustomSite.read(["VoiceConnector"])
    site.clickjackProtectionLevel = "AllowAllFraming"  # an admin, in Setup
    md.CustomSite.update(site)

    refresh = engine("refresh", org, state, overrides={"sharedEci": "adopt"})
    drift = {s["urn"].rsplit("::", 1)[-1]: s["inputDiff"] for s in refresh.data["steps"] if s["op"] != "same"}
    assert drift == {"eci-aircall-site": ["clickjack_protection_level"]}
    engine("up", org, state, overrides={"sharedEci": "adopt"})
    restored: Any = md.CustomSite.read(["VoiceConnector"])
    assert restored.clickjackProtectionLevel == "SameOriginOnly"

    engine("destroy", org, state, overrides={"sharedEci": "adopt"})
    kept = org_snapshot(org)
    assert kept["sites"] == [("VoiceConnector",)] and kept["connected_apps"] == [("ECI Connected App",)]
    assert kept["auth_providers"] == [("ECI_Auth_Provider",)]
    assert [n for (n, _) in kept["named_credentials"]] == ["ECI_Named_Credential"]


def test_skip_in_an_org_without_the_shared_artifacts_fails_before_writing(
    org: EmulatorHandle, tmp_path: Path
) -> None:
    org.reset_calls()
    result = engine("up", org, tmp_path, overrides={"sharedEci": "skip"}, check=False)
    assert result.returncode != 0
    text = result.stdout + result.stderr
    assert "eci-aircall:sharedEci is 'skip' but these shared ECI artifacts do not exist" in text
    assert "guide: Add ECI as an Authorized Provider" in text
    assert org.calls()["writes"] == 0
