"""Connection settings: what the provider's ``configure()`` receives, and how each login form is parsed.
The config keys behind them are declared by the config layer (``providers/config/keys.py``) and handed in.

SFDX auth URL ``force://<clientId>:<clientSecret>:<refreshToken>@<instanceUrl>``: Salesforce CLI Command
Reference, ``org login sfdx-url``; OAuth 2.0 JWT bearer flow (``iss``/``sub``/``aud``/``exp``, RS256):
Salesforce Help "OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration".
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

import certifi

from salesforce.errors import ConfigurationError
from salesforce.redaction import register_secret


class SettingKey(Protocol):
    """How the user sets one connection setting. The config layer declares the keys
    (``providers/config/keys.py``) and hands them in with the settings (:class:`ConnectionKeys`), so an error
    here names the key and the command that sets it without this package knowing the stack config."""

    @property
    def full_name(self) -> str: ...

    def set_command(self) -> str: ...


@dataclass(frozen=True)
class ConnectionKeys:
    """The key behind each :class:`ConnectionSettings` field, by the field's name."""

    target_org: SettingKey
    instance_url: SettingKey
    access_token: SettingKey
    sfdx_auth_url: SettingKey
    username: SettingKey
    client_id: SettingKey
    private_key: SettingKey
    login_url: SettingKey
    ca_bundle: SettingKey
    api_version: SettingKey


def spaced(value: str) -> bool:
    """Whitespace or a control character inside a URL. ``urlparse`` silently drops TAB, CR and LF (CPython
    bpo-43882), so ``https://host\r\nX-Injected: 1`` would pass for ``https://host`` and be sent as is."""
    return any(c.isspace() or ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value)


# ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class ConnectionSettings:
    """What ``configure()`` receives (``providers/config/connection.py`` reads it from the stack config, the
    keys' defaults applied). ``repr`` never shows a secret (repr=False on each)."""

    keys: ConnectionKeys = field(repr=False, compare=False)
    login_url: str
    api_version: str
    target_org: str | None = None
    instance_url: str | None = None
    access_token: str | None = field(default=None, repr=False)
    sfdx_auth_url: str | None = field(default=None, repr=False)
    username: str | None = None
    client_id: str | None = None
    private_key: str | None = field(default=None, repr=False)
    ca_bundle: str | None = None

    def __post_init__(self) -> None:
        # No message made in this process may quote a credential, from the moment it is known.
        for secret in (self.access_token, self.sfdx_auth_url, self.private_key):
            register_secret(secret)
        if self.sfdx_auth_url:
            try:
                for part in _parse_sfdx_auth_url(self.sfdx_auth_url, self.keys.sfdx_auth_url)[1:3]:
                    register_secret(part)
            except ConfigurationError:
                pass  # reported on first use: configure() itself must not fail (it runs for every provider)

    @property
    def auth_mode(self) -> str:
        if self.target_org:
            return "sf_cli"
        if self.access_token:
            return "access_token"
        if self.sfdx_auth_url:
            return "sfdx_auth_url"
        if self.username and self.client_id and self.private_key:
            return "jwt"
        return "none"

    def fingerprint(self) -> str:
        """Identity of a connection (one client per process and connection); a hash, so no secret is a key."""
        raw = "\0".join(str(getattr(self, f.name)) for f in fields(self) if f.compare)
        return hashlib.sha256(raw.encode()).hexdigest()


def jwt_audience(login_url: str) -> str:
    """The JWT ``aud``: Salesforce accepts https://login.salesforce.com, https://test.salesforce.com or an
    Experience Cloud site URL (Help, "OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration"), even when
    the token is posted to a My Domain; any other login URL (a community, the test emulator) is its own
    audience."""
    host = login_url.split("://", 1)[-1].split("/", 1)[0].lower()
    if host.endswith(".my.salesforce.com"):
        return "https://test.salesforce.com" if ".sandbox." in host else "https://login.salesforce.com"
    return login_url


