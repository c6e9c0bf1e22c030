"""The one place that talks to Salesforce.

Connection settings come from the provider configuration (namespace ``eci-aircall``) in ``configure()``,
which the dynamic-provider host calls *after* unpickling the provider: nothing credential-like is ever pickled
into state. A :class:`SalesforceClient` is shared per process and per connection settings, so the providers
of one ``up`` log in once; it logs in lazily, on the first call a provider really needs.

Every REST / SOQL / Metadata / Connect REST call goes through :meth:`SalesforceClient._call`, which

* maps every failure (simple-salesforce REST exceptions with their error arrays, Metadata ``SaveResult`` /
  ``DeleteResult`` with ``success=false``, zeep SOAP faults, transport errors) to ONE exception type,
  :class:`SalesforceError`, whose text names the artifact and Salesforce's ``errorCode`` and never a secret;
* retries what is transient (``UNABLE_TO_LOCK_ROW``, ``SERVER_UNAVAILABLE``, HTTP 502/503/504, connection
  errors) with bounded exponential backoff (tenacity; base delay from ``ECI_RETRY_BASE_SECONDS``, default 1 s)
  and never retries anything else;
* renews an expired session once (refresh-token or JWT bearer grant) and retries; with a plain access token it
  says how to get a new one.

Sources: REST error body ``[{"errorCode", "message", "fields"}]`` — REST API Developer Guide, "Status Codes
and Error Responses"; Metadata ``SaveResult``/``Error(statusCode, message, fields)`` — Metadata API Developer
Guide, "createMetadata()"; SFDX auth URL ``force://<clientId>:<clientSecret>:<refreshToken>@<instanceUrl>`` —
Salesforce CLI Command Reference, ``org login sfdx-url``; OAuth 2.0 JWT bearer flow (``iss``/``sub``/``aud``/
``exp``, RS256) — Salesforce Help "OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration".

The client libraries (requests, simple-salesforce, zeep, PyJWT, tenacity) are imported where they are first
used, not with this module: the Pulumi program imports it (through the providers it registers) and makes no
call, and a provider process that makes none (a no-op ``up``) never loads them; they cost about as much CPU
as the rest of the program's imports together (docs/benchmarks.md, "imports").
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlsplit

from salesforce import progress, sf_cli
from salesforce.errors import (
    CERTIFICATE_ERROR,
    DAILY_LIMIT_HINT,
    NOT_AN_API,
    PERMANENT_TRANSPORT_CODES,
    TRANSIENT_CODES,
    ConfigurationError,
    SalesforceError,
    UsageError,
    _first_rest_error,
    _map_exception,
    _raise_for_results,
    non_api_5xx,
    service_failures,
)
from salesforce.redaction import register_secret
from salesforce.settings import (
    ConnectionKeys,
    ConnectionSettings,
    _ca_bundle_path,
    _parse_sfdx_auth_url,
    _private_key_text,
    is_secure_url,
    jwt_audience,
)

if TYPE_CHECKING:
    import requests
    import zeep
    from simple_salesforce import Salesforce
    from tenacity import RetryCallState

T = TypeVar("T")

RETRY_ATTEMPTS = 5

# `pulumi refresh` and `pulumi destroy` configure the provider from the config saved in state at the last
# `up` (pulumi/pulumi pkg/resource/deploy/providers/registry.go loads it from the default provider's inputs),
# unless `--run-program` is given; so a token set since then only reaches them with that flag.
def access_token_expired_hint(keys: ConnectionKeys) -> str:
    """What to do when the configured access token is refused (INVALID_SESSION_ID)."""
    return (
        f"the access token in {keys.access_token.full_name} has expired or was revoked. Get a new one "
        "and set it on stdin, never in argv: "
        f"`sf org auth show-access-token --target-org <alias> --json | jq -r .result.accessToken | "
        f"pulumi config set --secret {keys.access_token.full_name}`, then `pulumi up`, or for a refresh or "
        "destroy `pulumi refresh --run-program` / `pulumi destroy --run-program` (without --run-program they "
        "use the token saved at the last `up`). To stop pasting tokens, log in with the Salesforce CLI "
        f"(`sf org login web --alias <alias>`) and set {keys.target_org.full_name} to that alias instead"
    )


def retry_base_seconds() -> float:
    """Base delay of the exponential backoff; tests set ``ECI_RETRY_BASE_SECONDS`` to a few milliseconds."""
    try:
        return max(0.0, float(os.environ.get("ECI_RETRY_BASE_SECONDS", "1")))
    except ValueError:
        return 1.0


# ----------------------------------------------------------------------------------------------------
# Metadata WSDL: parsed once per process (it is ~1 MB), shared by every client.
# ----------------------------------------------------------------------------------------------------
_WSDL_LOCK = threading.Lock()
_WSDL_CLIENT: zeep.Client | None = None
METADATA_NS = "{http://soap.sforce.com/2006/04/metadata}"
# Polling a check-only deploy: the first status check goes out at once (a small validation is often done
# within one round trip), then waits double up to 2 s, for at most 60 s in all (Metadata API guide,
# "checkDeployStatus()": poll until done; it recommends backing off rather than polling tightly).
DEPLOY_POLL_FIRST_SECONDS = 0.2
DEPLOY_POLL_MAX_SECONDS = 2.0
DEPLOY_POLL_SECONDS = 60.0


def metadata_wsdl_client() -> zeep.Client:
    global _WSDL_CLIENT
    with _WSDL_LOCK:
        if _WSDL_CLIENT is None:
            import simple_salesforce
            import zeep

            wsdl = Path(simple_salesforce.__file__).parent / "metadata.wsdl"
            _WSDL_CLIENT = zeep.Client(
                wsdl.absolute().as_uri(), settings=zeep.Settings(strict=False, xsd_ignore_sequence_order=True)
            )
        return _WSDL_CLIENT


def _plain(value: Any) -> Any:
    """zeep objects / OrderedDicts → plain dicts and lists (None for nil)."""
    import zeep.helpers

    value = zeep.helpers.serialize_object(value, target_cls=dict)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# ----------------------------------------------------------------------------------------------------
# The client.
# ----------------------------------------------------------------------------------------------------
@dataclass
class _CallState:
    renewed: bool = False
    uncertain_write: bool = False


class _RenewAndRetry(Exception):
    """Internal: the session was renewed; run the same call again (does not count as a transient retry)."""


class SalesforceClient:
    """A lazily-connected Salesforce session plus the call chokepoint. Obtain one with :func:`client_for`.

    Used from several threads at once: the dynamic provider host serves up to 4 requests concurrently
    (``pulumi/dynamic/__main__.py``, ``ThreadPoolExecutor(max_workers=4)``) and Preflight issues its reads
    concurrently. Login, session renewal and the Metadata service are guarded by ``_lock`` (a renewal is
    shared by the calls that met the same expired session); per-call state lives in ``_call``'s locals; the
    requests Session's urllib3 pools are thread-safe (requests' one known race, psf/requests#1871, needs
    more hosts than the pool manager keeps, 10; we talk to one or two); a zeep client may be shared by
    threads (its maintainer, mvantellingen/python-zeep#612) and each call builds its own envelope.
    """

    def __init__(self, settings: ConnectionSettings) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self._session: requests.Session | None = None
        self._sf: Salesforce | None = None
        self._instance_url: str | None = None
        self._md_service: Any = None
        self._md_header: Any = None
        self._user_id: str | None = None
        # The Organization Id the credentials reach (``org_id``): from the login itself where it says (an
        # OAuth token response's identity URL, `sf org display`), else from the userinfo call.
        self._org_id: str | None = None
        self._org_sandbox: bool | None = None
        # Whether the org's API / its token endpoint has answered as Salesforce through this client. Until
        # then a 5xx with an HTML page is taken for a wrong host (it gets the token once, not once per
        # retry); after, for Salesforce's own edge in maintenance, which Salesforce says to retry
        # (Knowledge Article 000116783, "What response will Salesforce return during maintenance windows?").
        self._proven = False
        self._login_proven = False
        # Answers kept for ``reuse=True`` reads (``_reused``): listMetadata by type, SOQL by query text.
        # Dropped on any write (``_kept_generation`` tells an answer asked before a write from one after).
        self._kept: dict[tuple[str, ...], tuple[float, list[dict[str, Any]]]] = {}
        self._kept_locks: dict[tuple[str, ...], threading.Lock] = {}
        self._kept_generation = 0

    # ---- connection
    @property
    def http(self) -> requests.Session:
        with self._lock:
            if self._session is None:
                from salesforce.http_session import HttpSession

                session = HttpSession()
                if self.settings.ca_bundle:
                    session.forced_verify = session.verify = _ca_bundle_path(
                        self.settings.ca_bundle, self.settings.keys.ca_bundle
                    )
                self._session = session
            return self._session

    def _url_key(self) -> str:
        """The config key that says where the org is, for this connection."""
        keys = self.settings.keys
        return {
            "sfdx_auth_url": keys.sfdx_auth_url,
            "jwt": keys.login_url,
        }.get(self.settings.auth_mode, keys.instance_url).full_name

    def _url_hint(self, code: str, key: str) -> str:
        if code == CERTIFICATE_ERROR:
            return (
                f"not retried: check {key} (the org's https:// My Domain URL, e.g. from `sf org display "
                "--json`); if a company proxy or private CA signs it, add that CA with "
                f"{self.settings.keys.ca_bundle.full_name} "
                "(it adds to the default roots)"
            )
        return (
            f"not retried: {key} does not point at a Salesforce org's API; set it to the org's https:// "
            "My Domain URL (`sf org display --json`: instanceUrl). If it does, the org may be in maintenance "
            "(https://status.salesforce.com): run the same command again once it is back"
        )

    def _answers_as_api(self) -> bool:
        """Whether the instance serves Salesforce's REST API, asked without any credential: its versions
        resource, `GET /services/data/`, needs no authentication and answers a JSON list of versions (REST API
        Developer Guide, "Versions"). A wrong host answers something else. So a 5xx page from a host not yet
        proven gets no token again, and an org whose first call of a process met a passing 503 is retried."""
        import requests

        try:
            reply = self.http.get(
                f"{self.instance_url}/services/data/", headers={"Accept": "application/json"}, timeout=30
            )
            body = reply.json()
        except (requests.RequestException, ValueError):
            return False
        return (
            reply.status_code == 200
            and isinstance(body, list)
            and bool(body)
            and all(isinstance(v, dict) and "version" in v for v in body)
        )

    @staticmethod
    def _unproven_5xx(err: SalesforceError) -> SalesforceError:
        """A 5xx HTML page from a host that never answered as Salesforce's API: permanent (``_proven``)."""
        return SalesforceError(
            NOT_AN_API,
            f"the server answered HTTP {err.status} with a page that is not Salesforce's API (an HTML page?) "
            "and has not answered as the org's API before",
            artifact=err.artifact,
            status=err.status,
        )

    def _last_status(self) -> int | None:
        status: int | None = getattr(self._session, "last_status", None)
        return status

    @property
    def renewable(self) -> bool:
        return self.settings.auth_mode in ("sf_cli", "sfdx_auth_url", "jwt")

    @property
    def sf(self) -> Salesforce:
        """The simple-salesforce handle; logs in on first use (refresh-token / JWT), never before."""
        with self._lock:
            if self._sf is None:
                self._connect()
            assert self._sf is not None
            return self._sf

    @property
    def instance_url(self) -> str:
        """``https://host[:port]`` of the org (its My Domain URL). Known without a call when configured."""
        with self._lock:
            if self._instance_url is None:
                if self.settings.auth_mode == "access_token" and self.settings.instance_url:
                    self._instance_url = self.settings.instance_url
                elif self.settings.auth_mode == "sfdx_auth_url" and self.settings.sfdx_auth_url:
                    url = self.settings.sfdx_auth_url
                    self._instance_url = _parse_sfdx_auth_url(url, self.settings.keys.sfdx_auth_url)[3]
                else:
                    self.sf  # noqa: B018 - JWT / sf CLI: the instance URL comes with the session
            assert self._instance_url is not None
            return self._instance_url

    def _connect(self) -> None:
        mode, keys = self.settings.auth_mode, self.settings.keys
        if mode == "none":
            raise ConfigurationError(
                "no Salesforce connection is configured",
                hint=f"set {keys.target_org.full_name} to a Salesforce CLI login "
                f"(`{keys.target_org.set_command()}`), or {keys.instance_url.full_name} and "
                f"{keys.access_token.full_name} (`sf org display --json`: instanceUrl; "
                "`sf org auth show-access-token --json`: accessToken; "
                f"`{keys.access_token.set_command()}`), or {keys.sfdx_auth_url.full_name} "
                f"(`sf org auth show-sfdx-auth-url --json`), or {keys.username.full_name} + "
                f"{keys.client_id.full_name} + "
                f"{keys.private_key.full_name} (+ {keys.login_url.full_name}) for the JWT bearer flow",
            )
        if mode == "access_token":
            if not self.settings.instance_url:
                raise ConfigurationError(
                    f"{keys.instance_url.full_name} is not set (needed with {keys.access_token.full_name})",
                    hint="take instanceUrl from `sf org display --json` and run "
                    f"`{keys.instance_url.set_command()}`",
                )
            if not is_secure_url(self.settings.instance_url):
                raise ConfigurationError(
                    f"{keys.instance_url.full_name} is not an https:// URL; the access token would be sent "
                    "in clear",
                    hint=f"set the org's https:// My Domain URL: `{keys.instance_url.set_command()}`",
                )
            token = self.settings.access_token
            assert token is not None
            self._open(self.settings.instance_url, token)
            return
        self._login()

    def _open(self, instance_url: str, token: str) -> None:
        from simple_salesforce import Salesforce

        register_secret(token)
        self._instance_url = instance_url.rstrip("/")
        self._sf = Salesforce(
            instance_url=self._instance_url,
            session_id=token,
            version=self.settings.api_version,
            session=self.http,
        )
        self._md_service = None
        self._md_header = None

    def _login(self) -> None:
        """The Salesforce CLI's session for targetOrg, or a refresh-token grant (SFDX auth URL) or JWT bearer
        grant via simple-salesforce's token_login."""
        keys = self.settings.keys
        if self.settings.auth_mode == "sf_cli":
            assert self.settings.target_org is not None
            token, instance, org_id = sf_cli.org_login(self.settings.target_org, keys.target_org)
            self._open(instance, token)
            self._org_id = org_id or self._org_id
            return
        if self.settings.auth_mode == "sfdx_auth_url":
            assert self.settings.sfdx_auth_url is not None
            client_id, client_secret, refresh_token, base = _parse_sfdx_auth_url(
                self.settings.sfdx_auth_url, keys.sfdx_auth_url
            )
            data = {"grant_type": "refresh_token", "client_id": client_id, "refresh_token": refresh_token}
            if client_secret:
                data["client_secret"] = client_secret
            token_url, key_name = f"{base}/services/oauth2/token", keys.sfdx_auth_url.full_name
        else:
            settings = self.settings
            assert settings.username and settings.client_id and settings.private_key
            claims = {
                "iss": settings.client_id,
                "sub": settings.username,
                "aud": jwt_audience(settings.login_url),
                "exp": int((datetime.now(UTC) + timedelta(minutes=3)).timestamp()),
            }
            import jwt

            try:
                assertion = jwt.encode(claims, _private_key_text(settings.private_key), algorithm="RS256")
            except Exception:
                raise ConfigurationError(
                    f"{keys.private_key.full_name} is not a usable RSA private key (PEM) for the JWT bearer "
                    "flow",
                    hint=f"set it with `{keys.private_key.set_command()}`",
                ) from None
            data = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
            token_url, key_name = f"{settings.login_url}/services/oauth2/token", keys.login_url.full_name

        if not is_secure_url(token_url):
            raise ConfigurationError(
                f"{key_name} leads to an http:// token endpoint; credentials would be sent in clear",
                hint=f"use the org's https:// URL in {key_name}",
            )

        import requests

        def attempt() -> tuple[str, str, str]:
            # The token request is made here rather than with simple-salesforce's token_login, which drops
            # the OAuth error's reason and accepts an http:// instance_url.
            try:
                response = self.http.post(
                    token_url, data=data, headers={"Accept": "application/json"}, timeout=60
                )
            except requests.RequestException as exc:
                err = _map_exception(exc, "login")
                if err.error_code in PERMANENT_TRANSPORT_CODES:
                    err.hint = self._url_hint(err.error_code, key_name)
                raise err from None
            try:
                body = response.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                # A 5xx is retried (502-504) when the body is empty or this token endpoint has answered as
                # Salesforce's before (a renewal); an HTML page from a never-proven host is not (_proven).
                if response.status_code >= 500 and (
                    self._login_proven or not non_api_5xx(response.status_code, response.text)
                ):
                    raise SalesforceError(
                        f"HTTP_{response.status_code}", "the token endpoint failed", artifact="login"
                    ) from None
                raise SalesforceError(
                    NOT_AN_API,
                    f"the token endpoint answered HTTP {response.status_code} with something that is not "
                    "OAuth JSON (an HTML page?)",
                    artifact="login",
                    status=response.status_code,
                    hint=self._url_hint(NOT_AN_API, key_name),
                ) from None
            if response.status_code != 200 or not body.get("access_token"):
                # OAuth 2.0 error response (RFC 6749 §5.2): error + error_description, e.g.
                # "invalid_grant" / "expired access/refresh token" — Salesforce's reason, kept.
                code = str(body.get("error") or f"HTTP_{response.status_code}")
                reason = str(body.get("error_description") or "")
                if code.upper() == "REQUEST_LIMIT_EXCEEDED":
                    raise SalesforceError(
                        "REQUEST_LIMIT_EXCEEDED", reason, artifact="login", hint=DAILY_LIMIT_HINT
                    ) from None
                if response.status_code >= 500:
                    raise SalesforceError(f"HTTP_{response.status_code}", reason, artifact="login")
                raise SalesforceError(
                    "AUTHENTICATION_FAILED",
                    f"{code}: {reason}" if reason else code,
                    artifact="login",
                    status=response.status_code,
                    hint=f"Salesforce refused the credentials in {key_name}; renew them "
                    "(`sf org auth show-access-token --json` / "
                    "`sf org auth show-sfdx-auth-url --json`) and set them again with "
                    "`pulumi config set --secret` (value on stdin)",
                ) from None
            register_secret(body.get("access_token"))
            self._login_proven = True
            return str(body["access_token"]), str(body.get("instance_url") or ""), str(body.get("id") or "")

        token, instance, identity_url = self._retrying("login", "auth.oauth_token", attempt, _CallState())
        instance_url = instance if "://" in instance else f"https://{instance}"
        if not instance or not is_secure_url(instance_url):
            # The session id would then travel in clear to whatever the token endpoint named.
            raise UsageError(
                "INSECURE_INSTANCE_URL",
                "the token endpoint answered a non-https instance_url; not used",
                artifact="login",
                hint=f"check {key_name}: it must lead to the org's https:// login",
            )
        self._open(instance_url, token)
        self._org_id = _org_of_identity_url(identity_url) or self._org_id
        # Salesforce's token endpoint named this instance: the org's (a 503 page from it is maintenance).
        self._proven = True

    def _renew(self, stale: Salesforce) -> None:
        """Log in again, unless another thread already did since ``stale`` (the handle whose session was
        refused) was taken: concurrent calls that meet the same expired session renew it once, not once
        each."""
        with self._lock:
            if self._sf is not None and self._sf is not stale:
                return
            self._sf = None
            self._login()

    # ---- the chokepoint
    def _call(self, artifact: str, operation: str, fn: Callable[[Salesforce], T]) -> T:
        """Run ``fn(sf)``: map errors, retry transient ones, renew an expired session once."""
        state = _CallState()

        def attempt() -> T:
            sf = self.sf
            try:
                result = fn(sf)
                self._proven = True
                return result
            except SalesforceError as exc:  # raised by fn from Salesforce's own answer: same rules below
                err = exc
            except service_failures() as exc:  # mapped to the one type below; anything else is a bug
                err = _map_exception(exc, artifact, last_status=self._last_status())
            if err.non_api and not self._proven:
                if self._answers_as_api():
                    self._proven = True
                else:
                    err = self._unproven_5xx(err)
            if err.error_code == "INVALID_SESSION_ID":
                if self.renewable and not state.renewed:
                    state.renewed = True
                    self._renew(sf)
                    raise _RenewAndRetry()
                if self.settings.auth_mode == "access_token":
                    err.hint = access_token_expired_hint(self.settings.keys)
                elif self.settings.auth_mode == "sf_cli":
                    err.hint = (
                        f"the Salesforce CLI's session for {self.settings.keys.target_org.full_name} was "
                        "refused twice: log in "
                        f"again with `sf org login web --alias {self.settings.target_org}`"
                    )
            if err.error_code == "REQUEST_LIMIT_EXCEEDED":
                err.hint = DAILY_LIMIT_HINT
            if err.error_code in PERMANENT_TRANSPORT_CODES:
                err.hint = self._url_hint(err.error_code, self._url_key())
            if err.error_code == "CONNECTION_ERROR" and err.uncertain_write:
                state.uncertain_write = True
            raise err

        def renewing_attempt() -> T:
            while True:
                try:
                    return attempt()
                except _RenewAndRetry:
                    continue

        return self._retrying(artifact, operation, renewing_attempt, state)

    def org_label(self) -> str:
        """The org as progress lines name it, without a call: its host once known, else the alias."""
        url = self._instance_url or self.settings.instance_url
        if url:
            return urlsplit(url).hostname or url
        return self.settings.target_org or "the org"

    def _retrying(self, artifact: str, operation: str, fn: Callable[[], T], state: _CallState) -> T:
        from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

        base = retry_base_seconds()
        wait = progress.Wait(f"{artifact} ({operation})", self.org_label(), "Salesforce to answer again")

        def before_sleep(rs: RetryCallState) -> None:
            error = rs.outcome.exception() if rs.outcome else None
            code = getattr(error, "error_code", "") or type(error).__name__
            seconds = rs.next_action.sleep if rs.next_action else base
            attempt = f"attempt {rs.attempt_number} of {RETRY_ATTEMPTS} failed"
            wait.sleep(seconds, f"a retry after {code} ({attempt})")

        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, SalesforceError) and e.transient),
            stop=stop_after_attempt(RETRY_ATTEMPTS),
            wait=wait_exponential(multiplier=base, min=base, max=base * 16),
            reraise=True,
            # The sleep itself is the progress wait's, so a long back-off is announced before it starts.
            sleep=lambda _seconds: None,
            before_sleep=before_sleep,
        )
        try:
            result = retrying(fn)
            wait.done()
            return result
        except SalesforceError as err:
            wait.done("gave up")
            if state.uncertain_write:
                err.uncertain_write = True
            if err.error_code in TRANSIENT_CODES:
                err.hint = (
                    err.hint or f"still failing after {RETRY_ATTEMPTS} attempts; run `pulumi up` again later"
                )
            raise

    # ---- REST / SOQL
    def rest(
        self,
        method: str,
        path: str,
        *,
        artifact: str,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """``/services/data/vXX.X/<path>`` (sObjects, Connect REST, limits, ...). Returns the parsed JSON."""
        op = f"rest {method} {path.split('?')[0]}"
        try:
            return self._call(
                artifact,
                op,
                lambda sf: sf.restful(path, params=dict(params or {}) or None, method=method, json=json),
            )
        finally:
            if method.upper() != "GET":
                self._forget_kept()

    def query(self, soql: str, *, artifact: str, reuse: bool = False) -> list[dict[str, Any]]:
        """SOQL through ``query_all``; records without their ``attributes``.

        With ``reuse``, the answer this client got to the very same SOQL answers again, and concurrent askers
        share one call: a refresh reads several resources that one query serves (the permission set
        assignments of one user). Kept ``LISTING_REUSE_SECONDS`` and dropped on any write through this client,
        as listings are; without ``reuse`` the answer is always fresh.
        """
        if not reuse:
            return self._query(soql, artifact)
        key = ("query", soql)
        return self._reused(key, key, lambda: {key: self._query(soql, artifact)})

    def _query(self, soql: str, artifact: str) -> list[dict[str, Any]]:
        result = self._call(artifact, "rest.query", lambda sf: sf.query_all(soql))
        return [_strip_attributes(r) for r in result.get("records", [])]

    def create_record(self, sobject: str, fields: Mapping[str, Any], *, artifact: str) -> str:
        result = self.rest("POST", f"sobjects/{sobject}", artifact=artifact, json=dict(fields))
        return str(result["id"])

    def update_record(
        self, sobject: str, record_id: str, fields: Mapping[str, Any], *, artifact: str
    ) -> None:
        self.rest("PATCH", f"sobjects/{sobject}/{record_id}", artifact=artifact, json=dict(fields))

    def delete_record(self, sobject: str, record_id: str, *, artifact: str) -> None:
        self.rest("DELETE", f"sobjects/{sobject}/{record_id}", artifact=artifact)

    def get_record(
        self, sobject: str, record_id: str, fields: Iterable[str], *, artifact: str
    ) -> dict[str, Any] | None:
        """One record by Id (None when it does not exist)."""
        try:
            record = self.rest(
                "GET",
                f"sobjects/{sobject}/{record_id}",
                artifact=artifact,
                params={"fields": ",".join(fields)},
            )
        except SalesforceError as err:
            if err.not_found:
                return None
            raise
        return _strip_attributes(record) if isinstance(record, dict) else None

    # ---- Metadata API
    #: listMetadata takes at most 3 queries per call (Metadata API Developer Guide, "listMetadata()").
    MAX_LIST_QUERIES = 3
    #: How long a kept listing may answer: a refresh reads all its components within seconds, and a process
    #: that lives longer (a test session, an embedding program) must not see an old org.
    LISTING_REUSE_SECONDS = 30.0

    def warm_metadata(self) -> None:
        """Parse the Metadata WSDL now (~0.2 s of CPU, once per process), e.g. on a thread while the first
        REST call is in flight. Makes no call and does not log in."""
        metadata_wsdl_client()

    def _metadata(self) -> tuple[Any, Any]:
        # The WSDL is parsed outside this client's lock: holding the lock for those ~0.2 s would stall every
        # other thread's call at ``self.sf`` (Preflight runs its checks concurrently).
        import zeep

        shared = metadata_wsdl_client()
        with self._lock:
            sf = self.sf
            if self._md_service is None:
                # The parsed WSDL is shared; the transport is this client's session (zeep's own would ignore
                # the CA bundle and the environment override rules above).
                client = zeep.Client(
                    shared.wsdl, transport=zeep.Transport(session=self.http), settings=shared.settings
                )
                url = f"{self.instance_url}/services/Soap/m/{self.settings.api_version}"
                self._md_service = client.create_service(f"{METADATA_NS}MetadataBinding", url)
                self._md_header = client.get_element("ns0:SessionHeader")(sessionId=sf.session_id)
            return self._md_service, self._md_header

    def metadata_type(self, type_name: str, record: Mapping[str, Any]) -> Any:
        return metadata_wsdl_client().get_type(f"ns0:{type_name}")(**record)

    def metadata_read(
        self, type_name: str, full_names: Sequence[str], *, artifact: str
    ) -> list[dict[str, Any] | None]:
        """``readMetadata``: one plain dict per name, None where the component does not exist."""

        def call(_sf: Salesforce) -> Any:
            service, header = self._metadata()
            return service.readMetadata(type=type_name, fullNames=list(full_names), _soapheaders=[header])

        result = self._call(artifact, "metadata.readMetadata", call)
        # zeep unwraps ReadResult to its ``records`` list (as simple-salesforce's MetadataType.read expects).
        raw = result if isinstance(result, list) else (getattr(result, "records", None) or [])
        records = [_plain(r) for r in raw]
        found = {str(r.get("fullName")).lower(): r for r in records if r and r.get("fullName")}
        return [found.get(name.lower()) for name in full_names]

    def metadata_list(
        self, type_name: str, *, artifact: str, along: Sequence[str] = (), reuse: bool = False
    ) -> list[dict[str, Any]]:
        """``listMetadata`` of one type: its components' ``FileProperties`` (``fullName``, ``id``,
        ``createdDate``, ``createdById`` ...; Metadata API Developer Guide, "listMetadata()",
        "FileProperties"). The id and creation stamp are what tells a component from a same-named one made
        after it was deleted: readMetadata returns neither.

        With ``reuse``, a listing this client already made answers (one call serves every component of the
        type, e.g. the reads of a refresh), and the call that is made lists the ``along`` types too:
        listMetadata takes up to 3 queries, and FileProperties.type tells their answers apart. A listing is
        kept ``LISTING_REUSE_SECONDS`` and dropped on any write through this client; without
        ``reuse`` the answer is always fresh.
        """
        if not reuse:
            return self._list_types([type_name], artifact)[type_name]
        types = tuple(dict.fromkeys([type_name, *along]))[: self.MAX_LIST_QUERIES]
        # Grouped by the set of types: the readers of a group share one call whoever comes first.
        return self._reused(
            ("listMetadata", *sorted(types)),
            ("listMetadata", type_name),
            lambda: {("listMetadata", t): v for t, v in self._list_types(list(types), artifact).items()},
        )

    def _reused(
        self,
        group: tuple[str, ...],
        key: tuple[str, ...],
        fetch: Callable[[], Mapping[tuple[str, ...], list[dict[str, Any]]]],
    ) -> list[dict[str, Any]]:
        """The kept answer for ``key`` while it is fresh (``LISTING_REUSE_SECONDS``, no write since), else
        ``fetch()``'s, which answers ``key`` and the other keys of its ``group`` at once and is kept. One
        fetch per group at a time: concurrent askers of the group wait for it and share its answer."""
        with self._lock:
            lock = self._kept_locks.setdefault(group, threading.Lock())
        with lock:
            with self._lock:
                made, kept = self._kept.get(key, (0.0, None))
                generation = self._kept_generation
            if kept is not None and time.monotonic() - made < self.LISTING_REUSE_SECONDS:
                return kept
            answers = fetch()
            now = time.monotonic()
            with self._lock:
                if generation == self._kept_generation:
                    self._kept.update({k: (now, answer) for k, answer in answers.items()})
            return answers[key]

    def _list_types(self, types: list[str], artifact: str) -> dict[str, list[dict[str, Any]]]:
        def call(_sf: Salesforce) -> Any:
            service, header = self._metadata()
            query_type = metadata_wsdl_client().get_type("ns0:ListMetadataQuery")
            return service.listMetadata(
                queries=[query_type(type=t) for t in types],
                asOfVersion=float(self.settings.api_version),
                _soapheaders=[header],
            )

        try:
            result = self._call(artifact, "metadata.listMetadata", call)
        except SalesforceError as err:
            if len(types) == 1 or err.error_code != "INVALID_TYPE":
                raise
            # A companion type this org (or API version) does not have: list the one asked for alone.
            return self._list_types(types[:1], artifact)
        listed: dict[str, list[dict[str, Any]]] = {t: [] for t in types}
        by_lower = {t.lower(): t for t in types}
        for props in (_plain(r) for r in (result or [])):
            # With one query, an entry without a type is that query's.
            owner = by_lower.get(str(props.get("type") or "").lower(), types[0] if len(types) == 1 else "")
            if owner:
                listed[owner].append(props)
        return listed

    def org_id_without_call(self) -> str | None:
        """The org Id when known with no call at all (learnt already, or named by an access token)."""
        with self._lock:
            if not self._org_id and self.settings.auth_mode == "access_token":
                self._org_id = _org_of_session_id(self.settings.access_token or "")
            return self._org_id

    def org_id(self) -> str:
        """The Id of the org (Organization Id, ``00D...``) these credentials reach. No call of its own where
        the login says it (an SFDX auth URL or JWT login: the token response's identity URL; ``targetOrg``:
        `sf org display`); with a plain access token, the userinfo call that :meth:`current_user_id` makes
        anyway (its ``organization_id``: Salesforce Help, "UserInfo Endpoint"), once per client."""
        # A session id begins with the 15-character Id of its org, then "!" (the accessToken `sf org display`
        # prints, 00D...!...; Salesforce Help, "Find Your Salesforce Organization ID"). An opaque token (a
        # JWT-based access token) has no such prefix: userinfo answers then.
        known = self.org_id_without_call()
        if known:
            return known
        self.sf  # noqa: B018 - logs in (where the login names the org) when not yet done
        with self._lock:
            if self._org_id:
                return self._org_id
        self._userinfo()
        assert self._org_id is not None
        return self._org_id

    def note_org(self, org_id: str, *, sandbox: bool | None = None) -> None:
        """What a query of the ``Organization`` row answered (its Id, ``IsSandbox``): the org this session is
        in, learnt by a call made anyway, so a later :meth:`org_id` costs nothing. An Id that differs from the
        one the login named is refused like a userinfo that does (ORG_MISMATCH)."""
        if not org_id:
            return
        with self._lock:
            if self._org_id and self._org_id[:15] != org_id[:15]:
                raise UsageError(
                    "ORG_MISMATCH",
                    f"the login named org {self._org_id} but the session is in org {org_id}",
                    artifact="Organization",
                )
            self._org_id = org_id if not self._org_id or len(org_id) > len(self._org_id) else self._org_id
            if sandbox is not None:
                self._org_sandbox = sandbox

    def org_sandbox(self) -> bool | None:
        """Whether the org is a sandbox, when a query of its Organization row said so (no call of its own)."""
        with self._lock:
            return self._org_sandbox

    def current_user_id(self) -> str:
        """The Id of the user this client connects as (OpenID Connect ``userinfo``, whose ``user_id`` is the
        User Id: Salesforce Help, "UserInfo Endpoint"). One call, once per client and only when needed."""
        with self._lock:
            if self._user_id:
                return self._user_id
        self._userinfo()
        assert self._user_id is not None
        return self._user_id

    def _userinfo(self) -> None:
        """One userinfo call: the connecting user's Id and their org's Id, kept for the client's life."""

        def call(sf: Salesforce) -> Any:
            response = self.http.get(
                f"{self.instance_url}/services/oauth2/userinfo",
                headers={"Authorization": f"Bearer {sf.session_id}", "Accept": "application/json"},
                timeout=30,
            )
            if response.status_code == 401:
                raise SalesforceError("INVALID_SESSION_ID", "Session expired or invalid", artifact="userinfo")
            if response.status_code >= 400:
                # Salesforce's error body, read as REST's (e.g. 403 REQUEST_LIMIT_EXCEEDED); a bare HTTPError
                # would pass for a dropped connection: retried as transient, its reason lost.
                try:
                    content: Any = response.json()
                except ValueError:
                    content = response.text
                code, message, fields = _first_rest_error(content, response.status_code)
                err = SalesforceError(
                    code, message, fields=fields, artifact="userinfo", status=response.status_code
                )
                err.non_api = non_api_5xx(response.status_code, content)
                raise err
            return response.json()

        info = self._call("userinfo", "auth.userinfo", call)
        user_id = str(info.get("user_id") or "") if isinstance(info, dict) else ""
        org_id = str(info.get("organization_id") or "") if isinstance(info, dict) else ""
        if not user_id or not org_id:
            raise SalesforceError(
                "UNKNOWN_EXCEPTION", "userinfo answered no user_id or organization_id", artifact="userinfo"
            )
        with self._lock:
            self._user_id = user_id
            if self._org_id and self._org_id[:15] != org_id[:15]:  # an 18-char Id: the 15 + a checksum
                raise UsageError(
                    "ORG_MISMATCH",
                    f"the login named org {self._org_id} but the session is in org {org_id}",
                    artifact="userinfo",
                )
            self._org_id = org_id if not self._org_id or len(org_id) > len(self._org_id) else self._org_id

    def _metadata_save(
        self, operation: str, type_name: str, records: Sequence[Mapping[str, Any]], artifact: str
    ) -> None:
        def call(_sf: Salesforce) -> None:
            service, header = self._metadata()
            objects = [self.metadata_type(type_name, r) for r in records]
            # Per-record errors are checked inside the retried call: a SaveResult UNABLE_TO_LOCK_ROW is
            # retried like any transient error, and a DUPLICATE answered to the retry of a create whose first
            # reply was lost carries ``uncertain_write`` (create then knows the component is its own).
            _raise_for_results(getattr(service, operation)(metadata=objects, _soapheaders=[header]), artifact)

        try:
            self._call(artifact, f"metadata.{operation}", call)
        finally:
            self._forget_kept()

    def _forget_kept(self) -> None:
        """A write through this client: kept listings and SOQL answers may be out of date."""
        with self._lock:
            self._kept.clear()
            self._kept_generation += 1

    def metadata_create(self, type_name: str, records: Sequence[Mapping[str, Any]], *, artifact: str) -> None:
        self._metadata_save("createMetadata", type_name, records, artifact)

    def metadata_update(self, type_name: str, records: Sequence[Mapping[str, Any]], *, artifact: str) -> None:
        self._metadata_save("updateMetadata", type_name, records, artifact)

    def metadata_upsert(self, type_name: str, records: Sequence[Mapping[str, Any]], *, artifact: str) -> None:
        self._metadata_save("upsertMetadata", type_name, records, artifact)

    def metadata_delete(self, type_name: str, full_names: Sequence[str], *, artifact: str) -> None:
        def call(_sf: Salesforce) -> None:
            service, header = self._metadata()
            results = service.deleteMetadata(
                type=type_name, fullNames=list(full_names), _soapheaders=[header]
            )
            _raise_for_results(results, artifact)

        try:
            self._call(artifact, "metadata.deleteMetadata", call)
        finally:
            self._forget_kept()

    def metadata_validate_deploy(
        self, zip_bytes: bytes, *, artifact: str, max_wait_seconds: float = DEPLOY_POLL_SECONDS
    ) -> dict[str, Any] | None:
        """A check-only ``deploy`` of a package zip, polled to its ``DeployResult`` (as a plain dict).

        Metadata API Developer Guide, "deploy()" / "DeployOptions": ``checkOnly`` validates the components
        without saving them to the organization; the call is asynchronous, so "checkDeployStatus()" is
        polled (``includeDetails`` for ``details.componentFailures``). Returns None when the result is still
        not done after ``max_wait_seconds`` (a busy org queues deploys; the caller treats that as not
        verified).
        """

        from zeep.xsd import SkipValue

        def start(_sf: Salesforce) -> Any:
            service, header = self._metadata()
            options = metadata_wsdl_client().get_type("ns0:DeployOptions")(
                allowMissingFiles=False,
                autoUpdatePackage=False,
                checkOnly=True,
                ignoreWarnings=False,
                performRetrieve=False,
                purgeOnDelete=False,
                rollbackOnError=True,
                singlePackage=True,
                # Left out on purpose: NoTestRun is refused in production orgs, and without a testLevel a
                # package with no Apex runs no tests (DeployOptions, "testLevel").
                testLevel=SkipValue,
            )
            return service.deploy(ZipFile=zip_bytes, DeployOptions=options, _soapheaders=[header])

        started = self._call(artifact, "metadata.deploy", start)
        async_id = str(getattr(started, "id", "") or "")
        if not async_id:
            raise SalesforceError("UNKNOWN_EXCEPTION", "deploy answered no id", artifact=artifact)

        def check(_sf: Salesforce) -> Any:
            service, header = self._metadata()
            response = service.checkDeployStatus(
                asyncProcessId=async_id, includeDetails=True, _soapheaders=[header]
            )
            # The WSDL gives checkDeployStatus an output header (DebuggingInfo), so zeep answers
            # {header, body} rather than the bare DeployResult it gives for deploy.
            body = getattr(response, "body", None)
            return getattr(body, "result", None) if body is not None else response

        deadline = time.monotonic() + max_wait_seconds
        delay = DEPLOY_POLL_FIRST_SECONDS
        wait = progress.Wait(artifact, self.org_label(), "Salesforce's check-only deploy (queued in the org)")
        while True:
            result = _plain(self._call(artifact, "metadata.checkDeployStatus", check)) or {}
            if result.get("done"):
                wait.done()
                return dict(result)
            if time.monotonic() + delay > deadline:
                wait.done(f"still not done, stopped waiting after {max_wait_seconds:.0f} s")
                return None
            wait.sleep(delay)
            delay = min(delay * 2, DEPLOY_POLL_MAX_SECONDS)

    # ---- Tooling API
    def execute_anonymous(self, apex: str, *, artifact: str) -> dict[str, Any]:
        """Tooling API ``GET tooling/executeAnonymous/?anonymousBody=<Apex>``: compile and run anonymous Apex
        as the connected user; the ``ExecuteAnonymousResult`` as a dict (``line``, ``column``, ``compiled``,
        ``success``, ``compileProblem``, ``exceptionStackTrace``, ``exceptionMessage``; SOAP API guide,
        "ExecuteAnonymousResult"). A refusal of the request itself (no "Author Apex") raises SalesforceError.
        The Apex is logged by no one here: callers pass only fixed text."""
        result = self._call(
            artifact,
            "tooling.executeAnonymous",
            lambda sf: sf.restful("tooling/executeAnonymous/", params={"anonymousBody": apex}, method="GET"),
        )
        if not isinstance(result, dict):
            raise SalesforceError(
                "UNKNOWN_EXCEPTION", "executeAnonymous answered no ExecuteAnonymousResult", artifact=artifact
            )
        return dict(result)

    # ---- The retry policy, for a call this client does not make itself
    def retrying(self, artifact: str, operation: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` under the chokepoint's retry policy: a transient :class:`SalesforceError` it raises is
        retried with backoff, the last one raised with a hint."""
        return self._retrying(artifact, operation, fn, _CallState())


def _org_of_session_id(token: str) -> str | None:
    """``00Dxx0000000001!AQ...`` → ``00Dxx0000000001``; None when the token does not start so."""
    prefix, bang, _rest = token.partition("!")
    return prefix if bang and len(prefix) == 15 and prefix.startswith("00D") and prefix.isalnum() else None


def _org_of_identity_url(url: str) -> str | None:
    """``https://login.salesforce.com/id/<orgId>/<userId>`` → the org Id (an OAuth token response's ``id``,
    the identity URL: Salesforce Help, "Identity URLs"); None when it is not one."""
    parts = url.rstrip("/").split("/")
    if len(parts) >= 3 and parts[-3] == "id" and parts[-2].startswith("00D"):
        return parts[-2]
    return None


def _strip_attributes(record: Any) -> Any:
    if isinstance(record, dict):
        return {k: _strip_attributes(v) for k, v in record.items() if k != "attributes"}
    return record


def soql_quote(value: str) -> str:
    """A SOQL string literal (SOQL and SOSL Reference: "Quoted String Escape Sequences")."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def url_quote(value: str) -> str:
    return quote(value, safe="")


# ----------------------------------------------------------------------------------------------------
# One client per process and connection.
# ----------------------------------------------------------------------------------------------------
_CLIENTS: dict[str, SalesforceClient] = {}
_CLIENTS_LOCK = threading.Lock()


def client_for(settings: ConnectionSettings) -> SalesforceClient:
    with _CLIENTS_LOCK:
        key = settings.fingerprint()
        client = _CLIENTS.get(key)
        if client is None:
            client = _CLIENTS[key] = SalesforceClient(settings)
        return client


def reset_clients() -> None:
    """Forget every shared client (tests that restart the emulator)."""
    with _CLIENTS_LOCK:
        _CLIENTS.clear()
