"""The error types, by who must act, and the mapping of every client library's failure onto them.

A :class:`SalesforceError` is a failure of a service (Salesforce, or Aircall): it refused or failed a call.
A :class:`UsageError`, its subclass, is a refusal of ours that whoever runs the stack resolves (the config,
a missing opt-in, an artifact that is not this stack's to take over, a login that reaches another org), the
split CumulusCI makes between ``CumulusCIUsageError`` and ``CumulusCIFailure`` (cumulusci/core/exceptions.py).
Each prints as ``[<artifact>: ]<service> <CODE>: <message>[ — <fix>]``, where a usage error's service is
always :data:`OURS`: that is how a report reading the CLI's output tells them apart (:func:`kind_of`), and
:data:`EXIT_CODES` says what a tool exits with for each.

Sources: REST error body ``[{"errorCode", "message", "fields"}]``: REST API Developer Guide, "Status Codes
and Error Responses"; Metadata ``SaveResult``/``Error(statusCode, message, fields)``: Metadata API Developer
Guide, "createMetadata()".
"""

from __future__ import annotations

import functools
import http.client
import re
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from salesforce.redaction import scrub

#: Salesforce error codes worth another try: the same request can succeed a moment later.
TRANSIENT_CODES = frozenset(
    {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "HTTP_502", "HTTP_503", "HTTP_504", "CONNECTION_ERROR"}
)
#: A TLS certificate failure and an answer that is not the API's: permanent, and a sign the URL is wrong.
CERTIFICATE_ERROR = "CERTIFICATE_ERROR"
NOT_AN_API = "NOT_SALESFORCE_API"
PERMANENT_TRANSPORT_CODES = frozenset({CERTIFICATE_ERROR, NOT_AN_API})
#: Codes that mean "this name already exists": the create path turns them into adopt/converge.
DUPLICATE_CODES = frozenset(
    {
        "DUPLICATE_VALUE",
        "DUPLICATE_DEVELOPER_NAME",
        "DUPLICATE_USERNAME",
        "DUPLICATE_FULL_NAME",
        "DUPLICATES_DETECTED",
    }
)
#: Codes that mean "no such thing" (delete of something already gone is a success).
NOT_FOUND_CODES = frozenset({"NOT_FOUND", "ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY", "HTTP_404"})

DAILY_LIMIT_HINT = (
    "the org's daily API request limit is reached; nothing further was changed. Run `pulumi up` again when "
    "the rolling 24-hour limit frees up (Setup → Company Information → API Requests, Last 24 Hours)"
)


#: The service named in our own refusals (every :class:`UsageError`); no other error names it.
OURS = "eci-aircall"
#: Who must act on an error: ``usage`` (whoever runs the stack) or ``failure`` (a service failed a call).
ErrorKind = Literal["usage", "failure"]
#: What a tool of this project exits with when a step ends with an error of each kind (the status report,
#: preview checks); 0 is success, and an exception of no kind (a bug: a traceback) exits 3.
EXIT_CODES: dict[ErrorKind, int] = {"failure": 1, "usage": 2}
EXIT_UNEXPECTED = 3
_SHAPE = re.compile(r"(?:^|: |\n)(?P<service>[A-Za-z][\w-]*) (?P<code>[A-Z][A-Z0-9_]*): ")


