"""Metadata SOAP API (``/services/Soap/m/63.0``) of the emulated org.

Requests are parsed and responses rendered through the element and type objects of the WSDL that
simple-salesforce ships (``simple_salesforce/metadata.wsdl``, API v63.0), loaded with zeep: the same schema
the real client uses, so whatever simple-salesforce can send we can read and whatever we answer it can parse.
Behaviour per metadata type lives in ``metadata_types.py``.

Loading the WSDL costs a few hundred milliseconds, so it happens once per process, in a background thread
started when this module is imported (the server imports it at start-up; see :func:`warm_up`), and every
request waits for that single load.
"""

from __future__ import annotations

import base64
import binascii
import io
import secrets
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree

from devtools.sf_emulator import metadata_types as mt
from devtools.sf_emulator.metadata_types import MetadataError, MetadataFault, OrgLike, Record
from devtools.sf_emulator.store import ApiError

if TYPE_CHECKING:
    from zeep import Client

MD_NS = "http://soap.sforce.com/2006/04/metadata"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
API_VERSION = "63.0"

# Metadata API Developer Guide, "CRUD-Based Calls": at most 10 components per create/read/update/upsert/delete
# call (200 for CustomMetadata/CustomApplication, which the emulator does not serve). Fault text as Salesforce
# sends it (certinia/apex-mdapi#105: "EXCEEDED_ID_LIMIT: record limit reached. cannot submit more than 10
# records in this operation").
MAX_RECORDS = 10
# listMetadata takes at most 3 queries per call (Metadata API guide, "listMetadata()").
MAX_LIST_QUERIES = 3

_RECORD_OPERATIONS = ("createMetadata", "updateMetadata", "upsertMetadata")
_NAME_OPERATIONS = ("readMetadata", "deleteMetadata")
_DEPLOY_OPERATIONS = ("deploy", "checkDeployStatus")
_RETRIEVE_OPERATIONS = ("retrieve", "checkRetrieveStatus")
OPERATIONS = (
    *_RECORD_OPERATIONS,
    *_NAME_OPERATIONS,
    "renameMetadata",
    "listMetadata",
    "describeMetadata",
    *_DEPLOY_OPERATIONS,
    *_RETRIEVE_OPERATIONS,
)


# ------------------------------------------------------------------------------------------------------------
# the schema, loaded once per process


@dataclass
class _Schema:
    client: Client
    load_seconds: float
    # simpleType name -> allowed values; zeep keeps no enumeration facets, so they are read from the WSDL.
    enums: dict[str, frozenset[str]]


_schema_lock = threading.Lock()
_schema_value: _Schema | None = None
_schema_thread: threading.Thread | None = None


def wsdl_path() -> Path:
    import simple_salesforce

    return Path(simple_salesforce.__file__).parent / "metadata.wsdl"


def _load_schema() -> _Schema:
    global _schema_value
    with _schema_lock:
        if _schema_value is None:
            started = time.perf_counter()
            from zeep import Client, Settings

            # strict=False: elements missing against minOccurs must reach the type rules (which answer
            # REQUIRED_FIELD_MISSING per record like Salesforce) instead of failing the whole parse; unknown
            # elements are caught by _check_known_elements, which strict mode would otherwise have done.
            client = Client(
                wsdl_path().as_uri(), settings=Settings(strict=False, xsd_ignore_sequence_order=True)
            )
            enums = _enumerations(wsdl_path())
            _schema_value = _Schema(client=client, load_seconds=time.perf_counter() - started, enums=enums)
        return _schema_value


def _enumerations(path: Path) -> dict[str, frozenset[str]]:
    xsd = "http://www.w3.org/2001/XMLSchema"
    enums: dict[str, frozenset[str]] = {}
    for _, node in etree.iterparse(str(path), tag=f"{{{xsd}}}simpleType"):
        values = [e.get("value", "") for e in node.iter(f"{{{xsd}}}enumeration")]
        if values and node.get("name"):
            enums[str(node.get("name"))] = frozenset(values)
        node.clear()
    return enums


def warm_up() -> threading.Thread:
    """Start loading the WSDL in a daemon thread (idempotent): the first Metadata call then rarely waits."""
    global _schema_thread
    if _schema_thread is None:
        _schema_thread = threading.Thread(target=_load_schema, name="metadata-wsdl-load", daemon=True)
        _schema_thread.start()
    return _schema_thread


def schema() -> _Schema:
    return _load_schema()


def wsdl_load_seconds() -> float:
    return schema().load_seconds


# ------------------------------------------------------------------------------------------------------------
# peek: what the server needs before dispatching (session, counters, faults by artifact name)


@dataclass(frozen=True)
class MetadataCall:
    operation: str
    session_id: str | None
    names: list[str] = field(default_factory=list)
    type_name: str | None = None


