"""Whether the connecting user may run the health probes: anonymous Apex with a named-credential callout.
Not a blocker (the stack works without probes: ``eci-aircall:healthChecks`` false); reported in the
``anonymous_apex`` output.

Apex Developer Guide, "Anonymous Blocks": executing anonymous Apex needs "API Enabled" and "Author Apex",
and a callout through a named credential "Customize Application". The running user's permissions: Object
Reference, "UserPermissionAccess".
"""

from __future__ import annotations

from typing import Any

from providers.config.keys import HEALTH_CHECKS
from providers.preflight.runner import Check, Run, Verdict

PERMISSIONS = (
    ("PermissionsAuthorApex", "Author Apex"),
    ("PermissionsApiEnabled", "API Enabled"),
    ("PermissionsCustomizeApplication", "Customize Application"),
)


def _permissions(run: Run) -> dict[str, Any]:
    rows = run.client.query(
        f"SELECT {', '.join(sorted(field for field, _ in PERMISSIONS))} FROM UserPermissionAccess",
        artifact="Preflight anonymous Apex",
    )
    return dict(rows[0]) if rows else {}


def _verdict(run: Run, row: dict[str, Any]) -> Verdict:
    missing = [label for field, label in PERMISSIONS if not row.get(field)]
    if not missing:
        return Verdict(outputs={"anonymous_apex": "allowed"})
    return Verdict(
        outputs={
            "anonymous_apex": f"not permitted: the connecting user lacks {', '.join(missing)}; the health "
            f"probes need it (or set {HEALTH_CHECKS.full_name} false)"
        }
    )


ANONYMOUS_APEX: Check[dict[str, Any]] = Check("Anonymous Apex for the health probes", _permissions, _verdict)
