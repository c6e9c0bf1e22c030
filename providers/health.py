"""Health probes: prove from inside the org that a named credential works, by a callout through it.

The probe is anonymous Apex run with the Tooling API's ``executeAnonymous`` (Tooling API guide, "REST
Resources": ``GET /services/data/vXX.X/tooling/executeAnonymous/?anonymousBody=<Apex>``), the same callout
chain the Voice Connector uses (Apex Developer Guide, "Named Credentials as Callout Endpoints"):

* ``Aircall``: ``callout:Aircall/v1/ping`` must answer 200 — the API key, the password protocol and the
  generated authorization header work from Salesforce;
* ``ECI_Named_Credential``: ``callout:ECI_Named_Credential/services/data/v63.0/limits`` must answer 200 — the
  OAuth app, the auth provider and its callback, the named credential and the integration user's
  authorization work (the credential's URL is the org's own My Domain, so the callout lands on this org's
  REST API).

The Apex is fixed text, built from the names below only (never from configuration or other input), so
nothing a user sets can reach the code that runs in the org.

Each answer is classified in Salesforce's words (``ExecuteAnonymousResult``, SOAP API guide):

* ``ok`` — ``compiled`` and ``success``;
* ``callout failed: System.CalloutException: ...`` — the callout did not happen: for an OAuth credential,
  no usable token (never authorized, or the token was revoked, e.g. by a sandbox refresh);
* ``HTTP 401 from callout:<name>: ...`` (any status but 200) — the assert failed:
  ``System.AssertException: Assertion Failed: <body>: Expected: 200, Actual: 401``; the body is the
  remote's reason (Aircall: key disabled; the org: a session it refuses);
* ``compile problem at line L, column C: ...`` — ``compiled`` false;
* ``anonymous Apex not permitted: ...`` — Salesforce refused the ``executeAnonymous`` request itself (the
  connecting user lacks "Author Apex"; Apex Developer Guide, "Anonymous Blocks": executing anonymous Apex
  needs "API Enabled" and "Author Apex", and a callout through a named credential "Customize Application");
* ``failed: <exception>`` — any other exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers import guide
from salesforce import SalesforceClient, SalesforceError

OK = "ok"
NOT_CHECKED = "not checked (eci-aircall:healthChecks is false)"

#: Named credential → the path its probe calls (fixed; the guide's names).
PROBE_PATHS: Mapping[str, str] = {
    guide.AIRCALL_NAMED_CREDENTIAL: "/v1/ping",
    guide.ECI_NAMED_CREDENTIAL: "/services/data/v63.0/limits",
}
#: How much of a failed callout's response body the assert message carries (Salesforce's reason, kept short).
BODY_CHARS = 200

#: Prefixes of the classifications (the start of a ``health`` output), for readers of the output.
CALLOUT_FAILED = "callout failed"
NOT_PERMITTED = "anonymous Apex not permitted"
COMPILE_PROBLEM = "compile problem"


def probe_apex(named_credential: str) -> str:
    """The probe's anonymous Apex for one of the guide's named credentials (KeyError for any other)."""
    path = PROBE_PATHS[named_credential]
    return (
        "HttpRequest req = new HttpRequest();\n"
        f"req.setEndpoint('callout:{named_credential}{path}');\n"
        "req.setMethod('GET');\n"
        "HttpResponse res = new Http().send(req);\n"
        f"System.assertEquals(200, res.getStatusCode(), res.getBody().left({BODY_CHARS}));\n"
    )


def classify(named_credential: str, result: Mapping[str, Any]) -> str:
    """An ``ExecuteAnonymousResult`` as the ``health`` output: ``ok``, or the failure with Salesforce's
    reason."""
    if not result.get("compiled"):
        return (
            f"{COMPILE_PROBLEM} at line {result.get('line')}, column {result.get('column')}: "
            f"{result.get('compileProblem')}"
        )
    if result.get("success"):
        return OK
    message = str(result.get("exceptionMessage") or "")
    if message.startswith("System.CalloutException"):
        return f"{CALLOUT_FAILED}: {message}"
    assertion = "System.AssertException: Assertion Failed: "
    if message.startswith(assertion):
        detail = message[len(assertion) :]
        body, _, tail = detail.rpartition(": Expected: 200, Actual: ")
        if tail.isdigit():
            return f"HTTP {tail} from callout:{named_credential}: {body}"
    return f"failed: {message}"


def probe(client: SalesforceClient, named_credential: str, *, artifact: str) -> str:
    """Run the probe: one ``executeAnonymous`` call. Never raises for Salesforce's answer: a refusal of the
    call itself (no "Author Apex") is a health result too; only transport failures propagate."""
    try:
        result = client.execute_anonymous(probe_apex(named_credential), artifact=artifact)
    except SalesforceError as err:
        if err.status in (400, 403) or "INSUFFICIENT_ACCESS" in err.error_code:
            return f"{NOT_PERMITTED}: {err.error_code}: {err.message}"
        raise
    return classify(named_credential, result)


def authentication_status(health: str) -> str:
    """A legacy OAuth credential's authentication status, as measured by its probe: ``Authenticated`` when
    the callout worked, ``NotAuthenticated`` when the org had no usable token or refused it, ``Unknown``
    when the probe could not tell (not run, not permitted, compile problem)."""
    if health == OK:
        return "Authenticated"
    if health.startswith((CALLOUT_FAILED, "HTTP 401", "HTTP 403")):
        return "NotAuthenticated"
    return "Unknown"