def _parse_envelope(body: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
    return etree.fromstring(body, parser=parser)


def _operation_element(envelope: etree._Element) -> etree._Element | None:
    soap_body = envelope.find(f"{{{SOAP_NS}}}Body")
    if soap_body is None:
        return None
    for child in soap_body:
        if isinstance(child.tag, str):
            return child
    return None


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _xsi_type_name(node: etree._Element) -> str | None:
    value = node.get(f"{{{XSI_NS}}}type")
    if not value:
        return None
    return value.split(":", 1)[1] if ":" in value else value


def peek(body: bytes) -> MetadataCall:
    """Cheap look at a request (lxml only, no schema): operation, session id, component names, type."""
    try:
        envelope = _parse_envelope(body)
    except etree.XMLSyntaxError:
        return MetadataCall(operation="", session_id=None)
    session_id = None
    header = envelope.find(f"{{{SOAP_NS}}}Header")
    if header is not None:
        node = header.find(f"{{{MD_NS}}}SessionHeader/{{{MD_NS}}}sessionId")
        if node is not None and node.text:
            session_id = node.text.strip()
    op = _operation_element(envelope)
    if op is None:
        return MetadataCall(operation="", session_id=session_id)
    operation = _local(op.tag)
    names: list[str] = []
    type_name: str | None = None
    if operation in _RECORD_OPERATIONS:
        for record in op.findall(f"{{{MD_NS}}}metadata"):
            type_name = type_name or _xsi_type_name(record)
            full_name = record.findtext(f"{{{MD_NS}}}fullName")
            if full_name:
                names.append(full_name.strip())
    elif operation in _NAME_OPERATIONS:
        type_name = op.findtext(f"{{{MD_NS}}}type")
        names = [(n.text or "").strip() for n in op.findall(f"{{{MD_NS}}}fullNames")]
    elif operation == "renameMetadata":
        type_name = op.findtext(f"{{{MD_NS}}}type")
        names = [
            (op.findtext(f"{{{MD_NS}}}oldFullName") or "").strip(),
            (op.findtext(f"{{{MD_NS}}}newFullName") or "").strip(),
        ]
    elif operation == "listMetadata":
        type_name = op.findtext(f"{{{MD_NS}}}queries/{{{MD_NS}}}type")
    elif operation == "deploy":
        # The package's members, so fault injection by artifact name reaches a deploy too.
        try:
            members = _package_members(_zip_from(op))
        except MetadataFault:
            members = []
        names = [name for _, name in members]
        type_name = members[0][0] if members else None
    elif operation == "retrieve":
        # The manifest's members (the parameter element is named by position: retrieveRequest or request).
        types = op.findall(f"{{{MD_NS}}}*/{{{MD_NS}}}unpackaged/{{{MD_NS}}}types")
        names = [(m.text or "").strip() for t in types for m in t.findall(f"{{{MD_NS}}}members")]
        type_name = types[0].findtext(f"{{{MD_NS}}}name") if types else None
    return MetadataCall(operation=operation, session_id=session_id, names=names, type_name=type_name)


# ------------------------------------------------------------------------------------------------------------
# SOAP faults


def soap_fault(fault_code: str, message: str) -> bytes:
    """A SOAP 1.1 fault as the Metadata API sends it.

    For ``sf:`` codes Salesforce prefixes the faultstring with the code and adds an
    ``sf:UnexpectedErrorFault`` detail carrying exceptionCode/exceptionMessage (e.g.
    forcedotcom/postman-salesforce-apis#56: ``<faultcode>sf:INVALID_SESSION_ID</faultcode><faultstring>
    INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session</faultstring>``).
    ``soapenv:`` codes (XML/schema errors) carry the text alone.
    """
    nsmap = {"soapenv": SOAP_NS, "sf": MD_NS, "xsi": XSI_NS}
    envelope = etree.Element(f"{{{SOAP_NS}}}Envelope", nsmap=nsmap)
    fault = etree.SubElement(etree.SubElement(envelope, f"{{{SOAP_NS}}}Body"), f"{{{SOAP_NS}}}Fault")
    etree.SubElement(fault, "faultcode").text = fault_code
    if fault_code.startswith("sf:"):
        code = fault_code[3:]
        etree.SubElement(fault, "faultstring").text = f"{code}: {message}"
        detail = etree.SubElement(fault, "detail")
        unexpected = etree.SubElement(detail, f"{{{MD_NS}}}UnexpectedErrorFault")
        unexpected.set(f"{{{XSI_NS}}}type", "sf:UnexpectedErrorFault")
        etree.SubElement(unexpected, f"{{{MD_NS}}}exceptionCode").text = code
        etree.SubElement(unexpected, f"{{{MD_NS}}}exceptionMessage").text = message
    else:
        etree.SubElement(fault, "faultstring").text = message
    return to_bytes(envelope)


def _fault(exc: MetadataFault) -> tuple[int, bytes]:
    # SOAP 1.1 over HTTP: faults travel with status 500 (Salesforce does the same for API faults).
    return 500, soap_fault(exc.fault_code, exc.message)


# ------------------------------------------------------------------------------------------------------------
# request parsing through the schema


def _check_simple_value(node: etree._Element, xsd_type: Any) -> None:
    """Reject a value its simple type does not allow, with the parser's wording.

    Booleans: "'' is not valid for type xsd:boolean, should be '0', '1', 'true' or 'false'"
    (certinia/apex-mdapi#146, faultcode soapenv:Client). Enumerations: "'Edit' is not a valid value for the
    enum 'ShareAccessLevelRead'" (Salesforce's answer quoted in public deploy notes).
    """
    from zeep.xsd.types.builtins import Boolean

    text = (node.text or "").strip()
    if isinstance(xsd_type, Boolean):
        if text not in ("0", "1", "true", "false"):
            raise MetadataFault(
                "soapenv:Client",
                f"'{text}' is not valid for type xsd:boolean, should be '0', '1', 'true' or 'false'",
            )
        return
    qname = getattr(xsd_type, "qname", None)
    if qname is None or etree.QName(qname).namespace != MD_NS:
        return
    allowed = schema().enums.get(etree.QName(qname).localname)
    if allowed is not None and text not in allowed:
        raise MetadataFault(
            "soapenv:Client", f"'{text}' is not a valid value for the enum '{etree.QName(qname).localname}'"
        )


def _check_known_elements(node: etree._Element, xsd_type: Any, client: Client) -> None:
    """Reject any element the (xsi:)type does not declare, like Salesforce's parser does.

    Salesforce answers a SOAP fault "Element {http://soap.sforce.com/2006/04/metadata}foo invalid at this
    location" (seen for ExtlClntAppOauthConfigurablePolicies with a misspelt element; same wording from the
    partner API, phpforce/soap-client#34 "Element {}item invalid at this location").
    """
    from zeep.xsd import ComplexType

    if not isinstance(xsd_type, ComplexType):
        if node.get(f"{{{XSI_NS}}}nil") not in ("true", "1"):
            _check_simple_value(node, xsd_type)
        return
    elements = dict(xsd_type.elements)
    for child in node:
        if not isinstance(child.tag, str):
            continue
        qname = etree.QName(child.tag)
        element = elements.get(qname.localname) if qname.namespace == MD_NS else None
        if element is None:
            raise MetadataFault(
                "soapenv:Client",
                f"Element {{{qname.namespace or ''}}}{qname.localname} invalid at this location",
            )
        child_type = element.type
        xsi_type = _xsi_type_name(child)
        if xsi_type:
            child_type = _lookup_type(client, xsi_type)
        _check_known_elements(child, child_type, client)


def _lookup_type(client: Client, type_name: str) -> Any:
    try:
        return client.get_type(f"{{{MD_NS}}}{type_name}")
    except Exception as exc:  # zeep.exceptions.LookupError: its message lists every type in the WSDL
        raise MetadataFault("sf:INVALID_TYPE", f"Unknown type: {type_name}") from exc


def _parse_operation(op: etree._Element) -> Any:
    client = schema().client
    operation = _local(op.tag)
    element = client.get_element(f"{{{MD_NS}}}{operation}")
    # Records are typed by xsi:type; check their element names against that type before zeep reads them.
    if operation in _RECORD_OPERATIONS:
        for record in op.findall(f"{{{MD_NS}}}metadata"):
            type_name = _xsi_type_name(record)
            if not type_name:
                raise MetadataFault(
                    "sf:INVALID_TYPE",
                    "Cannot use: Metadata in this context; specify the component type with xsi:type",
                )
            _check_known_elements(record, _lookup_type(client, type_name), client)
    else:
        _bind_parameters_by_position(op, element.type)
        _check_known_elements(op, element.type, client)
    return element.parse(op, client.wsdl.types)


def _bind_parameters_by_position(op: etree._Element, xsd_type: Any) -> None:
    """Name the operation's parameter elements as the WSDL does, by their position.

    Salesforce's SOAP endpoint binds an operation's parameters by order, not by element name: jsforce (the
    Salesforce CLI's client) sends ``<retrieve><request>`` where the WSDL names it ``retrieveRequest``
    (jsforce lib/api/metadata.js, ``retrieve()``), and that is how every ``sf project retrieve`` reaches
    real orgs. Children already named as a parameter are left alone; nested elements are still checked
    strictly.
    """
    expected = [name for name, _ in xsd_type.elements]
    for position, child in enumerate(c for c in op if isinstance(c.tag, str)):
        name = _local(child.tag)
        if name not in expected and position < len(expected):
            child.tag = f"{{{MD_NS}}}{expected[position]}"


def _to_plain(value: Any) -> Any:
    """zeep values -> plain dict/list/scalars without unset (None or empty-list) elements."""
    from zeep.helpers import serialize_object

    plain = serialize_object(value, dict)
    return _prune(plain)


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items() if not k.startswith("_")}
        return {k: v for k, v in pruned.items() if v is not None and v != []}
    if isinstance(value, list):
        return [_prune(v) for v in value if v is not None]
    return value


