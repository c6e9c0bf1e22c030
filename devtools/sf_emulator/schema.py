"""The objects and fields the emulated org serves: names, types and properties as in the Object Reference
(https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/), each object
beside its source.
"""

from __future__ import annotations

import copy
import re

# Each field:
# type, and flags: c = createable, u = updateable, r = required on create (nillable false, no default),
# x = idLookup (usable as the upsert key: DescribeSObjectResult Field.idLookup "can be used to specify a
# record in an upsert method"), n = name field. Reference fields carry (target, relationshipName).


class Field:
    def __init__(
        self,
        name: str,
        type_: str,
        flags: str = "",
        ref: tuple[str, str] | None = None,
        length: int = 255,
        picklist: list[str] | None = None,
        label: str | None = None,
        custom: bool = False,
    ) -> None:
        self.name = name
        # Describe's label; standard fields here answer their API name (the emulator's simplification).
        self.label = label or name
        self.custom = custom
        self.type = type_
        self.createable = "c" in flags
        self.updateable = "u" in flags
        self.required = "r" in flags
        self.id_lookup = "x" in flags or type_ == "id"
        self.name_field = "n" in flags
        self.external_id = "e" in flags
        self.unique = "q" in flags
        self.reference_to = ref[0] if ref else None
        self.relationship_name = ref[1] if ref else None
        self.length = length
        self.picklist = picklist or []


class SObjectType:
    def __init__(
        self,
        name: str,
        key_prefix: str,
        fields: list[Field],
        label: str | None = None,
        createable: bool = False,
        updateable: bool = False,
        deletable: bool = False,
        queryable: bool = True,
    ) -> None:
        self.name = name
        self.key_prefix = key_prefix
        # Labels are the names split into words ("PermissionSetAssignment" -> "Permission Set Assignment").
        self.label = label or re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)
        self.createable = createable
        self.updateable = updateable
        self.deletable = deletable
        self.queryable = queryable
        audit = [
            Field("Id", "id", "x", length=18),
            Field("CreatedDate", "datetime"),
            Field("CreatedById", "reference", ref=("User", "CreatedBy")),
            Field("LastModifiedDate", "datetime"),
            Field("LastModifiedById", "reference", ref=("User", "LastModifiedBy")),
            Field("SystemModstamp", "datetime"),
        ]
        self.fields: dict[str, Field] = {}
        for f in audit + fields:
            self.fields[f.name.lower()] = f
        self.relationships: dict[str, Field] = {
            f.relationship_name.lower(): f for f in self.fields.values() if f.relationship_name
        }

    def field(self, name: str) -> Field | None:
        return self.fields.get(name.lower())

    def with_fields(self, extra: list[Field]) -> SObjectType:
        """This object with more fields (an org's custom fields), the shared definition left alone."""
        if not extra:
            return self
        clone = copy.copy(self)
        clone.fields = {**self.fields, **{f.name.lower(): f for f in extra}}
        clone.relationships = {
            f.relationship_name.lower(): f for f in clone.fields.values() if f.relationship_name
        }
        return clone


_LOCALES = ["en_US", "en_GB", "fr_FR", "de_DE", "es_ES", "ja_JP"]
SCHEMA: dict[str, SObjectType] = {}


def _register(t: SObjectType) -> None:
    SCHEMA[t.name.lower()] = t


