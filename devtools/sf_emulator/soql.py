"""The SOQL subset the emulator understands, evaluated against the store.

Grammar (SOQL and SOSL Reference, https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/):
    SELECT field[, field...] | COUNT()  FROM object  [WHERE condition]
    [ORDER BY field [ASC|DESC][, ...]]  [LIMIT n]  [OFFSET n]
    condition: expr {AND|OR} expr, NOT expr, (condition), field op literal,
               field [NOT] IN (literal, ...), field LIKE 'pattern'      op: = != <> < <= > >=
    literal: 'string' (backslash escapes), number, TRUE, FALSE, NULL, a dateTime (2026-12-07T10:00:00Z,
             2026-12-07T10:00:00.000+0000) or date (2026-12-07), and the date literals TODAY, YESTERDAY and
             LAST_N_DAYS:n (SOQL and SOSL Reference, "Date Formats and Date Literals"; days in UTC here, the
             running user's time zone on Salesforce)
Field paths follow relationships (`Profile.Name`, `Assignee.Username`); the result nests them as Salesforce
does (`"Profile": {"attributes": {...}, "Name": "..."}`). Keywords and names are case-insensitive; string
comparison with = / != / IN is case-insensitive, as in SOQL.

Errors are Salesforce's: MALFORMED_QUERY (syntax), INVALID_FIELD (unknown column or relationship),
INVALID_TYPE (unknown object), each with the "ERROR at Row:1:Column:N" message Salesforce produces. Query
errors carry no `fields` member (unlike DML errors).
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import Any

from .schema import SObjectType
from .store import API_VERSION, ApiError, Org, normalize_id

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')"
    r"|(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))"
    r"|(?P<date>\d{4}-\d{2}-\d{2})(?![\d:T])"
    r"|(?P<num>-?\d+(?:\.\d+)?)|(?P<op><>|!=|<=|>=|=|<|>)"
    r"|(?P<punct>[(),])|(?P<daterange>[A-Za-z_]+:\d+)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*))"
)
_KEYWORDS = {
    "select",
    "from",
    "where",
    "and",
    "or",
    "not",
    "in",
    "like",
    "limit",
    "offset",
    "order",
    "by",
    "asc",
    "desc",
    "nulls",
    "first",
    "last",
    "true",
    "false",
    "null",
    "count",
}


@dataclass
class Tok:
    kind: str  # str, num, op, punct, name, kw, end
    text: str
    pos: int

    @property
    def value(self) -> str:
        return self.text.lower()


class QueryError(ApiError):
    def __init__(self, code: str, soql: str, pos: int, detail: str) -> None:
        # Salesforce echoes the query with a caret under the offending column.
        msg = f"\n{soql}\n{' ' * pos}^\nERROR at Row:1:Column:{pos + 1}\n{detail}"
        super().__init__(400, code, msg)

    def as_json(self) -> list[dict[str, Any]]:
        return [{"message": self.message, "errorCode": self.error_code}]


def _tokenize(soql: str) -> list[Tok]:
    toks: list[Tok] = []
    i = 0
    while i < len(soql):
        if soql[i:].strip() == "":
            break
        m = _TOKEN.match(soql, i)
        if m is None or m.end() == i:
            j = i
            while j < len(soql) and soql[j].isspace():
                j += 1
            raise QueryError("MALFORMED_QUERY", soql, j, f"unexpected token: '{soql[j]}'")
        kind = m.lastgroup or "name"
        text = m.group(kind)
        start = m.start(kind)
        if kind == "name" and text.lower() in _KEYWORDS:
            kind = "kw"
        toks.append(Tok(kind, text, start))
        i = m.end()
    toks.append(Tok("end", "", len(soql)))
    return toks


@dataclass
class Cond:
    op: str  # and, or, not, cmp, in, notin, like
    children: list[Cond] = field(default_factory=list)
    path: str = ""
    cmp: str = ""
    values: list[Any] = field(default_factory=list)
    pos: int = 0


@dataclass
class Query:
    fields: list[tuple[str, int]]
    sobject: str
    sobject_pos: int
    where: Cond | None
    order: list[tuple[str, bool, int]]
    limit: int | None
    offset: int
    count: bool


class _Parser:
    def __init__(self, soql: str) -> None:
        self.soql = soql
        self.toks = _tokenize(soql)
        self.i = 0

    @property
    def tok(self) -> Tok:
        return self.toks[self.i]

    def next(self) -> Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def fail(self, t: Tok | None = None) -> QueryError:
        t = t or self.tok
        if t.kind == "end":
            return QueryError("MALFORMED_QUERY", self.soql, t.pos, "unexpected token: '<EOF>'")
        return QueryError("MALFORMED_QUERY", self.soql, t.pos, f"unexpected token: '{t.text}'")

    def kw(self, word: str) -> bool:
        if self.tok.kind == "kw" and self.tok.value == word:
            self.i += 1
            return True
        return False

    def expect_kw(self, word: str) -> None:
        if not self.kw(word):
            raise self.fail()

    def punct(self, p: str) -> bool:
        if self.tok.kind == "punct" and self.tok.text == p:
            self.i += 1
            return True
        return False

    def parse(self) -> Query:
        self.expect_kw("select")
        fields: list[tuple[str, int]] = []
        count = False
        if self.tok.kind == "kw" and self.tok.value == "count":
            self.next()
            if not (self.punct("(") and self.punct(")")):
                raise self.fail()
            count = True
        else:
            while True:
                t = self.next()
                if t.kind != "name":
                    raise self.fail(t)
                fields.append((t.text, t.pos))
                if not self.punct(","):
                    break
        self.expect_kw("from")
        t = self.next()
        if t.kind != "name" or "." in t.text:
            raise self.fail(t)
        where = None
        if self.kw("where"):
            where = self.condition()
        order: list[tuple[str, bool, int]] = []
        if self.kw("order"):
            self.expect_kw("by")
            while True:
                f = self.next()
                if f.kind != "name":
                    raise self.fail(f)
                desc = False
                if self.kw("desc"):
                    desc = True
                else:
                    self.kw("asc")
                if self.kw("nulls") and not (self.kw("first") or self.kw("last")):
                    raise self.fail()
                order.append((f.text, desc, f.pos))
                if not self.punct(","):
                    break
        limit = None
        offset = 0
        if self.kw("limit"):
            n = self.next()
            if n.kind != "num" or not n.text.isdigit():
                raise self.fail(n)
            limit = int(n.text)
        if self.kw("offset"):
            n = self.next()
            if n.kind != "num" or not n.text.isdigit():
                raise self.fail(n)
            offset = int(n.text)
        if self.tok.kind != "end":
            raise self.fail()
        return Query(fields, t.text, t.pos, where, order, limit, offset, count)

    def condition(self) -> Cond:
        left = self.conjunction()
        if self.tok.kind == "kw" and self.tok.value == "or":
            parts = [left]
            while self.kw("or"):
                parts.append(self.conjunction())
            return Cond("or", parts)
        return left

    def conjunction(self) -> Cond:
        left = self.negation()
        if self.tok.kind == "kw" and self.tok.value == "and":
            parts = [left]
            while self.kw("and"):
                parts.append(self.negation())
            # SOQL refuses to mix AND and OR without parentheses.
            if self.tok.kind == "kw" and self.tok.value == "or":
                raise self.fail()
            return Cond("and", parts)
        return left

    def negation(self) -> Cond:
        if self.kw("not"):
            return Cond("not", [self.negation()])
        if self.punct("("):
            inner = self.condition()
            if not self.punct(")"):
                raise self.fail()
            return inner
        f = self.next()
        if f.kind != "name":
            raise self.fail(f)
        if self.tok.kind == "op":
            op = self.next().text
            return Cond(
                "cmp", path=f.text, cmp="!=" if op == "<>" else op, values=[self.literal()], pos=f.pos
            )
        negate = self.kw("not")
        if self.kw("in"):
            if not self.punct("("):
                raise self.fail()
            values = [self.literal()]
            while self.punct(","):
                values.append(self.literal())
            if not self.punct(")"):
                raise self.fail()
            return Cond("notin" if negate else "in", path=f.text, values=values, pos=f.pos)
        if negate:
            raise self.fail()
        if self.kw("like"):
            v = self.literal()
            if not isinstance(v, str):
                raise self.fail(self.toks[self.i - 1])
            return Cond("like", path=f.text, values=[v], pos=f.pos)
        raise self.fail()

    def literal(self) -> Any:
        t = self.next()
        if t.kind == "str":
            return re.sub(
                r"\\(.)",
                lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), m.group(1)),
                t.text[1:-1],
            )
        if t.kind == "num":
            return float(t.text) if "." in t.text else int(t.text)
        if t.kind == "kw" and t.value in ("true", "false"):
            return t.value == "true"
        if t.kind == "kw" and t.value == "null":
            return None
        if t.kind == "datetime":
            return _as_datetime(t.text)
        if t.kind == "date":
            return _dt.date.fromisoformat(t.text)
        today = _dt.datetime.now(_dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        day = _dt.timedelta(days=1)
        if t.kind == "name" and t.value in ("today", "yesterday"):
            start = today if t.value == "today" else today - day
            return DateRange(start, start + day)
        if t.kind == "daterange" and t.value.startswith("last_n_days:"):
            # "LAST_N_DAYS:n ... starts with the current day and continues for the past n days. This includes
            # the current day, not just previous days."
            return DateRange(today - int(t.value.split(":")[1]) * day, today + day)
        raise self.fail(t)


@dataclass(frozen=True)
class DateRange:
    """A date literal: the instants from `start` up to (not including) `end`."""

    start: _dt.datetime
    end: _dt.datetime


def _as_datetime(value: str) -> _dt.datetime:
    """A dateTime as the API writes it (``...T10:00:00.000+0000``, ``...Z``, ``...+00:00``), in UTC."""
    text = value.strip().replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    parsed = _dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_dt.UTC)
    return parsed.astimezone(_dt.UTC)


def parse(soql: str) -> Query:
    return _Parser(soql).parse()


# ---- evaluation -----------------------------------------------------------------------------------------


class _Resolver:
    """Resolves field paths against rows, following references with a per-query cache."""

    def __init__(self, org: Org, soql: str, root: SObjectType) -> None:
        self.org = org
        self.soql = soql
        self.root = root
        self.cache: dict[tuple[str, str], dict[str, Any] | None] = {}

    def check(self, path: str, pos: int) -> list[tuple[SObjectType, str]]:
        """[(object, canonical name)] for each step of the path; INVALID_FIELD if a step is unknown."""
        steps: list[tuple[SObjectType, str]] = []
        t = self.root
        parts = path.split(".")
        # Salesforce accepts the object's own name as a leading qualifier (SELECT User.Id FROM User).
        if len(parts) > 1 and parts[0].lower() == t.name.lower():
            parts = parts[1:]
        for n, part in enumerate(parts):
            last = n == len(parts) - 1
            if last:
                f = t.field(part)
                if f is None:
                    raise QueryError(
                        "INVALID_FIELD",
                        self.soql,
                        pos,
                        f"No such column '{part}' on entity '{t.name}'. If you are attempting to use "
                        "a custom field, be sure to append the '__c' after the custom field name. "
                        "Please reference your WSDL or the describe call for the appropriate names.",
                    )
                steps.append((t, f.name))
            else:
                rel = t.relationships.get(part.lower())
                target = self.org.sobject_type(rel.reference_to) if rel and rel.reference_to else None
                if rel is None or target is None:
                    raise QueryError(
                        "INVALID_FIELD",
                        self.soql,
                        pos,
                        f"Didn't understand relationship '{part}' in field path. If you are "
                        "attempting to use a custom relationship, be sure to append the '__r' after "
                        "the custom relationship name. Please reference your WSDL or the describe "
                        "call for the appropriate names.",
                    )
                steps.append((t, rel.relationship_name or part))
                t = target
        return steps

    def follow(
        self, t: SObjectType, row: dict[str, Any], rel_name: str
    ) -> tuple[SObjectType, dict[str, Any] | None]:
        rel = t.relationships[rel_name.lower()]
        target = self.org.sobject_type(rel.reference_to or "")
        assert target is not None
        ref = row.get(rel.name)
        if not ref:
            return target, None
        key = (target.name, str(ref))
        if key not in self.cache:
            self.cache[key] = self.org.sobject_get(target.name, str(ref))
        return target, self.cache[key]

    def value(self, row: dict[str, Any], steps: list[tuple[SObjectType, str]]) -> Any:
        cur: dict[str, Any] | None = row
        for t, name in steps[:-1]:
            if cur is None:
                return None
            _, cur = self.follow(t, cur, name)
        if cur is None:
            return None
        return cur.get(steps[-1][1])


def _eq(a: Any, b: Any) -> bool:
    if isinstance(b, (DateRange, _dt.datetime, _dt.date)):
        return _cmp(a, "=", b)
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) and isinstance(b, str):
        na, nb = normalize_id(a), normalize_id(b)
        if na is not None and nb is not None:
            return na == nb
        return a.lower() == b.lower()
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def _temporal(a: Any, b: Any) -> Any:
    """A stored date or dateTime string as the kind of value it is compared with (None: not one)."""
    if not isinstance(a, str):
        return None
    try:
        if isinstance(b, (DateRange, _dt.datetime)):
            return _as_datetime(a)
        return _dt.date.fromisoformat(a[:10])
    except ValueError:
        return None


def _cmp(a: Any, op: str, b: Any) -> bool:
    if isinstance(b, (DateRange, _dt.datetime, _dt.date)):
        value = _temporal(a, b)
        if value is None:
            return op == "!=" and a is None
        if isinstance(b, DateRange):
            inside = b.start <= value < b.end
            return {
                "=": inside,
                "!=": not inside,
                "<": value < b.start,
                "<=": value < b.end,
                ">": value >= b.end,
                ">=": value >= b.start,
            }[op]
        return bool(
            {
                "=": value == b,
                "!=": value != b,
                "<": value < b,
                "<=": value <= b,
                ">": value > b,
                ">=": value >= b,
            }[op]
        )
    if op == "=":
        return _eq(a, b)
    if op == "!=":
        return not _eq(a, b)
    if a is None or b is None:
        return False
    if isinstance(a, str) and isinstance(b, str):
        a, b = a.lower(), b.lower()
    try:
        return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op])
    except TypeError:
        return False


def _like(value: Any, pattern: str) -> bool:
    if not isinstance(value, str):
        return False
    rx = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value, re.IGNORECASE | re.DOTALL) is not None


def _matches(res: _Resolver, cond: Cond, row: dict[str, Any], steps: dict[int, Any]) -> bool:
    if cond.op == "and":
        return all(_matches(res, c, row, steps) for c in cond.children)
    if cond.op == "or":
        return any(_matches(res, c, row, steps) for c in cond.children)
    if cond.op == "not":
        return not _matches(res, cond.children[0], row, steps)
    v = res.value(row, steps[id(cond)])
    if cond.op == "cmp":
        return _cmp(v, cond.cmp, cond.values[0])
    if cond.op == "in":
        return any(_eq(v, x) for x in cond.values)
    if cond.op == "notin":
        return not any(_eq(v, x) for x in cond.values)
    return _like(v, cond.values[0])


def _conds(c: Cond | None) -> list[Cond]:
    if c is None:
        return []
    if c.op in ("and", "or", "not"):
        return [x for ch in c.children for x in _conds(ch)]
    return [c]


def record_url(sobject: str, record_id: str) -> str:
    return f"/services/data/v{API_VERSION}/sobjects/{sobject}/{record_id}"


def execute(org: Org, soql: str) -> tuple[list[dict[str, Any]], int, bool]:
    """Run a query: (records shaped like the REST API's, totalSize, is COUNT())."""
    q = parse(soql)
    root = org.sobject_type(q.sobject)
    if root is None or not root.queryable:
        raise QueryError(
            "INVALID_TYPE",
            soql,
            q.sobject_pos,
            f"sObject type '{q.sobject}' is not supported. If you are attempting to use a custom "
            "object, be sure to append the '__c' after the entity name. Please reference your WSDL "
            "or the describe call for the appropriate names.",
        )
    res = _Resolver(org, soql, root)
    select = [(path, res.check(path, pos)) for path, pos in q.fields]
    where_steps = {id(c): res.check(c.path, c.pos) for c in _conds(q.where)}
    order = [(res.check(path, pos), desc) for path, desc, pos in q.order]

    rows = [
        r for r in org.sobject_all(root.name) if q.where is None or _matches(res, q.where, r, where_steps)
    ]
    for steps, desc in reversed(order):
        # Nulls sort first ascending and last descending (SOQL default NULLS FIRST for ASC).
        def key(r: dict[str, Any], steps: list[tuple[SObjectType, str]] = steps) -> tuple[int, Any]:
            v = res.value(r, steps)
            if v is None:
                return (0, "")
            return (1, v.lower() if isinstance(v, str) else v)

        rows.sort(key=key, reverse=desc)
    rows = rows[q.offset :]
    if q.limit is not None:
        rows = rows[: q.limit]
    if q.count:
        return [], len(rows), True

    out: list[dict[str, Any]] = []
    for r in rows:
        rec: dict[str, Any] = {"attributes": {"type": root.name, "url": record_url(root.name, r["Id"])}}
        for _path, steps in select:
            _place(res, rec, root, r, steps)
        out.append(rec)
    return out, len(out), False


def _place(
    res: _Resolver,
    rec: dict[str, Any],
    t: SObjectType,
    row: dict[str, Any] | None,
    steps: list[tuple[SObjectType, str]],
) -> None:
    _, name = steps[0]
    if len(steps) == 1:
        rec[name] = None if row is None else row.get(name)
        return
    target, child = res.follow(t, row, name) if row is not None else (None, None)
    if child is None:
        rec.setdefault(name, None)
        return
    assert target is not None
    sub = rec.get(name)
    if not isinstance(sub, dict):
        sub = {"attributes": {"type": target.name, "url": record_url(target.name, child["Id"])}}
        rec[name] = sub
    _place(res, sub, target, child, steps[1:])


# The query resource's `columns=true` form, what the Developer Console and `sf data query` (plugin-data,
# commands/data/query.js retrieveColumns) ask before printing a result: no records, the SELECT list's column
# tree. A relationship path (`Profile.Name`) is one column `Profile` whose `joinColumns` hold `Name`; paths
# through the same relationship share it. The resource is undocumented; the member names are those the CLI and
# the Developer Console read (columnName, displayName, joinColumns, aggregate) plus the type flags they carry.
_APEX_TYPES = {
    "id": "Id",
    "string": "String",
    "email": "String",
    "picklist": "String",
    "textarea": "String",
    "url": "String",
    "phone": "String",
    "reference": "Id",
    "boolean": "Boolean",
    "datetime": "Datetime",
    "date": "Date",
    "int": "Integer",
    "double": "Double",
}


def _column(f: Any, display: str) -> dict[str, Any]:
    return {
        "aggregate": False,
        "apexType": _APEX_TYPES.get(f.type, "String"),
        "booleanType": f.type == "boolean",
        "columnName": f.name,
        "custom": f.name.endswith("__c"),
        "displayName": display,
        "foreignKeyName": None,
        "insertable": f.createable,
        "joinColumns": [],
        "numberType": f.type in ("int", "double", "currency", "percent"),
        "textType": f.type in ("string", "email", "picklist", "textarea", "url", "phone"),
        "updatable": f.updateable,
    }


def columns(org: Org, soql: str) -> dict[str, Any]:
    q = parse(soql)
    root = org.sobject_type(q.sobject)
    if root is None or not root.queryable:
        execute(org, soql)  # raises INVALID_TYPE with Salesforce's wording
        raise AssertionError("unreachable")
    res = _Resolver(org, soql, root)
    out: list[dict[str, Any]] = []
    if q.count:
        out.append(
            {
                **_column(root.fields["id"], "count()"),
                "aggregate": True,
                "apexType": "Integer",
                "columnName": "expr0",
                "numberType": True,
                "insertable": False,
                "updatable": False,
            }
        )
    for path, pos in q.fields:
        steps = res.check(path, pos)
        level, shown = out, []
        for n, (owner, name) in enumerate(steps):
            shown.append(name)
            if n == len(steps) - 1:
                level.append(_column(owner.fields[name.lower()], ".".join(shown)))
                break
            rel = owner.relationships[name.lower()]
            node = next((c for c in level if c["columnName"] == name and c["joinColumns"]), None)
            if node is None:
                node = {
                    **_column(rel, ".".join(shown)),
                    "apexType": rel.reference_to,
                    "columnName": name,
                    "foreignKeyName": rel.name,
                    "insertable": False,
                    "updatable": False,
                }
                level.append(node)
            level = node["joinColumns"]
    return {
        "columnMetadata": out,
        "entityName": root.name,
        "groupBy": False,
        "idSelected": any(p.lower() in ("id", f"{root.name.lower()}.id") for p, _ in q.fields),
        "keyPrefix": root.key_prefix,
    }
