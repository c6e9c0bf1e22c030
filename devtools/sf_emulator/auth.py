"""Authentication: SOAP partner `login`, OAuth 2.0 token endpoint, userinfo.

Sources:
- SOAP login: SOAP API Developer Guide, "login()" and "LoginResult"
  (https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_login.htm). A failed
  login is a `sf:INVALID_LOGIN` fault, "Invalid username, password, security token; or user locked out.".
- OAuth: Salesforce Help "OAuth 2.0 Username-Password Flow", "OAuth 2.0 Refresh Token Flow", "OAuth 2.0 JWT
  Bearer Flow for Server-to-Server Integration", "OAuth Endpoints" and "OAuth 2.0 Authorization Errors"
  (https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flow_errors.htm). Error bodies are
  `{"error", "error_description"}` with HTTP 400: invalid_client_id / "client identifier invalid",
  invalid_client / "invalid client credentials", invalid_grant / "authentication failure",
  invalid_grant / "expired access/refresh token", invalid_grant / "invalid assertion",
  invalid_grant / "Audience validation failed", unsupported_grant_type / "grant type not supported".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from .replies import Reply, json_reply, xml_reply
from .store import API_VERSION, ApiError, Org

PARTNER_NS = "urn:partner.soap.sforce.com"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
# The Salesforce CLI's global connected app, which sfdx auth URLs use:
# force://PlatformCLI::<refresh token>@<instance>.
GLOBAL_CLIENTS = {"PlatformCLI": ""}
LOGIN_HOSTS = ("https://login.salesforce.com", "https://test.salesforce.com")


def _login_user(org: Org, username: str, password: str) -> dict[str, Any] | None:
    users = org.sobject_find("User", Username=username)
    if not users:
        return None
    user = users[0]
    if not user.get("IsActive") or user.get("UserType") == "Guest":
        return None
    if not org.check_password(user["Id"], password):
        return None
    return user


# ---- SOAP partner ----------------------------------------------------------------------------------------


def partner_fault(code: str, message: str, fault_type: str = "UnexpectedErrorFault") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" xmlns:sf="urn:fault.partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>sf:{code}</faultcode><faultstring>{escape(code)}: {escape(message)}</faultstring>"
        f'<detail><sf:{fault_type} xsi:type="sf:{fault_type}"><sf:exceptionCode>{code}</sf:exceptionCode>'
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage></sf:{fault_type}></detail>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    ).encode()


def partner_call(body: bytes) -> tuple[str, str | None]:
    """(operation, session id from SessionHeader) of a partner SOAP request."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return "invalid", None
    sid = root.find(f".//{{{PARTNER_NS}}}SessionHeader/{{{PARTNER_NS}}}sessionId")
    bodyel = root.find(f"{{{SOAP_NS}}}Body")
    op = "invalid"
    if bodyel is not None and len(bodyel):
        op = bodyel[0].tag.rsplit("}", 1)[-1]
    return op, (sid.text or "") if sid is not None else None


def _user_info_xml(org: Org, user: dict[str, Any]) -> str:
    return (
        f"<userEmail>{escape(user.get('Email') or '')}</userEmail>"
        f"<userFullName>{escape(user.get('Name') or '')}</userFullName>"
        f"<userId>{user['Id']}</userId><userName>{escape(user['Username'])}</userName>"
        f"<organizationId>{org.organization_id()}</organizationId>"
        f"<organizationName>ECI Emulator Org</organizationName>"
        f"<profileId>{user.get('ProfileId')}</profileId>"
        f"<userTimeZone>{escape(user.get('TimeZoneSidKey') or '')}</userTimeZone>"
        f"<userType>{escape(user.get('UserType') or 'Standard')}</userType>"
    )