_register(
    SObjectType(
        "Organization",
        "00D",
        [
            Field("Name", "string", "n"),
            Field("OrganizationType", "picklist"),
            Field("InstanceName", "string"),
            Field("IsSandbox", "boolean"),
            Field("NamespacePrefix", "string"),
            Field("LanguageLocaleKey", "picklist"),
            Field("TimeZoneSidKey", "picklist"),
            Field("DefaultLocaleSidKey", "picklist"),
            Field("Country", "string"),
            Field("TrialExpirationDate", "datetime"),
        ],
    )
)
_register(
    SObjectType(
        "Domain",
        "0I4",
        [
            Field("Domain", "string", "n"),
            Field("DomainType", "picklist"),
            Field("HttpsOption", "picklist"),
            Field("CnameTarget", "string"),
        ],
    )
)
# Object Reference, "UserPermissionAccess": the permissions of the current user, one row, read-only.
# The emulator's connecting user is the admin; its Author Apex follows the author_apex setting.
_register(
    SObjectType(
        "UserPermissionAccess",
        "000",
        [
            Field("PermissionsApiEnabled", "boolean"),
            Field("PermissionsAuthorApex", "boolean"),
            Field("PermissionsCustomizeApplication", "boolean"),
        ],
        createable=False,
        updateable=False,
        deletable=False,
    )
)
_register(
    SObjectType(
        "UserLicense",
        "100",
        [
            Field("Name", "string", "n"),
            Field("MasterLabel", "string"),
            Field("LicenseDefinitionKey", "string"),
            Field("Status", "picklist"),
            Field("TotalLicenses", "int"),
            Field("UsedLicenses", "int"),
        ],
    )
)
_register(
    SObjectType(
        "Profile",
        "00e",
        [
            Field("Name", "string", "n"),
            Field("UserLicenseId", "reference", ref=("UserLicense", "UserLicense")),
            Field("UserType", "picklist"),
            Field("Description", "string"),
            Field("PermissionsApiEnabled", "boolean"),
        ],
    )
)
_register(
    SObjectType(
        "User",
        "005",
        [
            Field("Username", "string", "cruxq", length=80),
            Field("LastName", "string", "cru", length=80),
            Field("FirstName", "string", "cu", length=40),
            Field("Name", "string", "n", length=121),
            Field("Email", "email", "cru", length=128),
            Field("Alias", "string", "cru", length=8),
            Field("CommunityNickname", "string", "cu", length=40),
            Field("TimeZoneSidKey", "picklist", "cru"),
            Field("LocaleSidKey", "picklist", "cru", picklist=_LOCALES),
            Field("EmailEncodingKey", "picklist", "cru"),
            Field("LanguageLocaleKey", "picklist", "cru"),
            Field("ProfileId", "reference", "cru", ref=("Profile", "Profile")),
            Field("IsActive", "boolean", "cu"),
            Field("UserType", "picklist"),
            Field("FederationIdentifier", "string", "cux", length=512),
            # Voice Connector guide: a call is matched to the user by its "<vendor> User Identifier" field,
            # else by the call's phone number against User.Phone.
            Field("Phone", "phone", "cu", length=40),
            Field("Title", "string", "cu"),
            Field("Department", "string", "cu"),
            Field("CompanyName", "string", "cu"),
        ],
        createable=True,
        updateable=True,
    )
)
_register(
    SObjectType(
        "PermissionSet",
        "0PS",
        [
            Field("Name", "string", "cru", length=80),
            Field("Label", "string", "cru", length=80),
            Field("Description", "textarea", "cu"),
            # Object Reference, PermissionSet.LicenseId: "The ID of either the related PermissionSetLicense or
            # UserLicense associated with this permission set" (the relationship follows a UserLicense only).
            Field("LicenseId", "reference", "c", ref=("UserLicense", "License")),
            Field("IsOwnedByProfile", "boolean"),
            Field("ProfileId", "reference", ref=("Profile", "Profile")),
            Field("NamespacePrefix", "string"),
            Field("Type", "picklist"),
            Field("IsCustom", "boolean"),
        ],
        createable=True,
        updateable=True,
        deletable=True,
    )
)
_register(
    SObjectType(
        "PermissionSetAssignment",
        "0Pa",
        [
            Field("PermissionSetId", "reference", "cr", ref=("PermissionSet", "PermissionSet")),
            Field("AssigneeId", "reference", "cr", ref=("User", "Assignee")),
            Field("PermissionSetGroupId", "reference", "c", ref=("PermissionSetGroup", "PermissionSetGroup")),
            Field("IsActive", "boolean"),
            Field("ExpirationDate", "datetime", "cu"),
        ],
        createable=True,
        updateable=True,
        deletable=True,
    )
)
_register(
    SObjectType(
        "Site",
        "0DM",
        [
            Field("Name", "string", "n"),
            Field("MasterLabel", "string"),
            Field("Status", "picklist"),
            Field("GuestUserId", "reference", ref=("User", "GuestUser")),
            Field("Subdomain", "string"),
            Field("UrlPathPrefix", "string"),
            Field("SiteType", "picklist"),
            Field("Description", "textarea"),
            Field("AdminId", "reference", ref=("User", "Admin")),
            Field("GuestRecordDefaultOwnerId", "reference", ref=("User", "GuestRecordDefaultOwner")),
        ],
    )
)
_register(
    SObjectType(
        "AuthProvider",
        "0SO",
        [
            Field("DeveloperName", "string"),
            Field("FriendlyName", "string", "n"),
            Field("ProviderType", "picklist"),
            Field("ConsumerKey", "string"),
            Field("AuthorizeUrl", "url"),
            Field("TokenUrl", "url"),
            Field("DefaultScopes", "string"),
            Field("ExecutionUserId", "reference", ref=("User", "ExecutionUser")),
            Field("RegistrationHandlerId", "reference"),
        ],
    )
)
_register(
    SObjectType(
        "NamedCredential",
        "0XA",
        [
            Field("DeveloperName", "string"),
            Field("MasterLabel", "string", "n"),
            Field("Endpoint", "url"),
            Field("PrincipalType", "picklist"),
            Field("NamespacePrefix", "string"),
            Field("AuthProviderId", "reference", ref=("AuthProvider", "AuthProvider")),
        ],
    )
)
_register(
    SObjectType(
        "ConnectedApplication",
        "0H4",
        [
            Field("Name", "string", "n"),
            Field("OptionsAllowAdminApprovedUsersOnly", "boolean"),
            Field("OptionsRefreshTokenValidityMetric", "boolean"),
            Field("RefreshTokenValidityPeriod", "int"),
            Field("StartUrl", "url"),
            Field("MobileStartUrl", "url"),
        ],
    )
)


