"""Shared pieces of the reliability matrices (issue 7, tests/reliability): the program's demo stack run
through the real CLI against the emulator, the artifact table the fault matrix is parametrised from, artifact
counting (duplicates), a provider killed mid-`up`, and the matrix recorder that tests/reliability/conftest.py
prints at the end of the session."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.pulumi_cli.api import CliResult, finish, run, stack_export, start
from devtools.sf_emulator.client import EmulatorHandle
from tests.support import REPO
from tests.support.demo_stack import NS, STACK
from tests.support.processes import descendants

# Retries back off in milliseconds here (production: 1 s base, providers/salesforce.py retry_base_seconds).
FAST_RETRIES = {"ECI_RETRY_BASE_SECONDS": "0.01"}

# The component's resource names (URN tails), one per artifact the stack creates.
PREFLIGHT = "eci-aircall-preflight"
USER = "eci-aircall-integration-user"
USER_ECI_ACCESS = "eci-aircall-user-eci-access"
USER_CI = "eci-aircall-user-ci-integration-user"
AIRCALL_NC = "eci-aircall-aircall-named-credential"
CONSUMER = "eci-aircall-oauth-consumer"
AUTH_PROVIDER = "eci-aircall-auth-provider"
OAUTH_APP = "eci-aircall-oauth-app"
SITE = "eci-aircall-site"
ECI_NC = "eci-aircall-eci-named-credential"
GUEST = "eci-aircall-site-guest-user"
GUEST_VC = "eci-aircall-guest-voice-connector"
GUEST_CI = "eci-aircall-guest-ci-integration-user"


@dataclass(frozen=True)
class Target:
    """Where a fault is injected: the emulator operation (glob) and the name it must carry (docs/contracts.md
    §1: Metadata fullName; REST sObject type (+ record Id); SOQL: the FROM object)."""

    operation: str
    name: str | None
    count: int = 1  # how many matching calls it hits (see the User reads below)
    note: str = ""  # shown after the artifact in the matrix


@dataclass(frozen=True)
class Artifact:
    """One artifact type of the guide as the component builds it, and the call of each step a fault hits: the
    write of create/update/delete (where a lost reply could duplicate or lose something), the read of read."""

    label: str  # the provider class (what the matrix prints)
    resource: str  # the component's resource of that type the fault lands on
    steps: dict[str, Target] = field(default_factory=dict)


def _md(name: str) -> dict[str, Target]:
    return {
        "create": Target("metadata.createMetadata", name),
        "read": Target("metadata.readMetadata", name),
        "update": Target("metadata.updateMetadata", name),
        "delete": Target("metadata.deleteMetadata", name),
    }


# Every artifact type the guide has an admin create, with the step calls that matter. Preflight never writes
# (its create is reads only), so its "create" cell hits its first read. OAuthConsumer has no cell: it never
# writes, and its one call (readMetadata ECI_Connected_App, on create) is the same call Preflight makes first,
# so no fault can be aimed at it alone (its faults are exercised by whatever is in flight in the
# non-transient chain of test_fault_matrix).
ARTIFACTS: list[Artifact] = [
    Artifact("Preflight", PREFLIGHT, {"create": Target("rest.query", "Organization")}),
    Artifact(
        "IntegrationUser",
        USER,
        {
            "create": Target("rest.sobject.create", "User"),
            "update": Target("rest.sobject.update", "$user_id"),
            # A refresh reads the integration user and the site guest user with one User query each, in
            # parallel, and a query's fault name is only its FROM object: the fault hits whichever is first.
            "read": Target("rest.query", "User", note="|SiteGuestUser"),
            "delete": Target("rest.sobject.update", "$user_id"),  # delete = deactivate (IsActive=false)
        },
    ),
    Artifact(
        "PermissionSetAssignment",
        USER_ECI_ACCESS,
        {
            "create": Target("rest.sobject.create", "PermissionSetAssignment"),
            "read": Target("rest.query", "PermissionSetAssignment"),
            "delete": Target("rest.sobject.delete", "PermissionSetAssignment"),
        },
    ),
    Artifact("NamedCredential(Password)", AIRCALL_NC, _md("Aircall")),
    Artifact("AuthProvider", AUTH_PROVIDER, _md("ECI_Auth_Provider")),
    Artifact("ConnectedApp", OAUTH_APP, _md("ECI_Connected_App")),
    Artifact("CustomSite", SITE, _md("VoiceConnector")),
    Artifact("NamedCredential(OAuth)", ECI_NC, _md("ECI_Named_Credential")),
    # Salesforce creates the guest user with the site, active when the site is; this resource only looks it up
    # (always adopted, left alone on delete). It writes when an admin deactivated the user: the update cell.
    Artifact("SiteGuestUser", GUEST, {"update": Target("rest.sobject.update", "$guest_id")}),
]

TRANSIENT_KINDS = [
    "http_503",
    "unable_to_lock_row",
    "reset_before",
    "reply_lost",
    "invalid_session_id",
    "latency",
]


# ---------------------------------------------------------------------------------------------------------
# The stack.
# ---------------------------------------------------------------------------------------------------------
class Stack:
    """The demo stack (`__main__.py` unchanged) on the emulator org, with its own state directory.

    ``auth`` picks the connection: ``token`` (instanceUrl + accessToken, as `sf org display --json` gives) or
    ``sfdx`` (an SFDX auth URL, whose session renews itself). Everything the engine printed is kept in
    ``transcript`` for the secrets scan.
    """

    def __init__(
        self,
        org: EmulatorHandle,
        state_dir: Path,
        *,
        auth: str = "token",
        structured: dict[str, Any] | None = None,
    ) -> None:
        self.org = org
        self.state_dir = state_dir
        self.project, self.stack = REPO, STACK
        if structured:
            self.project, self.stack = project_with(state_dir.parent / "project", structured), "reliability"
        self.auth = auth
        self.overrides: dict[str, str] = {}
        self.unset: set[str] = set()  # keys (without namespace) left out of the connection/Aircall settings
        self.transcript: list[str] = []
        self._sfdx: str | None = None
        self.jwt: tuple[str, str] | None = None  # (client id, private key PEM) for auth="jwt"

    def connection(self) -> tuple[dict[str, str], dict[str, str]]:
        config = {
            f"{NS}:caBundle": self.org.ca_cert,
            f"{NS}:aircallApiUrl": self.org.aircall_url,
            f"{NS}:aircallApiId": self.org.aircall_api_id,
        }
        secrets = {f"{NS}:aircallApiToken": self.org.aircall_api_token}
        if self.auth == "jwt":
            assert self.jwt is not None
            config[f"{NS}:username"] = self.org.username
            config[f"{NS}:clientId"] = self.jwt[0]
            config[f"{NS}:loginUrl"] = self.org.instance_url
            secrets[f"{NS}:privateKey"] = self.jwt[1]
        elif self.auth == "sfdx":
            if self._sfdx is None:
                self._sfdx = self.org.sfdx_auth_url()
            secrets[f"{NS}:sfdxAuthUrl"] = self._sfdx
        else:
            config[f"{NS}:instanceUrl"] = self.org.instance_url
            secrets[f"{NS}:accessToken"] = self.org.access_token
        return config, secrets

    def env(self) -> dict[str, str]:
        # Each stack its own create journal (providers/kit/journal.py CreateJournal), never the user's home:
        # the tests share one emulator org, and a journal entry left by one test's crash must not reach
        # another.
        return {**FAST_RETRIES, "ECI_CREATE_JOURNAL_DIR": str(self.state_dir.parent / "create-journal")}

    def settings(self) -> tuple[dict[str, str], dict[str, str]]:
        """(config, secrets) as `-c` / `--secret` give them: the connection, then overrides, minus unset."""
        config, secrets = self.connection()
        for key, value in self.overrides.items():
            target = secrets if f"{NS}:{key}" in secrets else config
            target[f"{NS}:{key}"] = value
        for key in self.unset:
            config.pop(f"{NS}:{key}", None)
            secrets.pop(f"{NS}:{key}", None)
        return config, secrets

    def run(
        self,
        verb: str,
        *,
        expect_no_changes: bool = False,
        check: bool = True,
        extra_args: list[str] | None = None,
    ) -> CliResult:
        config, secrets = self.settings()
        result = run(
            verb,
            stack=self.stack,
            cwd=self.project,
            state_dir=self.state_dir,
            config=config,
            secrets=secrets,
            expect_no_changes=expect_no_changes,
            env=self.env(),
            check=check,
            extra_args=extra_args,
        )
        self.transcript += [result.stdout, result.stderr]
        return result

    def run_human(self, verb: str, *, check: bool = True) -> tuple[int, str]:
        """The same run without --json: the CLI's human output (stdout + stderr)."""
        config, secrets = self.settings()
        result = run(
            verb, stack=self.stack, cwd=self.project, state_dir=self.state_dir, config=config,
            secrets=secrets, env=self.env(), check=False, json_output=False,
        )  # fmt: skip
        self.transcript += [result.stdout, result.stderr]
        if check and result.returncode != 0:
            raise AssertionError(
                f"`{verb}` exited {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result.returncode, result.stdout + result.stderr

    def export(self) -> dict[str, Any]:
        return stack_export(stack=self.stack, cwd=self.project, state_dir=self.state_dir)

    def state_names(self) -> set[str]:
        resources = self.export().get("deployment", {}).get("resources") or []
        return {
            str(r["urn"]).rsplit("::", 1)[-1]
            for r in resources
            if str(r["type"]).startswith("pulumi-python:dynamic/")
        }


def record_ids(org: EmulatorHandle, username: str) -> dict[str, str]:
    """The Ids fault targets name: the integration user's and the site guest user's."""
    sf = org.sf()
    ids = {"user_id": str(sf.query(f"SELECT Id FROM User WHERE Username = '{username}'")["records"][0]["Id"])}
    sites = sf.query("SELECT GuestUserId FROM Site WHERE Name = 'VoiceConnector'")["records"]
    if sites:
        ids["guest_id"] = str(sites[0]["GuestUserId"])
    return ids


# What `edit_as_admin` changes: resource → the properties `refresh` must report, and only those.
ADMIN_DRIFT: dict[str, set[str]] = {
    USER: {"email"},
    GUEST: {"is_active"},
    AIRCALL_NC: {"endpoint"},
    ECI_NC: {"oauth_scope"},
    AUTH_PROVIDER: {"friendly_name"},
    OAUTH_APP: {"contact_email"},
    SITE: {"clickjack_protection_level"},
}


def edit_as_admin(org: EmulatorHandle, ids: dict[str, str]) -> None:
    """What an admin might change in Setup on every artifact that can drift in place, through the ordinary
    APIs (REST for users, Metadata API read → change → update for the rest). Each change is one property."""
    sf = org.sf()
    sf.User.update(ids["user_id"], {"Email": "changed-in-setup@demo.example"})
    sf.User.update(ids["guest_id"], {"IsActive": False})
    md = org.mdapi()
    nc = md.NamedCredential.read("Aircall")
    nc.endpoint = "https://changed-in-setup.example/"
    md.NamedCredential.update(nc)
    eci = md.NamedCredential.read("ECI_Named_Credential")
    eci.oauthScope = "api"
    md.NamedCredential.update(eci)
    provider = md.AuthProvider.read("ECI_Auth_Provider")
    provider.friendlyName = "Renamed in Setup"
    md.AuthProvider.update(provider)
    app = md.ConnectedApp.read("ECI_Connected_App")
    app.contactEmail = "changed-in-setup@demo.example"
    md.ConnectedApp.update(app)
    site = md.CustomSite.read("VoiceConnector")
    site.clickjackProtectionLevel = "AllowAllFraming"
    md.CustomSite.update(site)


def project_with(directory: Path, structured: dict[str, Any]) -> Path:
    """The program (the repository's own Pulumi.yaml and __main__.py, linked) with a stack file of its own:
    the demo stack's values with ``structured`` merged into its object values, which `-c` cannot set by path
    (as `pulumi config set --path eci-aircall:integrationUser.profile ...` would)."""
    import yaml

    directory.mkdir(parents=True, exist_ok=True)
    for name in ("Pulumi.yaml", "__main__.py", ".venv", "components", "providers", "salesforce"):
        link = directory / name
        if not link.exists():
            link.symlink_to(REPO / name)
    config = yaml.safe_load((REPO / "stacks" / f"Pulumi.{STACK}.yaml").read_text())["config"]
    for key, fields in structured.items():
        full = f"{NS}:{key}"
        config[full] = {**(config.get(full) or {}), **fields} if isinstance(fields, dict) else fields
    (directory / "stacks").mkdir(exist_ok=True)
    (directory / "stacks" / "Pulumi.reliability.yaml").write_text(yaml.safe_dump({"config": config}))
    return directory


_REFUSED = re.compile(r"(\w+) (\w+) already exists in this org and was not created by this stack")


def refused_then_half_made_removed(stack: Stack, org: EmulatorHandle, *, runs: int = 4) -> set[str]:
    """After the provider was killed mid-`up`, each create that was in flight reached Salesforce, but its
    answer never came, so the create journal never named its record Id: the next `up` refuses each such
    artifact as not provably this stack's (issue 21, M1: creator and time alone would fit another stack's
    artifact made by the same admin), naming it and the opt-in, and writes nothing to it. This follows the
    refusal's other fix (README, "When `pulumi up` was interrupted"): delete the half-made artifact in Setup,
    then `up` again, at most ``runs`` times. Returns what was refused (e.g. "CustomSite VoiceConnector")."""
    refused: set[str] = set()
    for _ in range(runs):
        up = stack.run("up", check=False)
        if up.returncode == 0:
            return refused
        text = error_text(up)
        found = {f"{kind} {name}" for kind, name in _REFUSED.findall(text)}
        assert found and "not provably" in text, text[-3000:]
        for artifact in found - refused:
            kind, name = artifact.split(" ", 1)
            getattr(org.mdapi(), kind).delete(name)
        refused |= found
    if runs == 1:
        return refused
    raise AssertionError(f"`up` still refuses after removing {sorted(refused)}")


def error_text(result: CliResult) -> str:
    """What the CLI told the person: its diagnostics (in --json, from the event stream) and its stderr."""
    return result.text


# ---------------------------------------------------------------------------------------------------------
# Counting what is in the org (no duplicates, ever).
# ---------------------------------------------------------------------------------------------------------
def artifact_counts(org: EmulatorHandle, username: str) -> dict[str, int]:
    """How many of each artifact the org holds, read as an admin would (SOQL; Metadata list for the types
    without an sObject face)."""
    sf = org.sf()

    def count(soql: str) -> int:
        return int(sf.query(soql)["totalSize"])

    user_rows = sf.query(f"SELECT Id FROM User WHERE Username = '{username}'")["records"]
    user_ids = [r["Id"] for r in user_rows]
    site_rows = sf.query("SELECT GuestUserId FROM Site WHERE Name = 'VoiceConnector'")["records"]
    guest_ids = [r["GuestUserId"] for r in site_rows]
    assignees = "', '".join(user_ids + guest_ids) or "none"
    assignment_rows = sf.query(
        f"SELECT AssigneeId, PermissionSetId FROM PermissionSetAssignment WHERE AssigneeId IN ('{assignees}')"
    )["records"]
    pairs = [(r["AssigneeId"], r["PermissionSetId"]) for r in assignment_rows]
    return {
        "users": len(user_ids),
        "sites": len(site_rows),
        "guest_users": len(set(guest_ids)),
        "assignments": len(pairs),
        "duplicate_assignments": len(pairs) - len(set(pairs)),
        "connected_apps": count("SELECT COUNT() FROM ConnectedApplication WHERE Name = 'ECI Connected App'"),
        "auth_providers": count("SELECT COUNT() FROM AuthProvider WHERE DeveloperName = 'ECI_Auth_Provider'"),
        "named_credentials": count(
            "SELECT COUNT() FROM NamedCredential WHERE DeveloperName IN ('Aircall', 'ECI_Named_Credential')"
        ),
    }


# What one complete stack holds: 1 user, 1 site (with its guest user), 4 assignments, one each of app and
# auth provider, 2 named credentials.
COMPLETE = {
    "users": 1,
    "sites": 1,
    "guest_users": 1,
    "assignments": 4,
    "duplicate_assignments": 0,
    "connected_apps": 1,
    "auth_providers": 1,
    "named_credentials": 2,
}


# ---------------------------------------------------------------------------------------------------------
# Faults.
# ---------------------------------------------------------------------------------------------------------
def inject(
    org: EmulatorHandle,
    kind: str,
    target: Target,
    *,
    count: int = 1,
    latency_ms: int = 0,
    ids: dict[str, str] | None = None,
) -> int:
    """Add one fault; a target name ``$key`` is a record Id from ``ids`` (REST names carry the record Id)."""
    spec: dict[str, Any] = {"kind": kind, "operation": target.operation, "count": max(count, target.count)}
    if target.name is not None:
        spec["name"] = (ids or {})[target.name[1:]] if target.name.startswith("$") else target.name
    if kind == "latency":
        spec["latency_ms"] = latency_ms or 300
    return int(org.fault(**spec)["id"])


def pending_faults(org: EmulatorHandle) -> dict[int, dict[str, Any]]:
    listing = org.control("GET", "faults")
    items = listing["faults"] if isinstance(listing, dict) else listing
    return {int(f["id"]): f for f in items}


def up_killing_the_provider(stack: Stack, org: EmulatorHandle) -> tuple[int, str]:
    """`up` whose provider process is killed (SIGKILL) while the site's create is held in flight."""
    # The site's createMetadata is held 2.5 s by the emulator, then applied: the kill lands mid-call.
    held = inject(org, "latency", Target("metadata.createMetadata", "VoiceConnector"), latency_ms=2500)
    config, secrets = stack.settings()
    proc = start(
        "up", stack=stack.stack, cwd=stack.project, state_dir=stack.state_dir, config=config, secrets=secrets,
        env=stack.env(),
    )  # fmt: skip
    killed = False
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline and not killed:
        # The fault is taken when the call arrives: from then on the call is in flight for 2.5 s.
        if held not in pending_faults(org):
            for pid, command in descendants(proc.pid):
                if "pulumi.dynamic" in command:
                    os.kill(pid, signal.SIGKILL)
                    killed = True
        time.sleep(0.05)
    result = finish(proc, "up", timeout=120)
    stack.transcript += [result.stdout, result.stderr]
    assert killed, "the provider process was not found while the site's create was in flight"
    return result.returncode, result.text


def wait_for_site(org: EmulatorHandle) -> None:
    """Until the site a killed `up` left in flight is applied (Salesforce finishes a call its client left)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if org.sf().query("SELECT Id FROM Site WHERE Name = 'VoiceConnector'")["totalSize"]:
            return
        time.sleep(0.1)
    raise AssertionError("the site's held create was never applied")


# ---------------------------------------------------------------------------------------------------------
# The matrix recorder.
# ---------------------------------------------------------------------------------------------------------
@dataclass
class Cell:
    fault: str
    artifact: str
    step: str
    outcome: str
    ok: bool


_CELLS: list[Cell] = []
_LOCK = threading.Lock()


def record(fault: str, artifact: str, step: str, outcome: str, ok: bool) -> None:
    with _LOCK:
        _CELLS.append(Cell(fault, artifact, step, outcome, ok))


def cells() -> list[Cell]:
    with _LOCK:
        return list(_CELLS)


def render_matrix(rows: Iterable[Cell]) -> list[str]:
    rows = list(rows)
    if not rows:
        return []
    widths = [
        max(len("fault"), *(len(c.fault) for c in rows)),
        max(len("artifact"), *(len(c.artifact) for c in rows)),
        max(len("step"), *(len(c.step) for c in rows)),
    ]
    head = f"{'fault':<{widths[0]}}  {'artifact':<{widths[1]}}  {'step':<{widths[2]}}  outcome"
    lines = [head, "-" * len(head)]
    for c in sorted(rows, key=lambda c: (c.step, c.fault, c.artifact)):
        mark = "" if c.ok else "  <-- FAILED"
        lines.append(
            f"{c.fault:<{widths[0]}}  {c.artifact:<{widths[1]}}  {c.step:<{widths[2]}}  {c.outcome}{mark}"
        )
    passed = sum(1 for c in rows if c.ok)
    faults = len({c.fault for c in rows})
    # Artifact types, not labels: NamedCredential(OAuth) and (Password) are one type; a cell that hits
    # whatever is in flight ("all", "in-flight") names none.
    types = {re.split(r"[(|]", c.artifact)[0] for c in rows if c.artifact[:1].isupper()}
    steps = len({c.step for c in rows})
    lines.append(
        f"fault matrix: {len(rows)} cells over {faults} faults x {len(types)} artifact types x {steps} steps "
        f"(representative cells, not the full product): {passed} as expected, {len(rows) - passed} not"
    )
    return lines


def dump(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str)
