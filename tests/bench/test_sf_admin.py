"""The admin's `sf` script that `make bench` runs beside `pulumi up` (devtools/bench/sf_admin.py, compare.py).

End to end, once, at 0 ms: `pulumi up` on an empty emulator org, the admin's source taken from it, the org
reset, the `sf` script (the pinned Salesforce CLI), its re-run, the demo's change in Setup and both drift
checks. If this passes, the side-by-side figures compare the same end state: the sf drift check's diff
against its own deployed source shows exactly the change made in Setup, nothing the two tools set up
differently. And the diff itself, on made-up files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devtools import sf_cli
from devtools.bench import compare, sf_admin, targets
from providers import guide

pytestmark = pytest.mark.timeout(600)

NS = "http://soap.sforce.com/2006/04/metadata"


@pytest.fixture(scope="module")
def side_by_side(tmp_path_factory: pytest.TempPathFactory) -> compare.Comparison:
    if not sf_cli.installed():
        pytest.fail(sf_cli.MISSING + " (make test does)", pytrace=False)
    root = tmp_path_factory.mktemp("compare")
    return compare.run_comparison(
        targets.program("create"), root, latency_ms=0, rounds=1, progress=lambda _: None
    )


def test_the_sf_script_sets_up_the_org_with_seven_commands_and_two_deploys(
    side_by_side: compare.Comparison,
) -> None:
    assert side_by_side.error == ""
    (r,) = side_by_side.rounds
    assert r.up.returncode == 0 and r.sf_setup.ok, r.sf_setup.error
    assert [c.args for c in r.sf_setup.commands] == [
        "data query --query",
        "data create record",
        "org assign permset",
        "project deploy start",
        "project deploy start",
        "data query --query",
        "org assign permset",
    ]
    ops = r.sf_setup.salesforce_by_operation
    assert ops["metadata.deploy"] == 2 and ops["rest.sobject.create"] == 5  # the user + 4 assignments


def test_a_rerun_of_the_sf_script_stops_at_the_user_while_pulumi_makes_no_call(
    side_by_side: compare.Comparison,
) -> None:
    (r,) = side_by_side.rounds
    assert r.noop.returncode == 0 and r.noop.salesforce_calls == 0
    assert r.sf_rerun.failed_at == "data create record" and r.sf_rerun.error.startswith("DUPLICATE_USERNAME")


def test_both_drift_checks_see_exactly_the_change_made_in_setup(side_by_side: compare.Comparison) -> None:
    (r,) = side_by_side.rounds
    assert compare.pulumi_drift_seen(r.refresh) == ["eci-aircall-site: clickjack_protection_level"]
    seen = r.sf_drift.seen
    # The same end state: nothing but the change differs between the org and the source sf deployed.
    assert seen["metadata_changed"] == [
        f"CustomSite {guide.SITE_NAME}: clickjackProtectionLevel {guide.SITE_CLICKJACK_PROTECTION} -> "
        "AllowAllFraming"
    ]
    assert seen["user_changed"] == [] and seen["assignments_missing"] == []
    assert seen["write_only_not_retrieved"] == [
        f"AuthProvider {guide.AUTH_PROVIDER_NAME}: consumerSecret",
        f"ConnectedApp {guide.CONNECTED_APP_NAME}: oauthConfig/consumerSecret",
        f"NamedCredential {guide.AIRCALL_NAMED_CREDENTIAL}: password",
    ]


def _project(root: Path, site: str, password: str | None) -> Path:
    project = sf_admin.new_project(root)
    files = {
        "sites/VoiceConnector.site-meta.xml": f"<CustomSite xmlns='{NS}'>{site}</CustomSite>",
        "namedCredentials/Aircall.namedCredential-meta.xml": f"<NamedCredential xmlns='{NS}'>"
        + (f"<password>{password}</password>" if password else "")
        + "<principalType>NamedUser</principalType></NamedCredential>",
    }
    for kind, name in sf_admin.COMPONENTS:
        if kind not in ("CustomSite",) and name != guide.AIRCALL_NAMED_CREDENTIAL:
            files[f"{kind}/{name}.x-meta.xml"] = f"<{kind} xmlns='{NS}'><label>{name}</label></{kind}>"
    for rel, text in files.items():
        path = project / "force-app" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return project


def test_the_diff_names_changed_values_and_keeps_write_only_secrets_apart(tmp_path: Path) -> None:
    deployed = _project(tmp_path / "a", "<active>true</active><indexPage>SiteLogin</indexPage>", "s3cret")
    retrieved = _project(tmp_path / "b", "<active>false</active><indexPage>SiteLogin</indexPage>", None)
    source = sf_admin.AdminSource(
        project=deployed,
        user={"Username": "u@x.example", "Email": "u@x.example"},
        profile="System Administrator",
        user_permission_sets=("A", "B"),
        guest_permission_sets=("C",),
        callback_url="https://x/services/authcallback/ECI_Auth_Provider",
    )
    got: dict[str, Any] = {
        "user": [
            {"Username": "u@x.example", "Email": "other@x.example", "IsActive": True,
             "Profile": {"Name": "System Administrator"}}
        ],
        "assignments": [
            {"Assignee": {"Username": "U@x.example"}, "PermissionSet": {"Name": "A"}},
            {"Assignee": {"Username": "guest@x.example"}, "PermissionSet": {"Name": "C"}},
        ],
    }  # fmt: skip
    seen = sf_admin.compare(source, deployed, retrieved, got, "guest@x.example")
    assert seen["metadata_changed"] == [f"CustomSite {guide.SITE_NAME}: active true -> false"]
    assert seen["write_only_not_retrieved"] == [f"NamedCredential {guide.AIRCALL_NAMED_CREDENTIAL}: password"]
    assert seen["user_changed"] == ["User.Email: u@x.example -> other@x.example"]
    assert seen["assignments_missing"] == ["integration user: B"]
    assert seen["drift_seen"] is True
    fixed = {
        "user": [{**got["user"][0], "Email": "u@x.example"}],
        "assignments": [
            *got["assignments"],
            {"Assignee": {"Username": "u@x.example"}, "PermissionSet": {"Name": "B"}},
        ],
    }
    same = sf_admin.compare(source, deployed, deployed, fixed, "guest@x.example")
    assert same["drift_seen"] is False and same["write_only_not_retrieved"] == []