def soap_partner(org: Org, body: bytes, session_user: str | None) -> Reply:
    op, _sid = partner_call(body)
    if op == "login":
        root = ET.fromstring(body)
        u = root.find(f".//{{{PARTNER_NS}}}login/{{{PARTNER_NS}}}username")
        p = root.find(f".//{{{PARTNER_NS}}}login/{{{PARTNER_NS}}}password")
        user = _login_user(
            org, (u.text or "") if u is not None else "", (p.text or "") if p is not None else ""
        )
        if user is None:
            return xml_reply(
                500,
                partner_fault(
                    "INVALID_LOGIN",
                    "Invalid username, password, security token; or user locked out.",
                    "LoginFault",
                ),
            )
        sid = org.new_session(user["Id"], "soap")
        base = org.instance_url
        oid = org.organization_id()
        seconds = int(org.settings.get("session_seconds", 7200))
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" xmlns="{PARTNER_NS}" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse><result>'
            f"<metadataServerUrl>{base}/services/Soap/m/{API_VERSION}/{oid}</metadataServerUrl>"
            "<passwordExpired>false</passwordExpired><sandbox>false</sandbox>"
            f"<serverUrl>{base}/services/Soap/u/{API_VERSION}/{oid}</serverUrl>"
            f"<sessionId>{escape(sid)}</sessionId><userId>{user['Id']}</userId>"
            f"<userInfo>{_user_info_xml(org, user)}<sessionSecondsValid>{seconds}</sessionSecondsValid>"
            "</userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>"
        )
        return xml_reply(200, xml.encode())
    if session_user is None:
        return xml_reply(
            500,
            partner_fault("INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session"),
        )
    if op == "logout":
        # Partner API "logout()": ends the session named in the SessionHeader; the reply is an empty
        # logoutResponse.
        org.end_session(_sid or "")
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" xmlns="{PARTNER_NS}"><soapenv:Body>'
            "<logoutResponse/></soapenv:Body></soapenv:Envelope>"
        )
        return xml_reply(200, xml.encode())
    if op == "getUserInfo":
        user = org.sobject_get("User", session_user) or {}
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" xmlns="{PARTNER_NS}"><soapenv:Body>'
            f"<getUserInfoResponse><result>{_user_info_xml(org, user)}</result></getUserInfoResponse>"
            "</soapenv:Body></soapenv:Envelope>"
        )
        return xml_reply(200, xml.encode())
    return xml_reply(
        500,
        (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}"><soapenv:Body><soapenv:Fault>'
            "<faultcode>soapenv:Client</faultcode><faultstring>No operation available for request "
            f"{{{PARTNER_NS}}}{escape(op)}, please check the WSDL for the service.</faultstring>"
            "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
        ).encode(),
    )


# ---- OAuth -----------------------------------------------------------------------------------------------


def _oauth_error(error: str, description: str, status: int = 400) -> Reply:
    return json_reply(status, {"error": error, "error_description": description})


def find_client(org: Org, client_id: str) -> dict[str, Any] | None:
    """The OAuth settings of the connected app (or external client app) whose consumer key is client_id.

    Returns {"consumerKey", "consumerSecret", "certificate", "callbackUrl"}; the Metadata handlers keep these
    on ConnectedApp.oauthConfig (WSDL ConnectedAppOauthConfig) and on the ExtlClntApp* settings components.
    """
    if client_id in GLOBAL_CLIENTS:
        return {"consumerKey": client_id, "consumerSecret": GLOBAL_CLIENTS[client_id], "certificate": None}
    for rec in org.metadata_list("ConnectedApp"):
        cfg = rec.get("oauthConfig") or {}
        if cfg.get("consumerKey") == client_id:
            return {
                "consumerKey": client_id,
                "consumerSecret": cfg.get("consumerSecret"),
                "certificate": cfg.get("certificate"),
                "callbackUrl": cfg.get("callbackUrl"),
            }
    for type_ in ("ExtlClntAppGlobalOauthSettings", "ExtlClntAppOauthSettings"):
        for rec in org.metadata_list(type_):
            if rec.get("consumerKey") == client_id:
                return {
                    "consumerKey": client_id,
                    "consumerSecret": rec.get("consumerSecret"),
                    "certificate": rec.get("certificate"),
                    "callbackUrl": rec.get("callbackUrl"),
                }
    return None


