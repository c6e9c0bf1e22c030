"""The ECI auth provider (guide: "Add ECI as an Authorized Provider").

Metadata type ``AuthProvider`` (Metadata API Developer Guide, "AuthProvider"): ``fullName`` is the URL suffix
(``ECI_Auth_Provider``), ``friendlyName`` the name shown in Setup, ``providerType`` ``Salesforce``;
``consumerKey`` / ``consumerSecret`` are the OAuth app's credentials (from :mod:`providers.oauth_consumer`).
``consumerSecret`` is write-only (readMetadata never returns it), so state keeps only its salted hash.

``callback_url`` is what Setup shows after saving: ``{My Domain URL}/services/authcallback/{URL suffix}``
(Salesforce Help, "Configure a Salesforce Authentication Provider"). Neither the metadata type nor the
``AuthProvider`` sObject has a callback field, so it is computed. The My Domain URL is the connection's
instance URL: every org has a My Domain since Winter '23 and the OAuth token response (and ``sf org
display``) gives ``instance_url`` as that My Domain URL (Help, "My Domain"). That costs no call at all for an
access token or SFDX auth URL connection (the URL is in the configuration) and nothing extra for JWT (the
login that the create needs anyway returns it) — cheaper than ``SELECT Domain FROM Domain``, and it cannot
disagree with the host the org answers on.

Replace keys: the URL suffix (it is the identity and part of the callback URL) and the provider type (Setup
cannot change the type of a saved provider).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field

from providers import guide
from providers.config.keys import ADOPT_SHARED_HINT
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
    Live,
    MetadataProvider,
)

# Metadata API v63.0 WSDL, simpleType AuthProviderType.
AuthProviderType = Literal[
    "Facebook", "Janrain", "Salesforce", "OpenIdConnect", "MicrosoftACS", "LinkedIn", "Twitter", "Google",
    "GitHub", "Custom", "Apple", "Evergreen", "Slack", "HubSpot", "Microsoft", "MuleSoft", "Bitbucket",
]  # fmt: skip


def callback_url(my_domain_url: str, url_suffix: str) -> str:
    return f"{my_domain_url.rstrip('/')}/services/authcallback/{url_suffix}"


class AuthProviderInputs(AdoptableInputs):
    full_name: Annotated[str, SF("fullName"), NAME, REPLACE] = Field(
        default=guide.AUTH_PROVIDER_NAME, pattern=DEVELOPER_NAME, max_length=32
    )
    friendly_name: Annotated[str, SF("friendlyName")] = Field(
        default=guide.AUTH_PROVIDER_LABEL, min_length=1, max_length=32
    )
    provider_type: Annotated[AuthProviderType, SF("providerType"), REPLACE] = "Salesforce"
    # The key travels with its secret: kept secret in state and outputs like the OAuthConsumer's.
    consumer_key: Annotated[str, SF("consumerKey"), SECRET_OUTPUT] = Field(min_length=1, max_length=256)
    consumer_secret: Annotated[str, SF("consumerSecret"), SECRET] = Field(min_length=1, max_length=256)
    callback_url: Annotated[str | None, COMPUTED] = None


class AuthProviderProvider(MetadataProvider):
    kind = "AuthProvider"
    adopt_opt_in = ADOPT_SHARED_HINT
    inputs_model = AuthProviderInputs
    listing_group = 1

    def computed_outputs(
        self,
        artifact_id: str,
        inputs: Mapping[str, Any],
        live: Live | None,
        olds: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        return {"callback_url": callback_url(self.client.instance_url, artifact_id)}


class AuthProvider(ArtifactResource, module="eci-aircall", name="AuthProvider"):
    """``ECI_Auth_Provider``; ``callback_url`` goes into the OAuth app (connected or external client app)."""

    provider_class = AuthProviderProvider
