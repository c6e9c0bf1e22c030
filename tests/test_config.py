"""Stack configuration: defaults from the guide, one clear error per bad key, secrets never quoted."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pulumi
import pytest

from providers.config import stack as cfgmod
from providers.config.connection import connection_settings
from providers.config.stack import ConfigError, load, parse

TOKEN = "aircall-token-Zq81x"  # recognisable, so a leak into an error message is easy to spot
ACCESS = "00Dxx!access-token-Kk29"
SFDX = "force://PlatformCLI::5Aep861refresh-Ww77@example.my.salesforce.com"
KEY_PEM = "-----BEGIN PRIVATE KEY-----\nMIIEsecretbody\n-----END PRIVATE KEY-----\n"

MINIMAL: dict[str, str | None] = {
    "instanceUrl": "https://acme.my.salesforce.com",
    "accessToken": ACCESS,
    "aircallApiId": "api-id-1",
    "aircallApiToken": TOKEN,
    "contactEmail": "admin@acme.example",
    "integrationUser": json.dumps({"username": "eci-aircall@acme.example"}),
}


def with_(**changes: str | None) -> dict[str, str | None]:
    raw = dict(MINIMAL)
    raw.update(changes)
    return raw


def problems_of(raw: dict[str, str | None]) -> list[str]:
    return parse(raw)[1]


def test_minimal_config_gets_the_guides_defaults() -> None:
    values, problems = parse(MINIMAL)
    assert problems == []
    assert values["shared_eci"] == "create"
    assert values["oauth_app_kind"] == "connectedApp"
    assert values["connected_app_profiles"] == ("Standard User", "System Administrator")
    assert values["permission_sets"] == cfgmod.PermissionSetNames(
        eci_access="Einstein_Conversation_Insights",
        integration_user="Conversation_Insights_Integration_User",
        voice_connector="Voice_Connector_Permission",
    )
    assert values["aircall_api_url"] == "https://api.aircall.io/v1"
    assert values["aircall_endpoint"] == "https://api.aircall.io/"  # guide: Add Aircall Named Credentials
    settings = connection_settings(MINIMAL)  # the connection keys' defaults, declared once
    assert settings.api_version == "63.0" and settings.login_url == "https://login.salesforce.com"
    assert settings.auth_mode == "access_token"
    user = values["integration_user"]
    assert user.profile == "System Administrator"  # guide: Log In as the Integration User
    assert user.time_zone == "America/Los_Angeles" and user.locale == "en_US"
    assert user.email == "admin@acme.example"  # falls back to contactEmail
    assert user.alias == "eciairca"  # 8 characters, Salesforce's limit
    # guide: "Default Record Owner: a Salesforce admin is recommended" -> the integration user by default
    assert values["site_admin"] == values["site_default_record_owner"] == "eci-aircall@acme.example"
    assert values["delete_adopted"] is False


def test_empty_strings_count_as_unset_like_the_pulumi_yaml_defaults() -> None:
    raw = with_(sfdxAuthUrl="", privateKey="", username="", clientId="", caBundle="", aircallEndpoint="")
    values, problems = parse(raw)
    assert problems == []
    assert connection_settings(raw).auth_mode == "access_token"
    assert values["aircall_endpoint"] == "https://api.aircall.io/"


def test_every_override_is_honoured() -> None:
    raw = with_(
        sharedEci="adopt",
        oauthAppKind="externalClientApp",
        connectedAppProfiles=json.dumps(["System Administrator"]),
        permissionSets=json.dumps({"eciAccess": "ECI_Access_Custom"}),
        siteAdmin="owner@acme.example",
        siteDefaultRecordOwner="records@acme.example",
        deleteAdopted="true",
        aircallApiUrl="https://127.0.0.1:8443/aircall/v1/",
        aircallEndpoint="https://api.eu.aircall.io/",
        apiVersion="62.0",
        caBundle="/etc/ssl/corp.pem",
        integrationUser=json.dumps(
            {
                "username": "u@acme.example",
                "email": "e@acme.example",
                "firstName": "F",
                "lastName": "L",
                "alias": "al",
                "timeZone": "Europe/Paris",
                "locale": "fr_FR",
                "profile": "Custom Admin",
            }
        ),
    )
    values, problems = parse(raw)
    assert problems == []
    assert values["shared_eci"] == "adopt" and values["oauth_app_kind"] == "externalClientApp"
    assert values["connected_app_profiles"] == ("System Administrator",)
    assert values["permission_sets"].eci_access == "ECI_Access_Custom"
    assert values["permission_sets"].voice_connector == "Voice_Connector_Permission"
    assert values["site_admin"] == "owner@acme.example"
    assert values["site_default_record_owner"] == "records@acme.example"
    assert values["delete_adopted"] is True
    assert values["aircall_api_url"] == "https://127.0.0.1:8443/aircall/v1"
    assert values["aircall_endpoint"] == "https://api.eu.aircall.io/"
    settings = connection_settings(raw)
    assert settings.api_version == "62.0" and settings.ca_bundle == "/etc/ssl/corp.pem"
    assert values["integration_user"] == cfgmod.IntegrationUserConfig(
        username="u@acme.example",
        email="e@acme.example",
        first_name="F",
        last_name="L",
        alias="al",
        time_zone="Europe/Paris",
        locale="fr_FR",
        profile="Custom Admin",
    )


def test_missing_aircall_token_names_the_key_the_secret_command_and_the_guide_step() -> None:
    [problem] = problems_of(with_(aircallApiToken=None))
    assert problem.startswith("eci-aircall:aircallApiToken is not set")
    # The value on stdin, never in argv (`ps` shows every process's arguments).
    assert (
        '`printf %s "$AIRCALL_API_TOKEN" | pulumi config set --secret eci-aircall:aircallApiToken`' in problem
    )
    assert "Generate the API Key for Aircall" in problem


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        (
            "contactEmail",
            "admin\x01@example.com",
            "eci-aircall:contactEmail contains a control character (U+0001)",
        ),
        ("aircallApiToken", "tok\ufffeen", "eci-aircall:aircallApiToken contains U+FFFE"),
        (
            "instanceUrl",
            "https://acme.my.salesforce.com/\x7f",
            "eci-aircall:instanceUrl contains a control character",
        ),
        (
            "connectedAppProfiles",
            '["Standard User", "Admin\\u0007"]',
            "eci-aircall:connectedAppProfiles contains a",
        ),
    ],
)
def test_values_that_cannot_be_sent_as_xml_are_refused_without_echoing_them(
    key: str, value: str, says: str
) -> None:
    problems = problems_of(with_(**{key: value}))
    assert any(p.startswith(says) for p in problems), problems
    assert all(value not in p for p in problems)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("instanceUrl", "https://acme.my.salesforce.com\r\nX-Injected: 1"),
        ("loginUrl", "https://login.salesforce.com\n.evil.example"),
        ("aircallApiUrl", "https://api.aircall.io/v1\r\nHost: evil.example"),
        ("aircallEndpoint", "https://api.aircall.io/\nx"),
        ("aircallApiId", "api-id\r\n1"),
        ("aircallApiToken", "tok\nen"),
        ("accessToken", "00Dxx!tok\r\nen"),
        ("contactEmail", "admin@acme.example\nBcc: x@evil.example"),
        ("connectedAppProfiles", '["Standard User", "Admin\\nistrator"]'),
        ("integrationUser", json.dumps({"username": "eci@acme.example", "lastName": "Air\r\ncall"})),
    ],
)
def test_a_line_break_inside_any_single_line_key_is_refused(key: str, value: str) -> None:
    """CR/LF is allowed by XML, but no name, URL, id or token holds one; in a URL ``urlparse`` even drops it
    silently, so the https check alone let ``https://host\r\nX-Injected: 1`` through."""
    problems = problems_of(with_(**{key: value}))
    assert any("line break" in p and f"eci-aircall:{key}" in p for p in problems), problems
    assert all(value not in p for p in problems)


