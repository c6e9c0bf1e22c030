"""The HTTP session every Salesforce call of a client goes through (REST, SOAP, the token endpoint).

A module of its own so that `requests` is imported only where a call is made (salesforce/client.py builds
one per client on first use): the program imports the client for its types and makes no call.
"""

from __future__ import annotations

import threading
from typing import Any

import requests


class HttpSession(requests.Session):
    """A Session whose configured CA bundle wins over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE.

    requests lets those environment variables override ``Session.verify`` (psf/requests#3829); with
    ``caBundle`` set that would silently trust a different CA. Proxies from the environment still
    apply (``trust_env`` stays on).
    """

    forced_verify: str | None = None
    _local = threading.local()

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        self._local.status = None
        response = super().request(method, url, *args, **kwargs)
        # zeep turns a non-XML error page (a 503 from a load balancer) into a Fault without a code; the
        # status of the last response on this thread lets the error mapping still see it was a 503.
        self._local.status = response.status_code
        return response

    @property
    def last_status(self) -> int | None:
        return getattr(self._local, "status", None)

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self.forced_verify is not None:
            settings["verify"] = self.forced_verify
        return settings