def _token_reply(org: Org, user_id: str, extra: dict[str, Any] | None = None, kind: str = "oauth") -> Reply:
    token = org.new_session(user_id, kind)
    issued = str(int(time.time() * 1000))
    ident = f"{LOGIN_HOSTS[0]}/id/{org.organization_id()}/{user_id}"
    sig = base64.b64encode(
        hmac.new(org.admin_token().encode(), (ident + issued).encode(), hashlib.sha256).digest()
    ).decode()
    body: dict[str, Any] = {
        "access_token": token,
        "instance_url": org.instance_url,
        "id": ident,
        "token_type": "Bearer",
        "issued_at": issued,
        "signature": sig,
        "scope": "api web refresh_token",
    }
    body.update(extra or {})
    return json_reply(200, body)


def oauth_token(org: Org, body: bytes, query: dict[str, str]) -> Reply:
    form = dict(query)
    form.update(dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)))
    grant = form.get("grant_type", "")
    if grant == "password":
        client = find_client(org, form.get("client_id", ""))
        if client is None:
            return _oauth_error("invalid_client_id", "client identifier invalid")
        if not hmac.compare_digest(str(client.get("consumerSecret") or ""), form.get("client_secret", "")):
            return _oauth_error("invalid_client", "invalid client credentials")
        user = _login_user(org, form.get("username", ""), form.get("password", ""))
        if user is None:
            return _oauth_error("invalid_grant", "authentication failure")
        return _token_reply(org, user["Id"])
    if grant == "refresh_token":
        client = find_client(org, form.get("client_id", ""))
        if client is None:
            return _oauth_error("invalid_client_id", "client identifier invalid")
        secret = form.get("client_secret")
        if (
            secret is not None
            and client.get("consumerSecret")
            and not hmac.compare_digest(str(client["consumerSecret"]), secret)
        ):
            return _oauth_error("invalid_client", "invalid client credentials")
        owner = org.refresh_token_owner(form.get("refresh_token", ""))
        if owner is None or owner[1] != client["consumerKey"]:
            return _oauth_error("invalid_grant", "expired access/refresh token")
        user = org.sobject_get("User", owner[0])
        if user is None or not user.get("IsActive"):
            return _oauth_error("invalid_grant", "inactive user")
        refresh_token = form.get("refresh_token", "")
        return _token_reply(org, owner[0], kind=org.refresh_session_kind(refresh_token))
    if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
        return _jwt_bearer(org, form.get("assertion", ""))
    return _oauth_error("unsupported_grant_type", "grant type not supported")


def _load_cert_key(pem: str) -> Any:
    from cryptography import x509

    text = pem.strip()
    if "-----BEGIN" not in text:
        text = "-----BEGIN CERTIFICATE-----\n" + text + "\n-----END CERTIFICATE-----\n"
    return x509.load_pem_x509_certificate(text.encode()).public_key()


def _jwt_bearer(org: Org, assertion: str) -> Reply:
    import jwt

    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        return _oauth_error("invalid_grant", "invalid assertion")
    client = find_client(org, str(claims.get("iss", "")))
    if client is None:
        return _oauth_error("invalid_client_id", "client identifier invalid")
    if header.get("alg") != "RS256" or not client.get("certificate"):
        return _oauth_error("invalid_grant", "invalid assertion")
    try:
        key = _load_cert_key(str(client["certificate"]))
    except ValueError:
        return _oauth_error("invalid_grant", "invalid assertion")
    audiences = [*LOGIN_HOSTS, org.instance_url]
    try:
        jwt.decode(
            assertion,
            key=key,
            algorithms=["RS256"],
            audience=audiences,
            options={"require": ["exp", "iss", "sub", "aud"]},
        )
    except jwt.InvalidAudienceError:
        return _oauth_error("invalid_grant", "Audience validation failed")
    except jwt.ExpiredSignatureError:
        return _oauth_error("invalid_grant", "expired authorization code")
    except jwt.PyJWTError:
        return _oauth_error("invalid_grant", "invalid assertion")
    users = org.sobject_find("User", Username=str(claims.get("sub", "")))
    if not users or not users[0].get("IsActive") or users[0].get("UserType") == "Guest":
        return _oauth_error("invalid_grant", "user hasn't approved this consumer")
    return _token_reply(org, users[0]["Id"])