def test_the_transport_refuses_a_url_with_a_line_break_too() -> None:
    """Provider side (refresh / destroy use the config saved in state, not the program's check)."""
    from salesforce.settings import is_secure_url

    assert is_secure_url("https://acme.my.salesforce.com")
    assert not is_secure_url("https://acme.my.salesforce.com\r\nX-Injected: 1")
    assert not is_secure_url("https://acme.my.sales\tforce.com")


def test_a_pem_private_key_keeps_its_line_breaks() -> None:
    raw = with_(accessToken=None, instanceUrl=None, username="ci@acme.example", clientId="3MVG9x",
                privateKey=KEY_PEM)  # fmt: skip
    assert problems_of(raw) == []


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("contactEmail", "not-an-email", "eci-aircall:contactEmail is not an email address"),
        ("instanceUrl", "ftp://acme", "eci-aircall:instanceUrl is not an https:// URL"),
        ("aircallApiUrl", "api.aircall.io", "eci-aircall:aircallApiUrl is not an https:// URL"),
        ("apiVersion", "63", "eci-aircall:apiVersion is not a Salesforce API version"),
        ("sharedEci", "share", "eci-aircall:sharedEci must be one of create, adopt, skip"),
        ("oauthAppKind", "ECA", "eci-aircall:oauthAppKind must be connectedApp or externalClientApp"),
        ("deleteAdopted", "yes", "eci-aircall:deleteAdopted must be true or false"),
        ("connectedAppProfiles", "[]", "eci-aircall:connectedAppProfiles must be a non-empty list"),
        (
            "connectedAppProfiles",
            "Standard User",
            "eci-aircall:connectedAppProfiles must be a non-empty list",
        ),
        ("siteAdmin", "admin", "eci-aircall:siteAdmin is not a Salesforce username"),
        ("integrationUser", "{}", "eci-aircall:integrationUser.username is not set"),
        ("integrationUser", '"bob"', "eci-aircall:integrationUser must be an object"),
        (
            "integrationUser",
            '{"username": "bob"}',
            "eci-aircall:integrationUser.username is not a Salesforce",
        ),
        (
            "integrationUser",
            '{"username": "b@x.io", "alias": "waytoolongalias"}',
            "eci-aircall:integrationUser.alias is longer than 8 characters",
        ),
        (
            "integrationUser",
            '{"username": "b@x.io", "firstname": "B"}',
            "integrationUser.firstname is not a known",
        ),
        ("permissionSets", '{"eci": "X"}', "eci-aircall:permissionSets.eci is not a known field"),
    ],
)
def test_a_bad_value_gives_one_problem_naming_the_key(key: str, value: str, expected: str) -> None:
    [problem] = problems_of(with_(**{key: value}))
    assert expected in problem
    assert "pulumi config" in problem


