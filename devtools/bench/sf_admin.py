"""The `sf` script an admin would write for what `pulumi up` of this project does, beside it in `make bench`.

The script (one `sf` command after another, stopping at the first failure as `set -e` does):

1. `sf data query` the System Administrator profile's Id;
2. `sf data create record --sobject User` the integration user;
3. `sf org assign permset` its two permission sets;
4. `sf project deploy start --source-dir force-app`: the guide's Metadata, the `Aircall` and
   `ECI_Named_Credential` named credentials, `ECI_Connected_App` (with the guide's dummy callback URL, as the
   guide has it: the real one is only known once the auth provider exists), `ECI_Auth_Provider` and the
   `VoiceConnector` site;
5. `sf project deploy start --metadata ConnectedApp:ECI_Connected_App`: the second deploy, the app with the
   auth provider's callback URL;
6. `sf data query` the site's guest user;
7. `sf org assign permset` the guest user's two permission sets.

`sf org assign permset` assigns both sets of a user in one command (it looks the user and the sets up
itself); `sf data create record --sobject PermissionSetAssignment` per assignment would take a permission-set
query and two creates per user instead: three more CLI starts. The script is `sf` at its best: fewest
commands, the CLI's log file off.

What it deploys is not restated here: `source_from_org` takes it from the org `pulumi up` has just configured
(`sf project retrieve start` of the components, the user's fields and both users' permission sets through
`sf data query`), adds back the write-only secrets a retrieve leaves out (the Aircall API token, a consumer
secret of the admin's own), and puts the dummy callback URL in for the first deploy. So both tools reach the
same end state, which the drift check's diff confirms.

The drift check: `sf project retrieve start` of the same components into a copy of the admin's
project and a diff against the source the script deployed (as `git diff` would show it), plus `sf data query`
of the integration user and of both users' permission set assignments.
"""

from __future__ import annotations

import difflib
import json
import resource
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from devtools import sf_cli
from devtools.sf_emulator.client import EmulatorHandle
from providers import guide

from .harness import EmulatorCounts

#: The guide's "Set Up the Connected App" step 4: "Callback URL: https://dummy_url/services/authcallback/
#: ECI_Auth_Provider. Note: This URL is obtained after you create the Auth Provider in the next section."
DUMMY_CALLBACK_URL = f"https://dummy_url/services/authcallback/{guide.AUTH_PROVIDER_NAME}"
#: The guide's Metadata components, in its order.
COMPONENTS: tuple[tuple[str, str], ...] = (
    ("ConnectedApp", guide.CONNECTED_APP_NAME),
    ("AuthProvider", guide.AUTH_PROVIDER_NAME),
    ("NamedCredential", guide.AIRCALL_NAMED_CREDENTIAL),
    ("CustomSite", guide.SITE_NAME),
    ("NamedCredential", guide.ECI_NAMED_CREDENTIAL),
)
#: The User fields a create must or the guide's user does set (Object Reference, "User": Username, LastName,
#: Email, Alias, TimeZoneSidKey, LocaleSidKey, EmailEncodingKey, LanguageLocaleKey and ProfileId are required
#: on create), read from the configured org.
USER_FIELDS = (
    "Username",
    "Email",
    "FirstName",
    "LastName",
    "Alias",
    "TimeZoneSidKey",
    "LocaleSidKey",
    "EmailEncodingKey",
    "LanguageLocaleKey",
)
MD_NS = "http://soap.sforce.com/2006/04/metadata"
#: Write-only fields that a retrieve never returns (Metadata API: "consumerSecret ... not returned",
#: NamedCredential "password ... write-only"): the admin's source has them, the org's copy does not.
WRITE_ONLY = {
    "ConnectedApp": ("consumerSecret",),
    "AuthProvider": ("consumerSecret",),
    "NamedCredential": ("password",),
}
SFDX_PROJECT = {"packageDirectories": [{"path": "force-app", "default": True}], "sourceApiVersion": "63.0"}
ALIAS = "bench"
ASSIGNMENTS = "SELECT AssigneeId, Assignee.Username, PermissionSet.Name FROM PermissionSetAssignment"


@dataclass
class SfCommand:
    args: str  # what ran, for the report (no secret is ever an argument)
    wall_s: float
    ok: bool
    error: str = ""


