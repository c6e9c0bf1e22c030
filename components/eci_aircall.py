"""``EciAircallIntegration``: the whole "Einstein Conversation Insights Aircall Configuration Guide" as one
component, its children in the guide's order.

Only true dependencies are expressed (an Output that feeds an input, or ``depends_on`` on Preflight), so the
engine runs independent artifacts in parallel. The graph (``A → B``: B waits for A):

    Preflight → everything below (nothing is written if a prerequisite is missing)
    IntegrationUser → its two PermissionSetAssignments (ECI access, Conversation Insights Integration User)
    IntegrationUser → CustomSite (its admin and default record owner are, by default, the integration user)
    IntegrationUser → NamedCredential "Aircall", AuthProvider (see below)
    OAuthConsumer → AuthProvider → (callback_url) → ConnectedApp | ExternalClientApp
    AuthProvider + Preflight (my_domain_url) → NamedCredential "ECI_Named_Credential"
    CustomSite → SiteGuestUser (active) → its two PermissionSetAssignments (Voice Connector, CI Integ. User)

The guide's cycle (app → key/secret → auth provider → callback URL → app, with a dummy callback URL patched
afterwards) is broken by ``OAuthConsumer``, which generates the consumer key and secret first
(docs/contracts.md §3): no dummy URL is written, so a fresh ``preview`` shows the real wiring and a second
``up`` has nothing to do.

One ordering is chosen rather than forced by data: the writes that start the Aircall and the OAuth branches
(the ``Aircall`` named credential, the auth provider) wait for the integration user. The guide has every task
done as that user, and a username Salesforce refuses (taken in another org: no API of this org can tell
beforehand) then fails the first guide step with nothing else written. The longest chain still runs
through the site, but five creates become ready together when the user exists, one more than the dynamic
provider host's four workers (``pulumi/dynamic/__main__.py``), so the site may wait for a worker. Zero writes
on a refused username is worth that.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pulumi

from providers import guide
from providers.auth_provider import AuthProvider
from providers.config import keys
from providers.config.stack import StackConfig
from providers.connected_app import ConnectedApp
from providers.custom_site import CustomSite, SiteGuestUser
from providers.external_client_app import ExternalClientApp
from providers.integration_user import IntegrationUser
from providers.named_credential import NamedCredential
from providers.oauth_consumer import OAuthConsumer
from providers.permission_set_assignment import PermissionSetAssignment
from providers.preflight import Preflight

TYPE_TOKEN = "eci-aircall:index:EciAircallIntegration"

_APP_KIND = {"connectedApp": "ConnectedApp", "externalClientApp": "ExternalClientApp"}


#: Each child, by its name after the component's (``{name}-integration-user``), and the guide task it does:
#: the status report's rows (tools/status.py). Preflight checks the prerequisites of every task.
GUIDE_TASK_OF_CHILD: dict[str, str] = {
    "integration-user": guide.TASK_INTEGRATION_USER,
    "user-eci-access": guide.TASK_INTEGRATION_USER,
    "user-ci-integration-user": guide.TASK_INTEGRATION_USER,
    "aircall-named-credential": guide.TASK_AIRCALL_NAMED_CREDENTIAL,
    "oauth-consumer": guide.TASK_CONNECTED_APP,
    "oauth-app": guide.TASK_CONNECTED_APP,
    "auth-provider": guide.TASK_AUTH_PROVIDER,
    "site": guide.TASK_SITE,
    "eci-named-credential": guide.TASK_ECI_NAMED_CREDENTIAL,
    "site-guest-user": guide.TASK_GUEST_USER_PERMISSION_SETS,
    "guest-voice-connector": guide.TASK_GUEST_USER_PERMISSION_SETS,
    "guest-ci-integration-user": guide.TASK_GUEST_USER_PERMISSION_SETS,
}
PREFLIGHT_CHILD = "preflight"
#: The tasks another voice connector did when ``sharedEci`` is ``skip`` (guide, "Set Up the Connected App":
#: "If you've configured another voice connector, skip the remaining configuration tasks").
SHARED_TASKS = (
    guide.TASK_CONNECTED_APP,
    guide.TASK_AUTH_PROVIDER,
    guide.TASK_SITE,
    guide.TASK_ECI_NAMED_CREDENTIAL,
    guide.TASK_GUEST_USER_PERMISSION_SETS,
)


#: Everything the component needs: the validated stack configuration (secret inputs stay Outputs).
EciAircallIntegrationArgs = StackConfig


class EciAircallIntegration(pulumi.ComponentResource):
    """ECI for the Aircall voice connector in one org. Outputs are documented on the attributes below."""

    integration_user_username: pulumi.Output[str]
    integration_user_id: pulumi.Output[str]
    callback_url: pulumi.Output[str | None]
    oauth_app_name: pulumi.Output[str | None]
    oauth_consumer_key: pulumi.Output[str | None]
    site_url: pulumi.Output[str | None]
    named_credential_names: pulumi.Output[list[str]]
    next_manual_step: pulumi.Output[dict[str, Any]]
    health: pulumi.Output[dict[str, str]]
    anonymous_apex: pulumi.Output[str]

    def __init__(
        self, name: str, args: EciAircallIntegrationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.args = args
        ps = args.permission_sets
        manages_shared = args.shared_eci != "skip"

        def child(*, after: Sequence[pulumi.Resource] = (), shared: bool = False) -> pulumi.ResourceOptions:
            # Adopted shared artifacts were there before this stack and other voice connectors rely on them:
            # `destroy` forgets them (retain_on_delete) unless deleteAdopted says otherwise.
            retain = shared and args.shared_eci == "adopt" and not args.delete_adopted
            return pulumi.ResourceOptions(
                parent=self, depends_on=list(after), retain_on_delete=retain or None
            )

        # Guide, "Configure Aircall with ECI" / EDITIONS and every prerequisite (package, site domain, Aircall
        # key). Everything depends on it, so nothing is written when it fails.
        self.preflight = Preflight(
            f"{name}-preflight",
            oauth_app_kind=_APP_KIND[args.oauth_app_kind],
            shared_eci=args.shared_eci,
            aircall_api_url=args.aircall_api_url,
            aircall_api_id=args.aircall_api_id,
            aircall_api_token=args.aircall_api_token,
            permission_sets=[ps.eci_access, ps.integration_user, ps.voice_connector],
            # Profile and user names from config are checked here, before anything is written; otherwise an
            # unknown one would fail only at its own create, after independent artifacts (the Aircall named
            # credential) were written.
            profiles=_named_profiles(args, manages_shared),
            usernames=_named_users(args, manages_shared),
            integration_username=args.integration_user.username,
            adopt_existing_user=args.integration_user.adopt_existing,
            adopt_aircall_named_credential=args.adopt_aircall_named_credential,
            allow_production=args.allow_production,
            opts=child(),
        )
        first = [self.preflight]

        # Guide, "Log In as the Integration User".
        user_cfg = args.integration_user
        self.integration_user = IntegrationUser(
            f"{name}-integration-user",
            username=user_cfg.username,
            email=user_cfg.email,
            first_name=user_cfg.first_name,
            last_name=user_cfg.last_name,
            alias=user_cfg.alias,
            time_zone=user_cfg.time_zone,
            locale=user_cfg.locale,
            profile_name=user_cfg.profile,
            delete_adopted=args.delete_adopted,
            adopt_existing=user_cfg.adopt_existing,
            send_password_reset=user_cfg.send_password_reset,
            opts=child(after=first),
        )
        user_id = out(self.integration_user, "user_id")
        self.user_eci_access = PermissionSetAssignment(
            f"{name}-user-eci-access",
            permission_set=ps.eci_access,
            assignee_id=user_id,
            delete_adopted=args.delete_adopted,
            opts=child(after=first),
        )
        self.user_ci_integration = PermissionSetAssignment(
            f"{name}-user-ci-integration-user",
            permission_set=ps.integration_user,
            assignee_id=user_id,
            delete_adopted=args.delete_adopted,
            opts=child(after=first),
        )

        # Guide, "Add Aircall Named Credentials", done as the integration user: it waits for that user, so a
        # refused username writes nothing else (module doc).
        after_user = [self.preflight, self.integration_user]
        self.aircall_named_credential = NamedCredential(
            f"{name}-aircall-named-credential",
            full_name=guide.AIRCALL_NAMED_CREDENTIAL,
            label=guide.AIRCALL_NAMED_CREDENTIAL,
            endpoint=args.aircall_endpoint,
            protocol="Password",
            principal_type="NamedUser",
            username=args.aircall_api_id,
            password=args.aircall_api_token,
            generate_authorization_header=True,
            allow_merge_fields_in_header=True,
            allow_merge_fields_in_body=True,
            health_check=args.health_checks,
            delete_adopted=args.delete_adopted,
            adopt_existing=args.adopt_aircall_named_credential,
            opts=child(after=after_user),
        )

        self.oauth_consumer: OAuthConsumer | None = None
        self.auth_provider: AuthProvider | None = None
        self.oauth_app: ConnectedApp | ExternalClientApp | None = None
        self.site: CustomSite | None = None
        self.eci_named_credential: NamedCredential | None = None
        self.guest_user: SiteGuestUser | None = None
        self.guest_voice_connector: PermissionSetAssignment | None = None
        self.guest_ci_integration: PermissionSetAssignment | None = None
        if manages_shared:
            self._shared(name, args, child, first)

        self.integration_user_username = out(self.integration_user, "username")
        self.integration_user_id = user_id
        named_credentials = [guide.AIRCALL_NAMED_CREDENTIAL, guide.ECI_NAMED_CREDENTIAL]
        if manages_shared:
            assert self.auth_provider and self.oauth_app and self.oauth_consumer and self.site
            self.callback_url = out(self.auth_provider, "callback_url")
            self.oauth_app_name = out(self.oauth_app, "app_name")
            self.oauth_consumer_key = pulumi.Output.secret(out(self.oauth_consumer, "consumer_key"))
            self.site_url = out(self.site, "site_url")
            assert self.eci_named_credential is not None
            eci_health: pulumi.Input[str] = out(self.eci_named_credential, "health")
            self.next_manual_step = self._authorize_step()
        else:
            # Another voice connector owns the shared artifacts (Preflight checked they exist).
            self.callback_url = pulumi.Output.from_input(None)
            self.oauth_app_name = pulumi.Output.from_input(None)
            self.oauth_consumer_key = pulumi.Output.from_input(None)
            self.site_url = pulumi.Output.from_input(None)
            eci_health = (
                f"not checked: sharedEci is skip, so {guide.ECI_NAMED_CREDENTIAL} is not in this stack"
            )
            self.next_manual_step = pulumi.Output.from_input(
                {
                    "authenticated": None,
                    "url": None,
                    "instructions": (
                        f"sharedEci=skip: {guide.ECI_NAMED_CREDENTIAL} belongs to the voice connector "
                        "configured earlier; nothing to authorize for this stack."
                    ),
                }
            )
        self.named_credential_names = pulumi.Output.from_input(named_credentials)
        # Each credential's probe from inside the org (providers/health.py): "ok" or the classified failure.
        self.health = pulumi.Output.all(out(self.aircall_named_credential, "health"), eci_health).apply(
            lambda values: {"aircall": values[0], "eciOAuth": values[1]}
        )

        # Whether the connecting user may run the probes (Preflight's check).
        self.anonymous_apex = out(self.preflight, "anonymous_apex")

        self.register_outputs(
            {
                "integrationUserUsername": self.integration_user_username,
                "integrationUserId": self.integration_user_id,
                "callbackUrl": self.callback_url,
                "oauthAppName": self.oauth_app_name,
                "oauthConsumerKey": self.oauth_consumer_key,
                "siteUrl": self.site_url,
                "namedCredentialNames": self.named_credential_names,
                "nextManualStep": self.next_manual_step,
                "health": self.health,
                "anonymousApex": self.anonymous_apex,
            }
        )

    def _shared(
        self,
        name: str,
        args: EciAircallIntegrationArgs,
        child: Callable[..., pulumi.ResourceOptions],
        first: Sequence[pulumi.Resource],
    ) -> None:
        """The artifacts every voice connector shares (guide: "If you've configured another voice connector,
        skip the remaining configuration tasks")."""
        ps = args.permission_sets
        kind = _APP_KIND[args.oauth_app_kind]
        # Shared artifacts already in the org are someone else's: taken over only with sharedEci adopt.
        adopt_shared = args.shared_eci == "adopt"

        # Guide, "Set Up the Connected App" step 13 (consumer key/secret), generated up front: see module doc.
        self.oauth_consumer = OAuthConsumer(
            f"{name}-oauth-consumer",
            app_kind=kind,
            delete_adopted=args.delete_adopted,
            opts=child(after=first, shared=True),
        )
        consumer_key = out(self.oauth_consumer, "consumer_key")
        consumer_secret = out(self.oauth_consumer, "consumer_secret")

        # Guide, "Add ECI as an Authorized Provider".
        self.auth_provider = AuthProvider(
            f"{name}-auth-provider",
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            delete_adopted=args.delete_adopted,
            adopt_existing=adopt_shared,
            # The OAuth branch's first write waits for the integration user (module doc).
            opts=child(after=[*first, self.integration_user], shared=True),
        )

        # Guide, "Set Up the Connected App" with the auth provider's callback URL from the start (guide steps
        # 6-8 of "Add ECI as an Authorized Provider" done by data flow instead of by hand).
        app_args: dict[str, Any] = {
            "contact_email": args.contact_email,
            "callback_url": out(self.auth_provider, "callback_url"),
            "consumer_key": consumer_key,
            "consumer_secret": consumer_secret,
            "profiles": list(args.connected_app_profiles),
        }
        app_cls = ConnectedApp if args.oauth_app_kind == "connectedApp" else ExternalClientApp
        self.oauth_app = app_cls(
            f"{name}-oauth-app",
            **app_args,
            delete_adopted=args.delete_adopted,
            adopt_existing=adopt_shared,
            opts=child(after=first, shared=True),
        )

        # Guide, "Set Up the Salesforce Site". Its admin and default record owner are, by default, the
        # integration user: then the site genuinely waits for that user to exist.
        user_name = out(self.integration_user, "username")
        self.site = CustomSite(
            f"{name}-site",
            site_admin=_user_or(args.site_admin, args.integration_user.username, user_name),
            guest_record_default_owner=_user_or(
                args.site_default_record_owner, args.integration_user.username, user_name
            ),
            contact_email=args.contact_email,
            delete_adopted=args.delete_adopted,
            adopt_existing=adopt_shared,
            opts=child(after=first, shared=True),
        )

        # Guide, "Add ECI Named Credentials": URL = My Domain login URL, OAuth 2.0 via ECI Auth Provider.
        self.eci_named_credential = NamedCredential(
            f"{name}-eci-named-credential",
            full_name=guide.ECI_NAMED_CREDENTIAL,
            label=guide.ECI_NAMED_CREDENTIAL_LABEL,
            endpoint=out(self.preflight, "my_domain_url"),
            protocol="Oauth",
            principal_type="NamedUser",
            auth_provider=out(self.auth_provider, "full_name"),
            oauth_scope=guide.ECI_OAUTH_SCOPE,
            generate_authorization_header=True,
            health_check=args.health_checks,
            delete_adopted=args.delete_adopted,
            adopt_existing=adopt_shared,
            opts=child(after=first, shared=True),
        )

        # Guide, "Assign the Guest User Permission Set": "Make sure this user is marked Active", then assign.
        guest_id = out(self.site, "guest_user_id")
        self.guest_user = SiteGuestUser(
            f"{name}-site-guest-user",
            user_id=guest_id,
            delete_adopted=args.delete_adopted,
            opts=child(after=first, shared=True),
        )
        active_guest_id = out(self.guest_user, "user_id")
        self.guest_voice_connector = PermissionSetAssignment(
            f"{name}-guest-voice-connector",
            permission_set=ps.voice_connector,
            assignee_id=active_guest_id,
            delete_adopted=args.delete_adopted,
            opts=child(after=first, shared=True),
        )
        self.guest_ci_integration = PermissionSetAssignment(
            f"{name}-guest-ci-integration-user",
            permission_set=ps.integration_user,
            assignee_id=active_guest_id,
            delete_adopted=args.delete_adopted,
            opts=child(after=first, shared=True),
        )

    def _authorize_step(self) -> pulumi.Output[dict[str, Any]]:
        """The guide's step 5 of "Add ECI Named Credentials" (log in as the integration user and click
        Authorize) needs a browser. Whether it is done is measured by the credential's probe (a callout
        through it from inside the org): the step is listed only while it is needed, as ``steps`` a person
        follows."""
        assert self.eci_named_credential is not None
        nc, user = self.eci_named_credential, self.integration_user

        def describe(values: list[Any]) -> dict[str, Any]:
            status, url, health, username, email, reset_at, my_domain = values
            state = str(status or "").lower()
            if state == "authenticated":
                return {"authenticated": True, "status": status, "health": health}
            steps = _manual_steps(url, username, email, reset_at, my_domain)
            authenticated: bool | None
            if state == "notauthenticated":
                authenticated = False
                text = " ".join(steps)
            else:
                # No probe ran (healthChecks false) or it could not tell (see health): Salesforce shows a
                # legacy named credential's status in Setup only, and saying "not authenticated" would be a
                # guess.
                authenticated = None
                text = (
                    f"Not measured ({health}). Salesforce shows whether {guide.ECI_NAMED_CREDENTIAL} is "
                    "authenticated in Setup only: open url; unless Authentication Status reads "
                    f"'Authenticated as' the integration user, follow the steps. " + " ".join(steps)
                )
            return {
                "authenticated": authenticated,
                "status": status,
                "health": health,
                "url": url,
                "steps": steps,
                "instructions": text,
            }

        return pulumi.Output.all(
            out(nc, "authentication_status"),
            out(nc, "authorize_url"),
            out(nc, "health"),
            out(user, "username"),
            out(user, "email"),
            out(user, "password_reset_requested_at"),
            out(self.preflight, "my_domain_url"),
        ).apply(describe)


def _manual_steps(url: Any, username: Any, email: Any, reset_at: Any, my_domain: Any) -> list[str]:
    """The one manual step as a person does it: get a password for the integration user (a user created
    through the API has none), log in as it, authorize the credential, check."""
    login = f"{my_domain}/" if my_domain else "your org's My Domain login page"
    if reset_at:
        password = (
            f"1. Open the password reset email Salesforce sent to {email} ({reset_at}) and set a password "
            f"for {username}."
        )
    else:
        password = (
            f"1. Give {username} a password: Setup > Users > {username} > Reset Password (Salesforce emails "
            f"{email}), or `sf org generate password --on-behalf-of {username} --target-org <alias>`; set "
            f"`{keys.INTEGRATION_USER_SEND_PASSWORD_RESET.set_command()}` before the user is created to have "
            "the email sent for you."
        )
    return [
        password,
        f"2. In a private browser window, log in at {login} as {username}.",
        f"3. Open {url}, click Edit, select 'Start Authentication Flow on Save', click Save, log in as "
        f"{username} if asked, and click Authorize (guide: Add ECI Named Credentials, step 5).",
        "4. Check: `make status` (or `pulumi refresh`, then `pulumi up`) shows the manual step done.",
    ]


def _named_profiles(args: EciAircallIntegrationArgs, manages_shared: bool) -> dict[str, list[str]]:
    """Config key → the profile names it holds, for Preflight to check."""
    profiles = {keys.INTEGRATION_USER_PROFILE.full_name: [args.integration_user.profile]}
    if manages_shared:
        profiles[keys.CONNECTED_APP_PROFILES.full_name] = list(args.connected_app_profiles)
    return profiles


def _named_users(args: EciAircallIntegrationArgs, manages_shared: bool) -> dict[str, str]:
    """Config key → a username that must already exist (the integration user itself is created here)."""
    if not manages_shared:
        return {}
    own = args.integration_user.username.lower()
    named = {
        keys.SITE_ADMIN.full_name: args.site_admin,
        keys.SITE_DEFAULT_RECORD_OWNER.full_name: args.site_default_record_owner,
    }
    return {key: name for key, name in named.items() if name and name.lower() != own}


def out(resource: pulumi.Resource, attribute: str) -> pulumi.Output[Any]:
    """An output property of a dynamic resource (set on the instance at registration: invisible to mypy)."""
    value = getattr(resource, attribute)
    assert isinstance(value, pulumi.Output), f"{type(resource).__name__}.{attribute} is not an output"
    return value


def _user_or(
    configured: str | None, integration_username: str, user_output: pulumi.Output[str]
) -> pulumi.Input[str]:
    """A configured username, or the integration user's (as its Output, so the dependency is real)."""
    # Salesforce usernames compare case-insensitively.
    if configured is None or configured.lower() == integration_username.lower():
        return user_output
    return configured