# ----------------------------------------------------------------------------------------------------
class SalesforceError(Exception):
    """A failed call, as the service (Salesforce, or another one named in ``service``) reported it.

    ``error_code`` is Salesforce's ``errorCode``/``statusCode``/fault code (``HTTP_<status>`` or
    ``CONNECTION_ERROR`` when there was none); ``artifact`` names what we were working on (e.g.
    ``CustomSite VoiceConnector``). ``uncertain_write`` is True when an earlier attempt of this call may have
    been applied by Salesforce before its reply was lost (the create path then converges instead of
    duplicating).
    """

    def __init__(
        self,
        error_code: str,
        message: str,
        *,
        fields: Sequence[str] = (),
        artifact: str = "",
        status: int | None = None,
        hint: str = "",
        service: str = "Salesforce",
        uncertain_write: bool = False,
    ) -> None:
        self.error_code = error_code
        self.message = scrub(message)
        self.fields = list(fields)
        self.artifact = artifact
        self.status = status
        self.hint = scrub(hint)
        self.service = service
        self.uncertain_write = uncertain_write
        #: A 5xx whose body is not the API's (an HTML page): Salesforce's edge in maintenance, or a wrong host
        self.non_api = False
        super().__init__(str(self))

    #: Who must act (see the module's docstring); a subclass says otherwise.
    kind: ClassVar[ErrorKind] = "failure"

    def with_hint(self, hint: str) -> SalesforceError:
        """A copy of this error with another fix (not rebuilt through a constructor: subclasses' differ)."""
        twin = type(self).__new__(type(self))
        twin.__dict__.update(self.__dict__)
        twin.hint = scrub(hint)
        twin.args = (str(twin),)
        return twin

    @property
    def transient(self) -> bool:
        return self.error_code in TRANSIENT_CODES

    @property
    def duplicate(self) -> bool:
        return self.error_code in DUPLICATE_CODES

    @property
    def not_found(self) -> bool:
        return self.error_code in NOT_FOUND_CODES

    def __str__(self) -> str:
        where = f"{self.artifact}: " if self.artifact else ""
        text = f"{where}{self.service} {self.error_code}: {self.message}"
        if self.fields:
            text += f" (fields: {', '.join(self.fields)})"
        if self.hint:
            text += f" — {self.hint}"
        return scrub(text)


class UsageError(SalesforceError):
    """A refusal of ours, resolved by whoever runs the stack: the config, an opt-in, the org's setup, or the
    login. Its ``hint`` is the fix. Raised before anything of the failing step is written."""

    kind: ClassVar[ErrorKind] = "usage"

    def __init__(
        self, error_code: str, message: str, *, artifact: str = "", hint: str = "", fields: Sequence[str] = ()
    ) -> None:
        super().__init__(error_code, message, fields=fields, artifact=artifact, hint=hint, service=OURS)


