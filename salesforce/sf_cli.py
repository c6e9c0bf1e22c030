"""A session from the Salesforce CLI's own login of an org (config ``targetOrg``), asked for at run time.

``sf org display --target-org <alias> --json`` prints ``{"status": 0, "result": {"accessToken", "instanceUrl",
"username", "id", "apiVersion", "connectedStatus", "alias", ...}}`` and, on failure, ``{"status": 1, "name",
"message", ...}`` (Salesforce CLI Command Reference, "org display"; the JSON shape as read by e.g.
tmkw/sf_cli lib/sf_cli/sf/org/display.rb). The CLI refreshes an expired access token itself when it holds a
refresh token (web / JWT / sfdx-url logins), so asking again is how a session is renewed. The alias goes on
the command line; no secret does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from salesforce.errors import ConfigurationError
from salesforce.redaction import register_secret

TIMEOUT_SECONDS = 120


def org_display(target_org: str) -> tuple[str, str]:
    """(access token, instance URL) of ``target_org`` as the Salesforce CLI holds it now."""
    exe = shutil.which("sf")
    login = f"`sf org login web --alias {target_org}`"
    if exe is None:
        raise ConfigurationError(
            "eci-aircall:targetOrg needs the Salesforce CLI (`sf`), which is not on PATH",
            hint="install it (https://developer.salesforce.com/tools/salesforcecli) and log in with " + login,
        )
    cmd = [exe, "org", "display", "--target-org", target_org, "--json"]
    # No colours, prompts or update checks in a child process whose output we parse.
    env = {**os.environ, "SF_AUTOUPDATE_DISABLE": "true", "SF_DISABLE_AUTOUPDATE": "true", "FORCE_COLOR": "0"}
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, env=env, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigurationError(
            f"`sf org display --target-org {target_org} --json` did not run: {type(exc).__name__}",
            hint=f"check the Salesforce CLI works (`sf org list`); log in again with {login}",
        ) from None
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        doc = {}
    result = doc.get("result") if isinstance(doc, dict) else None
    token = result.get("accessToken") if isinstance(result, dict) else None
    instance = result.get("instanceUrl") if isinstance(result, dict) else None
    if proc.returncode != 0 or not token or not instance:
        message = str(doc.get("message") or "") if isinstance(doc, dict) else ""
        raise ConfigurationError(
            f"the Salesforce CLI has no usable login for eci-aircall:targetOrg '{target_org}'"
            + (f": {message.strip()}" if message.strip() else ""),
            hint=f"log in with {login} (a sandbox: add --instance-url https://test.salesforce.com), "
            "then run the same pulumi command again",
        )
    register_secret(str(token))
    return str(token), str(instance).rstrip("/")
