"""Connection settings: what the provider's ``configure()`` receives, and how each login form is parsed.

SFDX auth URL ``force://<clientId>:<clientSecret>:<refreshToken>@<instanceUrl>``: Salesforce CLI Command
Reference, ``org login sfdx-url``; OAuth 2.0 JWT bearer flow (``iss``/``sub``/``aud``/``exp``, RS256):
Salesforce Help "OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration".
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import certifi

from salesforce.errors import ConfigurationError
from salesforce.redaction import register_secret

CONFIG_NAMESPACE = "eci-aircall"
DEFAULT_API_VERSION = "63.0"
DEFAULT_LOGIN_URL = "https://login.salesforce.com"

#: A value check: the problem with ``value`` in words ("is not an https:// URL"), or None when it is fine.
Check = Callable[[str], "str | None"]


@dataclass(frozen=True)
class ConfigKey:
    """One stack config key, declared once. Pulumi.yaml, the program's validation and error messages, and the
    connection settings below all derive from these declarations.

    ``name`` is what follows ``eci-aircall:``; ``a.b`` is field ``b`` of the structured key ``a`` (set with
    ``pulumi config set --path``). ``default`` "" means "not set" (see Pulumi.yaml on why every key has one).
    """

    name: str
    description: str
    #: Where the value comes from (guide section or tool), quoted in every error about the key.
    source: str
    example: str = "<value>"
    default: str | bool | tuple[str, ...] = ""
    secret: bool = False
    required: bool = False
    check: Check | None = None
    #: The value may span lines (a PEM key or certificate); any other key refuses a CR or LF.
    multiline: bool = False

    @property
    def full_name(self) -> str:
        return f"{CONFIG_NAMESPACE}:{self.name}"

    @property
    def top(self) -> str:
        """The key Pulumi stores (the structured key for ``a.b``)."""
        return self.name.split(".")[0]

    @property
    def top_full_name(self) -> str:
        """``eci-aircall:<top>``: how to name the whole structured key."""
        return f"{CONFIG_NAMESPACE}:{self.top}"

    @property
    def attribute(self) -> str:
        """The Python name of the value: ``integrationUser.timeZone`` → ``time_zone``."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.name.rsplit(".", 1)[-1]).lower()

    @property
    def type(self) -> Literal["string", "boolean", "array"]:
        if isinstance(self.default, bool):
            return "boolean"
        return "array" if isinstance(self.default, tuple) else "string"

    def set_command(self) -> str:
        """The exact command that sets the key.

        A secret's value never goes on the command line (`ps` shows every process's arguments): with the
        value left out, `pulumi config set` reads it from standard input when that is not a terminal, and
        otherwise prompts for it without echo (pulumi/pulumi pkg/cmd/pulumi/config/config.go,
        ``configSetCmd.Run``). So a secret's example is a redirect (``< server.key``) or a pipe from an
        environment variable named after the key."""
        path = " --path" if "." in self.name else ""
        if not self.secret:
            return f"pulumi config set{path} {self.full_name} {self.example}"
        if self.example.startswith("<") and not self.example.startswith("< "):
            pipe = f'printf %s "${self.attribute.upper()}" |'
            return f"{pipe} pulumi config set --secret{path} {self.full_name}"
        return f"pulumi config set --secret{path} {self.full_name} {self.example}".rstrip()

    def problem(self, what: str) -> str:
        """One configuration problem: the key, what is wrong, the command that fixes it and where to look."""
        return f"{self.full_name} {what}: run `{self.set_command()}` ({self.source})"


# Value checks shared by the connection keys and the program's own. None of them quotes the value: some are
# secrets.
_USERNAME = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _spaced(value: str) -> bool:
    """Whitespace or a control character inside a URL. ``urlparse`` silently drops TAB, CR and LF (CPython
    bpo-43882), so ``https://host\r\nX-Injected: 1`` would pass for ``https://host`` and be sent as is."""
    return any(c.isspace() or ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value)


def https_url(value: str) -> str | None:
    if _spaced(value):
        return "is not an https:// URL (it contains whitespace or a line break)"
    parsed = urlparse(value)
    if parsed.scheme == "https" and parsed.netloc:
        return None
    # The emulator and local proxies listen on loopback; nothing else may be plain http.
    if parsed.scheme == "http" and parsed.hostname in {"127.0.0.1", "localhost"}:
        return None
    return "is not an https:// URL"


def salesforce_username(value: str) -> str | None:
    # Salesforce usernames are "name@domain" shaped; the check Setup applies up front (a stricter RFC 5322
    # parse would reject nothing Salesforce accepts and add a dependency).
    return None if _USERNAME.match(value) else "is not a Salesforce username (name@domain)"


