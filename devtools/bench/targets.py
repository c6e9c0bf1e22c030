"""What the benchmark runs: the program (sharedEci create / adopt) or, without it, the engine example."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devtools.sf_emulator.handle import EmulatorHandle

from .harness import REPO, Target

EXAMPLE_DIR = Path(__file__).resolve().parents[1] / "engine" / "example"
PROBE_DIR = Path(__file__).resolve().parent / "probe"
# The names the component uses for the shared artifacts (components/eci_aircall.py, from the guide).
SHARED_APP = "ECI_Connected_App"
SHARED_AUTH_PROVIDER = "ECI_Auth_Provider"
SHARED_SITE = "VoiceConnector"
SHARED_NAMED_CREDENTIAL = "ECI_Named_Credential"
GUEST_PERMISSION_SETS = ("Voice_Connector_Permission", "Conversation_Insights_Integration_User")


def program_available() -> bool:
    return all((REPO / p).exists() for p in ("Pulumi.yaml", "__main__.py", "components", "providers"))


def example_available() -> bool:
    return (EXAMPLE_DIR / "Pulumi.yaml").exists() and (EXAMPLE_DIR / "__main__.py").exists()


def _program_login_connection(emu: EmulatorHandle) -> tuple[dict[str, str], dict[str, str]]:
    """An SFDX auth URL instead of an access token: the providers must log in (refresh_token grant), which
    makes the 'no-op up: 0 calls, login included' goal bite."""
    config, secrets = _program_connection(emu)
    del config["eci-aircall:instanceUrl"], secrets["eci-aircall:accessToken"]
    return config, {**secrets, "eci-aircall:sfdxAuthUrl": emu.sfdx_auth_url()}


def _program_connection(emu: EmulatorHandle) -> tuple[dict[str, str], dict[str, str]]:
    info = emu.info
    config = {
        "eci-aircall:instanceUrl": emu.instance_url,
        "eci-aircall:caBundle": emu.ca_cert,
        "eci-aircall:aircallApiUrl": str(info["aircall_url"]),
        "eci-aircall:aircallApiId": str(info["aircall_api_id"]),
    }
    secrets = {
        "eci-aircall:accessToken": emu.access_token,
        "eci-aircall:aircallApiToken": str(info["aircall_api_token"]),
    }
    return config, secrets


def _example_connection(emu: EmulatorHandle) -> tuple[dict[str, str], dict[str, str]]:
    return (
        {"example:instanceUrl": emu.instance_url, "example:caBundle": emu.ca_cert},
        {"example:accessToken": emu.access_token},
    )


def _probe_connection(emu: EmulatorHandle) -> tuple[dict[str, str], dict[str, str]]:
    return (
        {"probe:instanceUrl": emu.instance_url, "probe:caBundle": emu.ca_cert},
        {"probe:accessToken": emu.access_token},
    )


def _example_stack() -> str:
    files = sorted((EXAMPLE_DIR / "stacks").glob("Pulumi.*.yaml"))
    return files[0].name[len("Pulumi.") : -len(".yaml")] if files else "dev"


def program(shared_eci: str = "create", *, login: bool = False) -> Target:
    return Target(
        label=f"sharedEci={shared_eci}" + (" +login" if login else ""),
        project_dir=REPO,
        stack="demo",
        connection=_program_login_connection if login else _program_connection,
        extra_config={"eci-aircall:sharedEci": shared_eci},
        seed=seed_shared_eci if shared_eci == "adopt" else None,
    )


def example() -> Target:
    return Target(
        label="engine example",
        project_dir=EXAMPLE_DIR,
        stack=_example_stack(),
        connection=_example_connection,
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
                fullName=SHARED_AUTH_PROVIDER,
                friendlyName="ECI Auth Provider",
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
                fullName=SHARED_APP,
                label="ECI Connected App",
                contactEmail="admin@other-connector.example",
                oauthConfig=md.ConnectedAppOauthConfig(
                    callbackUrl=f"{base}/services/authcallback/{SHARED_AUTH_PROVIDER}",
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
                fullName=SHARED_SITE,
                masterLabel=SHARED_SITE,
                active=True,
                indexPage="SiteLogin",
                clickjackProtectionLevel="SameOriginOnly",
                siteAdmin=admin_username,
                siteGuestRecordDefaultOwner=admin_username,
                urlPathPrefix="voiceconnector",
                # What Setup fills in for a new site; the WSDL requires them on create.
                allowHomePage=True,
                allowStandardIdeasPages=True,
                allowStandardLookups=True,
                allowStandardPortalPages=True,
                allowStandardSearch=True,
                browserXssProtection=True,
                contentSniffingProtection=True,
                referrerPolicyOriginWhenCrossOrigin=True,
                siteType="Visualforce",
            )
        ),
        "CustomSite",
    )
    ok(
        md.NamedCredential.create(
            md.NamedCredential(
                fullName=SHARED_NAMED_CREDENTIAL,
                label="ECI Named Credential",
                endpoint=base,
                protocol="Oauth",
                principalType="NamedUser",
                authProvider=SHARED_AUTH_PROVIDER,
                oauthScope="refresh_token web api content",
                generateAuthorizationHeader=True,
            )
        ),
        "NamedCredential",
    )
    site = sf.query(f"SELECT GuestUserId FROM Site WHERE Name = '{SHARED_SITE}'")
    guest_id = site["records"][0]["GuestUserId"]
    sf.User.update(guest_id, {"IsActive": True})
    for name in GUEST_PERMISSION_SETS:
        ps = sf.query(f"SELECT Id FROM PermissionSet WHERE Name = '{name}'")
        sf.PermissionSetAssignment.create({"PermissionSetId": ps["records"][0]["Id"], "AssigneeId": guest_id})


def default_targets() -> list[Target]:
    if program_available():
        return [program("create"), program("adopt"), program("create", login=True)]
    if example_available():
        return [example()]
    raise RuntimeError(
        "nothing to benchmark: neither the program (__main__.py) nor devtools/engine/example exist"
    )


def describe(target: Target) -> str:
    where = "eci-aircall" if target.project_dir == REPO else f"{Path(target.project_dir).name} program"
    return f"{where}, stack {target.stack}, {target.label}"
