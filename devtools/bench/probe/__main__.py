"""Benchmark probe: PermissionSet records through simple-salesforce REST, one call per operation.

a and c are independent; b's Description holds a's Id, so b waits for a. Expected costs, per run:
up 3 creates (critical path a → b = 2 calls), no-op up 0 calls, refresh 3 reads, destroy 3 deletes.
The connection comes from provider configuration (`configure()`), never from the pickle.
"""

from typing import Any

import pulumi
import requests
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceResourceNotFound


class PermissionSetProvider(ResourceProvider):
    def configure(self, req: Any) -> None:
        self._url = req.config.require("probe:instanceUrl")
        self._token = req.config.require("probe:accessToken")
        self._ca = req.config.get("probe:caBundle")

    def _ps(self) -> Any:
        """The PermissionSet sObject API (typed Any: simple-salesforce resolves sObjects by __getattr__)."""
        session = requests.Session()
        session.verify = self._ca or True
        # REQUESTS_CA_BUNDLE in the environment would override session.verify (psf/requests#3829).
        session.trust_env = False
        sf = Salesforce(instance_url=self._url, session_id=self._token, session=session, version="63.0")
        return sf.PermissionSet

    def create(self, props: dict[str, Any]) -> CreateResult:
        fields = {"Name": props["name"], "Label": props["name"], "Description": props.get("description", "")}
        return CreateResult(self._ps().create(fields)["id"], props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in ("name", "description") if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=[k for k in changed if k == "name"])

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        self._ps().update(_id, {"Description": news.get("description", "")})
        return UpdateResult(news)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        try:
            record = self._ps().get(id_)
        except SalesforceResourceNotFound:
            return ReadResult(None, {})
        live = {"name": record["Name"], "description": record.get("Description") or ""}
        return ReadResult(id_, {**props, **live})

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        self._ps().delete(id_)


class ProbePermissionSet(Resource):
    def __init__(self, name: str, description: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None):
        super().__init__(
            PermissionSetProvider(), name, {"name": f"Bench_{name}", "description": description}, opts
        )


a = ProbePermissionSet("a", description="first")
b = ProbePermissionSet("b", description=a.id.apply(lambda i: f"after {i}"))
c = ProbePermissionSet("c", description="independent")
pulumi.export("a_id", a.id)
