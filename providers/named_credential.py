"""Legacy named credentials (guide: "Add Aircall Named Credentials" and "Add ECI Named Credentials").

Metadata type ``NamedCredential`` (Metadata API Developer Guide, "NamedCredential"); "New Legacy" in Setup is
this type without ``namedCredentialType`` (or ``Legacy``). The guide's two:

* ``Aircall``: endpoint ``https://api.aircall.io/``, Named Principal (``principalType`` ``NamedUser``),
  password authentication (``protocol`` ``Password``) with username = Aircall API ID and password = API token,
  generate authorization header, merge fields allowed in header and body.
* ``ECI_Named_Credential``: endpoint = the org's My Domain login URL, Named Principal, OAuth 2.0 (``Oauth``)
  through auth provider ``ECI_Auth_Provider``, scope ``refresh_token web api content``, generate authorization
  header.

``password`` is write-only (never returned by readMetadata): an input marked secret, with only a salted hash
in state; its drift cannot be seen by ``refresh``.

Outputs besides the inputs:

* ``authorize_url`` (OAuth only): the credential's Setup page, where an admin clicks "Authorize" — the guide's
  step 5 needs a browser login and cannot be automated. Setup addresses a legacy named credential as
  ``/lightning/setup/NamedCredential/page?address=%2F{Id}`` (the Lightning Setup wrapper around the Classic
  detail page ``/{Id}``; the same deep link is used by e.g. the AWS "Salesforce Lambda" LWC
  ``navigateToNamedCredential`` and several Setup-navigation tools in public repositories). The Id is the
  ``NamedCredential`` sObject Id (Object Reference, "NamedCredential"), read once with SOQL when the
  credential is created (or adopted) and kept in state afterwards, so refresh and no-op runs cost nothing
  for it.
* ``health`` (with ``health_check``, for the guide's two): ``ok`` or the classified failure of a callout
  through the credential from inside the org (providers/health.py), measured by ``create``, every ``update``
  and every ``refresh``, and kept in the outputs only (providers/kit/artifact.py, observed outputs): the
  alarm is tools/status.py, which reads it live on every run.
* ``authentication_status``: ``NotRequired`` for password (and no) authentication — the stored username and
  password are used as they are. For OAuth, Setup shows "Authentication Status: Authenticated as <user>" but
  no API (Metadata, sObject or Tooling) exposes it for a legacy named credential (the token fields
  ``oauthToken`` / ``oauthRefreshToken`` are write-only); the probe measures it instead: ``Authenticated``
  when its callout worked, ``NotAuthenticated`` when the org had no usable token or refused it, ``Unknown``
  without a probe or when the probe could not tell.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

import pulumi.dynamic as dyn
from pydantic import Field, field_validator

from providers import guide, health
from providers.config.keys import ADOPT_AIRCALL_NAMED_CREDENTIAL, ADOPT_SHARED_HINT
from providers.kit import (
    COMPUTED,
    DEVELOPER_NAME,
    NAME,
    OBSERVED,
    REPLACE,
    SECRET,
    SF,
    AdoptableInputs,
    ArtifactResource,
    InputError,
    Live,
    MetadataProvider,
    is_unknown,
    unwrap,
)
from salesforce import soql_quote

STATUS_NOT_REQUIRED = "NotRequired"
STATUS_UNKNOWN = "Unknown"


class NamedCredentialInputs(AdoptableInputs):
    full_name: Annotated[str, SF("fullName"), NAME, REPLACE] = Field(pattern=DEVELOPER_NAME, max_length=80)
    label: Annotated[str, SF("label")] = Field(min_length=1, max_length=80)
    endpoint: Annotated[str, SF("endpoint")] = Field(min_length=1, max_length=2000)
    # WSDL v63.0 AuthenticationProtocol / ExternalPrincipalType (the values the guide needs and "none").
    protocol: Annotated[Literal["Password", "Oauth", "NoAuthentication"], SF("protocol")] = "Password"
    principal_type: Annotated[Literal["NamedUser", "PerUser", "Anonymous"], SF("principalType")] = "NamedUser"
    username: Annotated[str | None, SF("username")] = Field(default=None, max_length=255)
    password: Annotated[str | None, SF("password"), SECRET] = Field(default=None, max_length=255)
    auth_provider: Annotated[str | None, SF("authProvider")] = Field(default=None, pattern=DEVELOPER_NAME)
    oauth_scope: Annotated[str | None, SF("oauthScope")] = Field(default=None, max_length=512)
    generate_authorization_header: Annotated[bool, SF("generateAuthorizationHeader")] = True
    allow_merge_fields_in_header: Annotated[bool, SF("allowMergeFieldsInHeader")] = False
    allow_merge_fields_in_body: Annotated[bool, SF("allowMergeFieldsInBody")] = False
    #: Probe the credential from inside the org (providers/health.py); only the guide's two have a probe.
    health_check: bool = False
    authorize_url: Annotated[str | None, COMPUTED] = None
    health: Annotated[str | None, OBSERVED] = None
    authentication_status: Annotated[str | None, OBSERVED] = None

    @field_validator("endpoint")
    @classmethod
    def _url(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in ("https", "http") or not parsed.netloc:
            raise ValueError("must be an absolute http(s) URL such as https://api.aircall.io/")
        return value


def protocol_problem(values: Mapping[str, Any]) -> tuple[str, str] | None:
    """(property, reason) when the protocol lacks what Setup requires with it. An Unknown (a preview of an
    input that another resource computes) counts as present: ``up`` checks again with the real value."""

    def missing(name: str) -> bool:
        value = values.get(name)
        return not is_unknown(value) and not value

    protocol = values.get("protocol") or "Password"
    if protocol == "Password":
        for name in ("username", "password"):
            if missing(name):
                return name, "password authentication needs both username and password"
    if protocol == "Oauth" and missing("auth_provider"):
        return (
            "auth_provider",
            "OAuth 2.0 authentication needs auth_provider (the auth provider's URL suffix)",
        )
    return None


class NamedCredentialProvider(MetadataProvider):
    kind = "NamedCredential"
    inputs_model = NamedCredentialInputs
    listing_group = 2

    def adopt_hint(self, inputs: Mapping[str, Any]) -> str:
        # The guide's Aircall credential belongs to this voice connector; the ECI one is shared by all.
        if str(inputs.get("full_name")).lower() == guide.AIRCALL_NAMED_CREDENTIAL.lower():
            return (
                "if it is this integration's (set up by hand from the guide), take it over with "
                f"`pulumi config set {ADOPT_AIRCALL_NAMED_CREDENTIAL.full_name} true` (up brings it to the "
                "guide's settings, destroy keeps it); otherwise delete or rename it in Setup"
            )
        return ADOPT_SHARED_HINT

    # Setup refuses to save these combinations; checking them here keeps a bad config at 0 calls.
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        result = super().check(olds, news)
        if not result.failures:
            values = unwrap(result.inputs)[0]
            problem = protocol_problem(values)
            if problem:
                result.failures.append(
                    dyn.CheckFailure(problem[0], f"{self.kind}.{problem[0]}: {problem[1]}")
                )
            name = values.get("full_name")
            if values.get("health_check") and not is_unknown(name) and name not in health.PROBE_PATHS:
                result.failures.append(
                    dyn.CheckFailure(
                        "health_check",
                        f"{self.kind}.health_check: only {', '.join(health.PROBE_PATHS)} have a health probe",
                    )
                )
        return result

    def prepare(self, inputs: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        problem = protocol_problem(inputs)
        if problem:
            raise InputError(f"{problem[0]}: {problem[1]}", artifact=self.artifact(inputs))
        return super().prepare(inputs, creating=creating)

    def from_salesforce(self, record: Mapping[str, Any]) -> dict[str, Any]:
        values = super().from_salesforce(record)
        # readMetadata leaves out false booleans and unset strings; the inputs spell them out.
        for name in (
            "generate_authorization_header",
            "allow_merge_fields_in_header",
            "allow_merge_fields_in_body",
        ):
            values[name] = bool(values.get(name))
        values["protocol"] = values.get("protocol") or "NoAuthentication"
        for name in ("username", "auth_provider", "oauth_scope"):
            values[name] = values.get(name) or None
        return values

    def to_salesforce(self, inputs: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        record = super().to_salesforce(inputs, creating=creating)
        if inputs.get("protocol") != "Oauth":
            # Switching away from OAuth must clear what the merge with the live record would keep.
            record.update({"authProvider": None, "oauthScope": None})
        if inputs.get("protocol") != "Password":
            record["username"] = None
        return record

    def computed_outputs(
        self,
        artifact_id: str,
        inputs: Mapping[str, Any],
        live: Live | None,
        olds: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        if inputs.get("protocol") != "Oauth":
            return {"authorize_url": None}
        url = (olds or {}).get("authorize_url")
        if not url:
            url = self._authorize_url(artifact_id, inputs)
        return {"authorize_url": url}

    def observe(self, artifact_id: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """``health`` from the credential's probe (one executeAnonymous call), and the authentication status
        it shows: no API returns a legacy credential's status, but a callout through it proves it."""
        oauth = inputs.get("protocol") == "Oauth"
        if not inputs.get("health_check"):
            return {
                "health": health.NOT_CHECKED,
                "authentication_status": STATUS_UNKNOWN if oauth else STATUS_NOT_REQUIRED,
            }
        result = health.probe(self.client, artifact_id, artifact=self.artifact(inputs))
        return {
            "health": result,
            "authentication_status": health.authentication_status(result) if oauth else STATUS_NOT_REQUIRED,
        }

    def _authorize_url(self, full_name: str, inputs: Mapping[str, Any]) -> str:
        rows = self.client.query(
            f"SELECT Id FROM NamedCredential WHERE DeveloperName = {soql_quote(full_name)}",
            artifact=self.artifact(inputs),
        )
        if not rows:
            raise InputError(
                f"the named credential {full_name} was saved but SOQL does not show it",
                artifact=self.artifact(inputs),
                hint="run `pulumi up` again",
            )
        return f"{self.client.instance_url}/lightning/setup/NamedCredential/page?address=%2F{rows[0]['Id']}"


class NamedCredential(ArtifactResource, module="eci-aircall", name="NamedCredential"):
    """A legacy named credential; ``authorize_url`` is where an admin completes the OAuth "Authorize"."""

    provider_class = NamedCredentialProvider
