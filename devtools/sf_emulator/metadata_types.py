"""Per-type behaviour of the emulated Metadata API, each rule beside the source it follows.

`metadata_api.py` parses SOAP requests into plain dicts (schema-shaped, ``None``-free) and hands them to the
:class:`TypeRule` of the record's type; the rule validates, fills server-generated values, writes the store
(the metadata record and, where Salesforce has one, the sObject face that SOQL sees) and decides what
readMetadata may return. Keys starting with ``_`` are emulator bookkeeping: they are stored but never
rendered, because the renderer only emits elements that exist in the WSDL type.

Where the exact Salesforce wording of an error could not be found in a public source, the comment says so and
names what the message is modelled on; statusCode values are always ones the v63.0 WSDL's ``StatusCode`` enum
has.
"""

from __future__ import annotations

import copy
import secrets
import string
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

Record = dict[str, Any]


class OrgLike(Protocol):
    """The slice of ``devtools.sf_emulator.store.Org`` (docs/contracts.md §1) the metadata rules use."""

    @property
    def instance_url(self) -> str: ...
    @property
    def settings(self) -> dict[str, Any]: ...

    def transaction(self) -> AbstractContextManager[None]: ...
    def new_id(self, key_prefix: str) -> str: ...
    def metadata_get(self, type_: str, full_name: str) -> dict[str, Any] | None: ...
    def metadata_put(self, type_: str, full_name: str, record: dict[str, Any]) -> None: ...
    def metadata_delete(self, type_: str, full_name: str) -> bool: ...
    def metadata_list(self, type_: str) -> list[dict[str, Any]]: ...
    def sobject_get(self, sobject: str, record_id: str) -> dict[str, Any] | None: ...
    def sobject_find(self, sobject: str, **equals: Any) -> list[dict[str, Any]]: ...
    def sobject_insert(self, sobject: str, fields: dict[str, Any]) -> str: ...
    def sobject_update(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None: ...
    def sobject_delete(self, sobject: str, record_id: str) -> None: ...
    def request_user(self) -> str | None: ...


class MetadataError(Exception):
    """A per-record failure: becomes ``errors[{statusCode, message, fields}]`` with ``success=false``."""

    def __init__(self, status_code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(f"{status_code}: {message}")
        self.status_code = status_code
        self.message = message
        self.fields = fields or []


class MetadataFault(Exception):
    """A whole-call failure: becomes a SOAP fault (``sf:INVALID_TYPE``, ``sf:EXCEEDED_ID_LIMIT``, ...)."""

    def __init__(self, fault_code: str, message: str) -> None:
        super().__init__(message)
        self.fault_code = fault_code
        self.message = message


# ------------------------------------------------------------------------------------------------------------
# helpers


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _random_token(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def generate_consumer_key() -> str:
    # Salesforce consumer keys are 85 characters beginning with "3MVG9" (seen on every connected app's
    # "Manage Consumer Details" page); clients only treat them as opaque strings.
    return "3MVG9" + _random_token(string.ascii_letters + string.digits + "._", 80)


def generate_consumer_secret() -> str:
    # Connected-app consumer secrets are 64 uppercase hex characters.
    return secrets.token_hex(32).upper()


def not_found(type_name: str, full_name: str) -> MetadataError:
    # Metadata API wording for update/delete/rename of a component that does not exist, e.g.
    # "In field: fullName - no CustomObject named Foo__c found" (certinia/apex-mdapi issues, SFSE answers).
    return MetadataError(
        "INVALID_CROSS_REFERENCE_KEY",
        f"In field: fullName - no {type_name} named {full_name} found",
        ["fullName"],
    )


def missing_reference(field: str, type_name: str, name: str) -> MetadataError:
    return MetadataError(
        "INVALID_CROSS_REFERENCE_KEY", f"In field: {field} - no {type_name} named {name} found", [field]
    )


def required(field: str) -> MetadataError:
    return MetadataError("REQUIRED_FIELD_MISSING", f"Required field is missing: {field}", [field])


def _pop_path(record: Record, path: str) -> None:
    *parents, leaf = path.split(".")
    node: Any = record
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return
    if isinstance(node, dict):
        node.pop(leaf, None)


def _get_path(record: Record, path: str) -> Any:
    node: Any = record
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def admin_user(org: OrgLike) -> Record | None:
    """The seeded admin (the user every emulator session acts as), for createdBy / authorised-as values."""
    admins = [u for u in org.sobject_find("User") if u.get("UserType", "Standard") == "Standard"]
    for user in admins:
        profile = org.sobject_get("Profile", user.get("ProfileId", "")) if user.get("ProfileId") else None
        if profile and profile.get("Name") == "System Administrator" and user.get("IsActive", True):
            return user
    return admins[0] if admins else None


def user_by_username(org: OrgLike, username: str) -> Record | None:
    found = [u for u in org.sobject_find("User") if str(u.get("Username", "")).lower() == username.lower()]
    return found[0] if found else None


# ------------------------------------------------------------------------------------------------------------
# the rule base class


class TypeRule:
    """Default behaviour: store what was sent; read back everything but the write-only paths."""

    type_name: str = ""
    # Salesforce's retrieve/package layout for listMetadata's FileProperties.fileName and describeMetadata.
    directory: str = ""
    suffix: str = ""
    # Dotted paths never returned by readMetadata (secrets the API accepts but does not give back).
    write_only: tuple[str, ...] = ()
    # sObject that mirrors the component (keyed by the record's ``_id``), if any.
    sobject: str | None = None
    id_prefix: str = "000"
    creatable: bool = True
    # The type a package.xml names it by: its own name, or "Settings" (member ConversationalIntelligence for
    # ConversationalIntelligenceSettings: Metadata API Developer Guide, "Settings").
    manifest_type: str = ""

    # -- hooks for subclasses
    # --------------------------------------------------------------------------------------------------------
    def validate(self, org: OrgLike, record: Record, existing: Record | None) -> None:
        """Raise MetadataError if the record may not be saved (``existing`` is None for a create)."""

    def sobject_fields(self, org: OrgLike, record: Record) -> dict[str, Any] | None:
        return None

    def after_save(self, org: OrgLike, record: Record, existing: Record | None) -> None:
        """Side effects beyond the record itself and its sObject row (guest users, ...)."""

    def before_delete(self, org: OrgLike, existing: Record) -> None:
        """Raise MetadataError if the component may not be deleted."""

    def after_delete(self, org: OrgLike, existing: Record) -> None:
        """Side effects of a delete beyond removing the record and its sObject row."""

    # -- operations
    # --------------------------------------------------------------------------------------------------------
    def get(self, org: OrgLike, full_name: str) -> Record | None:
        return org.metadata_get(self.type_name, full_name)

    def list_names(self, org: OrgLike) -> list[Record]:
        return org.metadata_list(self.type_name)

    def create(self, org: OrgLike, record: Record) -> Record:
        full_name = record["fullName"]
        if self.get(org, full_name) is not None:
            # Modelled on the Metadata API's answer to creating a component whose name is taken; the exact
            # sentence differs per type in Salesforce and was not found for these types.
            raise MetadataError(
                "DUPLICATE_DEVELOPER_NAME",
                f"There is already a {self.type_name} named {full_name}.",
                ["fullName"],
            )
        self.check_creatable(org)
        self.validate(org, record, None)
        stored = self.prepare_new(org, record)
        self._save(org, stored, None)
        return stored

    def check_creatable(self, org: OrgLike) -> None:
        """Raise MetadataError when the org refuses new components of this type."""

    def check_deployable(self, org: OrgLike) -> None:
        """Raise MetadataError when the org refuses to deploy components of this type at all."""

    def prepare_new(self, org: OrgLike, record: Record) -> Record:
        stored = copy.deepcopy(record)
        stamp = now_iso()
        stored["_created"] = stamp
        stored["_modified"] = stamp
        # FileProperties.createdById is the user whose session created the component (Metadata API
        # Developer Guide, "FileProperties"), not always the admin.
        stored["_created_by"] = org.request_user()
        stored["_id"] = org.new_id(self.id_prefix)
        return stored

    def update(self, org: OrgLike, record: Record) -> Record:
        existing = self.get(org, record["fullName"])
        if existing is None:
            raise not_found(self.type_name, record["fullName"])
        self.validate(org, record, existing)
        stored = self.merge_update(org, record, existing)
        self._save(org, stored, existing)
        return stored

    def merge_update(self, org: OrgLike, record: Record, existing: Record) -> Record:
        """updateMetadata replaces the component; server-held values (ids, secrets) carry over."""
        stored = copy.deepcopy(record)
        for key, value in existing.items():
            if key.startswith("_"):
                stored[key] = value
        for path in self.write_only:
            if _get_path(stored, path) is None and _get_path(existing, path) is not None:
                self._set_path(stored, path, _get_path(existing, path))
        stored["fullName"] = existing["fullName"]
        stored["_modified"] = now_iso()
        return stored

    @staticmethod
    def _set_path(record: Record, path: str, value: Any) -> None:
        *parents, leaf = path.split(".")
        node = record
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                return  # the parent was removed by the update: the secret goes with it
            node = child
        node[leaf] = value

    def _save(self, org: OrgLike, stored: Record, existing: Record | None) -> None:
        fields = self.sobject_fields(org, stored)
        if self.sobject and fields is not None:
            if org.sobject_get(self.sobject, stored["_id"]) is None:
                # The store assigns sObject Ids itself; the component takes the Id of its sObject face.
                stored["_id"] = org.sobject_insert(self.sobject, fields)
            else:
                org.sobject_update(self.sobject, stored["_id"], fields)
        org.metadata_put(self.type_name, stored["fullName"], stored)
        self.after_save(org, stored, existing)

    def delete(self, org: OrgLike, full_name: str) -> None:
        existing = self.get(org, full_name)
        if existing is None:
            raise not_found(self.type_name, full_name)
        self.before_delete(org, existing)
        org.metadata_delete(self.type_name, existing["fullName"])
        if (
            self.sobject
            and existing.get("_id")
            and org.sobject_get(self.sobject, existing["_id"]) is not None
        ):
            org.sobject_delete(self.sobject, existing["_id"])
        self.after_delete(org, existing)

    def rename(self, org: OrgLike, old_name: str, new_name: str) -> Record:
        existing = self.get(org, old_name)
        if existing is None:
            raise not_found(self.type_name, old_name)
        if self.get(org, new_name) is not None and old_name.lower() != new_name.lower():
            raise MetadataError(
                "DUPLICATE_DEVELOPER_NAME",
                f"There is already a {self.type_name} named {new_name}.",
                ["fullName"],
            )
        org.metadata_delete(self.type_name, existing["fullName"])
        renamed = copy.deepcopy(existing)
        renamed["fullName"] = new_name
        renamed["_modified"] = now_iso()
        self._save(org, renamed, existing)
        self.after_rename(org, existing["fullName"], new_name)
        return renamed

    def after_rename(self, org: OrgLike, old_name: str, new_name: str) -> None:
        """Fix up components that refer to this one by name."""

    def read(self, org: OrgLike, stored: Record) -> Record:
        visible = copy.deepcopy(stored)
        for path in self.write_only:
            _pop_path(visible, path)
        return visible


# ------------------------------------------------------------------------------------------------------------
# ConnectedApp Source: Metadata API Developer Guide, "ConnectedApp" and "ConnectedAppOauthConfig"
# (api_meta/meta_connectedapp.htm): consumerKey "can be set only on create"; consumerSecret is write-only.
# Gearset, "Connected apps must have a unique consumerKey" (docs.gearset.com/en/articles/3313964): once set
# the key is not writable, and Salesforce generates one when none is given. Creation block: Salesforce Help
# 005228017 "New Connected Apps Can No Longer Be Created in Spring '26" — creation is blocked "through both
# API and UI" (Metadata API included) while "editing, installation ... and deletion will not be affected".


class ConnectedAppRule(TypeRule):
    type_name = "ConnectedApp"
    directory = "connectedApps"
    suffix = "connectedApp"
    write_only = ("oauthConfig.consumerSecret",)
    sobject = "ConnectedApplication"
    id_prefix = "0H4"

    def check_creatable(self, org: OrgLike) -> None:
        if not org.settings.get("connected_app_creation_allowed", True):
            # Wording not published by Salesforce; modelled on Help 005228017 (creation "disabled ... unless
            # they request the ability to create connected apps from Salesforce Support").
            raise MetadataError(
                "INSUFFICIENT_ACCESS_OR_READONLY",
                "Creation of connected apps is disabled in this org. Use an external client app instead, or "
                "contact Salesforce Customer Support to enable connected app creation.",
            )

    def validate(self, org: OrgLike, record: Record, existing: Record | None) -> None:
        # profileName / permissionSetName grant access to the app; they must name existing profiles and
        # permission sets (same "In field: ... - no ... named ... found" form as other references).
        for profile in record.get("profileName") or []:
            if not org.sobject_find("Profile", Name=profile):
                raise missing_reference("profileName", "Profile", profile)
        for permission_set in record.get("permissionSetName") or []:
            if RULES["PermissionSet"].get(org, permission_set) is None:
                raise missing_reference("permissionSetName", "PermissionSet", permission_set)
        oauth = record.get("oauthConfig")
        if oauth is None:
            return
        if not oauth.get("callbackUrl"):
            raise required("callbackUrl")
        key = oauth.get("consumerKey")
        if existing is not None:
            old_key = _get_path(existing, "oauthConfig.consumerKey")
            if key is not None and key != old_key:
                # Exact wording Salesforce returns (trailheadapps/ready-to-fly#29,
                # SFDO-Tooling/CumulusCI#2943: deploying a connected app whose metadata carries a consumerKey
                # fails with it).
                raise MetadataError(
                    "FIELD_INTEGRITY_EXCEPTION",
                    "You cannot provide a Consumer Key",
                    ["consumerKey"],
                )
            old_secret = _get_path(existing, "oauthConfig.consumerSecret")
            secret = oauth.get("consumerSecret")
            if secret is not None and old_secret is not None and secret != old_secret:
                # Emulator assumption (no public source): the secret, like the key, is fixed after create; it
                # is rotated in Setup, not through updateMetadata. Rejecting beats silently keeping the old
                # one.
                raise MetadataError(
                    "FIELD_INTEGRITY_EXCEPTION",
                    "You cannot change the Consumer Secret of an existing connected app.",
                    ["consumerSecret"],
                )
        elif key is not None and consumer_key_in_use(org, key):
            raise key_taken()

    def prepare_new(self, org: OrgLike, record: Record) -> Record:
        stored = super().prepare_new(org, record)
        oauth = stored.get("oauthConfig")
        if oauth is not None:
            oauth.setdefault("consumerKey", generate_consumer_key())
            oauth.setdefault("consumerSecret", generate_consumer_secret())
            # The OAuth consumer behind the app, addressed by the Connect REST credentials resource.
            stored["_consumer_id"] = org.new_id("0Oy")
        return stored

    def merge_update(self, org: OrgLike, record: Record, existing: Record) -> Record:
        stored = super().merge_update(org, record, existing)
        oauth = stored.get("oauthConfig")
        if oauth is not None:
            old = existing.get("oauthConfig") or {}
            oauth["consumerKey"] = old.get("consumerKey") or generate_consumer_key()
            oauth["consumerSecret"] = old.get("consumerSecret") or generate_consumer_secret()
            stored.setdefault("_consumer_id", org.new_id("0Oy"))
        return stored

    def sobject_fields(self, org: OrgLike, record: Record) -> dict[str, Any]:
        # ConnectedApplication.Name is the app's name as shown in Setup ("Connected App Name" = the label);
        # the object has no developer-name field (Object Reference, "ConnectedApplication"). "Admin approved
        # users are pre-authorized" is ConnectedAppOauthConfig.isAdminApproved in metadata and
        # OptionsAllowAdminApprovedUsersOnly on the object.
        oauth = record.get("oauthConfig") or {}
        return {
            "Name": record.get("label", record["fullName"]),
            "OptionsAllowAdminApprovedUsersOnly": bool(oauth.get("isAdminApproved", False)),
            "StartUrl": record.get("startUrl"),
            "MobileStartUrl": record.get("mobileStartUrl"),
        }


def key_taken() -> MetadataError:
    # Salesforce's wording (forcedotcom/devops-center-feedback#256: "failed to deploy due to The consumer key
    # is already taken."); consumer keys are unique across apps.
    return MetadataError("DUPLICATE_VALUE", "The consumer key is already taken.", ["consumerKey"])


def consumer_key_in_use(org: OrgLike, key: str) -> bool:
    for app in org.metadata_list("ConnectedApp"):
        if _get_path(app, "oauthConfig.consumerKey") == key:
            return True
    return any(s.get("consumerKey") == key for s in org.metadata_list("ExtlClntAppGlobalOauthSettings"))


# ------------------------------------------------------------------------------------------------------------
# AuthProvider Source: Metadata API guide "AuthProvider" (api_meta/meta_authproviders.htm): fullName is the
# URL suffix; consumerSecret is not returned on retrieve. The callback URL is not a field of the metadata type
# nor of the AuthProvider sObject (Object Reference "AuthProvider": no callback field); Setup shows it as "{My
# Domain URL}/services/authcallback/{URL suffix}" (Help: "Configure a Salesforce Authentication Provider"), so
# clients compute it — see callback_url().


def auth_provider_callback_url(org: OrgLike, url_suffix: str) -> str:
    return f"{org.instance_url.rstrip('/')}/services/authcallback/{url_suffix}"


class AuthProviderRule(TypeRule):
    type_name = "AuthProvider"
    directory = "authproviders"
    suffix = "authprovider"
    write_only = ("consumerSecret",)
    sobject = "AuthProvider"
    id_prefix = "0SO"

    def sobject_fields(self, org: OrgLike, record: Record) -> dict[str, Any]:
        return {
            "DeveloperName": record["fullName"],
            "FriendlyName": record.get("friendlyName"),
            "ProviderType": record.get("providerType"),
            "ConsumerKey": record.get("consumerKey"),
            "DefaultScopes": record.get("defaultScopes"),
        }

    def before_delete(self, org: OrgLike, existing: Record) -> None:
        name = existing["fullName"].lower()
        users = [
            nc["fullName"]
            for nc in org.metadata_list("NamedCredential")
            if str(nc.get("authProvider", "")).lower() == name
        ] + [
            ec["fullName"]
            for ec in org.metadata_list("ExternalCredential")
            for p in ec.get("externalCredentialParameters") or []
            if str(p.get("authProvider", "")).lower() == name
        ]
        if users:
            # Setup refuses with "This Auth. Provider is referenced elsewhere in Salesforce" and lists the
            # named credentials; the exact API sentence is unpublished, this follows the Setup wording.
            raise MetadataError(
                "DELETE_FAILED",
                f"This auth provider is referenced elsewhere in Salesforce. Remove the usage and try again.: "
                f"{', '.join(users)}",
            )

    def after_rename(self, org: OrgLike, old_name: str, new_name: str) -> None:
        # Named credentials point at the provider by Id in Salesforce, so a rename follows through.
        for nc in org.metadata_list("NamedCredential"):
            if str(nc.get("authProvider", "")).lower() == old_name.lower():
                nc["authProvider"] = new_name
                org.metadata_put("NamedCredential", nc["fullName"], nc)


# ------------------------------------------------------------------------------------------------------------
# NamedCredential (legacy) Source: Metadata API guide "NamedCredential" (api_meta/meta_namedcredential.htm):
# password, oauthToken, oauthRefreshToken and awsAccessSecret are write-only; authProvider names an
# AuthProvider for protocol Oauth. Object Reference "NamedCredential": DeveloperName, MasterLabel, Endpoint,
# PrincipalType, AuthProviderId, CalloutOptions* fields. Authentication status of a legacy named-principal
# OAuth credential is shown only in Setup ("Authentication Status: Authenticated as <user>"); no public API
# field carries it, so the emulator keeps it in the record's bookkeeping (``_authenticationStatus``) and
# exposes it through named_credential_status().

NC_NOT_AUTHENTICATED = "NotAuthenticated"
NC_AUTHENTICATED = "Authenticated"


class NamedCredentialRule(TypeRule):
    type_name = "NamedCredential"
    directory = "namedCredentials"
    suffix = "namedCredential"
    write_only = ("password", "oauthToken", "oauthRefreshToken", "awsAccessSecret", "jwtSigningCertificate")
    sobject = "NamedCredential"
    id_prefix = "0XA"

    def validate(self, org: OrgLike, record: Record, existing: Record | None) -> None:
        if record.get("namedCredentialType", "Legacy") != "Legacy":
            self._validate_new_model(org, record)
            return
        if not record.get("endpoint"):
            raise required("endpoint")
        if record.get("protocol") == "Oauth":
            provider = record.get("authProvider")
            if not provider:
                raise required("authProvider")
            if org.metadata_get("AuthProvider", provider) is None:
                raise missing_reference("authProvider", "AuthProvider", provider)

    @staticmethod
    def _validate_new_model(org: OrgLike, record: Record) -> None:
        """A SecuredEndpoint/PrivateEndpoint named credential (API 56.0+; Metadata API Developer Guide,
        "NamedCredential": ``namedCredentialType``, ``namedCredentialParameters``; endpoint, authProvider and
        protocol "valid only when NamedCredentialType is set to Legacy"). Its URL is the parameter of type
        ``Url`` and its authentication is an ``Authentication`` parameter naming an ExternalCredential
        (NamedCredentialParameter.externalCredential), which must exist: the same missing-reference error
        as a legacy credential's authProvider."""
        parameters = record.get("namedCredentialParameters") or []
        urls = [p for p in parameters if p.get("parameterType") == "Url"]
        if not urls or not urls[0].get("parameterValue"):
            raise required("namedCredentialParameters.Url")
        for p in parameters:
            if p.get("parameterType") == "Authentication":
                name = p.get("externalCredential")
                if not name:
                    raise required("namedCredentialParameters.externalCredential")
                if org.metadata_get("ExternalCredential", name) is None:
                    raise missing_reference("externalCredential", "ExternalCredential", name)

    def prepare_new(self, org: OrgLike, record: Record) -> Record:
        stored = super().prepare_new(org, record)
        if stored.get("protocol") == "Oauth":
            stored["_authenticationStatus"] = NC_NOT_AUTHENTICATED
        return stored

    def merge_update(self, org: OrgLike, record: Record, existing: Record) -> Record:
        stored = super().merge_update(org, record, existing)
        if stored.get("protocol") != "Oauth":
            stored.pop("_authenticationStatus", None)
            stored.pop("_authenticatedAs", None)
        elif (
            existing.get("protocol") != "Oauth"
            or str(existing.get("authProvider", "")).lower() != str(stored.get("authProvider", "")).lower()
        ):
            # A different provider means the stored token belongs to another identity: authorise again.
            stored["_authenticationStatus"] = NC_NOT_AUTHENTICATED
            stored.pop("_authenticatedAs", None)
        return stored

    def sobject_fields(self, org: OrgLike, record: Record) -> dict[str, Any]:
        provider_id = None
        if record.get("authProvider"):
            provider = org.metadata_get("AuthProvider", record["authProvider"])
            provider_id = provider.get("_id") if provider else None
        url = next(
            (
                p.get("parameterValue")
                for p in record.get("namedCredentialParameters") or []
                if p.get("parameterType") == "Url"
            ),
            None,
        )
        return {
            "DeveloperName": record["fullName"],
            "MasterLabel": record.get("label"),
            "Endpoint": record.get("endpoint") or url,
            "PrincipalType": record.get("principalType", "NamedUser"),
            "AuthProviderId": provider_id,
            "CalloutOptionsGenerateAuthorizationHeader": bool(
                record.get("generateAuthorizationHeader", True)
            ),
            "CalloutOptionsAllowMergeFieldsInHeader": bool(record.get("allowMergeFieldsInHeader", False)),
            "CalloutOptionsAllowMergeFieldsInBody": bool(record.get("allowMergeFieldsInBody", False)),
        }


class ExternalCredentialRule(TypeRule):
    """ExternalCredential (API 56.0+; Metadata API Developer Guide, "ExternalCredential"): the authentication
    a new-model named credential points to. ``authenticationProtocol`` and ``label`` are required (WSDL);
    ``externalCredentialParameters`` hold the principals (NamedPrincipal / PerUserPrincipal) and, for OAuth,
    the parameter of type ``AuthProvider`` whose ``authProvider`` names the auth provider ("Create and Edit an
    OAuth External Credential": an authentication provider is required for the browser flow), which must
    exist."""

    type_name = "ExternalCredential"
    directory = "externalCredentials"
    suffix = "externalCredential"

    def validate(self, org: OrgLike, record: Record, existing: Record | None) -> None:
        parameters = record.get("externalCredentialParameters") or []
        providers = [p for p in parameters if p.get("parameterType") == "AuthProvider"]
        if record.get("authenticationProtocol") == "Oauth" and not providers:
            raise required("externalCredentialParameters.AuthProvider")
        for p in providers:
            name = p.get("authProvider")
            if not name:
                raise required("externalCredentialParameters.authProvider")
            if org.metadata_get("AuthProvider", name) is None:
                raise missing_reference("authProvider", "AuthProvider", name)

    def before_delete(self, org: OrgLike, existing: Record) -> None:
        users = [
            nc["fullName"]
            for nc in org.metadata_list("NamedCredential")
            for p in nc.get("namedCredentialParameters") or []
            if str(p.get("externalCredential", "")).lower() == existing["fullName"].lower()
        ]
        if users:
            # As for an auth provider in use (AuthProviderRule.before_delete): Setup's wording, the API's
            # exact sentence is unpublished.
            raise MetadataError(
                "DELETE_FAILED",
                "This external credential is referenced elsewhere in Salesforce. Remove the usage and try "
                f"again.: {', '.join(users)}",
            )


def named_credential_status(org: OrgLike, full_name: str) -> dict[str, Any]:
    """What Setup's named-credential page shows; KeyError if there is no such named credential."""
    record = org.metadata_get("NamedCredential", full_name)
    if record is None:
        raise KeyError(full_name)
    return {
        "fullName": record["fullName"],
        "protocol": record.get("protocol", "NoAuthentication"),
        "authenticationStatus": record.get("_authenticationStatus"),
        "authenticatedAs": record.get("_authenticatedAs"),
    }


def authorize_named_credential(org: OrgLike, full_name: str, username: str | None = None) -> None:
    """The browser round trip (login + Authorize) for an OAuth named principal, logged in as ``username``
    (the guide: the integration user) or, by default, the seeded admin."""
    record = org.metadata_get("NamedCredential", full_name)
    if record is None:
        raise KeyError(full_name)
    if record.get("protocol") != "Oauth":
        raise ValueError(f"named credential {full_name} does not use OAuth")
    user = admin_user(org)
    if username:
        found = org.sobject_find("User", Username=username)
        if not found:
            raise KeyError(username)
        user = found[0]
    record["_authenticationStatus"] = NC_AUTHENTICATED
    record["_authenticatedAs"] = user.get("Username") if user else None
    record["_modified"] = now_iso()
    org.metadata_put("NamedCredential", record["fullName"], record)


# ------------------------------------------------------------------------------------------------------------
# CustomSite Sources: Metadata API guide "CustomSite" (api_meta/meta_sites.htm). Help "Set Up Salesforce
# Sites": a site domain must be registered before the first site can be created. Help 000385602 "Salesforce
# Sites guest user characteristics": each site has its own guest user (user type Guest) with its own profile
# under the Guest User License, and Enterprise/Unlimited orgs may have up to 25 sites (25 guest licenses). The
# guest profile is named "<Site Label> Profile" (Setup > Sites > Public Access Settings). The guest user is
# active while its site is active; the guide's "Assign the Guest User Permission Set" step ("Make sure this
# user is marked Active") shows it can be inactive. Users are never deleted (Object Reference "User": delete()
# is not supported), so deleting a site deactivates its guest user instead.

MAX_SITES = 25


class CustomSiteRule(TypeRule):
    type_name = "CustomSite"
    directory = "sites"
    suffix = "site"
    sobject = "Site"
    id_prefix = "0DM"

    def check_creatable(self, org: OrgLike) -> None:
        if not org.settings.get("site_domain_registered", True):
            # Setup's wording on the Sites page before registration; no API sentence is published.
            raise MetadataError(
                "FIELD_INTEGRITY_EXCEPTION",
                "You must register your Salesforce Sites domain before you can create a site.",
                ["subdomain"],
            )
        if len(org.metadata_list(self.type_name)) >= MAX_SITES:
            # Wording modelled on Setup's limit message; the limit itself is from Help 000385602.
            raise MetadataError(
                "LIMIT_EXCEEDED", f"You have reached the maximum number of sites ({MAX_SITES}) for this org."
            )

    def validate(self, org: OrgLike, record: Record, existing: Record | None) -> None:
        prefix = record.get("urlPathPrefix") or ""
        for other in org.metadata_list(self.type_name):
            if (
                other["fullName"].lower() != record["fullName"].lower()
                and (other.get("urlPathPrefix") or "") == prefix
            ):
                # Sites on the org's site domain are told apart by their path prefix; Salesforce's answer to a
                # clash (salesforce.stackexchange.com/q/96241, updateMetadata of a CustomSite).
                raise MetadataError(
                    "DUPLICATE_VALUE", "A site with those parameters is already in use.", ["urlPathPrefix"]
                )
        for field in ("siteAdmin", "siteGuestRecordDefaultOwner"):
            username = record.get(field)
            if username and user_by_username(org, username) is None:
                raise missing_reference(field, "User", username)

    def prepare_new(self, org: OrgLike, record: Record) -> Record:
        stored = super().prepare_new(org, record)
        label = stored.get("masterLabel") or stored["fullName"]
        profile_name = f"{label} Profile"
        profile_id = _ensure_guest_profile(org, profile_name)
        subdomain = _site_subdomain(org)
        guest_username = f"{stored['fullName'].lower()}@{subdomain}.my.salesforce-sites.com"
        if user_by_username(org, guest_username) is not None:
            guest_username = (
                f"{stored['fullName'].lower()}.{secrets.token_hex(3)}@{subdomain}.my.salesforce-sites.com"
            )
        guest_id = org.sobject_insert(
            "User",
            {
                "Username": guest_username,
                "FirstName": label,
                "LastName": "Site Guest User",
                "Alias": "guest",
                "Email": stored.get("siteAdmin") or guest_username,
                "ProfileId": profile_id,
                "UserType": "Guest",
                "IsActive": bool(stored.get("active", False)),
                "TimeZoneSidKey": "America/Los_Angeles",
                "LocaleSidKey": "en_US",
                "LanguageLocaleKey": "en_US",
                "EmailEncodingKey": "UTF-8",
            },
        )
        stored["guestProfile"] = profile_name
        stored["_guest_user_id"] = guest_id
        stored["_subdomain"] = subdomain
        return stored

    def merge_update(self, org: OrgLike, record: Record, existing: Record) -> Record:
        stored = super().merge_update(org, record, existing)
        # The guest profile is created with the site and cannot be swapped through metadata.
        stored["guestProfile"] = existing.get("guestProfile")
        return stored

    def sobject_fields(self, org: OrgLike, record: Record) -> dict[str, Any]:
        return {
            "Name": record["fullName"],
            "MasterLabel": record.get("masterLabel"),
            "Status": "Active" if record.get("active") else "Inactive",
            "SiteType": record.get("siteType", "Visualforce"),
            "GuestUserId": record.get("_guest_user_id"),
            "Subdomain": record.get("_subdomain"),
            "UrlPathPrefix": record.get("urlPathPrefix"),
            "AdminId": _user_id(org, record.get("siteAdmin")),
            "GuestRecordDefaultOwnerId": _user_id(org, record.get("siteGuestRecordDefaultOwner")),
        }

    def after_save(self, org: OrgLike, record: Record, existing: Record | None) -> None:
        guest_id = record.get("_guest_user_id")
        if existing is not None and guest_id and bool(existing.get("active")) != bool(record.get("active")):
            org.sobject_update("User", guest_id, {"IsActive": bool(record.get("active"))})

    def after_delete(self, org: OrgLike, existing: Record) -> None:
        guest_id = existing.get("_guest_user_id")
        if guest_id and org.sobject_get("User", guest_id) is not None:
            org.sobject_update("User", guest_id, {"IsActive": False})


def site_url(org: OrgLike, record: Record) -> str:
    prefix = record.get("urlPathPrefix")
    base = f"https://{record.get('_subdomain', _site_subdomain(org))}.my.salesforce-sites.com"
    return f"{base}/{prefix}" if prefix else base


def _site_subdomain(org: OrgLike) -> str:
    # Enhanced domains: "<MyDomain>.my.salesforce-sites.com"; the emulator's My Domain is 127.0.0.1:PORT, so
    # the org id stands in for the My Domain name.
    orgs = org.sobject_find("Organization")
    org_id = str(orgs[0].get("Id", "emulator")) if orgs else "emulator"
    return f"org{org_id[:15].lower()}"


def _ensure_guest_profile(org: OrgLike, profile_name: str) -> str:
    existing = org.sobject_find("Profile", Name=profile_name)
    if existing:
        return str(existing[0]["Id"])
    licenses = org.sobject_find("UserLicense", Name="Guest User License")
    fields: dict[str, Any] = {"Name": profile_name, "UserType": "Guest"}
    if licenses:
        fields["UserLicenseId"] = licenses[0]["Id"]
    return org.sobject_insert("Profile", fields)


def _user_id(org: OrgLike, username: str | None) -> str | None:
    if not username:
        return None
    user = user_by_username(org, username)
    return str(user["Id"]) if user else None


# ------------------------------------------------------------------------------------------------------------
# PermissionSet Source: Metadata API guide "PermissionSet" (api_meta/meta_permissionset.htm); Object Reference
# "PermissionSet" (Name = API name, Label). The seeded permission sets exist as sObject rows (installed by the
# package), so the metadata view reads those rows when no metadata record was written through this API.
# Deleting a permission set that is assigned fails (Help "Delete Permission Sets": "you can't delete a
# permission set that's assigned").


class PermissionSetRule(TypeRule):
    type_name = "PermissionSet"
    directory = "permissionsets"
    suffix = "permissionset"
    sobject = "PermissionSet"
    id_prefix = "0PS"

    def _row(self, org: OrgLike, full_name: str) -> Record | None:
        rows = [
            r
            for r in org.sobject_find("PermissionSet")
            if str(r.get("Name", "")).lower() == full_name.lower()
        ]
        # Profiles own hidden permission sets (IsOwnedByProfile); they are not PermissionSet components.
        rows = [r for r in rows if not r.get("IsOwnedByProfile")]
        return rows[0] if rows else None

    def get(self, org: OrgLike, full_name: str) -> Record | None:
        stored = org.metadata_get(self.type_name, full_name)
        if stored is not None:
            return stored
        row = self._row(org, full_name)
        if row is None:
            return None
        return self._from_row(row)

    @staticmethod
    def _from_row(row: Record) -> Record:
        record: Record = {"fullName": row["Name"], "label": row.get("Label") or row["Name"], "_id": row["Id"]}
        if row.get("Description"):
            record["description"] = row["Description"]
        record["hasActivationRequired"] = bool(row.get("HasActivationRequired", False))
        record["_created"] = row.get("CreatedDate") or now_iso()
        record["_modified"] = row.get("LastModifiedDate") or record["_created"]
        return record

    def list_names(self, org: OrgLike) -> list[Record]:
        seen = {r["fullName"].lower(): r for r in org.metadata_list(self.type_name)}
        for row in org.sobject_find("PermissionSet"):
            if row.get("IsOwnedByProfile") or not row.get("Name"):
                continue
            seen.setdefault(str(row["Name"]).lower(), self._from_row(row))
        return list(seen.values())

    def validate(self, org: OrgLike, record: Record, existing: Record | None) -> None:
        if not record.get("label"):
            raise required("label")

    def sobject_fields(self, org: OrgLike, record: Record) -> dict[str, Any]:
        return {
            "Name": record["fullName"],
            "Label": record.get("label"),
            "Description": record.get("description"),
        }

    def before_delete(self, org: OrgLike, existing: Record) -> None:
        if existing.get("_id") and org.sobject_find(
            "PermissionSetAssignment", PermissionSetId=existing["_id"]
        ):
            raise MetadataError(
                "DELETE_FAILED",
                "You can't delete a permission set that's assigned to users. Remove the assignments.",
            )

    def delete(self, org: OrgLike, full_name: str) -> None:
        existing = self.get(org, full_name)
        if existing is None:
            raise not_found(self.type_name, full_name)
        self.before_delete(org, existing)
        org.metadata_delete(self.type_name, existing["fullName"])
        if existing.get("_id") and org.sobject_get("PermissionSet", existing["_id"]) is not None:
            org.sobject_delete("PermissionSet", existing["_id"])


# ------------------------------------------------------------------------------------------------------------
# External client apps Source: Metadata API guide "ExternalClientApplication", "ExtlClntAppOauthSettings",
# "ExtlClntAppGlobalOauthSettings", "ExtlClntAppOauthConfigurablePolicies"
# (api_meta/meta_externalclientapplication.htm and siblings): the three settings types name their app in
# externalClientApplication; consumer key/secret live in the global OAuth settings, which are retrieved
# without the secret; shouldRotateConsumerKey/Secret rotate them. ECA creation is not affected by the
# connected-app creation block (Help 005228017 recommends ECAs instead). The Connect REST OAuth Credentials
# resource serves ECA consumers (Connect REST API guide, "OAuth Credentials by Consumer ID", path
# /apps/oauth/credentials/externalClientAppIdentifier/oauthConsumerIdentifier).


class ExternalClientApplicationRule(TypeRule):
    type_name = "ExternalClientApplication"
    directory = "externalClientApps"
    suffix = "eca"
    id_prefix = "0xI"

    def validate(self, org: OrgLike, record: Record, existing: Record | None) -> None:
        if not record.get("label"):
            raise required("label")

    def before_delete(self, org: OrgLike, existing: Record) -> None:
        dependants = [
            f"{type_name} {s['fullName']}"
            for type_name in ECA_SETTINGS_TYPES
            for s in org.metadata_list(type_name)
            if str(s.get("externalClientApplication", "")).lower() == existing["fullName"].lower()
        ]
        if dependants:
            raise MetadataError(
                "DELETE_FAILED",
                "Cannot delete this external client app while other components reference it: "
                + ", ".join(dependants),
            )


class _EcaSettingsRule(TypeRule):
    id_prefix = "0Zz"

    def validate(self, org: OrgLike, record: Record, existing: Record | None) -> None:
        app = record.get("externalClientApplication")
        if not app:
            raise required("externalClientApplication")
        if org.metadata_get("ExternalClientApplication", app) is None:
            raise missing_reference("externalClientApplication", "ExternalClientApplication", app)


class ExtlClntAppOauthSettingsRule(_EcaSettingsRule):
    type_name = "ExtlClntAppOauthSettings"
    directory = "extlClntAppOauthSettings"
    suffix = "ecaOauth"


class ExtlClntAppOauthConfigurablePoliciesRule(_EcaSettingsRule):
    type_name = "ExtlClntAppOauthConfigurablePolicies"
    directory = "extlClntAppOauthPolicies"
    suffix = "ecaOauthPlcy"


class ExtlClntAppGlobalOauthSettingsRule(_EcaSettingsRule):
    type_name = "ExtlClntAppGlobalOauthSettings"
    directory = "extlClntAppGlobalOauthSets"
    suffix = "ecaGlblOauth"
    write_only = ("consumerSecret",)

    def validate(self, org: OrgLike, record: Record, existing: Record | None) -> None:
        super().validate(org, record, existing)
        key = record.get("consumerKey")
        if existing is None:
            if key is not None and consumer_key_in_use(org, key):
                raise key_taken()
        elif (
            key is not None
            and key != existing.get("consumerKey")
            and not record.get("shouldRotateConsumerKey")
        ):
            raise MetadataError(
                "FIELD_INTEGRITY_EXCEPTION",
                # Same rule and wording as connected apps; rotation goes through shouldRotateConsumerKey.
                "You cannot provide a Consumer Key",
                ["consumerKey"],
            )

    def prepare_new(self, org: OrgLike, record: Record) -> Record:
        stored = super().prepare_new(org, record)
        stored.setdefault("consumerKey", generate_consumer_key())
        stored.setdefault("consumerSecret", generate_consumer_secret())
        stored["_consumer_id"] = org.new_id("0Oy")
        stored.pop("shouldRotateConsumerKey", None)
        stored.pop("shouldRotateConsumerSecret", None)
        return stored

    def merge_update(self, org: OrgLike, record: Record, existing: Record) -> Record:
        stored = super().merge_update(org, record, existing)
        stored["consumerKey"] = (
            generate_consumer_key() if record.get("shouldRotateConsumerKey") else existing.get("consumerKey")
        )
        if record.get("shouldRotateConsumerSecret"):
            stored["consumerSecret"] = generate_consumer_secret()
        elif record.get("consumerSecret") is None:
            stored["consumerSecret"] = existing.get("consumerSecret")
        stored.pop("shouldRotateConsumerKey", None)
        stored.pop("shouldRotateConsumerSecret", None)
        return stored


ECA_SETTINGS_TYPES = (
    "ExtlClntAppOauthSettings",
    "ExtlClntAppGlobalOauthSettings",
    "ExtlClntAppOauthConfigurablePolicies",
)


# ------------------------------------------------------------------------------------------------------------
# ConversationalIntelligenceSettings Sources: Metadata API Developer Guide
# "ConversationalIntelligenceSettings" and "Settings" (one component per org, fullName
# "ConversationalIntelligence", in a manifest as type Settings; read and updated, never created or deleted);
# enableCallCoaching is the org preference behind Einstein Conversation Insights. The rest is what a public
# enablement script and 37 retrieved ConversationalIntelligence.settings files in public repositories show:
# * A retrieved file lists every field alphabetically, false ones included; enableRealtimeInsights never
#   appears.
# * An org without the licence (org permission ConversationPilot) has been seen both to read the settings
#   with enableCallCoaching false, like a licensed org with ECI off, and to refuse the type; deploys answer
#   "Not available for deploy for this organization". Setting eci_unlicensed_answer picks the answer.
# * A refused switch is a well-formed result, success false with an errors statusCode, not a SOAP fault.
# * Right after ECI is switched on a dependent preference (enableECICallScoring, a field the v63 WSDL does
#   not have) is read-only for a while: updateMetadata answers INSUFFICIENT_ACCESS_OR_READONLY (its message
#   was not published; the API's usual "insufficient access rights on object id" is used). Which fields
#   depend on ECI is our reading: all but enableCallCoaching and enableCallCoachingZoom, which retrieved
#   files show set independently. Setting eci_dependents_readonly says for how many updates after a
#   switch-on; an update that switches ECI on and changes a dependent at once is refused whole.
# enableCallCoaching lives in org.settings["eci_enabled"] (so POST /__emulator/settings stands for an admin
# switching ECI in Setup); the other preferences in the stored component.

ECI_SETTINGS_NAME = "ConversationalIntelligence"
ECI_SWITCH = "enableCallCoaching"
#: The fields a retrieve lists (the v63 WSDL's, without enableRealtimeInsights), alphabetically.
ECI_FIELDS = (
    "enableCallCoaching",
    "enableCallCoachingZoom",
    "enableCallExplorer",
    "enableCallSummarization",
    "enableConversationMining",
    "enableDiarizationPref",
    "enableGenerativeConvInsights",
    "enableManualUpload",
    "enableOpptyMatching",
    "enableUnifiedActivities",
)
ECI_INDEPENDENT = ("enableCallCoaching", "enableCallCoachingZoom")
NOT_AVAILABLE = "This type of metadata is not available for this organization"


class ConversationalIntelligenceSettingsRule(TypeRule):
    type_name = "ConversationalIntelligenceSettings"
    directory = "settings"
    suffix = "settings"
    manifest_type = "Settings"
    creatable = False

    @staticmethod
    def _unavailable(org: OrgLike) -> bool:
        return not org.settings.get("eci_licensed", True) and (
            org.settings.get("eci_unlicensed_answer", "off") == "unavailable"
        )

    def get(self, org: OrgLike, full_name: str) -> Record | None:
        if self._unavailable(org):
            raise MetadataFault("sf:INVALID_TYPE", NOT_AVAILABLE)
        if full_name.lower() != ECI_SETTINGS_NAME.lower():
            return None
        stored = org.metadata_get(self.type_name, ECI_SETTINGS_NAME) or {
            "_id": "emulator-eci-settings",
            "_created": now_iso(),
        }
        record: Record = {"fullName": ECI_SETTINGS_NAME}
        for name in ECI_FIELDS:
            record[name] = bool(stored.get(name, False))
        licensed = bool(org.settings.get("eci_licensed", True))
        record[ECI_SWITCH] = licensed and bool(org.settings.get("eci_enabled", False))
        record.update({k: v for k, v in stored.items() if k.startswith("_")})
        return record

    def check_deployable(self, org: OrgLike) -> None:
        # Salesforce CLI issues quote the deploy of a settings type the org is not licensed for failing with
        # "Not available for deploy for this organization".
        if self._unavailable(org):
            raise MetadataError("INVALID_TYPE", "Not available for deploy for this organization")

    def list_names(self, org: OrgLike) -> list[Record]:
        if self._unavailable(org):
            return []
        record = self.get(org, ECI_SETTINGS_NAME)
        return [record] if record else []

    def update(self, org: OrgLike, record: Record) -> Record:
        existing = self.get(org, record["fullName"])
        if existing is None:
            raise not_found(self.type_name, record["fullName"])
        changes = {k: v for k, v in record.items() if k in ECI_FIELDS and bool(v) != existing[k]}
        if not org.settings.get("eci_licensed", True):
            if changes:
                raise MetadataError("INVALID_TYPE", "Not available for deploy for this organization")
            return existing
        switched_on = changes.get(ECI_SWITCH) is True
        dependents = [k for k in changes if k not in ECI_INDEPENDENT]
        left = int(existing.get("_dependents_readonly_left", 0))
        if switched_on:
            left = int(org.settings.get("eci_dependents_readonly", 0) or 0)
        if dependents and left > 0:
            if not switched_on:
                stored = {**existing, "_dependents_readonly_left": left - 1}
                org.metadata_put(self.type_name, ECI_SETTINGS_NAME, stored)
            raise MetadataError(
                "INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id", dependents
            )
        stored = {**existing, **{k: bool(v) for k, v in changes.items()}}
        stored["_dependents_readonly_left"] = left
        stored["_modified"] = now_iso()
        if ECI_SWITCH in changes:
            org.settings["eci_enabled"] = bool(changes[ECI_SWITCH])
        org.metadata_put(self.type_name, ECI_SETTINGS_NAME, stored)
        return stored

    def _read_only(self) -> MetadataError:
        # Settings exist once per org and are only read and updated (Metadata API Developer Guide,
        # "Settings"); Salesforce's wording for a create or delete was not found: modelled on the API's
        # refusal of an operation the component does not allow.
        return MetadataError(
            "INSUFFICIENT_ACCESS_OR_READONLY",
            "ConversationalIntelligenceSettings can only be read and updated (settings are never created, "
            "renamed or deleted).",
        )

    def create(self, org: OrgLike, record: Record) -> Record:
        raise self._read_only()

    def delete(self, org: OrgLike, full_name: str) -> None:
        raise self._read_only()

    def rename(self, org: OrgLike, old_name: str, new_name: str) -> Record:
        raise self._read_only()


RULES: dict[str, TypeRule] = {
    rule.type_name: rule
    for rule in (
        ConnectedAppRule(),
        AuthProviderRule(),
        NamedCredentialRule(),
        ExternalCredentialRule(),
        CustomSiteRule(),
        PermissionSetRule(),
        ExternalClientApplicationRule(),
        ExtlClntAppOauthSettingsRule(),
        ExtlClntAppGlobalOauthSettingsRule(),
        ExtlClntAppOauthConfigurablePoliciesRule(),
        ConversationalIntelligenceSettingsRule(),
    )
}


def rule_for(type_name: str) -> TypeRule | None:
    return RULES.get(type_name)


def manifest_rule(type_name: str, member: str) -> tuple[str, TypeRule | None]:
    """The Metadata type a package.xml member stands for, and its rule: a ``Settings`` member ``X`` is the
    component of type ``XSettings``."""
    if type_name == "Settings":
        type_name = f"{member}Settings"
    return type_name, rule_for(type_name)


@dataclass(frozen=True)
class OAuthConsumer:
    """One OAuth consumer (client id/secret pair) of a connected app or an external client app."""

    app_id: str
    consumer_id: str
    app_name: str
    app_label: str
    app_kind: str  # "ConnectedApp" / "ExternalClientApplication"
    key: str
    secret: str


def oauth_consumers(org: OrgLike) -> list[OAuthConsumer]:
    consumers: list[OAuthConsumer] = []
    for app in org.metadata_list("ConnectedApp"):
        oauth = app.get("oauthConfig") or {}
        if oauth.get("consumerKey") and app.get("_consumer_id"):
            consumers.append(
                OAuthConsumer(
                    app_id=app["_id"],
                    consumer_id=app["_consumer_id"],
                    app_name=app["fullName"],
                    app_label=app.get("label", app["fullName"]),
                    app_kind="ConnectedApp",
                    key=oauth["consumerKey"],
                    secret=oauth.get("consumerSecret", ""),
                )
            )
    for settings in org.metadata_list("ExtlClntAppGlobalOauthSettings"):
        eca = org.metadata_get("ExternalClientApplication", settings.get("externalClientApplication", ""))
        if eca is not None and settings.get("_consumer_id") and settings.get("consumerKey"):
            consumers.append(
                OAuthConsumer(
                    app_id=eca["_id"],
                    consumer_id=settings["_consumer_id"],
                    app_name=eca["fullName"],
                    app_label=eca.get("label", eca["fullName"]),
                    app_kind="ExternalClientApplication",
                    key=settings["consumerKey"],
                    secret=settings.get("consumerSecret", ""),
                )
            )
    return consumers
