"""Every resource the providers offer, registered here by hand (as terraform-provider-tls's provider lists
its resources): the generated resource table, the Metadata listing groups and the "Adding an artifact" test
(tests/providers/test_checklist.py) read this list, and that test fails for a resource module left out."""

from __future__ import annotations

from functools import cache

from providers.auth_provider import AuthProvider
from providers.connected_app import ConnectedApp
from providers.custom_site import CustomSite, SiteGuestUser
from providers.external_client_app import ExternalClientApp
from providers.integration_user import IntegrationUser
from providers.kit import ArtifactResource, MetadataProvider
from providers.named_credential import NamedCredential
from providers.oauth_consumer import OAuthConsumer
from providers.permission_set_assignment import PermissionSetAssignment
from providers.preflight import Preflight

RESOURCES: tuple[type[ArtifactResource], ...] = (
    AuthProvider,
    ConnectedApp,
    CustomSite,
    SiteGuestUser,
    ExternalClientApp,
    IntegrationUser,
    NamedCredential,
    OAuthConsumer,
    PermissionSetAssignment,
    Preflight,
)


@cache
def listing_groups() -> tuple[tuple[str, ...], ...]:
    """The Metadata types of the registered providers, by the ``listing_group`` each declares."""
    groups: dict[int, list[str]] = {}
    for resource in RESOURCES:
        provider = resource.provider_class
        if issubclass(provider, MetadataProvider):
            groups.setdefault(provider.listing_group, []).append(provider.kind)
    return tuple(tuple(dict.fromkeys(types)) for _, types in sorted(groups.items()))
