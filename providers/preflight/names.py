"""Names the config gives that must be right in this org: profiles, users, and the integration user's own
username (one SOQL each, only when there is something to look up).

The integration user's username must not be someone else's account: a user of that name that this stack did
not create is refused unless the config opts in (``integrationUser.adoptExisting``), and the user the stack
connects as never (issue 14: never change what it did not create).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from providers.integration_user import ADOPT_KEY, USERNAME_KEY
from providers.preflight.runner import PASS, Blocker, Check, Run, Verdict, made_by_this_stack, provenance
from salesforce import soql_quote


# --- profiles -----------------------------------------------------------------------------------------------
def _profiles_by_key(run: Run) -> dict[str, list[str]]:
    return {str(k): [str(n) for n in v] for k, v in dict(run.inputs.get("profiles") or {}).items()}


def _profiles_present(run: Run) -> set[str]:
    wanted = sorted({name for names in _profiles_by_key(run).values() for name in names})
    if not wanted:
        return set()
    quoted = ", ".join(soql_quote(name) for name in wanted)
    rows = run.client.query(f"SELECT Id, Name FROM Profile WHERE Name IN ({quoted})", artifact="Preflight")
    return {str(r.get("Name") or "").lower() for r in rows}


def _profiles_verdict(run: Run, present: set[str]) -> Verdict:
    problems = [
        f"{key}: {', '.join(repr(n) for n in names if n.lower() not in present)}"
        for key, names in sorted(_profiles_by_key(run).items())
        if any(n.lower() not in present for n in names)
    ]
    if not problems:
        return PASS
    return Verdict(
        [
            Blocker(
                "profile(s) not found in this org — " + "; ".join(problems),
                "set those keys to existing profile names (the guide uses System Administrator for the "
                "integration user and recommends Standard User + System Administrator for the connected app)",
                "profiles",
            )
        ]
    )


PROFILES: Check[set[str]] = Check("Profiles", _profiles_present, _profiles_verdict, needs=("profiles",))


# --- users --------------------------------------------------------------------------------------------------
@dataclass
class Users:
    """What the User query found: the usernames present, the integration username's user if it exists, and
    (only then) the Id of the user this stack connects as."""

    present: set[str] = field(default_factory=set)
    integration: dict[str, Any] | None = None
    connecting_user_id: str = ""


def _integration_username(run: Run) -> str:
    return str(run.inputs.get("integration_username") or "") if run.new_user else ""


def _users(run: Run) -> Users:
    by_key = {str(k): str(v) for k, v in dict(run.inputs.get("usernames") or {}).items()}
    integration = _integration_username(run)
    names = set(by_key.values()) | ({integration} if integration else set())
    if not names:
        return Users()
    quoted = ", ".join(soql_quote(name) for name in sorted(names))
    rows = run.client.query(
        "SELECT Id, Username, CreatedDate, CreatedById, CreatedBy.Name FROM User "
        f"WHERE Username IN ({quoted})",
        artifact="Preflight",
    )
    found = Users({str(r.get("Username") or "").lower() for r in rows})
    existing = [r for r in rows if str(r.get("Username") or "").lower() == integration.lower()]
    if integration and existing:
        found.integration = dict(existing[0])
        found.connecting_user_id = run.provider.connecting_user_id()
    return found


def _users_verdict(run: Run, users: Users) -> Verdict:
    verdict = Verdict()
    if users.integration is not None:
        verdict = _existing_user(run, users.integration, users.connecting_user_id)
    by_key = {str(k): str(v) for k, v in dict(run.inputs.get("usernames") or {}).items()}
    missing = [
        f"{key} = {name!r}" for key, name in sorted(by_key.items()) if name.lower() not in users.present
    ]
    if missing:
        verdict.blockers.append(
            Blocker(
                "no such user in this org: " + "; ".join(missing),
                "guide: Set Up the Salesforce Site (Site Contact / Default Record Owner) — use the username "
                "of an existing user, or leave the key unset to use the integration user",
                "usernames",
            )
        )
    return verdict


def _existing_user(run: Run, row: dict[str, Any], connecting_user_id: str) -> Verdict:
    """A user named like the integration user exists. It is this stack's own only when a create of it by
    this stack was cut short (the create journal claims it); otherwise taking it over would rewrite a
    person's account, so it is refused unless the config opts in — and the connecting user never."""
    from providers.kit import same_id

    username = str(row.get("Username"))
    identity = {
        "id": row.get("Id"),
        "created_date": row.get("CreatedDate"),
        "created_by_id": row.get("CreatedById"),
        "created_by_name": (row.get("CreatedBy") or {}).get("Name"),
    }
    made = provenance(identity)
    if made_by_this_stack(run, f"User {username}", identity):
        return Verdict(
            notices=[
                f"User {username} is in the org ({made}) from a create of this stack that was cut short: "
                "`up` takes it as its own"
            ]
        )
    if same_id(row.get("Id"), connecting_user_id):
        return Verdict(
            [
                Blocker(
                    f"{USERNAME_KEY} = {username!r} is the user this stack connects as; the integration user "
                    "must be a user of its own",
                    f"guide: Log In as the Integration User — choose a new username: `pulumi config set "
                    f"--path {USERNAME_KEY} <new-username>`",
                    "integration_username",
                )
            ]
        )
    if run.inputs.get("adopt_existing_user"):
        return Verdict(
            notices=[
                f"User {username} is already in the org ({made}); `up` will use it as it is "
                f"({ADOPT_KEY} true): its profile, email and name are never changed, and destroy leaves it"
            ]
        )
    return Verdict(
        [
            Blocker(
                f"{USERNAME_KEY} = {username!r} names a user that already exists in this org ({made}) and "
                "was not created by this stack, so `up` would refuse it; nothing was written",
                f"choose a new username (`pulumi config set --path {USERNAME_KEY} <new-username>`), or, to "
                f"use that user as it is, `pulumi config set --path {ADOPT_KEY} true` (its profile, email "
                "and name are never changed, and destroy leaves it as it was)",
                "integration_username",
            )
        ]
    )


USERS: Check[Users] = Check(
    "Users", _users, _users_verdict, needs=("usernames", "integration_username", "adopt_existing_user")
)
