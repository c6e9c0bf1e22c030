"""The Aircall API key works: ``GET {aircall_api_url}/ping`` with Basic auth api_id:api_token (Aircall API
reference, "Ping"). Not a Salesforce call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.config.keys import AIRCALL_API_ID, AIRCALL_API_TOKEN, AIRCALL_API_URL, CA_BUNDLE
from providers.preflight.runner import PASS, Blocker, Check, Run, Verdict
from salesforce import SalesforceClient, SalesforceError, UsageError, register_secret
from salesforce.errors import map_exception
from salesforce.settings import is_secure_url

if TYPE_CHECKING:
    import requests


def aircall_ping(client: SalesforceClient, url: str, api_id: str, api_token: str) -> requests.Response:
    """``GET {aircallApiUrl}/ping`` with Basic auth api_id:api_token (Aircall API reference, "Ping"). Not a
    Salesforce call: it only borrows the client's HTTP session (its CA bundle) and retry policy, so a
    gateway error or a dropped connection is retried like any call and reported as a SalesforceError with
    service Aircall. The token is registered for scrubbing before it is sent."""
    import requests  # where a call is made: the program imports this module and makes none

    register_secret(api_token)
    artifact = "Preflight Aircall"
    if not is_secure_url(url):
        # Basic auth carries the token itself: never in clear over a network.
        raise UsageError(
            "INSECURE_URL", "the Aircall API URL is not https://; not called", artifact=artifact,
            hint=f"set {AIRCALL_API_URL.full_name} to https://api.aircall.io/v1",
        )  # fmt: skip

    def attempt() -> requests.Response:
        try:
            response = client.http.get(url, auth=(api_id, api_token), timeout=30)
        except requests.RequestException as exc:
            raise map_exception(exc, artifact, service="Aircall") from None
        if response.status_code in (502, 503, 504):
            raise SalesforceError(
                f"HTTP_{response.status_code}",
                "service unavailable",
                artifact=artifact,
                status=response.status_code,
                service="Aircall",
            )
        return response

    return client.retrying(artifact, "Aircall GET", attempt)


def _url(run: Run) -> str:
    return f"{str(run.inputs['aircall_api_url']).rstrip('/')}/ping"


def _ping(run: Run) -> int | SalesforceError:
    """The ping's HTTP status, or why it could not be sent (a verdict of its own, not a failed read)."""
    inputs = run.inputs
    try:
        response = aircall_ping(
            run.client, _url(run), str(inputs["aircall_api_id"]), str(inputs["aircall_api_token"])
        )
    except SalesforceError as err:
        return err
    return response.status_code


def _verdict(run: Run, status: int | SalesforceError) -> Verdict:
    url = _url(run)
    if isinstance(status, UsageError):
        return Verdict([Blocker("", status.hint, "aircall_api_url", raised=status)])
    if isinstance(status, SalesforceError):
        if status.error_code == "CERTIFICATE_ERROR":
            blocker = Blocker(
                f"the Aircall API at {url} presented a certificate that is not trusted (not retried)",
                f"check {AIRCALL_API_URL.full_name}; behind a TLS-intercepting proxy add its CA with "
                f"{CA_BUNDLE.full_name} (it adds to the default roots)",
                "aircall_api_url",
            )
        else:
            # Aircall, or the network to it, still failing after the client's retries: its failure, not a
            # setting of this stack (a wrong URL answers 404, below).
            failure = SalesforceError(
                status.error_code,
                f"cannot reach the Aircall API at {url}",
                artifact="Preflight",
                status=status.status,
                service="Aircall",
                hint=f"check {AIRCALL_API_URL.full_name} and the network, then run `pulumi up` again",
            )
            blocker = Blocker("", failure.hint, "aircall_api_url", raised=failure)
        return Verdict([blocker])
    if status in (401, 403):
        return Verdict(
            [
                Blocker(
                    f"Aircall refused the API ID and token (HTTP {status})",
                    f"guide: Generate the API Key for Aircall — set {AIRCALL_API_ID.full_name} and "
                    f"`{AIRCALL_API_TOKEN.set_command()}` to a valid key pair",
                    "aircall_api_token",
                )
            ]
        )
    if status != 200:
        return Verdict(
            [
                Blocker(
                    f"Aircall's ping answered HTTP {status}",
                    f"check {AIRCALL_API_URL.full_name} (default {AIRCALL_API_URL.default})",
                    "aircall_api_url",
                )
            ]
        )
    return PASS


AIRCALL_KEY: Check[int | SalesforceError] = Check(
    "Aircall API key", _ping, _verdict, needs=("aircall_api_url", "aircall_api_id", "aircall_api_token")
)