# ------------------------------------------------------------------------------------------------------------
# response rendering through the schema


def _to_zeep(xsd_type: Any, data: Record) -> Any:
    """Build a zeep value of ``xsd_type`` from a plain record; bookkeeping keys are dropped."""
    from zeep.xsd import ComplexType, SkipValue

    kwargs: dict[str, Any] = {}
    for name, element in xsd_type.elements:
        value = data.get(name)
        if value is None or value == []:
            if element.min_occurs and not element.accepts_multiple:
                # A required element the component does not have (the empty record readMetadata returns for
                # a missing name): leave it out rather than fail zeep's render-time validation.
                kwargs[name] = SkipValue
            continue
        if isinstance(element.type, ComplexType):
            if element.accepts_multiple:
                kwargs[name] = [_to_zeep(element.type, v) for v in value]
            else:
                kwargs[name] = _to_zeep(element.type, value)
        else:
            kwargs[name] = value
    return xsd_type(**kwargs)


XSD_NS = "http://www.w3.org/2001/XMLSchema"
# Salesforce writes its declaration with double quotes (lxml's own uses single quotes).
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'


def to_bytes(envelope: etree._Element) -> bytes:
    return XML_DECLARATION + etree.tostring(envelope, encoding="UTF-8", xml_declaration=False)


def _envelope(response_element: str, **values: Any) -> bytes:
    client = schema().client
    element = client.get_element(f"{{{MD_NS}}}{response_element}")
    rendered = etree.Element(f"{{{SOAP_NS}}}Envelope", nsmap={"soapenv": SOAP_NS, "xsi": XSI_NS})
    soap_body = etree.SubElement(rendered, f"{{{SOAP_NS}}}Body")
    element.render(soap_body, element(**values))
    return to_bytes(salesforce_shape(rendered))


def salesforce_shape(rendered: etree._Element) -> etree._Element:
    """The envelope zeep rendered, re-written the way the Metadata API writes its replies.

    zeep prefixes every element (``ns0:``) and every ``xsi:type`` (``ns0:AuthProvider``). Salesforce declares
    the metadata namespace as the default one on the Envelope and writes ``xsi:type`` unprefixed:
    ``<soapenv:Envelope xmlns:soapenv=... xmlns="http://soap.sforce.com/2006/04/metadata"><soapenv:Body>
    <checkRetrieveStatusResponse><result>...`` (a recorded reply in CumulusCI's
    cumulusci/tasks/salesforce/tests/test_Deploy.py, test_collision_check_*), and for typed records
    ``<readMetadataResponse><result><records xsi:type="SecuritySettings">``. Clients that resolve xsi:type by
    string (jsforce, hence the Salesforce CLI) read a prefixed type as unknown and drop the record.
    """
    needs_xsd = any(
        _type_namespace(node) == XSD_NS for node in rendered.iter() if node.get(f"{{{XSI_NS}}}type")
    )
    nsmap: dict[str | None, str] = {"soapenv": SOAP_NS, None: MD_NS, "xsi": XSI_NS}
    if needs_xsd:
        nsmap["xsd"] = XSD_NS
    shaped = etree.Element(rendered.tag, nsmap=nsmap)
    _copy_children(rendered, shaped)
    return shaped