# ---- Einstein Conversation Insights and the Voice Connector package -------------------------------------

# Object Reference, "PermissionSetLicense": not createable, updateable or deletable (supported calls
# describeSObjects, query, retrieve); key prefix 0PL (the Object Reference's own example Id 0PLD000000003mw).
# UsedLicenses counts the PermissionSetLicenseAssign rows (store.py keeps it in step).
_register(
    SObjectType(
        "PermissionSetLicense",
        "0PL",
        [
            Field("DeveloperName", "string", length=80),
            Field("MasterLabel", "string", "n", length=80),
            Field("PermissionSetLicenseKey", "string"),
            Field("Status", "picklist", picklist=["Active", "Disabled", "Expired"]),
            Field("TotalLicenses", "int"),
            Field("UsedLicenses", "int"),
            Field("ExpirationDate", "date"),
            Field("MaximumPermissionsCallCoachingUser", "boolean"),
        ],
    )
)
# Object Reference, "PermissionSetLicenseAssign": supported calls create(), delete(), describeSObjects(),
# query(), retrieve() (no update: "To update an assignment, delete an existing assignment and insert a new
# one"); key prefix 2LA (Ids of real assignments, e.g. 2LA0m0000005pOSGAY in published API answers).
_register(
    SObjectType(
        "PermissionSetLicenseAssign",
        "2LA",
        [
            Field("AssigneeId", "reference", "cr", ref=("User", "Assignee")),
            Field(
                "PermissionSetLicenseId",
                "reference",
                "cr",
                ref=("PermissionSetLicense", "PermissionSetLicense"),
            ),
            Field("IsRevoked", "boolean"),
        ],
        createable=True,
        deletable=True,
    )
)
# Object Reference / field reference, "CallCoachingMediaProvider" (API 49.0+): ProviderName and
# ProviderDescription (string 255), IsActive, ConversationVendorInfoId; key prefix 0hn (Connect REST
# "Connectors Call Input" example mediaProviderId "0hnxxxxxxxxxxxx"). There is no Name field. Partners insert
# their own record with IsActive false and the admin enables it (Salesforce Help KB 000392584, "Create one
# from the MD API or, more easily, from workbench": the API creates it); updates follow. Delete is assumed
# to be supported as for the other setup objects the API creates (not documented).
_register(
    SObjectType(
        "CallCoachingMediaProvider",
        "0hn",
        [
            Field("ProviderName", "string", "cu"),
            Field("ProviderDescription", "string", "cu"),
            Field("IsActive", "boolean", "cu"),
            Field(
                "ConversationVendorInfoId",
                "reference",
                "cu",
                ref=("ConversationVendorInfo", "ConversationVendorInfo"),
            ),
        ],
        label="Call Coaching Media Provider",
        createable=True,
        updateable=True,
        deletable=True,
    )
)
# Object Reference, "VoiceCall": supported calls create(), delete(), ..., query(), retrieve(), update(),
# upsert(); CallType ("Inbound", "Outbound", "Internal", ...), FromPhoneNumber, ToPhoneNumber,
# CallStartDateTime and CallEndDateTime are not nillable; MediaProviderId looks up the
# CallCoachingMediaProvider that delivered the call (relationship MediaProvider, API 49.0+). Key prefix 0LQ.
_register(
    SObjectType(
        "VoiceCall",
        "0LQ",
        [
            Field(
                "CallType",
                "picklist",
                "cru",
                picklist=["Inbound", "Outbound", "Internal", "Transfer", "Callback", "Bridge", "Coach"],
            ),
            Field("FromPhoneNumber", "phone", "cru", length=40),
            Field("ToPhoneNumber", "phone", "cru", length=40),
            Field("CallStartDateTime", "datetime", "cru"),
            Field("CallEndDateTime", "datetime", "cru"),
            Field("CallDurationInSeconds", "int", "cu"),
            Field("CallDisposition", "string", "cu"),
            Field("VendorCallKey", "string", "cu"),
            Field("MediaProviderId", "reference", "cu", ref=("CallCoachingMediaProvider", "MediaProvider")),
            Field("OwnerId", "reference", "cu", ref=("User", "Owner")),
        ],
        label="Voice Call",
        createable=True,
        updateable=True,
        deletable=True,
    )
)

# The User fields the Voice Connector package adds (Sales Cloud help, "Guidelines for Starting to Use Voice
# Connectors": "When the Voice Connector package is installed, three new fields are automatically added to
# each Salesforce user profile (Dialpad User Identifier, Aircall User Identifier, Ringcentral User
# Identifier)"):
# (API name in the package's namespace, label). The package's namespace and API names are not published; the
# namespace is an org setting (store.py), the names here are the emulator's.
VOICE_CONNECTOR_USER_FIELDS = (
    ("Aircall_User_Identifier", "Aircall User Identifier"),
    ("Dialpad_User_Identifier", "Dialpad User Identifier"),
    ("RingCentral_User_Identifier", "RingCentral User Identifier"),
)


def voice_connector_user_fields(namespace: str) -> list[Field]:
    """The package's User fields under `namespace` (custom text fields, 255 characters)."""
    prefix = f"{namespace}__" if namespace else ""
    return [
        Field(f"{prefix}{name}__c", "string", "cu", label=label, custom=True)
        for name, label in VOICE_CONNECTOR_USER_FIELDS
    ]


def sobject_type(name: str) -> SObjectType | None:
    return SCHEMA.get(name.lower())
