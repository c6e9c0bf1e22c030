"""Pure analysis for the benchmark: state files, recorded calls, critical path. No processes, no network."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Types whose state entries cost no API call: the stack, providers, and component resources (custom=False).
_NO_CALL_TYPES_PREFIXES = ("pulumi:pulumi:Stack", "pulumi:providers:")


def find_state_file(state_dir: Path, stack: str) -> Path:
    """The file backend keeps `<state-dir>/.pulumi/stacks/<project>/<stack>.json`."""
    found = sorted((state_dir / ".pulumi" / "stacks").glob(f"*/{stack}.json"))
    if not found:
        raise FileNotFoundError(f"no state for stack {stack} under {state_dir}/.pulumi/stacks")
    return found[0]


def deployment_resources(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Resources of a checkpoint (file backend) or of a `pulumi stack export` deployment."""
    if "checkpoint" in state:
        latest = state["checkpoint"].get("latest") or {}
        return list(latest.get("resources") or [])
    if "deployment" in state:
        return list(state["deployment"].get("resources") or [])
    return list(state.get("resources") or [])


def is_managed_custom(resource: Mapping[str, Any]) -> bool:
    rtype = str(resource.get("type", ""))
    return bool(resource.get("custom")) and not rtype.startswith(_NO_CALL_TYPES_PREFIXES)