def revoke(org: Org, body: bytes, query: dict[str, str]) -> Reply:
    """``/services/oauth2/revoke`` (Salesforce Help, "Revoke OAuth Tokens"): POST a form ``token=`` (or GET
    ``?token=``) naming an access or a refresh token; 200 with an empty body when it was revoked, else 400
    ``unsupported_token_type``. A revoked access token ends that session at once."""
    form = dict(query)
    form.update(dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)))
    token = form.get("token", "")
    if token and (org.end_session(token) or org.revoke_refresh_token(token)):
        return 200, {}, b""
    return _oauth_error("unsupported_token_type", "this token type is not supported")


def identity(org: Org, user_id: str, path: str) -> Reply:
    """The identity URL, ``/id/{orgId}/{userId}`` (Salesforce Help, "Identity URLs"): who the session's user
    is, with the API endpoints. A session may read only its own user's identity (another user's: 403
    ``Bad_Id``)."""
    parts = [p for p in path.split("/") if p]
    oid = org.organization_id()
    if len(parts) != 3 or parts[1][:15] != oid[:15] or parts[2][:15] != user_id[:15]:
        return json_reply(403, "Bad_Id")
    status, headers, body = userinfo(org, user_id)
    info = json.loads(body)
    user = org.sobject_get("User", user_id) or {}
    base = org.instance_url
    urls = dict(info["urls"])
    urls.update(
        {
            "search": f"{base}/services/data/v{{version}}/search/",
            "recent": f"{base}/services/data/v{{version}}/recent/",
            "profile": f"{base}/{user_id}",
            "custom_domain": base,
        }
    )
    return json_reply(
        200,
        {
            "id": info["sub"],
            "asserted_user": True,
            "user_id": user_id,
            "organization_id": oid,
            "username": user.get("Username"),
            "nick_name": user.get("CommunityNickname"),
            "display_name": user.get("Name"),
            "email": user.get("Email"),
            "email_verified": True,
            "first_name": user.get("FirstName"),
            "last_name": user.get("LastName"),
            "timezone": user.get("TimeZoneSidKey"),
            "active": bool(user.get("IsActive")),
            "user_type": str(user.get("UserType", "Standard")).upper(),
            "language": user.get("LanguageLocaleKey"),
            "locale": user.get("LocaleSidKey"),
            "urls": urls,
        },
    )


def userinfo(org: Org, user_id: str) -> Reply:
    user = org.sobject_get("User", user_id)
    if user is None:
        raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
    oid = org.organization_id()
    base = org.instance_url
    return json_reply(
        200,
        {
            "sub": f"{LOGIN_HOSTS[0]}/id/{oid}/{user_id}",
            "user_id": user_id,
            "organization_id": oid,
            "preferred_username": user["Username"],
            "nickname": user.get("CommunityNickname"),
            "name": user.get("Name"),
            "email": user.get("Email"),
            "email_verified": True,
            "given_name": user.get("FirstName"),
            "family_name": user.get("LastName"),
            "zoneinfo": user.get("TimeZoneSidKey"),
            "locale": user.get("LocaleSidKey"),
            "user_type": str(user.get("UserType", "Standard")).upper(),
            "active": bool(user.get("IsActive")),
            "urls": {
                "enterprise": f"{base}/services/Soap/c/{{version}}/{oid}",
                "metadata": f"{base}/services/Soap/m/{{version}}/{oid}",
                "partner": f"{base}/services/Soap/u/{{version}}/{oid}",
                "rest": f"{base}/services/data/v{{version}}/",
                "sobjects": f"{base}/services/data/v{{version}}/sobjects/",
                "query": f"{base}/services/data/v{{version}}/query/",
            },
        },
    )
