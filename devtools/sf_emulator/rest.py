"""REST API `/services/data/...`: versions, limits, sObject describe/CRUD/upsert, query and queryMore.

Shapes and error bodies follow the REST API Developer Guide
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/): errors are
`[{"message", "errorCode", "fields"}]` ("Status Codes and Error Responses"), create answers 201
`{"id", "success", "errors"}`, update/delete answer 204, upsert answers 201 (created) or 200/204 (updated),
a missing record is 404 NOT_FOUND.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from . import soql
from .replies import Reply, error_reply, json_reply
from .schema import SCHEMA, SObjectType
from .store import API_VERSION, ApiError, Org, normalize_id


def sobject_for_id(record_id: str) -> SObjectType | None:
    """The object an Id belongs to, by its 3-character key prefix."""
    return next((t for t in SCHEMA.values() if t.key_prefix == record_id[:3]), None)


SUPPORTED_VERSIONS = [f"{v}.0" for v in range(31, int(float(API_VERSION)) + 1)]


def entity_type_error(verb: str, t: SObjectType) -> ApiError:
    """A DML verb the object does not support. Salesforce answers 400 CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY
    "entity type cannot be inserted|updated: <label>" (e.g. PATCH on a custom metadata type record); deletes
    are assumed to follow the same form."""
    return ApiError(400, "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", f"entity type cannot be {verb}: {t.label}")


def not_found() -> ApiError:
    return ApiError(404, "NOT_FOUND", "The requested resource does not exist", fields_member=False)


def method_not_allowed(method: str, allowed: str) -> ApiError:
    """405 for a method the resource does not take, naming those it does, in Salesforce's words.

    REST API Developer Guide, "Status Codes and Error Responses": 405 "The request can't be completed because
    the HTTP method isn't allowed for the resource". Only ever for a method outside ``allowed``.
    "HTTP Method 'PATCH' not allowed. Allowed are GET,HEAD,POST" is Salesforce's answer for an sObject's
    basic-information resource (quoted in OpenFn's docs); the record resource's list (GET,HEAD,PATCH,DELETE)
    follows the methods the guide documents for it.
    """
    assert method not in allowed.split(",")
    return ApiError(
        405,
        "METHOD_NOT_ALLOWED",
        f"HTTP Method '{method}' not allowed. Allowed are {allowed}",
        fields_member=False,
    )


@dataclass
class Route:
    operation: str
    names: list[str] = field(default_factory=list)
    needs_session: bool = True


_DATA = re.compile(r"^/services/data/v(\d+\.\d)(/.*)?$")


def route(method: str, path: str, query: dict[str, str]) -> Route | None:
    """The counter/fault operation for a /services/data request, or None if it is not one of ours."""
    if path.rstrip("/") == "/services/data":
        return Route("rest.versions", needs_session=False)
    m = _DATA.match(path)
    if m is None:
        return None
    rest = (m.group(2) or "/").rstrip("/")
    parts = [p for p in rest.split("/") if p]
    if not parts:
        return Route("rest.resources")
    head = parts[0]
    if head == "limits":
        return Route("rest.limits")
    if head == "query" or head == "queryAll":
        if len(parts) == 1:
            q = query.get("q", "")
            mm = re.search(r"\bfrom\s+([A-Za-z_][A-Za-z0-9_]*)", q, re.IGNORECASE)
            return Route("rest.query", [mm.group(1)] if mm else [])
        return Route("rest.queryMore")
    if head == "composite" and len(parts) == 2 and parts[1] == "sobjects":
        op = {"POST": "create", "PATCH": "update", "DELETE": "delete"}.get(method, "read")
        return Route(f"rest.composite.sobjects.{op}")
    if head == "composite" and len(parts) == 3 and parts[1] == "sobjects":
        # GET ...?ids=&fields= and POST {"ids", "fields"} both read records of one type.
        return Route("rest.composite.sobjects.read", parts[2:3])
    if head == "apps" and len(parts) > 2 and parts[1] == "oauth":
        # Connect REST under /apps/oauth/: credentials/{appId}/{consumerId} and usage.
        return Route(f"connect.oauth_{parts[2]}", parts[3:])
    if head == "sobjects":
        if len(parts) == 1:
            return Route("rest.describe")
        names = parts[1:2] + parts[3:4] if len(parts) == 4 else parts[1:3]
        if len(parts) == 2:
            return Route("rest.sobject.create" if method == "POST" else "rest.describe", names)
        if len(parts) == 3 and parts[2] == "describe":
            return Route("rest.describe", names)
        if len(parts) == 3:
            op = {"GET": "read", "PATCH": "update", "DELETE": "delete", "HEAD": "read"}.get(method, "read")
            return Route(f"rest.sobject.{op}", names)
        if len(parts) == 4 and parts[1].lower() == "user" and parts[3] == "password":
            return Route("rest.sobject.read" if method == "GET" else "rest.sobject.update", names[:1])
        if len(parts) == 4:
            op = {"GET": "read", "PATCH": "upsert", "DELETE": "delete", "HEAD": "read"}.get(method, "upsert")
            return Route(f"rest.sobject.{op}", names)
    return Route("rest.other")


def _release(version: str) -> str:
    """Release label of an API version: v60.0 = Spring '24, then Summer, Winter (named for the next year)."""
    k = int(float(version)) - 60
    season = ("Spring", "Summer", "Winter")[k % 3]
    year = 24 + k // 3 + (1 if season == "Winter" else 0)
    return f"{season} '{year:02d}"


class Cursors:
    """queryMore cursors: the remaining records of a query, kept in memory like a server-side cursor."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, list[dict[str, Any]]] = {}

    def put(self, rest: list[dict[str, Any]]) -> str:
        cid = "01g8d" + secrets.token_hex(5)
        with self._lock:
            self._items[cid] = rest
            # Bounded: a test suite opens few cursors; drop the oldest beyond 1000.
            while len(self._items) > 1000:
                self._items.pop(next(iter(self._items)))
        return cid

    def take(self, cid: str) -> list[dict[str, Any]] | None:
        with self._lock:
            return self._items.pop(cid, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class Rest:
    def __init__(self, org: Org, cursors: Cursors) -> None:
        self.org = org
        self.cursors = cursors

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
        usage: tuple[int, int],
        user_id: str | None = None,
    ) -> Reply:
        try:
            return self._handle(method, path, query, headers, body, usage, user_id)
        except ApiError as e:
            return error_reply(e)

    def _handle(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
        usage: tuple[int, int],
        user_id: str | None,
    ) -> Reply:
        if path.rstrip("/") == "/services/data":
            return json_reply(
                200,
                [
                    {"label": _release(v), "url": f"/services/data/v{v}", "version": v}
                    for v in SUPPORTED_VERSIONS
                ],
            )
        m = _DATA.match(path)
        assert m is not None
        version = m.group(1)
        if version not in SUPPORTED_VERSIONS:
            raise not_found()
        base = f"/services/data/v{version}"
        parts = [p for p in (m.group(2) or "").split("/") if p]
        if not parts:
            resources = {k: f"{base}/{k}" for k in ("sobjects", "query", "queryAll", "limits", "composite")}
            if user_id:
                # Real orgs list the session user's identity URL among the resources. Its My Domain form
                # (Salesforce Help, "Identity URLs": https://MyDomainName.my.salesforce.com/id/orgID/userID),
                # so a client that follows it stays on this org rather than going to login.salesforce.com.
                resources["identity"] = f"{self.org.instance_url}/id/{self.org.organization_id()}/{user_id}"
            return json_reply(200, resources)
        head = parts[0]
        if head == "limits" and len(parts) == 1 and method == "GET":
            used, limit = usage
            return json_reply(
                200,
                {
                    "DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - used)},
                    "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
                    "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
                    "DataStorageMB": {"Max": 1024, "Remaining": 1024},
                    "FileStorageMB": {"Max": 1024, "Remaining": 1024},
                },
            )
        if head in ("query", "queryAll") and method == "GET":
            if len(parts) == 1 and query.get("columns", "").lower() == "true":
                return json_reply(200, soql.columns(self.org, query.get("q", "")))
            if len(parts) == 1:
                return self._query(query.get("q", ""), headers, base)
            if len(parts) == 2:
                return self._query_more(parts[1], headers, base)
        if head == "sobjects":
            return self._sobjects(method, parts[1:], body, base)
        if head == "composite" and parts[1:] == ["sobjects"]:
            return self._collections(method, query, body)
        if head == "composite" and len(parts) == 3 and parts[1] == "sobjects":
            return self._collections_retrieve(method, parts[2], query, body, base)
        raise not_found()

    # ---- sObject Collections ---------------------------------------------------------------------------
    def _collections(self, method: str, query: dict[str, str], body: bytes) -> Reply:
        """``/composite/sobjects`` (REST API Developer Guide, "sObject Collections"): create (POST), update
        (PATCH) or delete (DELETE ``?ids=&allOrNone=``) up to 200 records in one call, answering one
        ``{"id", "success", "errors": [{"statusCode", "message", "fields"}]}`` per record, in order. With
        ``allOrNone`` one failure rolls every record back and the others report
        ALL_OR_NONE_OPERATION_ROLLED_BACK."""
        if method == "DELETE":
            ids = [i for i in query.get("ids", "").split(",") if i]
            all_or_none = query.get("allOrNone", "false").lower() == "true"
            items: list[Any] = ids
        elif method in ("POST", "PATCH"):
            try:
                data = json.loads(body or b"{}")
            except ValueError:
                raise ApiError(
                    400, "JSON_PARSER_ERROR", "Unexpected character: was expecting a JSON value"
                ) from None
            if not isinstance(data, dict) or not isinstance(data.get("records"), list):
                raise ApiError(400, "INVALID_FIELD", "records: a JSON array of sObjects is required")
            all_or_none = bool(data.get("allOrNone", False))
            items = data["records"]
        else:
            raise method_not_allowed(method, "POST,PATCH,DELETE")
        if len(items) > 200:
            raise ApiError(
                400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records"
            )
        results: list[dict[str, Any]] = []
        failed = False

        class _RollBack(Exception):
            pass

        try:
            with self.org.transaction():
                for item in items:
                    try:
                        with self.org.transaction():
                            rid = self._collection_item(method, item)
                        results.append({"id": rid, "success": True, "errors": []})
                    except ApiError as e:
                        failed = True
                        failed_id = item if isinstance(item, str) else (item or {}).get("Id")
                        error = {"statusCode": e.error_code, "message": e.message, "fields": e.fields}
                        results.append({"id": failed_id, "success": False, "errors": [error]})
                if failed and all_or_none:
                    raise _RollBack()
        except _RollBack:
            rolled_back = {
                "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "message": "Record rolled back because not all records were valid and the request was using "
                "AllOrNone header",
                "fields": [],
            }
            for r in results:
                if r["success"]:
                    r.update(success=False, errors=[rolled_back])
                    if method == "POST":
                        r["id"] = None
        return json_reply(200, results)

    def _collections_retrieve(
        self, method: str, type_name: str, query: dict[str, str], body: bytes, base: str
    ) -> Reply:
        """``/composite/sobjects/{sObject}`` (REST API Developer Guide, "Get Records Using sObject
        Collections" and "Get Records With a Request Body Using sObject Collections"): GET
        ``?ids=&fields=`` (about 800 Ids before the URL is too long) or POST ``{"ids": [...], "fields":
        [...]}`` (up to 2,000 records of one type). One answer per Id, in order: the record with the fields
        asked for, or null "if a passed ID is invalid"; "an invalid field name" is HTTP 400."""
        t = self._type(type_name)
        if method == "GET":
            ids: Any = [i for i in query.get("ids", "").split(",") if i]
            fields: Any = [f for f in query.get("fields", "").split(",") if f]
        elif method == "POST":
            data = self._body(body)
            ids, fields = data.get("ids"), data.get("fields")
        else:
            raise method_not_allowed(method, "GET,POST")
        for name, value in (("ids", ids), ("fields", fields)):
            if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                raise ApiError(400, "MISSING_ARGUMENT", f"{name}: a list of one or more is required")
        if len(ids) > 2000:
            raise ApiError(
                400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 2000 records"
            )
        columns = []
        for name in fields:
            f = t.field(name.strip())
            if f is None:
                raise ApiError(
                    400,
                    "INVALID_FIELD",
                    f"No such column '{name}' on entity '{t.name}'. If you are attempting to use a custom "
                    "field, be sure to append the '__c' after the custom field name. Please reference your "
                    "WSDL or the describe call for the appropriate names.",
                    fields_member=False,
                )
            columns.append(f.name)
        records: list[dict[str, Any] | None] = []
        for rid in ids:
            row = self.org.sobject_get(t.name, rid) if normalize_id(rid) else None
            if row is None:
                records.append(None)
                continue
            url = f"{base}/sobjects/{t.name}/{row['Id']}"
            record: dict[str, Any] = {"attributes": {"type": t.name, "url": url}}
            record.update({name: row.get(name) for name in columns})
            records.append(record)
        return json_reply(200, records)

    def _collection_item(self, method: str, item: Any) -> str:
        if method == "DELETE":
            rid = str(item)
            t = sobject_for_id(rid)
            if t is None:
                raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
            self._delete(t, rid)
            return rid
        if not isinstance(item, dict) or not isinstance(item.get("attributes"), dict):
            raise ApiError(400, "INVALID_FIELD", "Each record needs attributes.type")
        t = self.org.sobject_type(str(item["attributes"].get("type", "")))
        if t is None:
            name = item["attributes"].get("type")
            raise ApiError(400, "INVALID_TYPE", f"sObject type '{name}' is not supported.")
        fields = {k: v for k, v in item.items() if k != "attributes"}
        if method == "POST":
            if fields.get("Id") is not None:
                raise ApiError(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
            _, _, reply = self._create(t, fields)
            return str(json.loads(reply)["id"])
        rid = fields.pop("Id", None)
        if not rid:
            raise ApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        row = self.org.sobject_get(t.name, str(rid))
        if row is None:
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        self._update(t, row["Id"], fields)
        return str(row["Id"])

    # ---- query ---------------------------------------------------------------------------------------
    def _batch_size(self, headers: dict[str, str]) -> int:
        size = int(self.org.settings.get("query_batch_size", 2000))
        # Sforce-Query-Options: batchSize=N (200..2000) may lower it, as on Salesforce
        # (REST API Developer Guide, "Query Options Header").
        opt = headers.get("sforce-query-options", "")
        m = re.search(r"batchSize\s*=\s*(\d+)", opt)
        if m:
            size = max(200, min(2000, int(m.group(1))))
        return max(1, size)

    def _page(self, records: list[dict[str, Any]], total: int, size: int, base: str) -> Reply:
        page, rest = records[:size], records[size:]
        out: dict[str, Any] = {"totalSize": total, "done": not rest, "records": page}
        if rest:
            cid = self.cursors.put(rest)
            out["nextRecordsUrl"] = f"{base}/query/{cid}-{total - len(rest)}"
        return json_reply(200, out)

    def _query(self, q: str, headers: dict[str, str], base: str) -> Reply:
        if not q.strip():
            raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        records, total, _is_count = soql.execute(self.org, q)
        return self._page(records, total, self._batch_size(headers), base)

    def _query_more(self, locator: str, headers: dict[str, str], base: str) -> Reply:
        cid, _, offset = locator.rpartition("-")
        rest = self.cursors.take(cid) if cid else None
        if rest is None:
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        total = int(offset) + len(rest) if offset.isdigit() else len(rest)
        size = self._batch_size(headers)
        return self._page(rest, total, size, base)

    # ---- sObjects ------------------------------------------------------------------------------------
    def _type(self, name: str) -> SObjectType:
        t = self.org.sobject_type(name)
        if t is None:
            raise not_found()
        return t

    def _sobjects(self, method: str, parts: list[str], body: bytes, base: str) -> Reply:
        if not parts:
            return json_reply(
                200,
                {
                    "encoding": "UTF-8",
                    "maxBatchSize": 200,
                    "sobjects": [self._describe_head(t, base) for t in self.org.sobject_types()],
                },
            )
        t = self._type(parts[0])
        if len(parts) == 1:
            if method == "POST":
                return self._create(t, self._body(body))
            if method in ("GET", "HEAD"):
                return json_reply(200, {"objectDescribe": self._describe_head(t, base), "recentItems": []})
            raise method_not_allowed(method, "GET,HEAD,POST")
        elif len(parts) == 2 and parts[1] == "describe":
            if method in ("GET", "HEAD"):
                return json_reply(200, self._describe(t, base))
            raise method_not_allowed(method, "GET,HEAD")
        elif len(parts) == 2:
            rid = parts[1]
            if method in ("GET", "HEAD"):
                return json_reply(200, self._shape(t, self._get(t, rid), base))
            if method == "PATCH":
                self._update(t, self._get(t, rid)["Id"], self._body(body))
                return 204, {}, b""
            if method == "DELETE":
                self._delete(t, rid)
                return 204, {}, b""
            raise method_not_allowed(method, "GET,HEAD,PATCH,DELETE")
        elif len(parts) == 3 and t.name == "User" and parts[2] == "password":
            return self._password(method, parts[1], body)
        elif len(parts) == 3:
            return self._by_external_id(method, t, parts[1], parts[2], body, base)
        # Deeper sObject resources (relationship traversal, blob fields, ...) are not emulated.
        raise not_found()

    def _password(self, method: str, user_id: str, body: bytes) -> Reply:
        """`/sobjects/User/{id}/password`: GET says whether it expired, POST sets it, DELETE resets it.

        REST API Developer Guide, "Manage User Passwords" / "Reset User Password": a reset makes the current
        password invalid, emails the user a reset link, and answers a temporary password (`NewPassword`),
        which the user must change at the first login (so GET then says `isExpired: true`)."""
        user = self._get(self._type("User"), user_id)
        expired = f"password_expired:{user['Id']}"
        if method == "GET":
            return json_reply(200, {"isExpired": self.org.meta(expired) == "1"})
        if method in ("POST", "PUT"):
            new = self._body(body).get("NewPassword")
            if not isinstance(new, str) or len(new) < 8:
                raise ApiError(
                    400, "INVALID_NEW_PASSWORD", "Your password must be at least 8 characters long."
                )
            self.org.set_password(user["Id"], new)
            self.org.set_meta_value(expired, "0")
            return 204, {}, b""
        if method == "DELETE":
            temporary = secrets.token_urlsafe(9)
            self.org.set_password(user["Id"], temporary)
            self.org.set_meta_value(expired, "1")
            return json_reply(200, {"NewPassword": temporary})
        raise method_not_allowed(method, "GET,POST,DELETE")

    @staticmethod
    def _body(body: bytes) -> dict[str, Any]:
        try:
            data = json.loads(body or b"{}")
        except ValueError as e:
            raise ApiError(
                400, "JSON_PARSER_ERROR", f"Unexpected character: was expecting a JSON value: {e}"
            ) from None
        if not isinstance(data, dict):
            raise ApiError(
                400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from a JSON array"
            )
        data.pop("attributes", None)
        return data

    def _get(self, t: SObjectType, rid: str) -> dict[str, Any]:
        if normalize_id(rid) is None:
            raise ApiError(
                404, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: " + rid
            )
        row = self.org.sobject_get(t.name, rid)
        if row is None:
            raise not_found()
        return row

    @staticmethod
    def _shape(t: SObjectType, row: dict[str, Any], base: str) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": {"type": t.name, "url": f"{base}/sobjects/{t.name}/{row['Id']}"}}
        for f in t.fields.values():
            out[f.name] = row.get(f.name)
        return out

    def _check_fields(self, t: SObjectType, data: dict[str, Any], creating: bool) -> dict[str, Any]:
        clean: dict[str, Any] = {}
        for k, v in data.items():
            f = t.field(k)
            if f is None:
                raise ApiError(400, "INVALID_FIELD", f"No such column '{k}' on sobject of type {t.name}", [k])
            allowed = f.createable if creating else f.updateable
            if not allowed:
                raise ApiError(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {f.name}. Please check the security settings of "
                    "this field and verify that it is read/write for your profile or permission set.",
                    [f.name],
                )
            if f.type == "boolean" and v is not None and not isinstance(v, bool):
                raise ApiError(
                    400,
                    "JSON_PARSER_ERROR",
                    f"Cannot deserialize instance of boolean from VALUE_STRING value {v}",
                    [f.name],
                )
            if f.type in ("string", "email") and isinstance(v, str) and len(v) > f.length:
                raise ApiError(
                    400,
                    "STRING_TOO_LONG",
                    f"{f.name}: data value too large: {v[:40]} (max length={f.length})",
                    [f.name],
                )
            if f.required and (v is None or v == ""):
                raise ApiError(
                    400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{f.name}]", [f.name]
                )
            clean[f.name] = v
        if creating:
            missing = [f.name for f in t.fields.values() if f.required and f.name not in clean]
            if missing:
                raise ApiError(
                    400,
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(missing)}]",
                    missing,
                )
        return clean

    def _create(self, t: SObjectType, data: dict[str, Any]) -> Reply:
        if not t.createable:
            raise entity_type_error("inserted", t)
        if data.get("Id") is None:
            # A null Id is what clients send for "new"; any other Id is refused below as not createable.
            data.pop("Id", None)
        clean = self._check_fields(t, data, creating=True)
        rid = self.org.sobject_insert(t.name, clean)
        return json_reply(201, {"id": rid, "success": True, "errors": []})

    def _update(self, t: SObjectType, rid: str, data: dict[str, Any]) -> None:
        if not t.updateable:
            raise entity_type_error("updated", t)
        data.pop("Id", None)
        clean = self._check_fields(t, data, creating=False)
        self.org.sobject_update(t.name, rid, clean)

    def _delete(self, t: SObjectType, rid: str) -> None:
        row = self._get(t, rid)
        if t.name == "User":
            self.org.sobject_delete(t.name, row["Id"])  # raises: Users are never deleted
        if not t.deletable:
            raise entity_type_error("deleted", t)
        self.org.sobject_delete(t.name, row["Id"])

    def _by_external_id(
        self, method: str, t: SObjectType, field_name: str, value: str, body: bytes, base: str
    ) -> Reply:
        f = t.field(field_name)
        if f is None or not f.id_lookup:
            # Upsert/lookup keys must be idLookup fields: "Can be used to specify a record in an upsert call"
            # (https://developer.salesforce.com/docs/platform/object-reference/guide/access-for-fields.html);
            # User.Username has it ("Create, Filter, Group, idLookup, Sort, Update", Object Reference "User").
            raise ApiError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {field_name}",
            )
        matches = (
            ([r] if (r := self.org.sobject_get(t.name, value)) else [])
            if f.name == "Id"
            else self.org.sobject_find(t.name, **{f.name: value})
        )
        if method in ("GET", "HEAD"):
            if not matches:
                raise not_found()
            if len(matches) > 1:
                raise ApiError(300, "MULTIPLE_CHOICES", "Multiple records found")
            return json_reply(200, self._shape(t, matches[0], base))
        if method == "DELETE":
            if not matches:
                raise not_found()
            self._delete(t, matches[0]["Id"])
            return 204, {}, b""
        if method != "PATCH":
            raise method_not_allowed(method, "GET,HEAD,PATCH,DELETE")
        data = self._body(body)
        if len(matches) > 1:
            # REST upsert with several matches: 300 with the matching record URLs.
            return json_reply(300, [f"{base}/sobjects/{t.name}/{r['Id']}" for r in matches])
        with self.org.transaction():
            if matches:
                data.pop(f.name, None)
                self._update(t, matches[0]["Id"], data)
                return json_reply(
                    200, {"id": matches[0]["Id"], "success": True, "errors": [], "created": False}
                )
            if f.name == "Id":
                raise not_found()
            data.setdefault(f.name, value)
            if str(data[f.name]).lower() != value.lower():
                raise ApiError(
                    400,
                    "INVALID_FIELD",
                    f"Foreign key external ID: {value} not found for field {f.name} in entity {t.name}",
                    [f.name],
                )
            _, _, reply = self._create(t, data)
            rid = json.loads(reply)["id"]
            return json_reply(201, {"id": rid, "success": True, "errors": [], "created": True})

    # ---- describe ----------------------------------------------------------------------------------
    @staticmethod
    def _describe_head(t: SObjectType, base: str) -> dict[str, Any]:
        return {
            "name": t.name,
            "label": t.label,
            "labelPlural": t.label + "s",
            "keyPrefix": t.key_prefix,
            "createable": t.createable,
            "updateable": t.updateable,
            "deletable": t.deletable,
            "queryable": t.queryable,
            "retrieveable": True,
            "searchable": False,
            "custom": False,
            "urls": {
                "sobject": f"{base}/sobjects/{t.name}",
                "describe": f"{base}/sobjects/{t.name}/describe",
                "rowTemplate": f"{base}/sobjects/{t.name}/{{ID}}",
            },
        }

    def _describe(self, t: SObjectType, base: str) -> dict[str, Any]:
        head = self._describe_head(t, base)
        fields = []
        for f in t.fields.values():
            fields.append(
                {
                    "name": f.name,
                    "label": f.label,
                    "type": f.type,
                    "length": f.length if f.type != "boolean" else 0,
                    "createable": f.createable,
                    "updateable": f.updateable,
                    "nillable": not f.required and f.type != "boolean" and f.name != "Id",
                    "defaultedOnCreate": f.name
                    in (
                        "Id",
                        "IsActive",
                        "CreatedDate",
                        "CreatedById",
                        "LastModifiedDate",
                        "LastModifiedById",
                        "SystemModstamp",
                    ),
                    "idLookup": f.id_lookup,
                    "externalId": f.external_id,
                    "unique": f.unique,
                    "nameField": f.name_field,
                    "referenceTo": [f.reference_to] if f.reference_to else [],
                    "relationshipName": f.relationship_name,
                    "custom": f.custom,
                    "picklistValues": [
                        {"value": v, "label": v, "active": True, "defaultValue": False} for v in f.picklist
                    ],
                }
            )
        return {**head, "fields": fields, "childRelationships": [], "recordTypeInfos": []}