class Sf:
    """Runs `sf ... --json` against one emulator org from an isolated home (`devtools.sf_cli`), timed."""

    def __init__(self, home: Path, org: EmulatorHandle, *, log_file: bool = False) -> None:
        if not sf_cli.installed():
            raise RuntimeError(sf_cli.MISSING)
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.org = org
        self.env = sf_cli.isolated_env(home, org.ca_cert, log_file=log_file)
        self.log: list[SfCommand] = []

    def __call__(self, *args: str, cwd: Path | None = None, **env: str) -> dict[str, Any]:
        """`sf ARGS --json`; raises SfFailed when it exits non-zero (its JSON names the error)."""
        t0 = time.monotonic()
        proc = subprocess.run(
            sf_cli.command(*args, "--json"),
            env={**self.env, **env},
            cwd=str(cwd or self.home),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        wall = time.monotonic() - t0
        try:
            answer: dict[str, Any] = json.loads(proc.stdout)
        except ValueError:
            answer = {"name": "NoJson", "message": (proc.stdout or proc.stderr)[-300:]}
        shown = " ".join(args[:3])
        if proc.returncode != 0:
            error = f"{answer.get('name', 'error')}: {answer.get('message', '')}".strip()[:300]
            self.log.append(SfCommand(shown, wall, False, error))
            raise SfFailed(shown, error)
        self.log.append(SfCommand(shown, wall, True))
        return answer

    def login(self) -> None:
        """`sf org login access-token` with the emulator's admin session (SF_ACCESS_TOKEN: no argv)."""
        self(
            "org", "login", "access-token", "--instance-url", self.org.instance_url, "--alias", ALIAS,
            "--no-prompt", SF_ACCESS_TOKEN=self.org.access_token,
        )  # fmt: skip

    def records(self, soql: str) -> list[dict[str, Any]]:
        return list(self("data", "query", "--query", soql, "--target-org", ALIAS)["result"]["records"])


class SfFailed(Exception):
    def __init__(self, command: str, error: str) -> None:
        super().__init__(f"sf {command}: {error}")
        self.command = command
        self.error = error


@dataclass(frozen=True)
class AdminSource:
    """What the admin's script sets up, as taken from an org that `pulumi up` configured."""

    project: Path  # the sfdx project: force-app with the components, secrets added, dummy callback URL
    user: dict[str, str]  # USER_FIELDS → value
    profile: str
    user_permission_sets: tuple[str, ...]
    guest_permission_sets: tuple[str, ...]
    callback_url: str  # the auth provider's, which the second deploy puts into the connected app


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _component_file(project: Path, kind: str, name: str) -> Path:
    for path in sorted((project / "force-app").rglob(f"{name}.*-meta.xml")):
        if etree.parse(str(path)).getroot().tag == f"{{{MD_NS}}}{kind}":
            return path
    raise FileNotFoundError(f"{kind} {name}: no source file under {project / 'force-app'}")


def _edit(path: Path, edit: Any) -> None:
    """Edit a Metadata file in place, written back in sf's own layout (declaration, 4-space indents)."""
    root = etree.parse(str(path), etree.XMLParser(remove_blank_text=True)).getroot()
    edit(root)
    etree.indent(root, space="    ")
    body = etree.tostring(root, encoding="unicode")
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n")


def _element(parent: Any, tag: str) -> Any:
    found = parent.find(f"{{{MD_NS}}}{tag}")
    if found is None:
        raise ValueError(f"no <{tag}> in <{etree.QName(parent).localname}>")
    return found


def _new(tag: str, text: str) -> Any:
    el = etree.Element(f"{{{MD_NS}}}{tag}")
    el.text = text
    return el


def new_project(root: Path) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    (root / "force-app").mkdir(parents=True)
    (root / "sfdx-project.json").write_text(json.dumps(SFDX_PROJECT))
    return root


def retrieve_args() -> list[str]:
    args = ["project", "retrieve", "start", "--target-org", ALIAS]
    for kind, name in COMPONENTS:
        args += ["--metadata", f"{kind}:{name}"]
    return args


def source_from_org(
    sf: Sf, root: Path, *, integration_username: str, aircall_api_token: str, consumer_secret: str
) -> AdminSource:
    """The admin's source, from the org `pulumi up` has just configured (see the module's docstring)."""
    project = new_project(root)
    sf(*retrieve_args(), cwd=project)
    fields = ", ".join([*USER_FIELDS, "Profile.Name"])
    (user,) = sf.records(f"SELECT {fields} FROM User WHERE Username = {_quote(integration_username)}")
    (site,) = sf.records(f"SELECT GuestUserId FROM Site WHERE Name = {_quote(guide.SITE_NAME)}")
    assignments = sf.records(ASSIGNMENTS)

    def sets_of(username: str | None = None, user_id: str | None = None) -> tuple[str, ...]:
        return tuple(
            sorted(
                str(a["PermissionSet"]["Name"])
                for a in assignments
                if (username and str(a["Assignee"]["Username"]).lower() == username.lower())
                or (user_id and a["AssigneeId"] == user_id)
            )
        )

    app = _component_file(project, "ConnectedApp", guide.CONNECTED_APP_NAME)
    callback = str(_element(_element(etree.parse(str(app)).getroot(), "oauthConfig"), "callbackUrl").text)

    def app_secret(root_el: Any) -> None:
        oauth = _element(root_el, "oauthConfig")
        _element(oauth, "callbackUrl").text = DUMMY_CALLBACK_URL
        _element(oauth, "consumerKey").addnext(_new("consumerSecret", consumer_secret))

    _edit(app, app_secret)
    _edit(
        _component_file(project, "AuthProvider", guide.AUTH_PROVIDER_NAME),
        lambda el: _element(el, "consumerKey").addnext(_new("consumerSecret", consumer_secret)),
    )
    _edit(
        _component_file(project, "NamedCredential", guide.AIRCALL_NAMED_CREDENTIAL),
        lambda el: _element(el, "principalType").addprevious(_new("password", aircall_api_token)),
    )
    return AdminSource(
        project=project,
        user={f: str(user[f]) for f in USER_FIELDS if user.get(f) is not None},
        profile=str(user["Profile"]["Name"]),
        user_permission_sets=sets_of(username=integration_username),
        guest_permission_sets=sets_of(user_id=str(site["GuestUserId"])),
        callback_url=callback,
    )


@dataclass
class SfRun(EmulatorCounts):
    """One run of the script (or the drift check): what it cost and how far it got."""

    label: str
    wall_s: float = 0.0
    cpu_s: float = 0.0  # every `sf` process's CPU (children's rusage)
    calls: dict[str, Any] = field(default_factory=dict)  # the emulator's /__emulator/calls after the run
    commands: list[SfCommand] = field(default_factory=list)
    steps: int = 0  # of the script's
    failed_at: str = ""  # the command that failed, if one did
    error: str = ""
    seen: dict[str, Any] = field(default_factory=dict)  # the drift check's findings

    @property
    def ok(self) -> bool:
        return not self.failed_at



def _measured(sf: Sf, label: str, steps: Sequence[Any]) -> SfRun:
    """Run `steps` (callables, one `sf` command each) one after another, stopping at the first failure."""
    sf.org.reset_calls()
    sf.log = []
    run = SfRun(label=label, steps=len(steps))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    try:
        for step in steps:
            step()
    except SfFailed as exc:
        run.failed_at, run.error = exc.command, exc.error
    run.wall_s = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run.cpu_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    run.calls = sf.org.calls()
    run.commands = list(sf.log)
    return run


def setup(sf: Sf, source: AdminSource, label: str = "setup") -> SfRun:
    """The admin's script (the module docstring's seven commands), timed. Deploys from a copy of the source,
    so a re-run starts again from the dummy callback URL, as the script's files do."""
    work = source.project.parent / f"{source.project.name}-{label}"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(source.project, work)
    app = _component_file(work, "ConnectedApp", guide.CONNECTED_APP_NAME)
    found: dict[str, str] = {}
    username = source.user["Username"]

    def profile() -> None:
        (row,) = sf.records(f"SELECT Id FROM Profile WHERE Name = {_quote(source.profile)}")
        found["profile"] = str(row["Id"])

    def user() -> None:
        values = " ".join(
            f"{k}={_quote(v)}" for k, v in [*source.user.items(), ("ProfileId", found["profile"])]
        )
        sf("data", "create", "record", "--sobject", "User", "--values", values, "--target-org", ALIAS)

    def assign(names: Sequence[str], who: str) -> None:
        sf("org", "assign", "permset", *[a for n in names for a in ("--name", n)], "--on-behalf-of", who,
           "--target-org", ALIAS)  # fmt: skip

    def deploy_all() -> None:
        sf("project", "deploy", "start", "--source-dir", "force-app", "--target-org", ALIAS, cwd=work)

    def deploy_callback() -> None:
        # Setup's Callback URL field, edited in the file: the auth provider's callback URL.
        _edit(app, lambda el: setattr(_element(_element(el, "oauthConfig"), "callbackUrl"), "text",
                                      source.callback_url))  # fmt: skip
        sf("project", "deploy", "start", "--metadata", f"ConnectedApp:{guide.CONNECTED_APP_NAME}",
           "--target-org", ALIAS, cwd=work)  # fmt: skip

    def guest() -> None:
        (row,) = sf.records(f"SELECT GuestUser.Username FROM Site WHERE Name = {_quote(guide.SITE_NAME)}")
        found["guest"] = str(row["GuestUser"]["Username"])

    steps = [
        profile,
        user,
        lambda: assign(source.user_permission_sets, username),
        deploy_all,
        deploy_callback,
        guest,
        lambda: assign(source.guest_permission_sets, found["guest"]),
    ]
    result = _measured(sf, label, steps)
    result.seen.update(project=str(work), guest=found.get("guest", ""))
    return result


def drift_check(sf: Sf, source: AdminSource, deployed: Path, guest_username: str) -> SfRun:
    """`sf project retrieve start` into a copy of the deployed project + a diff against it, and `sf data
    query` of the integration user and both users' permission set assignments. `seen`: what differed."""
    work = deployed.parent / f"{deployed.name}-retrieved"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(deployed, work)
    username = source.user["Username"]
    got: dict[str, Any] = {}

    def retrieve() -> None:
        sf(*retrieve_args(), cwd=work)

    def user() -> None:
        fields = ", ".join([*USER_FIELDS, "IsActive", "Profile.Name"])
        got["user"] = sf.records(f"SELECT {fields} FROM User WHERE Username = {_quote(username)}")

    def assignments() -> None:
        got["assignments"] = sf.records(ASSIGNMENTS)

    result = _measured(sf, "drift check", [retrieve, user, assignments])
    if result.ok:
        result.seen = compare(source, deployed, work, got, guest_username)
    return result


def _leaves(path: Path) -> list[str]:
    """A Metadata file as `path/to/leaf = value` lines, in document order: what a diff of the file says,
    without its layout (indentation, XML declaration quotes)."""
    root = etree.parse(str(path)).getroot()
    out = []
    for el in root.iter():
        if len(el) == 0 and el is not root:
            names = [etree.QName(a).localname for a in reversed(list(el.iterancestors()))][1:]
            out.append("/".join([*names, etree.QName(el).localname]) + f" = {(el.text or '').strip()}")
    return out


def compare(
    source: AdminSource, deployed: Path, retrieved: Path, got: dict[str, Any], guest_username: str
) -> dict[str, Any]:
    """What the drift check saw: Metadata values that differ between the deployed source and the org's copy
    (write-only secrets apart: a retrieve never returns them, so they are always "missing" and say nothing),
    and differences in the integration user and its permission set assignments."""
    changed: list[str] = []
    unseeable: list[str] = []
    for kind, name in COMPONENTS:
        before = _leaves(_component_file(deployed, kind, name))
        after = _leaves(_component_file(retrieved, kind, name))
        secret_tags = WRITE_ONLY.get(kind, ())
        removed: dict[str, list[str]] = {}
        added: dict[str, list[str]] = {}
        for line in difflib.unified_diff(before, after, lineterm="", n=0):
            if line.startswith(("---", "+++", "@@")):
                continue
            leaf, _, value = line[1:].partition(" = ")
            if leaf.rsplit("/", 1)[-1] in secret_tags:
                unseeable.append(f"{kind} {name}: {leaf}")
            else:
                (removed if line[0] == "-" else added).setdefault(leaf, []).append(value)
        for leaf in dict.fromkeys([*removed, *added]):
            old = ", ".join(removed.get(leaf, [])) or "(none)"
            new = ", ".join(added.get(leaf, [])) or "(none)"
            changed.append(f"{kind} {name}: {leaf} {old} -> {new}")
    users = got.get("user") or []
    user_changes = []
    if not users:
        user_changes.append(f"{source.user['Username']}: missing")
    else:
        row = users[0]
        want = {**source.user, "Profile.Name": source.profile, "IsActive": "True"}
        have = {f: str(row.get(f)) for f in USER_FIELDS}
        have["Profile.Name"] = str((row.get("Profile") or {}).get("Name"))
        have["IsActive"] = str(row.get("IsActive"))
        user_changes += [f"User.{k}: {want[k]} -> {have.get(k)}" for k in want if have.get(k) != want[k]]
    assigned: dict[str, set[str]] = {}
    for a in got.get("assignments") or []:
        who = str(a["Assignee"]["Username"]).lower()
        assigned.setdefault(who, set()).add(str(a["PermissionSet"]["Name"]))
    missing = [
        f"{who}: {name}"
        for who, username, wanted in (
            ("integration user", source.user["Username"], source.user_permission_sets),
            ("guest user", guest_username, source.guest_permission_sets),
        )
        for name in sorted(set(wanted) - assigned.get(username.lower(), set()))
    ]
    return {
        "metadata_changed": changed,
        "write_only_not_retrieved": sorted(set(unseeable)),
        "user_changed": user_changes,
        "assignments_missing": missing,
        "drift_seen": bool(changed or user_changes or missing),
    }