def test_structured_field_problem_tells_how_to_set_it_with_path() -> None:
    [problem] = problems_of(with_(integrationUser="{}"))
    assert "`pulumi config set --path eci-aircall:integrationUser.username " in problem


def test_no_login_method_explains_sf_org_display() -> None:
    [problem] = problems_of(with_(accessToken=None))
    assert "sf org display --json" in problem
    assert "pulumi config set --secret eci-aircall:accessToken" in problem
    assert "sf org login web --alias <alias>" in problem
    assert "pulumi config set eci-aircall:targetOrg" in problem


def test_target_org_is_a_login_method_of_its_own() -> None:
    assert problems_of(with_(accessToken=None, instanceUrl=None, targetOrg="uat")) == []
    [problem] = problems_of(with_(targetOrg="uat"))
    assert "more than one way to log in" in problem and "targetOrg" in problem


def test_access_token_needs_the_instance_url() -> None:
    [problem] = problems_of(with_(instanceUrl=None))
    assert problem.startswith("eci-aircall:instanceUrl is not set")


def test_two_login_methods_are_rejected() -> None:
    [problem] = problems_of(with_(sfdxAuthUrl=SFDX))
    assert "more than one way to log in" in problem and "accessToken, sfdxAuthUrl" in problem


def test_sfdx_auth_url_alone_is_a_complete_login() -> None:
    raw = with_(accessToken=None, instanceUrl=None, sfdxAuthUrl=SFDX)
    assert parse(raw)[1] == []
    assert connection_settings(raw).auth_mode == "sfdx_auth_url"


