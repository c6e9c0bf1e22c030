"""The org itself: its edition, and whether it is production.

Both from one query of the Organization row (Object Reference, "Organization": ``OrganizationType``,
``IsSandbox``), which also names the org the session is in (its Id): what the stack binds itself to, at no
extra call.
"""

from __future__ import annotations

from typing import Any

from providers.config.keys import ALLOW_PRODUCTION
from providers.preflight.runner import PASS, Blocker, Check, Run, Verdict

#: The guide's EDITIONS box.
SUPPORTED_EDITIONS = ("Enterprise", "Performance", "Unlimited")


def organization(run: Run) -> dict[str, Any]:
    rows = run.client.query(
        "SELECT Id, OrganizationType, IsSandbox FROM Organization", artifact="Preflight edition"
    )
    row = dict(rows[0]) if rows else {}
    if row:
        run.client.note_org(str(row.get("Id") or ""), sandbox=bool(row.get("IsSandbox")))
    return row


def _edition(run: Run, row: dict[str, Any]) -> Verdict:
    edition = str(row.get("OrganizationType") or "")
    short = edition.removesuffix(" Edition").strip()
    outputs = {"my_domain_url": run.client.instance_url, "edition": short}
    if short in SUPPORTED_EDITIONS:
        return Verdict(outputs=outputs)
    return Verdict(
        [
            Blocker(
                f"this org is {edition or 'of an unknown edition'}; Einstein Conversation Insights is "
                "available in Enterprise, Performance and Unlimited Editions",
                "guide: Configure Aircall with ECI, EDITIONS — use an org of a supported edition",
            )
        ],
        outputs=outputs,
    )


EDITION: Check[dict[str, Any]] = Check("Edition", organization, _edition)


def _production(run: Run, row: dict[str, Any]) -> Verdict:
    """A production org (IsSandbox false) is bound to a stack only with the config's opt-in."""
    # As the org record says it (SalesforceClient.note_org above): a row without IsSandbox true is production.
    if run.inputs.get("allow_production") or not row or row.get("IsSandbox"):
        return PASS
    return Verdict(
        [
            Blocker(
                f"this stack's login reaches org {row.get('Id')} at {run.client.instance_url}, a production "
                "org (not a sandbox); a stack binds itself to the org it first touches, and to a production "
                "org only when its config says so",
                "if this stack is meant for production, run "
                f"`pulumi config set {ALLOW_PRODUCTION.full_name} true`; otherwise point its login at the "
                "sandbox",
                "allow_production",
            )
        ]
    )


PRODUCTION: Check[dict[str, Any]] = Check(
    "Production org", organization, _production, needs=("allow_production",), applies=lambda run: run.binding
)
