"""A session from the Salesforce CLI's own login of an org (config ``targetOrg``), asked for at run time.

``sf org display --target-org <alias> --json`` prints ``{"status": 0, "result": {"id", "apiVersion",
"accessToken", "instanceUrl", "username", "connectedStatus", "alias"}}`` and, on failure, ``{"status": 1,
"name", "message", ...}`` (Salesforce CLI Command Reference, "org display"). Current CLIs (2.150 here) hide
the token there ("Secrets are now hidden from 'sf org display' command output. Use the 'sf org auth' commands
instead", a warning in the same JSON) and give it through ``sf org auth show-access-token --target-org <alias>
--json`` (``{"result": {"accessToken"}}``, no prompt with --json); older ones print it in ``org display``. So:
``org display`` for the instance URL (and the token when it is there), then ``org auth show-access-token``
when it is not. The CLI renews an expired token itself when it holds a refresh token (web / JWT / sfdx-url
logins), so asking again is how a session is renewed. Only the alias goes on the command line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

from salesforce.errors import ConfigurationError
from salesforce.redaction import register_secret

TIMEOUT_SECONDS = 120


def _hidden(token: Any) -> bool:
    """``[REDACTED]``-style placeholders (anything but a token's characters) are not a token."""
    return not isinstance(token, str) or not token or any(c in token for c in " []()<>")


def _run(exe: str, target_org: str, *command: str) -> tuple[int, dict[str, Any]]:
    cmd = [exe, *command, "--target-org", target_org, "--json"]
    # No colours, prompts or update checks in a child process whose output we parse.
    env = {**os.environ, "SF_AUTOUPDATE_DISABLE": "true", "SF_DISABLE_AUTOUPDATE": "true", "FORCE_COLOR": "0"}
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, env=env, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigurationError(
            f"`sf {' '.join(command)} --target-org {target_org} --json` did not run: {type(exc).__name__}",
            hint=f"check the Salesforce CLI works (`sf org list`); log in again with "
            f"`sf org login web --alias {target_org}`",
        ) from None
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        doc = {}
    return proc.returncode, doc if isinstance(doc, dict) else {}


def _no_login(target_org: str, doc: dict[str, Any]) -> ConfigurationError:
    message = str(doc.get("message") or "").strip()
    return ConfigurationError(
        f"the Salesforce CLI has no usable login for eci-aircall:targetOrg '{target_org}'"
        + (f": {message}" if message else ""),
        hint=f"log in with `sf org login web --alias {target_org}` (a sandbox: add --instance-url "
        "https://test.salesforce.com), then run the same pulumi command again",
    )


def org_display(target_org: str) -> tuple[str, str]:
    """(access token, instance URL) of ``target_org`` as the Salesforce CLI holds it now."""
    exe = shutil.which("sf")
    if exe is None:
        raise ConfigurationError(
            "eci-aircall:targetOrg needs the Salesforce CLI (`sf`), which is not on PATH",
            hint="install it (https://developer.salesforce.com/tools/salesforcecli) and log in with "
            f"`sf org login web --alias {target_org}`",
        )
    code, doc = _run(exe, target_org, "org", "display")
    result = doc.get("result")
    instance = result.get("instanceUrl") if isinstance(result, dict) else None
    token = result.get("accessToken") if isinstance(result, dict) else None
    if code != 0 or not instance:
        raise _no_login(target_org, doc)
    if _hidden(token):
        code, doc = _run(exe, target_org, "org", "auth", "show-access-token")
        result = doc.get("result")
        token = result.get("accessToken") if isinstance(result, dict) else None
        if code != 0 or _hidden(token):
            raise _no_login(target_org, doc)
    register_secret(str(token))
    return str(token), str(instance).rstrip("/")
