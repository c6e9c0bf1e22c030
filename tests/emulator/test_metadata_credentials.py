"""New-model credentials (API 56.0+): a SecuredEndpoint NamedCredential whose URL and authentication are
``namedCredentialParameters``, and the ExternalCredential it points to (Metadata API Developer Guide,
"NamedCredential" and "ExternalCredential"). The shapes are those public projects deploy, e.g. a Url
parameter plus an Authentication parameter naming the external credential."""

from __future__ import annotations

from typing import Any

from devtools.sf_emulator.store import Org
from tests.support.in_process_mdapi import auth_provider, save


def external_credential(
    mdapi: Any, name: str = "Billing_Auth", protocol: str = "Custom", **extra: Any
) -> Any:
    parameter = mdapi._client.get_type("ns0:ExternalCredentialParameter")
    parameters = [parameter(parameterName="Billing", parameterType="NamedPrincipal", sequenceNumber=1)]
    return mdapi.ExternalCredential(
        fullName=name,
        label=name.replace("_", " "),
        authenticationProtocol=protocol,
        externalCredentialParameters=extra.pop("parameters", parameters),
        **extra,
    )


def secured_endpoint(mdapi: Any, name: str = "Billing_API", url: str | None = "https://billing.example.com/v2",
                     credential: str | None = "Billing_Auth") -> Any:  # fmt: skip
    parameter = mdapi._client.get_type("ns0:NamedCredentialParameter")
    parameters = []
    if url is not None:
        parameters.append(parameter(parameterName="Url", parameterType="Url", parameterValue=url))
    if credential is not None:
        parameters.append(
            parameter(
                parameterName="ExternalCredential",
                parameterType="Authentication",
                externalCredential=credential,
            )
        )
    return mdapi.NamedCredential(
        fullName=name,
        label=name.replace("_", " "),
        namedCredentialType="SecuredEndpoint",
        namedCredentialParameters=parameters,
        allowMergeFieldsInHeader=True,
        generateAuthorizationHeader=False,
        calloutStatus="Enabled",
    )


def test_a_secured_endpoint_with_its_external_credential_is_accepted_without_a_legacy_endpoint(
    mdapi: Any, md_org: Org
) -> None:
    results = save(mdapi, "createMetadata", [external_credential(mdapi), secured_endpoint(mdapi)])
    assert [r.success for r in results] == [True, True], results
    read = mdapi.NamedCredential.read(["Billing_API"])
    assert read.namedCredentialType == "SecuredEndpoint" and read.endpoint is None
    assert [
        (p.parameterType, p.parameterValue or p.externalCredential) for p in read.namedCredentialParameters
    ] == [
        ("Url", "https://billing.example.com/v2"),
        ("Authentication", "Billing_Auth"),
    ]
    row = md_org.sobject_find("NamedCredential", DeveloperName="Billing_API")[0]
    assert row["Endpoint"] == "https://billing.example.com/v2"
    assert mdapi.ExternalCredential.read(["Billing_Auth"]).authenticationProtocol == "Custom"


def test_a_secured_endpoint_needs_an_existing_external_credential(mdapi: Any) -> None:
    (result,) = save(mdapi, "createMetadata", [secured_endpoint(mdapi, credential="Nope")])
    assert result.success is False
    assert (result.errors[0].statusCode, result.errors[0].fields) == (
        "INVALID_CROSS_REFERENCE_KEY",
        ["externalCredential"],
    )
    assert result.errors[0].message == "In field: externalCredential - no ExternalCredential named Nope found"


def test_a_secured_endpoint_needs_its_url_parameter(mdapi: Any) -> None:
    mdapi.ExternalCredential.create([external_credential(mdapi)])
    (result,) = save(mdapi, "createMetadata", [secured_endpoint(mdapi, url=None)])
    assert result.success is False and result.errors[0].statusCode == "REQUIRED_FIELD_MISSING"


def test_a_legacy_named_credential_still_needs_its_endpoint(mdapi: Any) -> None:
    legacy = mdapi.NamedCredential(
        fullName="Old", label="Old", principalType="Anonymous", protocol="NoAuthentication"
    )
    (result,) = save(mdapi, "createMetadata", [legacy])
    assert (result.success, result.errors[0].fields) == (False, ["endpoint"])


def test_an_oauth_external_credential_needs_an_existing_auth_provider(mdapi: Any) -> None:
    parameter = mdapi._client.get_type("ns0:ExternalCredentialParameter")
    no_provider = external_credential(mdapi, "OAuth_None", protocol="Oauth")
    unknown = external_credential(
        mdapi,
        "OAuth_Unknown",
        protocol="Oauth",
        parameters=[
            parameter(parameterName="AuthProvider", parameterType="AuthProvider", authProvider="Nope")
        ],
    )
    results = save(mdapi, "createMetadata", [no_provider, unknown])
    assert [r.errors[0].statusCode for r in results] == [
        "REQUIRED_FIELD_MISSING",
        "INVALID_CROSS_REFERENCE_KEY",
    ]
    mdapi.AuthProvider.create([auth_provider(mdapi)])
    provider = parameter(
        parameterName="AuthProvider", parameterType="AuthProvider", authProvider="ECI_Auth_Provider"
    )
    known = external_credential(mdapi, "OAuth_Known", protocol="Oauth", parameters=[provider])
    assert save(mdapi, "createMetadata", [known])[0].success is True
    # The auth provider is now in use by the external credential.
    (refused,) = mdapi._service.deleteMetadata(
        "AuthProvider", ["ECI_Auth_Provider"], _soapheaders=[mdapi._session_header]
    )
    assert refused.success is False and "OAuth_Known" in refused.errors[0].message


def test_an_external_credential_in_use_cannot_be_deleted(mdapi: Any) -> None:
    mdapi.ExternalCredential.create([external_credential(mdapi)])
    mdapi.NamedCredential.create([secured_endpoint(mdapi)])
    (refused,) = mdapi._service.deleteMetadata(
        "ExternalCredential", ["Billing_Auth"], _soapheaders=[mdapi._session_header]
    )
    assert refused.success is False and refused.errors[0].statusCode == "DELETE_FAILED"
    assert "Billing_API" in refused.errors[0].message
    mdapi.NamedCredential.delete(["Billing_API"])
    mdapi.ExternalCredential.delete(["Billing_Auth"])
    assert mdapi.ExternalCredential.read(["Billing_Auth"]).fullName is None