def test_jwt_login_needs_all_three_keys() -> None:
    problems = problems_of(with_(accessToken=None, instanceUrl=None, username="ci@acme.example"))
    assert [p.split(" ")[0] for p in problems] == ["eci-aircall:clientId", "eci-aircall:privateKey"]
    raw = with_(accessToken=None, username="ci@acme.example", clientId="3MVG9", privateKey=KEY_PEM)
    assert parse(raw)[1] == []
    settings = connection_settings(raw)
    assert settings.auth_mode == "jwt" and settings.login_url == "https://login.salesforce.com"


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_of({})
    keys = [p.split(" ")[0] for p in problems]
    assert keys == [
        "eci-aircall:targetOrg",
        "eci-aircall:aircallApiId",
        "eci-aircall:aircallApiToken",
        "eci-aircall:contactEmail",
        "eci-aircall:integrationUser.username",
    ]


@pytest.mark.parametrize(
    ("key", "bad_secret"),
    [
        ("sfdxAuthUrl", "https://not-force-" + TOKEN),
        ("privateKey", "not-a-pem-" + TOKEN),
    ],
)
def test_a_malformed_secret_is_never_quoted(key: str, bad_secret: str) -> None:
    raw = with_(accessToken=None, instanceUrl=None, **{key: bad_secret})
    if key == "privateKey":
        raw.update(username="ci@acme.example", clientId="3MVG9")
    problems = problems_of(raw)
    assert any(p.startswith(f"eci-aircall:{key} is not") for p in problems)
    assert TOKEN not in "\n".join(problems)
    assert "--secret" in "\n".join(problems)


def test_a_secret_stored_in_plaintext_is_refused_with_the_secret_command() -> None:
    [problem] = parse(MINIMAL, stored_secret={"accessToken"})[1]
    assert problem.startswith("eci-aircall:aircallApiToken is stored in plaintext")
    command = '`printf %s "$AIRCALL_API_TOKEN" | pulumi config set --secret eci-aircall:aircallApiToken`'
    assert command in problem
    assert TOKEN not in problem
    assert parse(MINIMAL, stored_secret={"accessToken", "aircallApiToken"})[1] == []


def test_parse_result_holds_no_secret_value() -> None:
    values, _ = parse(with_(aircallApiToken=TOKEN))
    assert TOKEN not in repr(values) and ACCESS not in repr(values)
    assert values["secret_keys_present"] == frozenset({"accessToken", "aircallApiToken"})


def test_pulumi_yaml_defaults_equal_the_defaults_applied_here() -> None:
    """Real `pulumi` serves Pulumi.yaml defaults as config; the program applying the same ones keeps behaviour
    identical under an engine that does not."""
    from tests.support import load_project

    declared = load_project()["config"]
    raw = dict(MINIMAL)
    objects: dict[str, dict[str, str]] = {}
    for key, decl in declared.items():
        if "default" not in decl:
            continue
        default = decl["default"]
        text = default if isinstance(default, str) else json.dumps(default)
        if "." in key:  # `a.b` declares field b of structured key a; the CLI sets it by path when absent
            top, name = key.split(".", 1)
            objects.setdefault(top, json.loads(raw.get(top) or "{}")).setdefault(name, text)
        elif key not in raw:
            raw[key] = text
    raw.update({top: json.dumps(value) for top, value in objects.items()})
    assert json.loads(raw["integrationUser"] or "{}")["timeZone"] == "America/Los_Angeles"
    assert parse(raw) == parse(MINIMAL)


# --- through pulumi.Config, as the program reads it


@pytest.fixture
def stack_config() -> Iterator[None]:
    yield
    pulumi.runtime.set_all_config({}, [])