def _type_namespace(node: etree._Element) -> str | None:
    value = node.get(f"{{{XSI_NS}}}type") or ""
    prefix = value.split(":", 1)[0] if ":" in value else None
    return node.nsmap.get(prefix)


def _copy_children(source: etree._Element, target: etree._Element) -> None:
    for child in source:
        if not isinstance(child.tag, str):
            continue
        copy = etree.SubElement(target, child.tag)
        for name, value in child.attrib.items():
            if name == f"{{{XSI_NS}}}type":
                local = value.split(":", 1)[-1]
                value = f"xsd:{local}" if _type_namespace(child) == XSD_NS else local
            copy.set(name, value)
        copy.text = child.text
        _copy_children(child, copy)


def _error_values(exc: MetadataError) -> dict[str, Any]:
    error: dict[str, Any] = {"statusCode": exc.status_code, "message": exc.message}
    if exc.fields:
        error["fields"] = exc.fields
    return error


def _result(type_name: str, full_name: str, error: MetadataError | None, **extra: Any) -> Any:
    client = schema().client
    xsd_type = client.get_type(f"{{{MD_NS}}}{type_name}")
    error_type = client.get_type(f"{{{MD_NS}}}Error")
    values: dict[str, Any] = {"fullName": full_name, "success": error is None, **extra}
    if error is not None:
        values["errors"] = [error_type(**_error_values(error))]
    return xsd_type(**values)


# ------------------------------------------------------------------------------------------------------------
# operations


def _rule(type_name: str | None) -> mt.TypeRule:
    if not type_name:
        raise MetadataFault("sf:INVALID_TYPE", "Unknown type: ")
    rule = mt.rule_for(type_name)
    if rule is not None:
        return rule
    client = schema().client
    _lookup_type(client, type_name)  # a name the WSDL does not know at all: Salesforce's "Unknown type"
    # A real type the emulator does not model: fail loudly so a test never mistakes it for "not found".
    raise MetadataFault("sf:INVALID_TYPE", f"Cannot use: {type_name} in this organization (not emulated)")


def _check_limit(count: int) -> None:
    if count > MAX_RECORDS:
        raise MetadataFault(
            "sf:EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RECORDS} records in this operation",
        )


def _required_missing(type_name: str, record: Record) -> MetadataError | None:
    """Top-level elements the WSDL marks required (minOccurs=1) that the record lacks."""
    xsd_type = schema().client.get_type(f"{{{MD_NS}}}{type_name}")
    for name, element in xsd_type.elements:
        if element.min_occurs and not element.accepts_multiple and record.get(name) in (None, ""):
            return mt.required(name)
    return None


def _records(parsed: Any) -> list[tuple[str, Record]]:
    out: list[tuple[str, Record]] = []
    for value in parsed.metadata or []:
        out.append((type(value).__name__, _to_plain(value)))
    return out


def _save_records(org: OrgLike, operation: str, parsed: Any) -> bytes:
    records = _records(parsed)
    _check_limit(len(records))
    results = []
    with org.transaction():
        for type_name, record in records:
            full_name = record.get("fullName", "")
            created = False
            error: MetadataError | None = None
            try:
                rule = _rule(type_name)
                if not full_name:
                    raise mt.required("fullName")
                missing = _required_missing(type_name, record)
                if missing is not None:
                    raise missing
                if operation == "createMetadata":
                    rule.create(org, record)
                elif operation == "updateMetadata":
                    rule.update(org, record)
                elif rule.get(org, full_name) is None:
                    rule.create(org, record)
                    created = True
                else:
                    rule.update(org, record)
            except MetadataError as exc:
                error = exc
            except ApiError as exc:  # a store data rule (unique username, ...) refused a write of this record
                error = MetadataError(exc.error_code, exc.message, exc.fields)
            if operation == "upsertMetadata":
                results.append(_result("UpsertResult", full_name, error, created=created and error is None))
            else:
                results.append(_result("SaveResult", full_name, error))
    return _envelope(f"{operation}Response", result=results)


def _read(org: OrgLike, parsed: Any) -> bytes:
    names = [n for n in (parsed.fullNames or [])]
    _check_limit(len(names))
    rule = _rule(parsed.type)
    client = schema().client
    xsd_type = client.get_type(f"{{{MD_NS}}}{rule.type_name}")
    records = []
    for name in names:
        stored = rule.get(org, name)
        # A missing name yields an empty record of the type, not an error and not a shorter list
        # (certinia/apex-mdapi#142: "I get back an 'empty' object instead of an empty records list").
        visible = rule.read(org, stored) if stored is not None else {}
        records.append(_to_zeep(xsd_type, visible))
    read_result = client.get_type(f"{{{MD_NS}}}ReadResult")
    return _envelope("readMetadataResponse", result=read_result(records=records))


def _delete(org: OrgLike, parsed: Any) -> bytes:
    names = [n for n in (parsed.fullNames or [])]
    _check_limit(len(names))
    rule = _rule(parsed.type)
    results = []
    with org.transaction():
        for name in names:
            error: MetadataError | None = None
            try:
                rule.delete(org, name)
            except MetadataError as exc:
                error = exc
            except ApiError as exc:
                error = MetadataError(exc.error_code, exc.message, exc.fields)
            results.append(_result("DeleteResult", name, error))
    return _envelope("deleteMetadataResponse", result=results)


def _rename(org: OrgLike, parsed: Any) -> bytes:
    rule = _rule(parsed.type)
    error: MetadataError | None = None
    with org.transaction():
        try:
            if not parsed.newFullName:
                raise mt.required("newFullName")
            rule.rename(org, parsed.oldFullName, parsed.newFullName)
        except MetadataError as exc:
            error = exc
        except ApiError as exc:
            error = MetadataError(exc.error_code, exc.message, exc.fields)
    return _envelope("renameMetadataResponse", result=_result("SaveResult", parsed.newFullName or "", error))


