"""The program under the real engine's refresh rules, through the real pulumi CLI against the org emulator.

The real engine decides each refresh result with the provider's own diff (pulumi/pulumi
pkg/resource/deploy/step.go, RefreshStep.Apply: diffResource(olds = refreshed inputs/outputs, news = the
inputs in state), then ResultOp), and stores the inputs ``read`` returned for the next refresh. A scheduled
drift job runs ``pulumi refresh --expect-no-changes`` again and again: it must stay clean however many times
it runs, while a write-only secret changed in the stack config still shows on the next preview.
"""

from __future__ import annotations

import re
from pathlib import Path

from devtools.sf_emulator.client import EmulatorHandle
from tests.support import REPO
from tests.support.demo_stack import STACK, USERNAME, engine


def _changed(result: object) -> dict[str, str]:
    steps = result.data["steps"]  # type: ignore[attr-defined]
    quiet = ("same", "read", "refresh")
    return {s["urn"].rsplit("::", 1)[-1]: s["op"] for s in steps if s["op"] not in quiet}


def test_any_number_of_refreshes_stay_clean_and_a_changed_secret_still_shows(
    org: EmulatorHandle, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    engine("up", org, state)
    for _ in range(3):
        refreshed = engine("refresh", org, state, expect_no_changes=True, check=False)
        assert refreshed.returncode == 0, _changed(refreshed)
    engine("preview", org, state, expect_no_changes=True)
    # A rotated Aircall API token is a write-only value: the refreshed state holds only its hash, and the
    # providers' diff still tells the new value from it.
    # The key is generated anew in Aircall (Preflight, which now runs in preview, tries the new one).
    org.control("POST", "aircall/key", {"api_token": "rotated-aircall-token"})
    rotated = engine("preview", org, state, overrides={"aircallApiToken": "rotated-aircall-token"})
    assert _changed(rotated) == {
        "eci-aircall-preflight": "update",
        "eci-aircall-aircall-named-credential": "update",
    }


def test_a_refresh_that_finds_the_site_deleted_leaves_a_state_the_cli_imports(
    org: EmulatorHandle, tmp_path: Path
) -> None:
    """An admin deletes the VoiceConnector site in Setup; refresh drops it, and the site guest user (which
    depends on it) no longer refers to it (pkg/engine FilterRefreshDeletes), so the exported deployment
    passes Pulumi's schemas and VerifyIntegrity's reference rules (tests/support/deployment_checks.py)."""
    from devtools.pulumi_cli.api import stack_export
    from tests.support.deployment_checks import assert_importable, integrity_errors

    state = tmp_path / "state"
    engine("up", org, state)
    assert_importable(stack_export(stack=STACK, cwd=REPO, state_dir=state))
    org.mdapi().CustomSite.delete("VoiceConnector")
    refreshed = engine("refresh", org, state, check=False)
    assert _changed(refreshed).get("eci-aircall-site") == "delete"
    exported = stack_export(stack=STACK, cwd=REPO, state_dir=state)
    assert not any(r["urn"].endswith("::eci-aircall-site") for r in exported["deployment"]["resources"])
    assert integrity_errors(exported) == []
    assert_importable(exported)


def test_preview_refresh_is_a_drift_alarm_that_does_not_clear_itself(
    org: EmulatorHandle, tmp_path: Path
) -> None:
    """`refresh --expect-no-changes` fails once for a drift, then stores it as the baseline; the scheduled
    check (`preview --refresh --expect-no-changes`, and tools/status.py on it) compares the org with the
    program and fails on every run, a refresh in between included, until `up` puts the org back."""
    state = tmp_path / "state"
    engine("up", org, state)
    nc = org.mdapi().NamedCredential.read(["Aircall"])
    nc.endpoint = "https://drifted.example.com/"
    org.mdapi().NamedCredential.update(nc)
    check = ["--refresh"]
    for _ in range(2):
        alarm = engine("preview", org, state, extra_args=check, expect_no_changes=True, check=False)
        assert alarm.returncode != 0 and _changed(alarm) == {"eci-aircall-aircall-named-credential": "update"}
    assert engine("refresh", org, state, expect_no_changes=True, check=False).returncode != 0
    assert engine("refresh", org, state, expect_no_changes=True, check=False).returncode == 0  # the edge
    alarm = engine("preview", org, state, extra_args=check, expect_no_changes=True, check=False)
    assert alarm.returncode != 0  # the level
    engine("up", org, state)
    assert (
        engine("preview", org, state, extra_args=check, expect_no_changes=True, check=False).returncode == 0
    )


_HEADER = re.compile(r"pulumi-python:dynamic/eci-aircall:\w+: \((\w[\w-]*)\)")
_CHANGED = re.compile(r"^\s*~ (\w+)\s*: (.*) => (.*)$")


def _diffs(text: str) -> dict[str, tuple[str, dict[str, tuple[str, str]]]]:
    """`preview --diff` as {resource: (op, {field: (old, new)})} for each step that is not a refresh."""
    found: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {}
    op, name = "", ""
    for line in text.splitlines():
        header = _HEADER.search(line)
        if header:
            op, name = header.group(1), ""
            continue
        if op and op != "refresh" and not name and "[urn=" in line:
            name = line.strip().rstrip("]").rsplit("::", 1)[-1]
            found[name] = (op, {})
        elif name and (changed := _CHANGED.match(line)):
            found[name][1][changed.group(1)] = (changed.group(2), changed.group(3))
    return found


def test_preview_diff_shows_each_drifted_field_old_to_new_and_no_unchanged_secret(
    org: EmulatorHandle, tmp_path: Path
) -> None:
    """One drift per artifact type, made in Setup; `pulumi preview --refresh --diff` names each field with its
    value in the org and the program's, and shows an unchanged secret as unchanged. A rotated secret shows
    as `[secret]`, its value nowhere."""
    state = tmp_path / "state"
    engine("up", org, state)
    md, sf = org.mdapi(), org.sf()
    nc = md.NamedCredential.read(["Aircall"])
    nc.endpoint = "https://drifted.example.com/"
    md.NamedCredential.update(nc)
    provider = md.AuthProvider.read(["ECI_Auth_Provider"])
    provider.friendlyName = "Edited in Setup"
    md.AuthProvider.update(provider)
    app = md.ConnectedApp.read(["ECI_Connected_App"])
    app.contactEmail = "edited@example.com"
    md.ConnectedApp.update(app)
    site = md.CustomSite.read(["VoiceConnector"])
    site.clickjackProtectionLevel = "AllowAllFraming"
    md.CustomSite.update(site)
    user_id = sf.query(f"SELECT Id FROM User WHERE Username = '{USERNAME}'")["records"][0]["Id"]
    sf.User.update(user_id, {"TimeZoneSidKey": "Europe/Paris"})
    assignment = sf.query(
        "SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = "
        f"'{user_id}' AND PermissionSet.Label = 'Conversation Insights Integration User'"
    )["records"][0]["Id"]
    sf.PermissionSetAssignment.delete(assignment)

    preview = engine("preview", org, state, extra_args=["--refresh", "--diff"], json_output=False)
    program_url = f"{org.instance_url}/aircall/"
    assert _diffs(preview.stdout) == {
        "eci-aircall-integration-user": (
            "update",
            {"time_zone": ('"Europe/Paris"', '"America/Los_Angeles"')},
        ),
        "eci-aircall-aircall-named-credential": (
            "update",
            {"endpoint": ('"https://drifted.example.com/"', f'"{program_url}"')},
        ),
        "eci-aircall-auth-provider": (
            "update",
            {"friendly_name": ('"Edited in Setup"', '"ECI Auth Provider"')},
        ),
        # The auth provider is updated too, so in a preview its callback URL is not known yet: a Python
        # dynamic provider cannot call it stable (pulumi/dynamic/__main__.py, Diff sends no `stables`).
        "eci-aircall-oauth-app": (
            "update",
            {
                "contact_email": ('"edited@example.com"', '"admin@demo.example"'),
                "callback_url": (
                    f'"{org.instance_url}/services/authcallback/ECI_Auth_Provider"',
                    "[unknown]",
                ),
            },
        ),
        "eci-aircall-site": (
            "update",
            {"clickjack_protection_level": ('"AllowAllFraming"', '"SameOriginOnly"')},
        ),
        "eci-aircall-user-ci-integration-user": ("create", {}),
    }
    assert re.search(r"^\s+password\s+: \[secret\]$", preview.stdout, re.M)  # there, unchanged

    engine("up", org, state)
    rotated = "rotated-aircall-token-5e1f"
    org.control("POST", "aircall/key", {"api_token": rotated})  # generated anew in Aircall
    preview = engine(
        "preview",
        org,
        state,
        extra_args=["--diff"],
        json_output=False,
        overrides={"aircallApiToken": rotated},
    )
    changed = _diffs(preview.stdout)
    # The CLI masks both values before it compares them, so the rotated secret is the update's only
    # difference and shows as `[secret]` without a change mark (pulumi/pulumi pkg/backend/display).
    assert changed["eci-aircall-aircall-named-credential"] == ("update", {})
    section = preview.stdout.split("NamedCredential: (update)", 1)[1].split("(update)", 1)[0]
    assert re.search(r"^\s+password\s+: \[secret\]$", section, re.M)
    assert rotated not in preview.stdout + preview.stderr
