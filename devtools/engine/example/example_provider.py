"""Dynamic provider of the engine's example program: a PermissionSet record managed over the REST API.

Kept in its own module so dill pickles the provider *by reference* (the provider process imports it from the
project directory), and the connection comes only from `configure()` (`pulumi.dynamic.Config`), never from
the pickle: the pickled provider holds no URL, token or CA path.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pulumi
import requests
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceResourceNotFound

FIELDS = ("Name", "Label", "Description")


class PermissionSetProvider(ResourceProvider):
    _sf: Salesforce | None = None

    def configure(self, req: ConfigureRequest) -> None:
        self._instance_url = req.config.require("example:instanceUrl")
        self._token = req.config.require("example:accessToken")
        self._ca_bundle = req.config.get("example:caBundle")
        self._sf = None

    def _client(self) -> Salesforce:
        if self._sf is None:
            session = requests.Session()
            session.trust_env = False
            if self._ca_bundle:
                session.verify = self._ca_bundle
            self._sf = Salesforce(
                instance_url=self._instance_url, session_id=self._token, session=session, version="63.0"
            )
        return self._sf

    def _permission_sets(self) -> Any:
        # simple-salesforce types attribute access as a union of its bulk/REST handlers; this is the REST one.
        return self._client().PermissionSet

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        name = news.get("name")
        if isinstance(name, str) and not name.replace("_", "").isalnum():
            failures.append(
                CheckFailure("name", "an API name may contain only letters, digits and underscores")
            )
        return CheckResult(news, failures)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in ("name", "label", "description") if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=[k for k in changed if k == "name"])

    def _record(self, props: dict[str, Any]) -> dict[str, Any]:
        return {"Name": props["name"], "Label": props["label"], "Description": props.get("description") or ""}

    def create(self, props: dict[str, Any]) -> CreateResult:
        result = self._permission_sets().create(self._record(props))
        return CreateResult(result["id"], {**props, "record_id": result["id"]})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        self._permission_sets().update(id_, self._record(news))
        return UpdateResult({**news, "record_id": id_})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        # Already gone counts as deleted.
        with contextlib.suppress(SalesforceResourceNotFound):
            self._permission_sets().delete(id_)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        try:
            live = self._permission_sets().get(id_)
        except SalesforceResourceNotFound:
            return ReadResult(None, {})
        outs = {
            **props,
            "name": live["Name"],
            "label": live["Label"],
            "description": live.get("Description") or "",
        }
        return ReadResult(id_, outs)


class PermissionSet(pulumi.dynamic.Resource):
    record_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        api_name: pulumi.Input[str],
        label: pulumi.Input[str],
        description: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {"name": api_name, "label": label, "description": description or "", "record_id": None}
        super().__init__(PermissionSetProvider(), name, props, opts)