def _user(org: OrgLike, user_id: Any) -> dict[str, Any] | None:
    return org.sobject_get("User", str(user_id)) if user_id else None


def _list(org: OrgLike, parsed: Any) -> bytes:
    queries = list(parsed.queries or [])
    if len(queries) > MAX_LIST_QUERIES:
        raise MetadataFault(
            "sf:EXCEEDED_ID_LIMIT",
            f"Too many queries: listMetadata accepts at most {MAX_LIST_QUERIES} queries per call",
        )
    client = schema().client
    file_properties = client.get_type(f"{{{MD_NS}}}FileProperties")
    admin = mt.admin_user(org)
    admin_id = str(admin["Id"]) if admin else ""
    admin_name = str(admin.get("Name") or admin.get("Username") or "") if admin else ""
    out = []
    for query in queries:
        rule = _rule(query.type)
        for record in sorted(rule.list_names(org), key=lambda r: str(r["fullName"]).lower()):
            creator = _user(org, record.get("_created_by"))
            creator_name = str(creator.get("Name") or creator.get("Username")) if creator else admin_name
            out.append(
                file_properties(
                    createdById=str(creator["Id"]) if creator else admin_id,
                    createdByName=creator_name,
                    createdDate=_md_date(record.get("_created")),
                    fileName=f"{rule.directory}/{record['fullName']}.{rule.suffix}",
                    fullName=record["fullName"],
                    id=record.get("_id", ""),
                    lastModifiedById=admin_id,
                    lastModifiedByName=admin_name,
                    lastModifiedDate=_md_date(record.get("_modified") or record.get("_created")),
                    manageableState="unmanaged",
                    type=rule.type_name,
                )
            )
    return _envelope("listMetadataResponse", result=out)


def _md_date(value: Any) -> str:
    """A dateTime as the Metadata API writes it, UTC with a ``Z`` (``2024-03-01T10:00:00.000Z``, as in
    FileProperties of listMetadata replies), where the REST/sObject side keeps ``.000+0000``."""
    text = str(value or mt.now_iso())
    return text[:-5] + "Z" if text.endswith("+0000") else text


def _describe(org: OrgLike, parsed: Any) -> bytes:
    client = schema().client
    describe_object = client.get_type(f"{{{MD_NS}}}DescribeMetadataObject")
    # A settings type is listed once, as Settings (Metadata API Developer Guide, "Settings").
    listed = {rule.manifest_type or rule.type_name: rule for rule in mt.RULES.values()}
    objects = [
        describe_object(
            directoryName=rule.directory,
            inFolder=False,
            metaFile=False,
            suffix=rule.suffix,
            xmlName=xml_name,
        )
        for xml_name, rule in listed.items()
    ]
    result_type = client.get_type(f"{{{MD_NS}}}DescribeMetadataResult")
    result = result_type(
        metadataObjects=objects, organizationNamespace="", partialSaveAllowed=True, testRequired=False
    )
    return _envelope("describeMetadataResponse", result=result)


# ------------------------------------------------------------------------------------------------------------
# deploy / checkDeployStatus (Metadata API Developer Guide: "deploy()", "DeployOptions",
# "checkDeployStatus()", "DeployResult"). deploy() is asynchronous in Salesforce: it answers an AsyncResult
# (id, state Queued) and the outcome is read with checkDeployStatus(id, includeDetails) -> DeployResult
# {success, status, details {componentFailures[{problem, problemType, fullName, componentType, fileName}],
# componentSuccesses}}. With
# DeployOptions.checkOnly the deploy is a validation: "the components aren't saved to the organization"
# (DeployOptions, checkOnly). The emulator runs the whole deploy at the deploy() call and keeps the result in
# memory (not in the store: a validation must not count as a write), answering it on the first status check.

_deploy_lock = threading.Lock()


def _async_id(key_prefix: str) -> str:
    """An 18-character Id for an async job (0Af deploy, 09S retrieve), kept out of the store: a validation
    or a retrieve must not count as a write."""
    from devtools.sf_emulator.store import id18

    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    return id18(key_prefix + "8d" + "".join(secrets.choice(alphabet) for _ in range(10)))
_deploy_results: dict[str, Record] = {}


class _Rollback(Exception):
    """Raised inside the store transaction to undo a validation-only (or failed) deploy."""


def _flag(node: etree._Element, name: str, default: bool) -> bool:
    text = node.findtext(f"{{{MD_NS}}}{name}")
    if text is None or not text.strip():
        return default
    # simple-salesforce's string template (messages.DEPLOY_MSG) renders Python booleans, "True"/"False", which
    # are not xsd:boolean literals; its deploy() is documented as working against Salesforce, so the parser
    # there evidently takes them. Anything else is refused with the boolean parser's wording.
    value = text.strip().lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise MetadataFault(
        "soapenv:Client",
        f"'{text.strip()}' is not valid for type xsd:boolean, should be '0', '1', 'true' or 'false'",
    )


def _zip_from(op: etree._Element) -> zipfile.ZipFile:
    text = "".join((op.findtext(f"{{{MD_NS}}}ZipFile") or "").split())
    if not text:
        raise MetadataFault("soapenv:Client", "ZipFile: required element missing")
    try:
        raw = base64.b64decode(text, validate=True)
        return zipfile.ZipFile(io.BytesIO(raw))
    except (binascii.Error, zipfile.BadZipFile, ValueError) as exc:
        raise MetadataFault("sf:INVALID_ZIP", "The zip file is not a valid zip archive") from exc


def _package_root(archive: zipfile.ZipFile) -> str:
    """The folder holding package.xml: the zip root for singlePackage deploys, else one folder down."""
    names = archive.namelist()
    if "package.xml" in names:
        return ""
    nested = [n for n in names if n.count("/") == 1 and n.endswith("/package.xml")]
    if len(nested) == 1:
        return nested[0][: -len("package.xml")]
    raise MetadataFault("sf:INVALID_ZIP", "No package.xml found")