def _auth_url_pipe(key: SettingKey) -> str:
    return (
        "`sf org auth show-sfdx-auth-url --json | jq -r .result.sfdxAuthUrl | "
        f"pulumi config set --secret {key.full_name}`"
    )


def _parse_sfdx_auth_url(url: str, key: SettingKey) -> tuple[str, str, str, str]:
    """``force://clientId:clientSecret:refreshToken@host`` → (client_id, secret, refresh_token, base_url);
    ``key`` is the config key that holds it (named in the error)."""
    if not url.startswith("force://") or "@" not in url:
        raise ConfigurationError(
            f"{key.full_name} is not an SFDX auth URL "
            "(force://<clientId>:<clientSecret>:<refreshToken>@<host>)",
            hint="print one with `sf org auth show-sfdx-auth-url --json --target-org <alias>` and "
            f"pipe it in: {_auth_url_pipe(key)}",
        )
    creds, host = url[len("force://") :].rsplit("@", 1)
    parts = creds.split(":", 2)
    if len(parts) != 3 or not parts[0] or not parts[2] or not host:
        raise ConfigurationError(
            f"{key.full_name} must look like force://<clientId>:<clientSecret>:<refreshToken>@<host>",
            hint="print one with `sf org auth show-sfdx-auth-url --json --target-org <alias>`",
        )
    base = host if host.startswith(("https://", "http://")) else f"https://{host}"
    if not is_secure_url(base):
        # The refresh token and client secret are posted to this host: never in clear over a network.
        raise ConfigurationError(
            f"{key.full_name} names an http:// host; the refresh token would be sent in clear",
            hint="use the org's https:// My Domain (`sf org auth show-sfdx-auth-url --json`), set "
            f"on stdin: {_auth_url_pipe(key)}",
        )
    return parts[0], parts[1], parts[2], base.rstrip("/")


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1 or localhost: traffic that never leaves this machine (a local emulator or proxy)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_secure_url(url: str) -> bool:
    """https, or http to loopback only: credentials and session ids never cross a network in clear. A URL
    with whitespace or a line break in it is neither (see :func:`spaced`)."""
    if spaced(url):
        return False
    parsed = urlparse(url)
    if not parsed.hostname:
        return False
    return parsed.scheme == "https" or (parsed.scheme == "http" and is_loopback(parsed.hostname))


def _private_key_text(value: str) -> str:
    """The key itself, or a path to a PEM file (both are common ways to pass it)."""
    if "-----BEGIN" in value:
        return value
    path = Path(value).expanduser()
    if path.is_file():
        return path.read_text()
    return value


_CA_FILES: dict[str, str] = {}


def _ca_bundle_path(value: str, key: SettingKey) -> str:
    """The file requests verifies against: the default roots (certifi, what requests trusts without
    ``caBundle``) followed by ``caBundle``'s certificates — it ADDS a CA (a company proxy's, a local
    emulator's), so Salesforce and api.aircall.io stay trusted. ``caBundle`` may be a path or the PEM text."""
    try:
        extra = value if "-----BEGIN" in value else Path(value).expanduser().read_text()
    except OSError as exc:
        raise ConfigurationError(
            f"{key.full_name} cannot be read ({type(exc).__name__})",
            hint="set it to a PEM file of the CA to add (or the PEM text): "
            f"`pulumi config set {key.full_name} /path/to/ca.pem`",
        ) from None
    digest = hashlib.sha256(extra.encode()).hexdigest()[:16]
    if digest not in _CA_FILES:
        default = Path(certifi.where()).read_text()
        fd, path = tempfile.mkstemp(prefix=f"eci-ca-{digest}-", suffix=".pem")
        with os.fdopen(fd, "w") as handle:
            handle.write(default.rstrip("\n") + "\n" + extra)
        _CA_FILES[digest] = path
    return _CA_FILES[digest]
