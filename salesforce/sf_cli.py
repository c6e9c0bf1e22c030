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
from collections.abc import Mapping
from typing import Any

from salesforce.errors import ConfigurationError
from salesforce.redaction import register_secret
from salesforce.settings import SettingKey, is_secure_url

TIMEOUT_SECONDS = 120

# What `sf` gets of the provider's environment: only what it needs to find itself, its own settings and
# logins, the network and its CAs. The provider process holds far more (PULUMI_CONFIG_PASSPHRASE, the
# decrypted stack config as PULUMI_CONFIG, cloud credentials), none of which is the CLI's business.
_ENV_NAMES = frozenset(
    {
        "PATH",
        "HOME",
        # Where oclif keeps the CLI's config, data and cache on Linux (XDG Base Directory spec), and the
        # temporary directory; on Windows, the user's profile and the system root Node needs.
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "XDG_CACHE_HOME",
        "TMPDIR",
        "TMP",
        "TEMP",
        "USERPROFILE",
        "APPDATA",
        "LOCALAPPDATA",
        "SYSTEMROOT",
        # libsecret's session bus: where `sf` may keep its key on Linux (sfdx-core keyChain, secret-tool).
        "DBUS_SESSION_BUS_ADDRESS",
        "LANG",
        "LC_ALL",
        # Proxies (Salesforce CLI Setup Guide: the CLI behind a company firewall or web proxy).
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        # Extra CAs (Node: NODE_EXTRA_CA_CERTS; OpenSSL: SSL_CERT_FILE / SSL_CERT_DIR).
        "NODE_EXTRA_CA_CERTS",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
    }
)
_ENV_PREFIXES = ("SF_", "SFDX_")
# No colours, prompts, update checks or telemetry in a child process whose output we parse (Salesforce CLI
# Setup Guide, "Environment Variables": SF_DISABLE_TELEMETRY / SFDX_DISABLE_TELEMETRY, SF_AUTOUPDATE_DISABLE;
# @oclif/plugin-update reads SF_DISABLE_AUTOUPDATE).
_ENV_FORCED = {
    "SF_DISABLE_TELEMETRY": "true",
    "SFDX_DISABLE_TELEMETRY": "true",
    "SF_AUTOUPDATE_DISABLE": "true",
    "SF_DISABLE_AUTOUPDATE": "true",
    "FORCE_COLOR": "0",
}


def cli_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment `sf` runs with: the allow-listed part of ``environ`` (default ``os.environ``), with
    telemetry and auto-update off."""
    source = os.environ if environ is None else environ
    kept = {k: v for k, v in source.items() if k in _ENV_NAMES or k.upper().startswith(_ENV_PREFIXES)}
    return {**kept, **_ENV_FORCED}


def _hidden(token: Any) -> bool:
    """``[REDACTED]``-style placeholders (anything but a token's characters) are not a token."""
    return not isinstance(token, str) or not token or any(c in token for c in " []()<>")


def _run(exe: str, target_org: str, *command: str) -> tuple[int, dict[str, Any]]:
    cmd = [exe, *command, "--target-org", target_org, "--json"]
    env = cli_environment()
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


def _no_login(target_org: str, key: SettingKey, doc: dict[str, Any]) -> ConfigurationError:
    message = str(doc.get("message") or "").strip()
    return ConfigurationError(
        f"the Salesforce CLI has no usable login for {key.full_name} '{target_org}'"
        + (f": {message}" if message else ""),
        hint=f"log in with `sf org login web --alias {target_org}` (a sandbox: add --instance-url "
        "https://test.salesforce.com), then run the same pulumi command again",
    )


def org_display(target_org: str, key: SettingKey) -> tuple[str, str]:
    """(access token, instance URL) of ``target_org`` as the Salesforce CLI holds it now."""
    token, instance, _org_id = org_login(target_org, key)
    return token, instance


def org_login(target_org: str, key: SettingKey) -> tuple[str, str, str | None]:
    """(access token, instance URL, org Id) of ``target_org`` as the Salesforce CLI holds it now. The org Id
    is ``org display``'s ``result.id`` (the Organization Id of the login; Salesforce CLI Command Reference,
    "org display"), None when the CLI gives none: learnt without a call to the org. ``key`` is the config key
    that names ``target_org`` (in the errors)."""
    exe = shutil.which("sf")
    if exe is None:
        raise ConfigurationError(
            f"{key.full_name} needs the Salesforce CLI (`sf`), which is not on PATH",
            hint="install it (https://developer.salesforce.com/tools/salesforcecli) and log in with "
            f"`sf org login web --alias {target_org}`",
        )
    code, doc = _run(exe, target_org, "org", "display")
    result = doc.get("result")
    instance = result.get("instanceUrl") if isinstance(result, dict) else None
    token = result.get("accessToken") if isinstance(result, dict) else None
    org_id = str(result.get("id") or "") if isinstance(result, dict) else ""
    if code != 0 or not instance:
        raise _no_login(target_org, key, doc)
    if not is_secure_url(str(instance)):
        # The bearer token would travel in clear: the same rule as instanceUrl, sfdxAuthUrl and loginUrl.
        raise ConfigurationError(
            f"the Salesforce CLI's login for {key.full_name} '{target_org}' is to an http:// instance "
            "URL; the access token would be sent in clear (plain http is allowed only to loopback)",
            hint=f"log in again to the org's https:// My Domain: `sf org login web --alias {target_org} "
            "--instance-url https://<mydomain>.my.salesforce.com`",
        )
    if _hidden(token):
        code, doc = _run(exe, target_org, "org", "auth", "show-access-token")
        result = doc.get("result")
        token = result.get("accessToken") if isinstance(result, dict) else None
        if code != 0 or _hidden(token):
            raise _no_login(target_org, key, doc)
    register_secret(str(token))
    return str(token), str(instance).rstrip("/"), org_id or None