def _package_members(archive: zipfile.ZipFile) -> list[tuple[str, str]]:
    root = _package_root(archive)
    try:
        package = _parse_envelope(archive.read(f"{root}package.xml"))
    except etree.XMLSyntaxError as exc:
        raise MetadataFault("sf:INVALID_ZIP", f"package.xml: {exc.msg}") from exc
    members: list[tuple[str, str]] = []
    for types in package.findall(f"{{{MD_NS}}}types"):
        type_name = (types.findtext(f"{{{MD_NS}}}name") or "").strip()
        for member in types.findall(f"{{{MD_NS}}}members"):
            members.append((type_name, (member.text or "").strip()))
    return members


def _component_record(type_name: str, full_name: str, content: bytes) -> Record:
    """A component file -> the record dict createMetadata would have received, parsed through the WSDL type.

    The file's root element is the type name in the metadata namespace (e.g. ``<ConnectedApp xmlns=
    "http://soap.sforce.com/2006/04/metadata">``); fullName comes from the file name, not the content.
    """
    client = schema().client
    try:
        root = _parse_envelope(content)
    except etree.XMLSyntaxError as exc:
        raise MetadataError("INVALID_CROSS_REFERENCE_KEY", f"Error parsing file: {exc.msg}") from exc
    qname = etree.QName(root.tag)
    if qname.namespace != MD_NS or qname.localname != type_name:
        raise MetadataError(
            "INVALID_TYPE",
            f"Error parsing file: root element {qname.localname} does not match type {type_name}",
        )
    xsd_type = _lookup_type(client, type_name)
    try:
        _check_known_elements(root, xsd_type, client)
    except MetadataFault as exc:  # a file error is that component's failure, not a fault of the call
        raise MetadataError("INVALID_FIELD", exc.message) from exc
    record: Record = _to_plain(xsd_type.parse_xmlelement(root, client.wsdl.types))
    record["fullName"] = full_name
    return record


def _deploy_component(org: OrgLike, type_name: str, full_name: str, content: bytes) -> bool:
    """Save one component with the CRUD path's rules: create if it does not exist, else update."""
    rule = _rule(type_name)
    rule.check_deployable(org)
    record = _component_record(type_name, full_name, content)
    missing = _required_missing(type_name, record)
    if missing is not None:
        raise missing
    created = rule.get(org, full_name) is None
    with org.transaction():  # a savepoint: this component's writes alone are undone if it fails
        if created:
            rule.create(org, record)
        else:
            rule.update(org, record)
    return created


def _deploy(org: OrgLike, op: etree._Element) -> bytes:
    options = op.find(f"{{{MD_NS}}}DeployOptions")
    if options is None:
        raise MetadataFault("soapenv:Client", "DeployOptions: required element missing")
    check_only = _flag(options, "checkOnly", False)
    rollback_on_error = _flag(options, "rollbackOnError", True)
    if not check_only and not rollback_on_error:
        # Partial deploys (rollbackOnError false, sandboxes only) keep the components that succeeded; the
        # emulator only models all-or-nothing deploys.
        raise MetadataFault("sf:INVALID_OPERATION", "rollbackOnError=false is not emulated")
    archive = _zip_from(op)
    root = _package_root(archive)
    members = _package_members(archive)
    stamp = mt.now_iso()
    successes: list[Record] = []
    failures: list[Record] = []
    try:
        with org.transaction():
            for type_name, full_name in members:
                component_type, rule = mt.manifest_rule(type_name, full_name)
                directory = rule.directory if rule is not None else type_name
                suffix = rule.suffix if rule is not None else type_name
                file_name = f"{directory}/{full_name}.{suffix}"
                message: Record = {
                    "changed": False,
                    "componentType": type_name,
                    "created": False,
                    "createdDate": stamp,
                    "deleted": False,
                    "fileName": file_name,
                    "fullName": full_name,
                    "success": False,
                }
                try:
                    if rule is None:
                        _rule(component_type)  # raises the CRUD path's INVALID_TYPE fault text
                    try:
                        content = archive.read(f"{root}{file_name}")
                    except KeyError:
                        # Salesforce's wording for a package.xml member without its file.
                        raise MetadataError(
                            "INVALID_CROSS_REFERENCE_KEY",
                            f"An object '{full_name}' of type {type_name} was named in package.xml, but was "
                            "not found in zipped directory",
                        ) from None
                    created = _deploy_component(org, component_type, full_name, content)
                    saved = rule.get(org, full_name) if rule is not None else None
                    message.update(changed=True, created=created, success=True)
                    if saved and saved.get("_id"):
                        message["id"] = saved["_id"]
                    successes.append(message)
                except MetadataFault as exc:
                    message.update(problem=exc.message, problemType="Error")
                    failures.append(message)
                except MetadataError as exc:
                    message.update(problem=exc.message, problemType="Error")
                    failures.append(message)
                except ApiError as exc:
                    message.update(problem=exc.message, problemType="Error")
                    failures.append(message)
            if check_only or failures:
                # A validation saves nothing; a failed deploy with rollbackOnError saves nothing either.
                raise _Rollback()
    except _Rollback:
        pass
    # DeployResult as the Salesforce CLI's own test fixture records one (baseDeployResponse in the CLI deploy
    # plugins' tests): package.xml is the first component success (componentType "", changed true), each
    # component success carries its id, and runTestResult is there with no tests run.
    package_message: Record = {
        "changed": True,
        "componentType": "",
        "created": False,
        "createdDate": stamp,
        "deleted": False,
        "fileName": "package.xml",
        "fullName": "package.xml",
        "success": True,
    }
    successes.insert(0, package_message)
    async_id = _async_id("0Af")
    admin = mt.admin_user(org)
    result: Record = {
        "checkOnly": check_only,
        "completedDate": stamp,
        "createdBy": str(admin["Id"]) if admin else "",
        "createdByName": str(admin.get("Name") or "") if admin else "",
        "createdDate": stamp,
        "details": {
            "componentFailures": failures,
            "componentSuccesses": successes,
            "runTestResult": {"numFailures": 0, "numTestsRun": 0, "totalTime": 0.0},
        },
        "done": True,
        "id": async_id,
        "ignoreWarnings": _flag(options, "ignoreWarnings", False),
        "lastModifiedDate": stamp,
        "numberComponentErrors": len(failures),
        "numberComponentsDeployed": 0 if failures else len(successes) - 1,
        "numberComponentsTotal": len(members),
        "numberTestErrors": 0,
        "numberTestsCompleted": 0,
        "numberTestsTotal": 0,
        "rollbackOnError": rollback_on_error,
        "runTestsEnabled": False,
        "startDate": stamp,
        "status": "Failed" if failures else "Succeeded",
        "success": not failures,
    }
    result["_pending_checks"] = int(org.settings.get("deploy_checks_in_progress", 0) or 0)
    with _deploy_lock:
        _deploy_results[async_id] = result
    client = schema().client
    async_result = client.get_type(f"{{{MD_NS}}}AsyncResult")
    return _envelope("deployResponse", result=async_result(done=False, id=async_id, state="Queued"))