def email_address(value: str) -> str | None:
    return None if _USERNAME.match(value) else "is not an email address"


def _api_version(value: str) -> str | None:
    return None if re.fullmatch(r"\d{2,3}\.0", value) else "is not a Salesforce API version like 63.0"


def _private_key(value: str) -> str | None:
    return None if "PRIVATE KEY-----" in value else "is not a PEM private key"


def _sfdx_auth_url(value: str) -> str | None:
    return None if value.startswith("force://") else "is not an SFDX auth URL (it starts with force://)"


# The connection: EITHER targetOrg (a Salesforce CLI login, asked for a session at run time), OR instanceUrl +
# accessToken, OR sfdxAuthUrl, OR JWT bearer (username, clientId,
# privateKey, loginUrl). Each key's attribute name is the ConnectionSettings field it fills.
INSTANCE_URL = ConfigKey(
    "instanceUrl",
    "The org's instance (My Domain) URL, e.g. https://acme.my.salesforce.com (`sf org display --json` -> "
    "result.instanceUrl). Needed with accessToken.",
    source="`sf org display --json` → result.instanceUrl",
    example="https://mydomain.my.salesforce.com",
    check=https_url,
)
ACCESS_TOKEN = ConfigKey(
    "accessToken",
    # Salesforce CLI 2.x hides secrets from `org display` ("Secrets are now hidden from 'sf org display'
    # command output. Use the 'sf org auth' commands instead": plugin-org, messages/secrets-redacted.md).
    "A session/access token for the org (`sf org auth show-access-token --json` -> result.accessToken).",
    source="`sf org auth show-access-token --json` → result.accessToken",
    example="<access token>",
    secret=True,
)
SFDX_AUTH_URL = ConfigKey(
    "sfdxAuthUrl",
    "An SFDX auth URL, force://... (`sf org auth show-sfdx-auth-url --json` -> result.sfdxAuthUrl); "
    "refreshes its own session.",
    source="`sf org auth show-sfdx-auth-url --json` → result.sfdxAuthUrl",
    example="force://<clientId>::<refreshToken>@<instance>",
    secret=True,
    check=_sfdx_auth_url,
)
USERNAME = ConfigKey(
    "username",
    "JWT bearer login (CI) - the Salesforce username to log in as.",
    source="the Salesforce username the JWT bearer flow logs in as",
    example="ci-bot@example.com",
    check=salesforce_username,
)
CLIENT_ID = ConfigKey(
    "clientId",
    "JWT bearer login - the consumer key of the connected app that holds the certificate.",
    source="the consumer key of the connected app registered for JWT bearer",
    example="<consumer key>",
)
PRIVATE_KEY = ConfigKey(
    "privateKey",
    "JWT bearer login - the PEM private key matching that certificate "
    "(`pulumi config set --secret eci-aircall:privateKey < server.key`).",
    source="the PEM private key whose certificate is on that connected app",
    example="< server.key",
    secret=True,
    check=_private_key,
    multiline=True,
)
LOGIN_URL = ConfigKey(
    "loginUrl",
    "JWT bearer login - https://login.salesforce.com, https://test.salesforce.com or your My Domain.",
    source="https://login.salesforce.com, https://test.salesforce.com or your My Domain URL",
    example=DEFAULT_LOGIN_URL,
    default=DEFAULT_LOGIN_URL,
    check=https_url,
)
CA_BUNDLE = ConfigKey(
    "caBundle",
    "Optional PEM file of extra CA certificates to trust (TLS-intercepting proxies, the emulator).",
    source="a PEM file of extra CA certificates (only for TLS-intercepting proxies)",
    example="/path/to/ca.pem",
    multiline=True,  # a path, or the PEM text itself
)
API_VERSION = ConfigKey(
    "apiVersion",
    "Salesforce API version used for REST and the Metadata API.",
    source="the Salesforce API version, e.g. 63.0",
    example=DEFAULT_API_VERSION,
    default=DEFAULT_API_VERSION,
    check=_api_version,
)
TARGET_ORG = ConfigKey(
    "targetOrg",
    "Alias or username of an org the Salesforce CLI is logged in to (`sf org login web --alias uat`). The "
    "provider asks the CLI for a session (`sf org display`, `sf org auth show-access-token`) each time it "
    "runs, so no "
    "credential is stored in the stack or its state and `pulumi refresh` / `pulumi destroy` keep working "
    "after a token expires.",
    source="an alias or username from `sf org list` (`sf org login web --alias <alias>`)",
    example="uat",
)
CONNECTION_KEYS: tuple[ConfigKey, ...] = (
    TARGET_ORG,
    INSTANCE_URL,
    ACCESS_TOKEN,
    SFDX_AUTH_URL,
    USERNAME,
    CLIENT_ID,
    PRIVATE_KEY,
    LOGIN_URL,
    CA_BUNDLE,
    API_VERSION,
)
#: The JWT bearer login's keys (all three needed).
JWT_KEYS: tuple[ConfigKey, ...] = (USERNAME, CLIENT_ID, PRIVATE_KEY)


# ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConnectionSettings:
    """What ``configure()`` receives. ``repr`` never shows a secret (repr=False on each)."""

    target_org: str | None = None
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
        """Read :data:`CONNECTION_KEYS` from a ``pulumi.dynamic.Config`` (or a plain mapping in tests)."""

        def get(key: ConfigKey) -> str | None:
            value: Any
            if isinstance(config, Mapping):
                value = config.get(key.full_name, config.get(key.name))
            else:
                value = config.get(key.full_name)
            value = str(value).strip() if value is not None else ""
            return value or (str(key.default) if key.default else None)

        # The defaults come from the declarations; a value of "" counts as not set, as in Pulumi.yaml.
        values: dict[str, Any] = {key.attribute: get(key) for key in CONNECTION_KEYS}
        for url in ("instance_url", "login_url"):
            values[url] = (values[url] or "").rstrip("/") or None
        settings = cls(**values)
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
        raw = "\0".join(str(getattr(self, f.name)) for f in fields(self))
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


_AUTH_URL_PIPE = (
    "`sf org auth show-sfdx-auth-url --json | jq -r .result.sfdxAuthUrl | "
    f"pulumi config set --secret {SFDX_AUTH_URL.full_name}`"
)


def _parse_sfdx_auth_url(url: str) -> tuple[str, str, str, str]:
    """``force://clientId:clientSecret:refreshToken@host`` → (client_id, secret, refresh_token, base_url)."""
    if not url.startswith("force://") or "@" not in url:
        raise ConfigurationError(
            f"{SFDX_AUTH_URL.full_name} is not an SFDX auth URL "
            "(force://<clientId>:<clientSecret>:<refreshToken>@<host>)",
            hint="print one with `sf org auth show-sfdx-auth-url --json --target-org <alias>` and "
            f"pipe it in: {_AUTH_URL_PIPE}",
        )
    creds, host = url[len("force://") :].rsplit("@", 1)
    parts = creds.split(":", 2)
    if len(parts) != 3 or not parts[0] or not parts[2] or not host:
        raise ConfigurationError(
            f"{SFDX_AUTH_URL.full_name} must look like force://<clientId>:<clientSecret>:<refreshToken>@<host>",
            hint="print one with `sf org auth show-sfdx-auth-url --json --target-org <alias>`",
        )
    base = host if host.startswith(("https://", "http://")) else f"https://{host}"
    if not is_secure_url(base):
        # The refresh token and client secret are posted to this host: never in clear over a network.
        raise ConfigurationError(
            f"{SFDX_AUTH_URL.full_name} names an http:// host; the refresh token would be sent in clear",
            hint="use the org's https:// My Domain (`sf org auth show-sfdx-auth-url --json`), set "
            f"on stdin: {_AUTH_URL_PIPE}",
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
    with whitespace or a line break in it is neither (see :func:`_spaced`)."""
    if _spaced(url):
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


def _ca_bundle_path(value: str) -> str:
    """The file requests verifies against: the default roots (certifi, what requests trusts without
    ``caBundle``) followed by ``caBundle``'s certificates — it ADDS a CA (a company proxy's, a local
    emulator's), so Salesforce and api.aircall.io stay trusted. ``caBundle`` may be a path or the PEM text."""
    try:
        extra = value if "-----BEGIN" in value else Path(value).expanduser().read_text()
    except OSError as exc:
        raise ConfigurationError(
            f"{CA_BUNDLE.full_name} cannot be read ({type(exc).__name__})",
            hint="set it to a PEM file of the CA to add (or the PEM text): "
            f"`pulumi config set {CA_BUNDLE.full_name} /path/to/ca.pem`",
        ) from None
    digest = hashlib.sha256(extra.encode()).hexdigest()[:16]
    if digest not in _CA_FILES:
        default = Path(certifi.where()).read_text()
        fd, path = tempfile.mkstemp(prefix=f"eci-ca-{digest}-", suffix=".pem")
        with os.fdopen(fd, "w") as handle:
            handle.write(default.rstrip("\n") + "\n" + extra)
        _CA_FILES[digest] = path
    return _CA_FILES[digest]