def provider_pickle_sizes(resources: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Bytes of the `__provider` property (the base64 dill pickle of the dynamic provider) per resource."""
    sizes: dict[str, int] = {}
    for r in resources:
        if not is_managed_custom(r):
            continue
        for where in ("outputs", "inputs"):
            value = (r.get(where) or {}).get("__provider")
            if isinstance(value, str):
                sizes[str(r["urn"])] = len(value.encode())
                break
            if isinstance(value, dict) and "ciphertext" in value:  # a secret: count what is on disk
                sizes[str(r["urn"])] = len(json.dumps(value).encode())
                break
    return sizes


def dependency_graph(resources: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """urn → urns it waits for. `dependencies` is what the engine orders by (depends_on and input Outputs);
    a parent is not waited for unless it is also a dependency, so parents are ignored here."""
    return {str(r["urn"]): [str(d) for d in (r.get("dependencies") or [])] for r in resources}


def short_name(urn: str) -> str:
    """`urn:pulumi:stack::proj::a$b::name` → `name` (the part humans recognise)."""
    return urn.rsplit("::", 1)[-1] if "::" in urn else (urn or "(no resource)")


# --- calls recorded by devtools/bench/hook/sitecustomize.py


def operation(call: Mapping[str, Any]) -> str:
    """Map a recorded HTTP call to the emulator's operation names (docs/contracts.md §1)."""
    path = str(call.get("path", ""))
    method = str(call.get("http", "GET")).upper()
    if "/services/oauth2/token" in path:
        return "auth.oauth_token"
    if "/services/oauth2/userinfo" in path:
        return "auth.userinfo"
    if "/services/Soap/u/" in path:
        return "auth.soap_login"
    if "/services/Soap/m/" in path:
        return f"metadata.{call.get('soap') or 'unknown'}"
    if "/tooling/executeAnonymous" in path:  # the named credentials' health probes
        return "tooling.executeAnonymous"
    if "/aircall/" in path:
        return "aircall.ping"
    if "/apps/oauth/" in path:  # Connect REST: credentials/{appId}/{consumerId}, usage, ...
        return f"connect.oauth_{path.split('/apps/oauth/', 1)[1].split('/')[0]}"
    if "/services/data" in path:
        tail = path.split("/services/data", 1)[1].strip("/").split("/")
        rest = tail[1:] if tail and tail[0].startswith("v") else tail
        if not tail or tail == [""]:
            return "rest.versions"
        if rest[:1] == ["limits"]:
            return "rest.limits"
        if rest[:1] in (["query"], ["queryAll"]):
            return "rest.queryMore" if len(rest) > 1 else "rest.query"
        if rest[:1] == ["sobjects"]:
            if rest[-1:] == ["describe"]:
                return "rest.describe"
            verbs = {"POST": "create", "GET": "read", "PATCH": "update", "DELETE": "delete"}
            verb = verbs.get(method, method)
            if method == "PATCH" and len(rest) >= 4:  # /sobjects/X/ExtIdField/value is upsert by external id
                verb = "upsert"
            return f"rest.sobject.{verb}"
    return f"other {method} {path}"


def is_auth(call: Mapping[str, Any]) -> bool:
    return operation(call).startswith("auth.")


def calls_by_resource(calls: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Non-auth calls per URN ("" for calls made outside any resource request, e.g. in Configure)."""
    counts: dict[str, int] = {}
    for c in calls:
        if not is_auth(c):
            urn = str(c.get("urn", ""))
            counts[urn] = counts.get(urn, 0) + 1
    return counts


def count_operations(calls: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for c in calls:
        op = operation(c)
        counts[op] = counts.get(op, 0) + 1
    return dict(sorted(counts.items()))


@dataclass(frozen=True)
class CriticalPath:
    calls: int  # the number of calls that must happen one after another
    chain: tuple[str, ...]  # the resources on that chain, first to last
    head_calls: int  # of which: login before any resource call


def critical_path(
    deps: Mapping[str, Sequence[str]], weight: Mapping[str, int], *, head_calls: int = 0
) -> CriticalPath:
    """Longest chain of dependent calls: the heaviest path through the resource DAG where a resource weighs
    `weight[urn]` calls (its serial depth, or its call count; see `critical_path_bounds`), plus `head_calls`
    (a login that every resource waits for). Dependencies on URNs without a weight (components, providers)
    count 0 but still link, since the engine waits for them."""
    memo: dict[str, tuple[int, tuple[str, ...]]] = {}
    visiting: set[str] = set()

    def best(urn: str) -> tuple[int, tuple[str, ...]]:
        if urn in memo:
            return memo[urn]
        if urn in visiting:
            raise ValueError(f"dependency cycle through {urn}")
        visiting.add(urn)
        before = max((best(d) for d in deps.get(urn, ()) if d != urn), default=(0, ()), key=lambda x: x[0])
        visiting.discard(urn)
        own = weight.get(urn, 0)
        chain = before[1] + ((urn,) if own else ())
        memo[urn] = (before[0] + own, chain)
        return memo[urn]

    nodes = set(deps) | set(weight)
    top = max((best(u) for u in sorted(nodes)), default=(0, ()), key=lambda x: x[0])
    # Calls outside any resource request (urn "") have no place in the graph; they run before the resources.
    head = head_calls + weight.get("", 0)
    return CriticalPath(calls=top[0] + head, chain=top[1], head_calls=head)


@dataclass(frozen=True)
class Bounds:
    by_depth: CriticalPath  # each resource weighted by its observed serial depth: the bound
    by_calls: CriticalPath  # each resource weighted by its call count (as if all its calls were sequential)


def critical_path_bounds(deps: Mapping[str, Sequence[str]], calls: Sequence[Mapping[str, Any]]) -> Bounds:
    """The critical path of a run two ways, from its recorded calls and the state's dependency graph.

    By serial depth (the bound): a resource weighs the longest chain of its own calls each of which started
    after the previous one ended (`observed_serial_depth`); calls that overlapped in time ran concurrently
    (e.g. Preflight's reads on worker threads) and cost one round trip together, not one each.
    By call count (kept for comparison): a resource weighs all its calls, as if made one after another;
    with concurrency inside a resource that overstates the bound by what the concurrency saves.
    Both add one login when the run logged in (every call waits for it)."""
    head = 1 if any(is_auth(c) for c in calls) else 0
    return Bounds(
        by_depth=critical_path(deps, serial_depth_by_resource(calls), head_calls=head),
        by_calls=critical_path(deps, calls_by_resource(calls), head_calls=head),
    )


def serial_depth_by_resource(calls: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Per URN, the longest run of its own calls that waited for one another (non-auth calls)."""
    by_urn: dict[str, list[Mapping[str, Any]]] = {}
    for c in calls:
        if not is_auth(c):
            by_urn.setdefault(str(c.get("urn", "")), []).append(c)
    return {urn: observed_serial_depth(cs) for urn, cs in by_urn.items()}


def observed_serial_depth(calls: Sequence[Mapping[str, Any]]) -> int:
    """Longest run of recorded calls each starting at or after the previous one ended (`t1 <= t0`): what the
    calls actually serialised. Overlapping calls are never in the same run, so N calls in flight together
    count 1, and N calls one after another count N. Used per resource as its weight on the critical path,
    and over the whole run to compare with that bound (a larger figure means parallelism was left unused).
    t0/t1 are the client's send and reply times (one clock: every provider process is on one machine)."""
    ordered = sorted(calls, key=lambda c: float(c["t0"]))
    depth: list[int] = []
    for i, c in enumerate(ordered):
        prior = [depth[j] for j in range(i) if float(ordered[j]["t1"]) <= float(c["t0"])]
        depth.append(1 + max(prior, default=0))
    return max(depth, default=0)


@dataclass(frozen=True)
class Gap:
    urn: str
    seconds: float
    after: str  # operation that ended before the gap
    before: str  # operation that started after it


def largest_gap_within_a_resource(calls: Sequence[Mapping[str, Any]]) -> Gap | None:
    """The longest idle time between one call of a resource and its next: client-side work (building a
    client, parsing a WSDL, computing) that no latency explains and that sits on that resource's path."""
    by_urn: dict[str, list[Mapping[str, Any]]] = {}
    for c in calls:
        by_urn.setdefault(str(c.get("urn", "")), []).append(c)
    best: Gap | None = None
    for urn, cs in by_urn.items():
        ordered = sorted(cs, key=lambda c: float(c["t0"]))
        for prev, nxt in zip(ordered, ordered[1:], strict=False):
            gap = float(nxt["t0"]) - float(prev["t1"])
            if best is None or gap > best.seconds:
                best = Gap(urn=urn, seconds=gap, after=operation(prev), before=operation(nxt))
    return best


def call_span(calls: Sequence[Mapping[str, Any]]) -> float:
    """Seconds from the first call's start to the last call's end."""
    if not calls:
        return 0.0
    return max(float(c["t1"]) for c in calls) - min(float(c["t0"]) for c in calls)


def first_call_offset(calls: Sequence[Mapping[str, Any]], started_at: float) -> float:
    """Seconds from the run's start (epoch) to its first API call: start-up the latency does not explain."""
    if not calls:
        return 0.0
    return min(float(c["t0"]) for c in calls) - started_at


def read_call_log(path: Path) -> list[dict[str, Any]]:
    """The HTTP calls of a run's log (entries without a kind predate the gRPC records: HTTP)."""
    return [e for e in _read_log(path) if e.get("kind", "http") == "http"]


def read_grpc_log(path: Path) -> list[dict[str, Any]]:
    return [e for e in _read_log(path) if e.get("kind") == "grpc"]


def read_process_log(path: Path) -> list[dict[str, Any]]:
    """Process starts and exits, gRPC server creations and unpickling times (the hook's other records)."""
    return [e for e in _read_log(path) if e.get("kind") in ("process", "exit", "grpc_server", "unpickle")]


def _read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def startup_milestones(
    grpc_events: Sequence[Mapping[str, Any]], calls: Sequence[Mapping[str, Any]], started_at: float
) -> dict[str, float]:
    """Seconds from the run's start to: the program's first resource registration (engine and program up),
    the provider host's first request (it is up), its first Create, and the first API call."""

    def first(events: Iterable[Mapping[str, Any]]) -> float | None:
        times = [float(e["t0"]) for e in events]
        return min(times) - started_at if times else None

    marks = {
        "first_registration": first(e for e in grpc_events if e.get("grpc") == "RegisterResource"),
        "provider_first_request": first(
            e for e in grpc_events if "ResourceProvider" in str(e.get("service"))
        ),
        "first_create": first(e for e in grpc_events if e.get("grpc") == "Create"),
        "first_api_call": first(calls),
    }
    return {k: round(v, 3) for k, v in marks.items() if v is not None}


@dataclass(frozen=True)
class CreateTiming:
    queued_s: float  # end of the resource's Check → start of its Create in the provider host
    elapsed_s: float  # its Create, start to end (compare with its serial depth × latency)


def create_timings(grpc_events: Sequence[Mapping[str, Any]]) -> dict[str, CreateTiming]:
    """Per resource created: how long its Create waited to be served, and how long it ran.

    The engine sends Create right after Check returns, so a Create that starts late was waiting for a free
    thread in the provider host (Pulumi's dynamic provider host serves at most 4 requests at once:
    `pulumi/dynamic/__main__.py`, `grpc.server(futures.ThreadPoolExecutor(max_workers=4))`). A Create that
    runs longer than its serial depth × latency spent the difference off the wire (client-side work such
    as parsing a WSDL, or calls sent late).
    """
    check_end: dict[str, float] = {}
    create: dict[str, tuple[float, float]] = {}
    for e in grpc_events:
        urn = str(e.get("urn", ""))
        if not urn or "ResourceProvider" not in str(e.get("service", "ResourceProvider")):
            continue
        if e.get("grpc") == "Check":
            check_end[urn] = max(check_end.get(urn, 0.0), float(e["t1"]))
        elif e.get("grpc") == "Create" and urn not in create:
            create[urn] = (float(e["t0"]), float(e["t1"]))
    return {
        urn: CreateTiming(
            queued_s=max(0.0, t0 - check_end[urn]) if urn in check_end else 0.0, elapsed_s=t1 - t0
        )
        for urn, (t0, t1) in create.items()
    }


# --- start-up split and CPU per process, from the hook's process records

PROGRAM_ROLE = "devtools.pulumi_cli.client"  # the language host stand-in that runs the program (--client)
PROVIDER_ROLE = "pulumi.dynamic"  # the dynamic-provider plugin


@dataclass(frozen=True)
class StartupSplit:
    """Where the time before the first API call's reply went, in order (seconds after the run's start)."""

    milestones: dict[str, float]  # milestone → seconds after start
    segments: dict[str, float]  # consecutive segments between milestones, in order
    groups: dict[str, float]  # the segments summed by who spends them (STARTUP_GROUPS)
    wrap_up_s: float | None  # the program's end → the CLI's exit


#: Segments of the start-up, each the span between two milestones, and the group that spends it.
STARTUP_SEGMENTS: tuple[tuple[str, str, str, str], ...] = (
    ("language host: Python start, grpc and pulumi.automation imports", "start", "cli_exec", "program"),
    ("CLI: start, project and stack, until it asks for the program", "cli_exec", "program_run", "cli"),
    ("program: imports and config, to its first registration", "program_run", "first_registration",
     "program"),
    ("CLI: registration → provider plugin started", "first_registration", "plugin_exec", "cli"),
    ("provider plugin: Python start and pulumi.dynamic imports", "plugin_exec", "plugin_server", "provider"),
    ("provider plugin: handshake and configure", "plugin_server", "first_unpickle", "provider"),
    ("provider plugin: first unpickle (imports the provider modules)", "first_unpickle", "first_unpickle_end",
     "provider"),
    ("CLI/provider: on to the request that makes the first call", "first_unpickle_end", "first_call_request",
     "cli"),
    ("first call: client-side work before it is sent", "first_call_request", "first_api_call", "first_call"),
    ("first call: its round trip", "first_api_call", "first_api_reply", "first_call"),
)  # fmt: skip
STARTUP_GROUPS = {
    "cli": "the CLI",
    "program": "the language host and program",
    "provider": "the provider plugin's start and imports",
    "first_call": "the first call",
}


def _role_pids(process_events: Sequence[Mapping[str, Any]], role: str) -> set[int]:
    return {int(e["pid"]) for e in process_events if e.get("kind") == "process" and e.get("role") == role}


def startup_split(
    process_events: Sequence[Mapping[str, Any]],
    grpc_events: Sequence[Mapping[str, Any]],
    calls: Sequence[Mapping[str, Any]],
    started_at: float,
) -> StartupSplit:
    """The start-up of one run under the real CLI, from the hook's records: when the CLI process started
    (the provider plugin's parent), when it asked the language host for the program (`Run`), the program's
    first registration, the plugin's start, its gRPC server (pulumi.dynamic imported), its first unpickling
    (which imports the provider modules), the provider request that made the first API call, and that call
    sent and answered."""
    program = _role_pids(process_events, PROGRAM_ROLE)
    provider = _role_pids(process_events, PROVIDER_ROLE)

    def first(values: Iterable[Any]) -> float | None:
        found = [float(v) for v in values if v is not None]
        return min(found) if found else None

    plugin_starts = [e for e in process_events if e.get("kind") == "process" and int(e["pid"]) in provider]
    unpickles = [e for e in process_events if e.get("kind") == "unpickle" and int(e["pid"]) in provider]
    first_unpickle = min(unpickles, key=lambda e: float(e["t0"]), default=None)
    first_http = min(calls, key=lambda c: float(c["t0"]), default=None)
    # The provider request that made the first call (a Check: Preflight runs its checks there; or a Create),
    # from when its own work began: after the first unpickling when that happened inside it.
    making = None
    if first_http is not None:
        t = float(first_http["t0"])
        making = first(
            e["t0"]
            for e in grpc_events
            if e.get("grpc") == first_http.get("grpc")
            and e.get("urn") == first_http.get("urn")
            and float(e["t0"]) <= t <= float(e["t1"])
        )
        if making is not None and first_unpickle is not None:
            making = max(making, float(first_unpickle["t1"]))
    at: dict[str, float | None] = {
        "start": started_at,
        "cli_exec": first(e.get("parent_exec_at") for e in plugin_starts),
        "program_run": first(
            e["t0"] for e in grpc_events if e.get("grpc") == "Run" and int(e.get("pid", -1)) in program
        ),
        "first_registration": first(e["t0"] for e in grpc_events if e.get("grpc") == "RegisterResource"),
        "plugin_exec": first(e.get("exec_at") for e in plugin_starts),
        "plugin_server": first(
            e["t"] for e in process_events if e.get("kind") == "grpc_server" and int(e["pid"]) in provider
        ),
        "first_unpickle": None if first_unpickle is None else float(first_unpickle["t0"]),
        "first_unpickle_end": None if first_unpickle is None else float(first_unpickle["t1"]),
        "first_call_request": making,
        "first_api_call": None if first_http is None else float(first_http["t0"]),
        "first_api_reply": None if first_http is None else float(first_http["t1"]),
    }
    milestones = {k: round(v - started_at, 3) for k, v in at.items() if v is not None and k != "start"}
    segments: dict[str, float] = {}
    groups: dict[str, float] = {}
    for label, a, b, group in STARTUP_SEGMENTS:
        ta, tb = at.get(a), at.get(b)
        if ta is None or tb is None:
            continue
        # A milestone may come before the previous one (the CLI can start the plugin before the program's
        # first registration): nothing is spent on that segment then.
        span = max(0.0, tb - ta)
        segments[label] = round(span, 3)
        groups[group] = round(groups.get(group, 0.0) + span, 3)
    run_end = first(
        [max((float(e["t1"]) for e in grpc_events if e.get("grpc") == "Run" and int(e["pid"]) in program),
             default=None)]
    )  # fmt: skip
    exits = [float(e["t"]) for e in process_events if e.get("kind") == "exit" and int(e["pid"]) in program]
    wrap = round(max(exits) - run_end, 3) if run_end is not None and exits else None
    return StartupSplit(milestones, segments, {g: groups[g] for g in STARTUP_GROUPS if g in groups}, wrap)


@dataclass(frozen=True)
class CpuSplit:
    total_s: float  # every process of the run (children's rusage: the CLI and what it waited for)
    program_s: float | None  # the language host + program process
    provider_s: float | None  # the provider plugin process(es)

    @property
    def cli_s(self) -> float | None:
        """The rest: the `pulumi` CLI itself (a Go process the hook cannot see into)."""
        if self.program_s is None or self.provider_s is None:
            return None
        return max(0.0, self.total_s - self.program_s - self.provider_s)


def cpu_split(process_events: Sequence[Mapping[str, Any]], grpc_events: Sequence[Mapping[str, Any]],
              total_s: float) -> CpuSplit:  # fmt: skip
    """CPU per process of a run: each Python process's own CPU when it exited (its `exit` record), else at
    its last recorded gRPC request (a process killed without running its exit handlers)."""

    def of(role: str) -> float | None:
        pids = _role_pids(process_events, role)
        if not pids:
            return None
        total = 0.0
        for pid in pids:
            exits = [float(e["cpu"]) for e in process_events if e.get("kind") == "exit" and e["pid"] == pid]
            seen = [float(e["cpu"]) for e in grpc_events if e.get("pid") == pid and "cpu" in e]
            total += max(exits or seen or [0.0])
        return round(total, 3)

    return CpuSplit(round(total_s, 3), of(PROGRAM_ROLE), of(PROVIDER_ROLE))