def _check_deploy_status(parsed: Any) -> bytes:
    with _deploy_lock:
        result = _deploy_results.get(str(parsed.asyncProcessId or ""))
        if result is None:
            raise MetadataFault("sf:INVALID_ID_FIELD", f"invalid id: {parsed.asyncProcessId or ''}")
        in_progress = result["_pending_checks"] > 0
        if in_progress:
            result["_pending_checks"] -= 1
    shown = {k: v for k, v in result.items() if not k.startswith("_")}
    if in_progress:
        # DeployResult while running: done false, status InProgress, nothing reported yet.
        shown.update(done=False, status="InProgress", success=False, details={})
        shown.update(numberComponentsDeployed=0, numberComponentErrors=0, completedDate=None)
    if not parsed.includeDetails:
        shown["details"] = {}
    xsd_type = schema().client.get_type(f"{{{MD_NS}}}DeployResult")
    return _envelope("checkDeployStatusResponse", result=_to_zeep(xsd_type, shown))


# ------------------------------------------------------------------------------------------------------------
# retrieve / checkRetrieveStatus (Metadata API Developer Guide: "retrieve()", "RetrieveRequest",
# "checkRetrieveStatus()", "RetrieveResult"): the reverse of deploy. retrieve() answers an AsyncResult
# (Queued); checkRetrieveStatus(id, includeZip) answers RetrieveResult {done, status Succeeded, success,
# fileProperties (one per file, package.xml included), messages (members that do not exist), zipFile}. The
# shapes follow a recorded checkRetrieveStatusResponse (CumulusCI cumulusci/tasks/salesforce/tests/
# test_Deploy.py, test_collision_check_*): package.xml's fileProperties has fullName = fileName
# ("unpackaged/package.xml"), an empty id and type Package; each missing member is a message on
# unpackaged/package.xml, "Entity of type 'CustomField' named '...' cannot be found". Without
# singlePackage the files sit under unpackaged/ ("unpackaged/package.xml"). Each component file is what
# readMetadata would answer for it (the same per-type read rule, so write-only secrets stay out), fullName
# left out (the file name carries it), in the type's directory with its suffix. Like deploy, the emulator does
# the work at the retrieve() call and keeps the result in memory until it is read.

_retrieve_results: dict[str, Record] = {}


def component_file(type_name: str, record: Record) -> bytes:
    """A component's source file as Salesforce writes it in a retrieve zip (4-space indented, default ns)."""
    xsd_type = schema().client.get_type(f"{{{MD_NS}}}{type_name}")
    root = etree.Element(f"{{{MD_NS}}}{type_name}", nsmap={None: MD_NS})
    xsd_type.render(root, _to_zeep(xsd_type, {k: v for k, v in record.items() if k != "fullName"}))
    etree.indent(root, space="    ")
    return XML_DECLARATION + b"\n" + etree.tostring(root, encoding="UTF-8") + b"\n"


def _package_xml(members: dict[str, list[str]], version: str) -> bytes:
    root = etree.Element(f"{{{MD_NS}}}Package", nsmap={None: MD_NS})
    for type_name in sorted(members):
        types = etree.SubElement(root, f"{{{MD_NS}}}types")
        for name in members[type_name]:
            etree.SubElement(types, f"{{{MD_NS}}}members").text = name
        etree.SubElement(types, f"{{{MD_NS}}}name").text = type_name
    etree.SubElement(root, f"{{{MD_NS}}}version").text = version
    etree.indent(root, space="    ")
    return XML_DECLARATION + b"\n" + etree.tostring(root, encoding="UTF-8") + b"\n"


