"""Engine test program: dynamic resources stored as records of a JSON file, shaped by config.

`fileprog:items` is a JSON list of item specs; each becomes one dynamic resource (see `Item`). The provider
is defined here in `__main__`, so dill pickles it by value (the other path, by reference, is the example's).
Every provider call is appended to the file's "__calls" log with the pid and start/end times, so tests can
check which calls happened, in which order, and what ran in parallel.
"""

import fcntl
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import pulumi
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


class FileProvider(ResourceProvider):
    def configure(self, req: ConfigureRequest) -> None:
        self.db = req.config.require("fileprog:db")
        self.token = req.config.get("fileprog:token")
        # Which token it got, as a short digest (the token itself stays out of the call log).
        digest = hashlib.sha256(self.token.encode()).hexdigest()[:12] if self.token else None
        now = time.time()
        self._log("configure", "-", now, now, token_seen=bool(self.token), token_digest=digest)

    def _locked(self, fn: Callable[[dict[str, Any]], Any]) -> Any:
        with open(self.db + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data: dict[str, Any] = {}
            if os.path.exists(self.db):
                with open(self.db) as fh:
                    data = json.load(fh)
            result = fn(data)
            with open(self.db + ".tmp", "w") as out:
                json.dump(data, out)
            os.replace(self.db + ".tmp", self.db)
            return result

    def _log(self, op: str, name: str, t0: float, t1: float, **extra: Any) -> None:
        entry = {"op": op, "name": name, "pid": os.getpid(), "t0": t0, "t1": t1, **extra}
        self._locked(lambda d: d.setdefault("__calls", []).append(entry))

    def _work(self, op: str, props: dict[str, Any]) -> None:
        if props.get("crash") == op:
            os._exit(3)
        if props.get("fail") == op:
            raise Exception(f"{op} of {props['name']} refused by the file store")
        if props.get("chatty"):
            for _ in range(300):  # ~300 KB each way: more than a pipe buffer holds
                print("x" * 1000)
                print("y" * 1000, file=sys.stderr)
        time.sleep(float(props.get("delay") or 0))

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        if str(news.get("content", "")).startswith("invalid"):
            return CheckResult(news, [CheckFailure("content", "content must not start with 'invalid'")])
        return CheckResult(news, [])

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        keys = [k for k in ("name", "key", "content", "secret") if olds.get(k) != news.get(k)]
        return DiffResult(
            changes=bool(keys),
            replaces=[k for k in keys if k in ("name", "key")],
            delete_before_replace=bool(news.get("dbr")),
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        t0 = time.time()
        self._work("create", props)
        rid = self._locked(lambda d: _insert(d, props))
        self._log("create", props["name"], t0, time.time())
        return CreateResult(rid, {**props, "rid": rid})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        t0 = time.time()
        self._work("update", news)
        self._locked(lambda d: d["records"].__setitem__(id_, _record(news)))
        self._log("update", news["name"], t0, time.time())
        return UpdateResult({**news, "rid": id_})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        t0 = time.time()
        self._work("delete", props)
        self._locked(lambda d: d.get("records", {}).pop(id_, None))
        self._log("delete", props["name"], t0, time.time())

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        record = self._locked(lambda d: d.get("records", {}).get(id_))
        self._log("read", props.get("name", "?"), time.time(), time.time())
        if record is None:
            return ReadResult(None, {})
        # "note" is an output only (set out of band in tests): the provider's diff never looks at it.
        note = {"note": record["note"]} if "note" in record else {}
        return ReadResult(id_, {**props, "content": record["content"], "rid": id_, **note})


def _record(props: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": props["name"],
        "key": props.get("key"),
        "content": props.get("content"),
        "secret": props.get("secret"),
    }


def _insert(data: dict[str, Any], props: dict[str, Any]) -> str:
    data["seq"] = data.get("seq", 0) + 1
    rid = f"r{data['seq']}"
    data.setdefault("records", {})[rid] = _record(props)
    return rid


class Item(pulumi.dynamic.Resource):
    rid: pulumi.Output[str]
    content: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(FileProvider(), name, {"rid": None, **props}, opts)


config = pulumi.Config()
items = json.loads(config.get("items") or "[]")
created: dict[str, Item] = {}
group = (
    pulumi.ComponentResource("fileprog:index:Group", "group") if any(i.get("parent") for i in items) else None
)
if group is not None:
    group.register_outputs({})
for spec in items:
    name = spec["name"]
    record = spec.get("record_name", name)  # the record's own name; differs after a rename in the program
    props: dict[str, Any] = {
        "name": record,
        "key": spec.get("key", "k"),
        "content": spec.get("content", record),
    }
    for flag in ("delay", "fail", "crash", "dbr", "chatty"):
        if spec.get(flag):
            props[flag] = spec[flag]
    deps: list[pulumi.Resource] = []
    if spec.get("after"):
        dep = created[spec["after"]]
        prefix = str(props["content"])

        def after(rid: str, prefix: str = prefix) -> str:
            return f"{prefix} after {rid}"

        props["content"] = dep.rid.apply(after)
    if spec.get("key_after"):
        # The replace-forcing `key` follows another resource's ID (a dependent replacement case).
        props["key"] = created[spec["key_after"]].rid.apply(lambda rid: f"key of {rid}")
    if spec.get("depends_on"):
        deps = [created[n] for n in spec["depends_on"]]
    if spec.get("secret"):
        props["secret"] = config.require_secret("token")
    opts = pulumi.ResourceOptions(
        protect=bool(spec.get("protect")),
        retain_on_delete=bool(spec.get("retain")),
        ignore_changes=spec.get("ignore_changes"),
        depends_on=deps,
        parent=group if spec.get("parent") else None,
        additional_secret_outputs=spec.get("secret_outputs"),
    )
    if spec.get("alias_of"):
        # Renamed in the program: the alias names the resource's old name, so the engine moves it in state.
        alias = pulumi.ResourceOptions(aliases=[pulumi.Alias(name=spec["alias_of"])])
        opts = pulumi.ResourceOptions.merge(opts, alias)
    if spec.get("read"):
        # Resource.get-style: read an existing record by ID instead of managing a new one.
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(id=spec["read"]))
    created[name] = Item(name, props, opts)
    pulumi.export(f"{name}_rid", created[name].rid)
if config.get("token"):
    pulumi.export("token", config.require_secret("token"))
pulumi.export("plain", "visible")
if config.get("logError"):
    pulumi.log.error(config.get("logError") or "")