def set_stack_config(raw: dict[str, str | None], secret_keys: list[str]) -> None:
    pulumi.runtime.set_all_config(
        {f"eci-aircall:{k}": v for k, v in raw.items() if v is not None},
        [f"eci-aircall:{k}" for k in secret_keys],
    )


def test_load_raises_one_config_error_listing_every_problem(stack_config: None) -> None:
    set_stack_config(with_(aircallApiToken=None, contactEmail="nope"), ["accessToken"])
    with pytest.raises(ConfigError) as caught:
        load()
    assert isinstance(caught.value, pulumi.RunError)  # printed by Pulumi without a traceback
    assert len(caught.value.problems) == 2
    assert str(caught.value).startswith("eci-aircall CONFIGURATION: the stack configuration has 2 problems:")
    assert ACCESS not in str(caught.value)


def test_load_refuses_a_secret_that_was_not_set_as_one(stack_config: None) -> None:
    set_stack_config(MINIMAL, ["accessToken"])  # aircallApiToken set without --secret
    with pytest.raises(ConfigError, match="aircallApiToken is stored in plaintext") as caught:
        load()
    assert TOKEN not in str(caught.value)


def test_load_returns_the_aircall_token_as_a_secret_output(stack_config: None) -> None:
    set_stack_config(MINIMAL, ["accessToken", "aircallApiToken"])

    async def load_and_resolve() -> tuple[cfgmod.StackConfig, bool, str | None]:
        loaded = load()
        token = loaded.aircall_api_token
        return loaded, await token.is_secret(), await token.future()

    # A loop of its own: asyncio.run would leave the main thread without a current loop, which the Pulumi
    # mocks of later test modules (tests/test_component.py) need.
    loop = asyncio.new_event_loop()
    try:
        loaded, is_secret, value = loop.run_until_complete(load_and_resolve())
    finally:
        loop.close()
    assert isinstance(loaded.aircall_api_token, pulumi.Output)
    assert TOKEN not in repr(loaded.model_dump(exclude={"aircall_api_token"}))
    assert is_secret is True and value == TOKEN


@pytest.mark.parametrize(
    "stack_file", ["Pulumi.demo.yaml", "Pulumi.sandbox.yaml.example", "Pulumi.production.yaml.example"]
)
def test_shipped_stack_files_are_valid_once_their_secrets_are_set(stack_file: str) -> None:
    import yaml

    from tests.support import REPO

    doc = yaml.safe_load((REPO / "stacks" / stack_file).read_text())["config"]
    raw: dict[str, str | None] = {}
    for key, value in doc.items():
        namespace, _, name = key.partition(":")
        assert namespace == "eci-aircall", key
        raw[name] = value if isinstance(value, str) else json.dumps(value)
    # What `pulumi config set --secret` adds (the demo gets its connection from the emulator at run time).
    raw["aircallApiToken"] = TOKEN
    raw.setdefault("aircallApiId", "api-id")
    if stack_file == "Pulumi.production.yaml.example":
        raw["privateKey"] = KEY_PEM
    else:
        raw.setdefault("instanceUrl", "https://127.0.0.1:8443")
        raw["accessToken"] = ACCESS
    values, problems = parse(raw)
    assert problems == []
    assert values["integration_user"].username.endswith(("example", "example.uat"))


def test_a_key_no_declaration_names_is_a_problem_naming_the_closest_one() -> None:
    """Issue 23: `eci-aircall:sharedECI` is a typo that silently changed nothing."""
    _, problems = parse(MINIMAL, present={*MINIMAL, "sharedECI", "wholyUnrelated"})
    assert len(problems) == 2
    typo, unrelated = sorted(problems)
    assert typo.startswith("eci-aircall:sharedECI is not a setting of this program: did you mean ")
    assert "eci-aircall:sharedEci?" in typo and "`pulumi config rm eci-aircall:sharedECI`" in typo
    assert unrelated.startswith("eci-aircall:wholyUnrelated is not a setting")
    assert "did you mean" not in unrelated


def test_every_declared_key_set_is_no_problem() -> None:
    values, problems = parse(MINIMAL, present=set(cfgmod.TOP_KEYS))
    assert problems == [] and values
