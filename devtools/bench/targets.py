"""What the benchmark runs: the program (sharedEci create / adopt, or a login), or the probe self-check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devtools.sf_emulator.client import EmulatorHandle
from providers import guide
from providers.config.keys import (
    ACCESS_TOKEN,
    AIRCALL_API_ID,
    AIRCALL_API_TOKEN,
    AIRCALL_API_URL,
    AIRCALL_ENDPOINT,
    CA_BUNDLE,
    INSTANCE_URL,
    PERMISSION_SET_INTEGRATION_USER,
    PERMISSION_SET_VOICE_CONNECTOR,
    SFDX_AUTH_URL,
    SHARED_ECI,
)
from providers.custom_site import CREATE_DEFAULTS

from .harness import REPO, Target

PROBE_DIR = Path(__file__).resolve().parent / "probe"
GUEST_PERMISSION_SETS = (
    str(PERMISSION_SET_VOICE_CONNECTOR.default),
    str(PERMISSION_SET_INTEGRATION_USER.default),
)


def program_available() -> bool:
    return all((REPO / p).exists() for p in ("Pulumi.yaml", "__main__.py", "components", "providers"))


def _program_login_connection(emu: EmulatorHandle) -> tuple[dict[str, str], dict[str, str]]:
    """An SFDX auth URL instead of an access token: the providers must log in (refresh_token grant), which
    makes the 'no-op up: 0 calls, login included' goal bite."""
    config, secrets = _program_connection(emu)
    del config[INSTANCE_URL.full_name], secrets[ACCESS_TOKEN.full_name]
    return config, {**secrets, SFDX_AUTH_URL.full_name: emu.sfdx_auth_url()}


def _program_connection(emu: EmulatorHandle) -> tuple[dict[str, str], dict[str, str]]:
    info = emu.info
    config = {
        INSTANCE_URL.full_name: emu.instance_url,
        CA_BUNDLE.full_name: emu.ca_cert,
        AIRCALL_API_URL.full_name: str(info["aircall_url"]),
        AIRCALL_API_ID.full_name: str(info["aircall_api_id"]),
        # The Aircall named credential's health probe calls out through it: to the emulator's fake Aircall.
        AIRCALL_ENDPOINT.full_name: f"{emu.instance_url}/aircall/",
    }
    secrets = {
        ACCESS_TOKEN.full_name: emu.access_token,
        AIRCALL_API_TOKEN.full_name: str(info["aircall_api_token"]),
    }
    return config, secrets


def _probe_connection(emu: EmulatorHandle) -> tuple[dict[str, str], dict[str, str]]:
    return (
        {"probe:instanceUrl": emu.instance_url, "probe:caBundle": emu.ca_cert},
        {"probe:accessToken": emu.access_token},
    )


def program(shared_eci: str = "create", *, login: bool = False) -> Target:
    return Target(
        label=f"sharedEci={shared_eci}" + (" +login" if login else ""),
        project_dir=REPO,
        stack="demo",
        connection=_program_login_connection if login else _program_connection,
        extra_config={SHARED_ECI.full_name: shared_eci},
        seed=seed_shared_eci if shared_eci == "adopt" else None,
    )


def probe() -> Target:
    """The bench's own three-resource program whose costs are known exactly (devtools/bench/probe)."""
    return Target(label="probe", project_dir=PROBE_DIR, stack="probe", connection=_probe_connection)


def seed_shared_eci(emu: EmulatorHandle) -> None:
    """Another voice connector's shared ECI artifacts, created the way an admin (or that connector's setup)
    would: Metadata API through `sf.mdapi` and REST through simple-salesforce, no back door."""
    sf = emu.sf()
    md = emu.mdapi()
    base = emu.instance_url
    key, secret = "3MVG9bench.shared.consumer.key", "bench-shared-consumer-secret"

    def ok(results: Any, what: str) -> None:
        for r in results if isinstance(results, list) else [results]:
            if not getattr(r, "success", True):
                raise RuntimeError(f"seeding {what} failed: {getattr(r, 'errors', r)}")

    ok(
        md.AuthProvider.create(
            md.AuthProvider(
                fullName=guide.AUTH_PROVIDER_NAME,
                friendlyName=guide.AUTH_PROVIDER_LABEL,
                providerType="Salesforce",
                consumerKey=key,
                consumerSecret=secret,
            )
        ),
        "AuthProvider",
    )
    ok(
        md.ConnectedApp.create(
            md.ConnectedApp(
                fullName=guide.CONNECTED_APP_NAME,
                label=guide.CONNECTED_APP_LABEL,
                contactEmail="admin@other-connector.example",
                oauthConfig=md.ConnectedAppOauthConfig(
                    callbackUrl=f"{base}/services/authcallback/{guide.AUTH_PROVIDER_NAME}",
                    consumerKey=key,
                    consumerSecret=secret,
                    scopes=["Content", "Api", "Web", "RefreshToken"],
                ),
            )
        ),
        "ConnectedApp",
    )
    admin = sf.query("SELECT Username FROM User WHERE Profile.Name = 'System Administrator' LIMIT 1")
    admin_username = admin["records"][0]["Username"]
    ok(
        md.CustomSite.create(
            md.CustomSite(
                fullName=guide.SITE_NAME,
                masterLabel=guide.SITE_NAME,
                active=True,
                indexPage=guide.SITE_HOME_PAGE,
                clickjackProtectionLevel=guide.SITE_CLICKJACK_PROTECTION,
                siteAdmin=admin_username,
                siteGuestRecordDefaultOwner=admin_username,
                urlPathPrefix="voiceconnector",
                **CREATE_DEFAULTS,  # what Setup fills in for a new site; the WSDL requires them on create
            )
        ),
        "CustomSite",
    )
    ok(
        md.NamedCredential.create(
            md.NamedCredential(
                fullName=guide.ECI_NAMED_CREDENTIAL,
                label=guide.ECI_NAMED_CREDENTIAL_LABEL,
                endpoint=base,
                protocol="Oauth",
                principalType="NamedUser",
                authProvider=guide.AUTH_PROVIDER_NAME,
                oauthScope=guide.ECI_OAUTH_SCOPE,
                generateAuthorizationHeader=True,
            )
        ),
        "NamedCredential",
    )
    site = sf.query(f"SELECT GuestUserId FROM Site WHERE Name = '{guide.SITE_NAME}'")
    guest_id = site["records"][0]["GuestUserId"]
    sf.User.update(guest_id, {"IsActive": True})
    for name in GUEST_PERMISSION_SETS:
        ps = sf.query(f"SELECT Id FROM PermissionSet WHERE Name = '{name}'")
        sf.PermissionSetAssignment.create({"PermissionSetId": ps["records"][0]["Id"], "AssigneeId": guest_id})


def default_targets() -> list[Target]:
    if program_available():
        return [program("create"), program("adopt"), program("create", login=True)]
    raise RuntimeError("nothing to benchmark: the program (__main__.py) is missing")


def describe(target: Target) -> str:
    where = "eci-aircall" if target.project_dir == REPO else f"{Path(target.project_dir).name} program"
    return f"{where}, stack {target.stack}, {target.label}"