class ConfigurationError(UsageError):
    """The provider configuration (``eci-aircall:*``) is missing or malformed; raised before any call."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__("CONFIGURATION", message, hint=hint)


def kind_of(text: str) -> ErrorKind | None:
    """Who must act on the error ``text`` (a message as the CLI shows it), or None when it is none of ours
    (an unexpected exception). The first ``<service> <CODE>: `` in it decides."""
    match = _SHAPE.search(text)
    if match is None:
        return None
    return "usage" if match["service"] == OURS else "failure"


# ----------------------------------------------------------------------------------------------------
def non_api_5xx(status: int | None, content: Any) -> bool:
    """A server error whose body is text that is not the API's JSON or SOAP (simple-salesforce hands the
    raw text when ``response.json()`` fails; zeep when the XML does not parse): an HTML page. An empty body
    says nothing either way."""
    if not status or status < 500:
        return False
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return isinstance(content, str) and bool(content.strip())


def _marked(err: SalesforceError, non_api: bool) -> SalesforceError:
    err.non_api = non_api
    return err


@functools.cache
def service_failures() -> tuple[type[BaseException], ...]:
    """What a service's failure reaches us as: the client libraries' errors and the transport's. Anything else
    raised during a call is a bug of ours (or of a library), and keeps its type and traceback. A function, so
    that the libraries are imported by the first call that can fail, not with this module."""
    import requests
    import zeep.exceptions
    from simple_salesforce.exceptions import SalesforceError as _SimpleSalesforceError

    return (
        SalesforceError,
        _SimpleSalesforceError,
        zeep.exceptions.Fault,
        zeep.exceptions.TransportError,
        zeep.exceptions.XMLSyntaxError,
        # A request that fails the API's own WSDL (a required element missing): what Salesforce would
        # refuse, found by zeep before sending.
        zeep.exceptions.ValidationError,
        requests.RequestException,
        http.client.HTTPException,
        ConnectionError,
    )


def _map_exception(
    exc: BaseException, artifact: str, service: str = "Salesforce", last_status: int | None = None
) -> SalesforceError:
    if isinstance(exc, SalesforceError):
        return exc
    # Imported here, not with this module: the client libraries load only in a process that makes calls
    # (salesforce/client.py), and an exception of theirs means they are loaded already.
    import requests
    import zeep.exceptions
    from simple_salesforce.exceptions import SalesforceError as _SimpleSalesforceError

    if isinstance(exc, _SimpleSalesforceError):
        status = getattr(exc, "status", None)
        content = getattr(exc, "content", None)
        code, message, fields = _first_rest_error(content, status)
        return _marked(
            SalesforceError(code, message, fields=fields, artifact=artifact, status=status, service=service),
            non_api_5xx(status, content),
        )
    if isinstance(exc, zeep.exceptions.Fault):
        if not exc.code and last_status and last_status >= 400 and last_status != 500:
            # XML, but not a SOAP fault (Salesforce's faults always carry a faultcode): an (X)HTML page.
            code, message, _ = _first_rest_error(None, last_status)
            return _marked(
                SalesforceError(code, message, artifact=artifact, status=last_status, service=service),
                last_status >= 500,
            )
        code = str(exc.code or "SOAP_FAULT").split(":")[-1]
        # Salesforce's faultstring repeats the code of an sf: fault ("INVALID_SESSION_ID: Invalid Session ID
        # found in SessionHeader: Illegal Session", as forcedotcom/postman-salesforce-apis#56 shows it).
        message = str(exc.message or "").removeprefix(f"{code}:").strip()
        return SalesforceError(code, message, artifact=artifact, status=500, service=service)
    if isinstance(exc, zeep.exceptions.TransportError):
        status = int(exc.status_code or 0)
        code, message, fields = _first_rest_error(None, status)
        return _marked(
            SalesforceError(code, message, fields=fields, artifact=artifact, status=status, service=service),
            non_api_5xx(status, exc.content),
        )
    if isinstance(exc, requests.exceptions.SSLError):
        # A certificate the configured roots do not trust (a wrong host, an intercepting proxy): the same
        # request fails the same way every time, and no byte of it reached an application — so it is neither
        # retried nor a write that may have happened. The client names the key to fix.
        return SalesforceError(
            CERTIFICATE_ERROR,
            "the server's TLS certificate is not trusted (or the TLS handshake failed)",
            artifact=artifact,
            service=service,
        )
    if isinstance(exc, requests.exceptions.JSONDecodeError | zeep.exceptions.XMLSyntaxError):
        # A reply that is not the API's JSON / SOAP at all: an HTML page of a wrong host, a portal, a proxy.
        return SalesforceError(
            NOT_AN_API,
            "the server answered something that is not Salesforce's API (an HTML page?)",
            artifact=artifact,
            status=last_status,
            service=service,
        )
    if isinstance(exc, requests.ConnectTimeout) or (
        isinstance(exc, requests.ConnectionError) and "NewConnectionError" in repr(exc.args)
    ):
        # Never reached the server: safe to retry, nothing can have been applied.
        return SalesforceError(
            "CONNECTION_ERROR", f"could not connect: {type(exc).__name__}", artifact=artifact, service=service
        )
    if isinstance(exc, requests.RequestException | http.client.HTTPException | ConnectionError):
        # The request may have reached Salesforce and been applied before the connection dropped.
        return SalesforceError(
            "CONNECTION_ERROR",
            f"connection failed: {type(exc).__name__}",
            artifact=artifact,
            service=service,
            uncertain_write=True,
        )
    return SalesforceError(
        type(exc).__name__.upper(), scrub(str(exc))[:500], artifact=artifact, service=service
    )


def _first_rest_error(content: Any, status: int | None) -> tuple[str, str, list[str]]:
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        code = str(first.get("errorCode") or first.get("error") or f"HTTP_{status}")
        return (
            code,
            str(first.get("message") or first.get("error_description") or ""),
            list(first.get("fields") or []),
        )
    if isinstance(content, dict):
        code = str(content.get("errorCode") or content.get("error") or f"HTTP_{status}")
        return code, str(content.get("message") or content.get("error_description") or ""), []
    text = content if isinstance(content, str) else ""
    return f"HTTP_{status}", (text[:300] or http.client.responses.get(status or 0, "")), []


def _raise_for_results(results: Any, artifact: str) -> None:
    """Metadata ``SaveResult``/``DeleteResult`` with success=false → SalesforceError (first error)."""
    for result in results or []:
        if getattr(result, "success", True):
            continue
        errors = list(getattr(result, "errors", None) or [])
        if not errors:
            raise SalesforceError(
                "UNKNOWN_EXCEPTION", "the Metadata API reported failure without a reason", artifact=artifact
            )
        first = errors[0]
        raise SalesforceError(
            str(first.statusCode),
            str(first.message or ""),
            fields=[str(f) for f in (getattr(first, "fields", None) or [])],
            artifact=artifact,
        )


#: Any library's failure (requests, simple-salesforce, zeep) as a :class:`SalesforceError`, secrets scrubbed.
map_exception = _map_exception
