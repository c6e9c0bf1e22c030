"""The ECI OAuth app, whichever form it takes (guide: "Set Up the Connected App"): what the guide asks of it
and what is the same for :mod:`providers.connected_app` and :mod:`providers.external_client_app`, which differ
only in the Metadata components and field paths that hold these settings.

Consumer key and secret come from :mod:`providers.oauth_consumer` and are set at create: a changed key or
secret replaces the app (the key cannot be changed on update, the secret is write-only).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, cast
from urllib.parse import urlparse

from pydantic import Field, field_validator

from providers import guide
from providers.config.keys import ADOPT_SHARED_HINT, CONNECTED_APP_PROFILES
from providers.kit import (
    COMPUTED,
    DEVELOPER_NAME,
    NAME,
    REPLACE,
    SECRET,
    SECRET_OUTPUT,
    SF,
    AdoptableInputs,
    ArtifactResource,
    Email,
    InputError,
    Live,
    MetadataProvider,
)
from salesforce import soql_quote

# Metadata API v63.0 WSDL, simpleType ConnectedAppOauthAccessScope (external client apps use the same names in
# commaSeparatedOauthScopes).
OAuthScope = Literal[
    "Basic", "Api", "Web", "Full", "Chatter", "CustomApplications", "RefreshToken", "OpenID", "Profile",
    "Email", "Address", "Phone", "OfflineAccess", "CustomPermissions", "Wave", "Eclair", "Pardot",
    "Lightning", "Content",
    "CDPIngest", "CDPProfile", "CDPQuery", "Chatbot", "CDPSegment", "CDPIdentityResolution",
    "CDPCalculatedInsight", "ForgotPassword", "UserRegistration", "SFAP", "Interaction", "CDP", "EinsteinGPT",
    "PwdlessLogin",
]  # fmt: skip

DEFAULT_SCOPES: tuple[OAuthScope, ...] = ("Content", "Api", "Web", "RefreshToken")

PermittedUsers = Literal["AdminApprovedPreAuthorized", "AllSelfAuthorized"]
PERMITTED_ADMIN_APPROVED: Literal["AdminApprovedPreAuthorized"] = "AdminApprovedPreAuthorized"
# The external client app's spelling (ExtlClntAppOauthConfigurablePolicies.ipRelaxationPolicyType); the
# connected app stores the same choice upper-cased.
IpRelaxation = Literal["Enforce", "Bypass", "Enforce_RelaxRefresh"]


class OAuthAppInputs(AdoptableInputs):
    """What the guide asks of the OAuth app, for a connected app and an external client app alike: each
    field's path per Metadata type (an external client app's first part names its component, see
    :mod:`providers.external_client_app`)."""

    full_name: Annotated[
        str, SF(ConnectedApp="fullName", ExternalClientApplication="app.fullName"), NAME, REPLACE
    ] = Field(default=guide.CONNECTED_APP_NAME, pattern=DEVELOPER_NAME, max_length=40)
    label: Annotated[str, SF(ConnectedApp="label", ExternalClientApplication="app.label")] = Field(
        default=guide.CONNECTED_APP_LABEL, min_length=1, max_length=80
    )
    contact_email: Annotated[
        Email, SF(ConnectedApp="contactEmail", ExternalClientApplication="app.contactEmail")
    ]
    callback_url: Annotated[
        str, SF(ConnectedApp="oauthConfig.callbackUrl", ExternalClientApplication="global.callbackUrl")
    ] = Field(min_length=1, max_length=2000)
    # The key travels with its secret: kept secret in state and outputs like the OAuthConsumer's.
    consumer_key: Annotated[
        str,
        SF(ConnectedApp="oauthConfig.consumerKey", ExternalClientApplication="global.consumerKey"),
        REPLACE,
        SECRET_OUTPUT,
    ] = Field(min_length=8, max_length=256)
    consumer_secret: Annotated[
        str,
        SF(ConnectedApp="oauthConfig.consumerSecret", ExternalClientApplication="global.consumerSecret"),
        REPLACE,
        SECRET,
    ] = Field(min_length=8, max_length=256)
    scopes: Annotated[
        list[OAuthScope],
        SF(ConnectedApp="oauthConfig.scopes", ExternalClientApplication="oauth.commaSeparatedOauthScopes"),
    ] = Field(default_factory=lambda: list(DEFAULT_SCOPES), min_length=1, validate_default=True)
    # The guide's profiles: the same default as the stack config key that sets them.
    profiles: Annotated[
        list[str], SF(ConnectedApp="profileName", ExternalClientApplication="policies.commaSeparatedProfile")
    ] = Field(
        default_factory=lambda: list(cast(tuple[str, ...], CONNECTED_APP_PROFILES.default)),
        validate_default=True,
    )
    # The next five are translated both ways by each kind's to_salesforce / from_salesforce.
    require_secret_for_web_server_flow: Annotated[
        bool,
        SF(
            ConnectedApp="oauthConfig.isConsumerSecretOptional",
            ExternalClientApplication="global.isConsumerSecretOptional",
        ),
    ] = True
    require_secret_for_refresh_token_flow: Annotated[
        bool,
        SF(
            ConnectedApp="oauthConfig.isSecretRequiredForRefreshToken",
            ExternalClientApplication="global.isSecretRequiredForRefreshToken",
        ),
    ] = True
    permitted_users: Annotated[
        PermittedUsers,
        SF(
            ConnectedApp="oauthConfig.isAdminApproved",
            ExternalClientApplication="policies.permittedUsersPolicyType",
        ),
    ] = PERMITTED_ADMIN_APPROVED
    ip_relaxation: Annotated[
        IpRelaxation,
        SF(
            ConnectedApp="oauthPolicy.ipRelaxation",
            ExternalClientApplication="policies.ipRelaxationPolicyType",
        ),
    ] = "Bypass"
    refresh_token_validity_days: Annotated[
        int,
        SF(
            ConnectedApp="oauthPolicy.refreshTokenPolicy",
            ExternalClientApplication="policies.refreshTokenValidityPeriod",
        ),
    ] = Field(default=365, ge=1, le=36500)
    app_name: Annotated[str | None, COMPUTED] = None

    @field_validator("callback_url")
    @classmethod
    def _url(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in ("https", "http") or not parsed.netloc:
            raise ValueError(
                "must be an absolute URL such as https://<my-domain>/services/authcallback/<suffix>"
            )
        return value

    @field_validator("scopes", "profiles")
    @classmethod
    def _as_set(cls, value: list[str]) -> list[str]:
        # Salesforce keeps scopes and profiles as sets: order the inputs the way reads are ordered, so a
        # refresh never reports a reordering as drift.
        return sorted(set(value))


class OAuthAppProvider(MetadataProvider):
    """The ECI OAuth app; a subclass gives its Metadata type, listing group and the translations."""

    inputs_model = OAuthAppInputs
    adopt_opt_in = ADOPT_SHARED_HINT

    def prepare(self, inputs: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        self.check_profiles(inputs)
        return super().prepare(inputs, creating=creating)

    def find(self, inputs: Mapping[str, Any]) -> Live | None:
        live = super().find(inputs)
        self.check_adopted_key(inputs, live)
        return live

    def check_adopted_key(self, inputs: Mapping[str, Any], live: Live | None) -> None:
        """An existing app must already have the consumer key the auth provider is given (the OAuthConsumer
        read it from the app); otherwise adopting it would silently leave the auth provider with credentials
        the app does not know — and a key cannot be changed on update."""
        key = live.values.get("consumer_key") if live is not None else None
        if key and key != inputs.get("consumer_key"):
            raise InputError(
                f"{self.full_name(inputs)} already exists with another consumer key than the one the stack "
                "wired into the auth provider",
                artifact=self.artifact(inputs),
                hint="let the OAuthConsumer read the app's credentials again: `pulumi up --replace "
                "<urn of the OAuthConsumer>` (see `pulumi stack --show-urns`)",
            )

    def check_profiles(self, inputs: Mapping[str, Any]) -> None:
        """Unknown profile names fail before any write (one SOQL query)."""
        profiles = list(inputs.get("profiles") or [])
        if not profiles:
            return
        names = ", ".join(soql_quote(p) for p in profiles)
        rows = self.client.query(
            f"SELECT Name FROM Profile WHERE Name IN ({names})", artifact=self.artifact(inputs)
        )
        found = {str(r.get("Name", "")).lower() for r in rows}
        missing = [p for p in profiles if p.lower() not in found]
        if missing:
            raise InputError(
                f"profile(s) {', '.join(repr(m) for m in missing)} do not exist in this org",
                artifact=self.artifact(inputs),
                hint=f"set {CONNECTED_APP_PROFILES.full_name} to existing profile names (the guide "
                "recommends Standard User and System Administrator)",
            )

    @staticmethod
    def secret_flags(settings: Mapping[str, Any]) -> dict[str, bool]:
        """The two "Require Secret" settings as read; absent booleans read as Salesforce's defaults (secret
        required for both flows)."""
        refresh = settings.get("isSecretRequiredForRefreshToken")
        return {
            "require_secret_for_web_server_flow": not settings.get("isConsumerSecretOptional"),
            "require_secret_for_refresh_token_flow": True if refresh is None else bool(refresh),
        }

    def computed_outputs(
        self,
        artifact_id: str,
        inputs: Mapping[str, Any],
        live: Live | None,
        olds: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        return {"app_name": artifact_id}


class OAuthApp(ArtifactResource):
    """``ECI_Connected_App``, the OAuth app the ECI service calls through; keyword arguments: the fields of
    :class:`OAuthAppInputs`."""

    provider_class: ClassVar[type[OAuthAppProvider]]
