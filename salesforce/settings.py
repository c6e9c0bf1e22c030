"""Connection settings: what the provider's ``configure()`` receives, and how each login form is parsed.

SFDX auth URL ``force://<clientId>:<clientSecret>:<refreshToken>@<instanceUrl>``: Salesforce CLI Command
Reference, ``org login sfdx-url``; OAuth 2.0 JWT bearer flow (``iss``/``sub``/``aud``/``exp``, RS256):
Salesforce Help "OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration".
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from salesforce.errors import ConfigurationError
from salesforce.redaction import register_secret

CONFIG_NAMESPACE = "eci-aircall"
DEFAULT_API_VERSION = "63.0"
DEFAULT_LOGIN_URL = "https://login.salesforce.com"


# ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConnectionSettings:
    """What ``configure()`` receives. ``repr`` never shows a secret (repr=False on each)."""

    instance_url: str | None = None
    access_token: str | None = field(default=None, repr=False)
    sfdx_auth_url: str | None = field(default=None, repr=False)
    username: str | None = None
    client_id: str | None = None
    private_key: str | None = field(default=None, repr=False)
    login_url: str = DEFAULT_LOGIN_URL
    ca_bundle: str | None = None
    api_version: str = DEFAULT_API_VERSION

    @classmethod
    def from_config(cls, config: Any) -> ConnectionSettings:
        """Read the ``eci-aircall:*`` keys from a ``pulumi.dynamic.Config`` (or a plain mapping in tests)."""

        def get(key: str) -> str | None:
            value: Any
            if isinstance(config, Mapping):
                value = config.get(f"{CONFIG_NAMESPACE}:{key}", config.get(key))
            else:
                value = config.get(f"{CONFIG_NAMESPACE}:{key}")
            if value is None or value == "":
                return None
            return str(value)

        settings = cls(
            instance_url=(get("instanceUrl") or "").rstrip("/") or None,
            access_token=get("accessToken"),
            sfdx_auth_url=get("sfdxAuthUrl"),
            username=get("username"),
            client_id=get("clientId"),
            private_key=get("privateKey"),
            login_url=(get("loginUrl") or DEFAULT_LOGIN_URL).rstrip("/"),
            ca_bundle=get("caBundle"),
            api_version=get("apiVersion") or DEFAULT_API_VERSION,
        )
        for secret in (settings.access_token, settings.sfdx_auth_url, settings.private_key):
            register_secret(secret)
        if settings.sfdx_auth_url:
            try:
                for part in _parse_sfdx_auth_url(settings.sfdx_auth_url)[1:3]:
                    register_secret(part)
            except ConfigurationError:
                pass  # reported on first use: configure() itself must not fail (it runs for every provider)
        return settings

    @property
    def auth_mode(self) -> str:
        if self.access_token:
            return "access_token"
        if self.sfdx_auth_url:
            return "sfdx_auth_url"
        if self.username and self.client_id and self.private_key:
            return "jwt"
        return "none"

    def fingerprint(self) -> str:
        """Identity of a connection (one client per process and connection); a hash, so no secret is a key."""
        raw = "\0".join(
            str(v)
            for v in (
                self.instance_url,
                self.access_token,
                self.sfdx_auth_url,
                self.username,
                self.client_id,
                self.private_key,
                self.login_url,
                self.ca_bundle,
                self.api_version,
            )
        )
        return hashlib.sha256(raw.encode()).hexdigest()


def jwt_audience(login_url: str) -> str:
    """The JWT ``aud``: Salesforce accepts https://login.salesforce.com, https://test.salesforce.com or an
    Experience Cloud site URL (Help, "OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration"), even when
    the
    token is posted to a My Domain; any other login URL (a community, the test emulator) is its own
    audience."""
    host = login_url.split("://", 1)[-1].split("/", 1)[0].lower()
    if host.endswith(".my.salesforce.com"):
        return "https://test.salesforce.com" if ".sandbox." in host else "https://login.salesforce.com"
    return login_url


def _parse_sfdx_auth_url(url: str) -> tuple[str, str, str, str]:
    """``force://clientId:clientSecret:refreshToken@host`` → (client_id, secret, refresh_token, base_url)."""
    if not url.startswith("force://") or "@" not in url:
        raise ConfigurationError(
            "eci-aircall:sfdxAuthUrl is not an SFDX auth URL "
            "(force://<clientId>:<clientSecret>:<refreshToken>@<host>)",
            hint="print one with `sf org display --verbose --json --target-org <alias>` (sfdxAuthUrl) and "
            "set it with `pulumi config set --secret eci-aircall:sfdxAuthUrl <url>`",
        )
    creds, host = url[len("force://") :].rsplit("@", 1)
    parts = creds.split(":", 2)
    if len(parts) != 3 or not parts[0] or not parts[2] or not host:
        raise ConfigurationError(
            "eci-aircall:sfdxAuthUrl must look like force://<clientId>:<clientSecret>:<refreshToken>@<host>",
            hint="print one with `sf org display --verbose --json --target-org <alias>`",
        )
    base = host if host.startswith(("https://", "http://")) else f"https://{host}"
    return parts[0], parts[1], parts[2], base.rstrip("/")



def _private_key_text(value: str) -> str:
    """The key itself, or a path to a PEM file (both are common ways to pass it)."""
    if "-----BEGIN" in value:
        return value
    path = Path(value).expanduser()
    if path.is_file():
        return path.read_text()
    return value


_CA_FILES: dict[str, str] = {}


def _ca_bundle_path(value: str) -> str:
    """``caBundle`` may be a path or the PEM text itself; requests wants a path."""
    if "-----BEGIN" not in value:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:16]
    if digest not in _CA_FILES:
        fd, path = tempfile.mkstemp(prefix=f"eci-ca-{digest}-", suffix=".pem")
        with os.fdopen(fd, "w") as handle:
            handle.write(value)
        _CA_FILES[digest] = path
    return _CA_FILES[digest]