def _retrieve(org: OrgLike, parsed: Any) -> bytes:
    request = parsed.retrieveRequest
    if request.packageNames or request.specificFiles:
        raise MetadataFault("sf:INVALID_OPERATION", "packageNames and specificFiles are not emulated")
    if request.unpackaged is None:
        raise MetadataFault("sf:INVALID_OPERATION", "unpackaged: required (no package names given)")
    prefix = "" if request.singlePackage else "unpackaged/"
    stamp = mt.now_iso()
    admin = mt.admin_user(org)
    admin_id = str(admin["Id"]) if admin else ""
    admin_name = str(admin.get("Name") or admin.get("Username") or "") if admin else ""
    requested: dict[str, list[str]] = {}
    files: dict[str, bytes] = {}
    properties: list[Record] = []
    messages: list[Record] = []
    for types in request.unpackaged.types or []:
        type_name = str(types.name or "")
        names = [str(n) for n in (types.members or [])]
        requested.setdefault(type_name, []).extend(names)
        if "*" in names and type_name == "Settings":
            settings = [r for r in mt.RULES.values() if r.manifest_type == "Settings"]
            names = [r.type_name.removesuffix("Settings") for r in settings]
        elif "*" in names:
            rule = mt.rule_for(type_name)
            names = [str(r["fullName"]) for r in rule.list_names(org)] if rule is not None else names
        for name in names:
            component_type, rule = mt.manifest_rule(type_name, name)
            if rule is None:
                messages.append(
                    {
                        "fileName": f"{prefix}package.xml",
                        "problem": f"Entity type: '{component_type}' is unknown or not supported in this "
                        "emulator",
                    }
                )
                continue
            try:
                stored = rule.get(org, name)
            except MetadataFault as exc:
                messages.append({"fileName": f"{prefix}package.xml", "problem": exc.message})
                continue
            if stored is None:
                # Salesforce's wording for a package.xml member the org does not have.
                messages.append(
                    {
                        "fileName": f"{prefix}package.xml",
                        "problem": f"Entity of type '{type_name}' named '{name}' cannot be found",
                    }
                )
                continue
            file_name = f"{prefix}{rule.directory}/{stored['fullName']}.{rule.suffix}"
            files[file_name] = component_file(component_type, rule.read(org, stored))
            properties.append(
                {
                    "createdById": admin_id,
                    "createdByName": admin_name,
                    "createdDate": _md_date(stored.get("_created")),
                    "fileName": file_name,
                    "fullName": stored["fullName"],
                    "id": stored.get("_id", ""),
                    "lastModifiedById": admin_id,
                    "lastModifiedByName": admin_name,
                    "lastModifiedDate": _md_date(stored.get("_modified") or stored.get("_created")),
                    "manageableState": "unmanaged",
                    "type": type_name,
                }
            )
    version = str(request.unpackaged.version or request.apiVersion or API_VERSION)
    files[f"{prefix}package.xml"] = _package_xml(requested, version)
    properties.append(
        {
            "createdById": admin_id,
            "createdByName": admin_name,
            "createdDate": stamp,
            "fileName": f"{prefix}package.xml",
            "fullName": f"{prefix}package.xml",
            "id": "",
            "lastModifiedById": admin_id,
            "lastModifiedByName": admin_name,
            "lastModifiedDate": stamp,
            "manageableState": "unmanaged",
            "type": "Package",
        }
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            archive.writestr(name, files[name])
    async_id = _async_id("09S")
    result: Record = {
        "done": True,
        "fileProperties": properties,
        "id": async_id,
        "messages": messages,
        "status": "Succeeded",
        "success": True,
        "zipFile": buffer.getvalue(),
    }
    with _deploy_lock:
        _retrieve_results[async_id] = result
    async_result = schema().client.get_type(f"{{{MD_NS}}}AsyncResult")
    return _envelope("retrieveResponse", result=async_result(done=False, id=async_id, state="Queued"))


def _check_retrieve_status(parsed: Any) -> bytes:
    with _deploy_lock:
        result = _retrieve_results.get(str(parsed.asyncProcessId or ""))
    if result is None:
        raise MetadataFault("sf:INVALID_ID_FIELD", f"invalid id: {parsed.asyncProcessId or ''}")
    shown = dict(result)
    if parsed.includeZip is False:
        shown["zipFile"] = None
    xsd_type = schema().client.get_type(f"{{{MD_NS}}}RetrieveResult")
    return _envelope("checkRetrieveStatusResponse", result=_to_zeep(xsd_type, shown))


def handle(org: OrgLike, body: bytes) -> tuple[int, bytes]:
    """Answer one Metadata API request (session already checked by the server)."""
    try:
        try:
            envelope = _parse_envelope(body)
        except etree.XMLSyntaxError as exc:
            raise MetadataFault("soapenv:Client", f"Unable to parse the request: {exc.msg}") from exc
        op = _operation_element(envelope)
        if op is None:
            raise MetadataFault("soapenv:Client", "No operation found in the SOAP Body")
        operation = _local(op.tag)
        if etree.QName(op.tag).namespace != MD_NS or operation not in OPERATIONS:
            # Salesforce's SOAP stack (Axis) wording for an operation the WSDL does not have.
            raise MetadataFault(
                "soapenv:Client",
                f"No operation available for request {{{etree.QName(op.tag).namespace}}}{operation}, "
                "please check the WSDL for the service.",
            )
        if operation == "deploy":
            return 200, _deploy(org, op)
        parsed = _parse_operation(op)
        if operation == "checkDeployStatus":
            return 200, _check_deploy_status(parsed)
        if operation == "retrieve":
            return 200, _retrieve(org, parsed)
        if operation == "checkRetrieveStatus":
            return 200, _check_retrieve_status(parsed)
        if operation in _RECORD_OPERATIONS:
            return 200, _save_records(org, operation, parsed)
        if operation == "readMetadata":
            return 200, _read(org, parsed)
        if operation == "deleteMetadata":
            return 200, _delete(org, parsed)
        if operation == "renameMetadata":
            return 200, _rename(org, parsed)
        if operation == "listMetadata":
            return 200, _list(org, parsed)
        return 200, _describe(org, parsed)
    except MetadataFault as exc:
        return _fault(exc)
    except Exception as exc:
        # Salesforce answers its own failures with sf:UNKNOWN_EXCEPTION; the exception type (never its text,
        # which could carry request values such as secrets) tells the emulator's developer where to look.
        return _fault(
            MetadataFault(
                "sf:UNKNOWN_EXCEPTION",
                f"An unexpected error occurred in the emulated Metadata API ({type(exc).__name__})",
            )
        )


def authorize_named_credential(org: OrgLike, full_name: str, username: str | None = None) -> None:
    """Complete the browser authorize step of an OAuth named credential.

    Raises ``store.ApiError`` (404 NOT_FOUND for an unknown name, 400 for a credential that does not use
    OAuth) so the control endpoint answers like any other emulator error.
    """
    try:
        with org.transaction():
            mt.authorize_named_credential(org, full_name, username)
    except KeyError as exc:
        raise ApiError(404, "NOT_FOUND", f"No named credential or user named {exc.args[0]}") from exc
    except ValueError as exc:
        raise ApiError(400, "INVALID_OPERATION", str(exc)) from exc


# Start the one WSDL load now: the server imports this module while starting, and the load overlaps with the
# rest of its start-up instead of delaying the first Metadata call.
warm_up()
