"""A status report per org stack, and a table for the fleet: the guide's tasks, health now, drift.

    python tools/status.py --stacks uat,prod [--parallel N] [--work-dir .] [--backend-url URL]
                           [--secret-env KEY=ENV_{STACK}] [--json FILE] [--markdown FILE]
    make status STACKS=uat,prod

Each stack is read with ``pulumi preview --refresh`` (the Automation API over the real CLI, the program run
inline as tools/fleet.py does). The engine reads every resource from the org (the providers' ``read``, so
the health probes run now), then diffs what it read against what the program declares. A preview saves no
snapshot (pulumi/pulumi pkg/backend/diy/backend.go, ``diyBackend.apply``: no ``SnapshotManager`` when
``opts.DryRun``), and the providers' ``read`` writes nothing to the org. So the report is a level, not an
edge: it shows drift for as long as the org differs from the program, however often it runs, where
``pulumi refresh`` stores what it read as the new baseline and is clean from its second run on.

Per stack it reports:
- the guide's 8 tasks and its one manual step, each done or not, and why not;
- each named credential's health probe, measured by this run;
- drift, field by field, old (in the org) → new (the program), secrets as ``[secret]``.
It exits 0 only when every task of every stack is done, nothing drifted and every probe says ``ok``; 1 when
something is not done; 2 for a usage error (unknown stack, missing variable). ``--json`` writes the report
as JSON (schema: docs/status.schema.json), ``--markdown`` as Markdown for a CI job summary
(``$GITHUB_STEP_SUMMARY``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.eci_aircall import GUIDE_TASK_OF_CHILD, PREFLIGHT_CHILD, SHARED_TASKS  # noqa: E402
from providers import guide  # noqa: E402
from providers.health import OK  # noqa: E402
from tools import fleet  # noqa: E402

#: A step as the engine reports it (CLI ``--json`` steps and Automation API events alike): ``op``, ``urn``,
#: ``type``, ``old`` / ``new`` (each ``{"inputs", "outputs"}`` or None).
Step = Mapping[str, Any]

# Engine-internal and derived properties that are not a field of the artifact: the pickled provider, the
# salted hash that stands in for a write-only secret in state, the measurement bookkeeping.
_NOT_FIELDS = frozenset({"__provider", "observed_before"})
_HASH_SUFFIX = "_hash"
SECRET = "[secret]"
_NAMED_CREDENTIALS = {
    "aircall-named-credential": "aircall",
    "eci-named-credential": "eciOAuth",
}


@dataclass(frozen=True)
class TaskStatus:
    task: str
    done: bool
    detail: str = ""


@dataclass(frozen=True)
class Drift:
    resource: str
    field: str
    org: Any
    program: Any


@dataclass
class StackStatus:
    stack: str
    tasks: list[TaskStatus] = field(default_factory=list)
    manual_step: TaskStatus | None = None
    health: dict[str, str] = field(default_factory=dict)
    drift: list[Drift] = field(default_factory=list)
    error: str = ""
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            not self.error
            and all(t.done for t in self.tasks)
            and (self.manual_step is None or self.manual_step.done)
            and not self.drift
            and all(h == OK for h in self.health.values())
        )


# --- reading the engine's steps (pure)


def child_of(urn: str, component: str) -> str:
    """``urn:…::eci-aircall-site`` → ``site`` (the child's name after its component's)."""
    name = urn.rsplit("::", 1)[-1]
    return name[len(component) + 1 :] if name.startswith(f"{component}-") else ""


def _plain(value: Any) -> Any:
    """A value as the report shows it: secrets (the engine's secret sig or its ``[secret]`` mask) masked."""
    if isinstance(value, Mapping):
        if value.get("4dabf18193072939515e22adb298388d") == "1b47061264138c4ac30d75fd1eb44270":
            return SECRET
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def field_drift(resource: str, org: Mapping[str, Any], program: Mapping[str, Any]) -> list[Drift]:
    """Fields whose value in the org (the refreshed inputs) differs from the program's. A write-only secret is
    in the refreshed inputs only as its salted hash; whether it changed is the provider's diff to say, and
    the report says ``[secret]`` either way."""
    drifts = []
    for name in sorted(set(org) | set(program)):
        if name in _NOT_FIELDS or name.endswith(_HASH_SUFFIX):
            continue
        old, new = _plain(org.get(name)), _plain(program.get(name))
        if name not in program or old == new:
            continue
        if name not in org and f"{name}{_HASH_SUFFIX}" in org:
            continue  # a write-only secret the org never returns (the provider's diff compares its hash)
        drifts.append(Drift(resource, name, old, new))
    return drifts


def assess(stack: str, steps: Iterable[Step], *, component: str = "eci-aircall") -> StackStatus:
    """The report of one stack from the steps of its ``preview --refresh``."""
    status = StackStatus(stack)
    refreshed: dict[str, Mapping[str, Any] | None] = {}
    planned: dict[str, Step] = {}
    for step in steps:
        child = child_of(str(step.get("urn", "")), component)
        if not child:
            continue
        if step.get("op") == "refresh":
            new = step.get("new")
            refreshed[child] = (new or {}).get("outputs") if new else None
        else:
            planned[child] = step
    shared_eci = _shared_eci(planned.get(PREFLIGHT_CHILD))
    drifted_children: set[str] = set()
    for child, step in sorted(planned.items()):
        op = str(step.get("op"))
        if op in ("same", "read"):
            continue
        drifted_children.add(child)
        old, new = step.get("old") or {}, step.get("new") or {}
        if op in ("create", "create-replacement") and not old:
            status.drift.append(Drift(child, "(resource)", "missing", "created by `pulumi up`"))
        elif op == "delete":
            status.drift.append(Drift(child, "(resource)", "present", "deleted by `pulumi up`"))
        else:
            found = field_drift(child, old.get("inputs") or {}, new.get("inputs") or {})
            status.drift.extend(found or [Drift(child, "(resource)", "differs", f"`pulumi up` will {op} it")])
    for child, key in _NAMED_CREDENTIALS.items():
        outputs = refreshed.get(child)
        if outputs and outputs.get("health"):
            status.health[key] = str(outputs["health"])
    status.tasks = _tasks(refreshed, planned, drifted_children, status.health, shared_eci)
    status.manual_step = _manual_step(refreshed.get("eci-named-credential"), shared_eci)
    return status


def _shared_eci(preflight: Step | None) -> str:
    inputs = ((preflight or {}).get("new") or {}).get("inputs") or {}
    return str(inputs.get("shared_eci") or "create")


def _tasks(
    refreshed: Mapping[str, Mapping[str, Any] | None],
    planned: Mapping[str, Step],
    drifted: set[str],
    health: Mapping[str, str],
    shared_eci: str,
) -> list[TaskStatus]:
    by_task: dict[str, list[str]] = {}
    for child, task in GUIDE_TASK_OF_CHILD.items():
        if child in planned or child in refreshed:
            by_task.setdefault(task, []).append(child)
    rows = []
    for task in guide.TASKS:
        children = by_task.get(task, [])
        if task == guide.TASK_AIRCALL_API_KEY:
            rows.append(_api_key_task(health.get("aircall", "")))
        elif not children and shared_eci == "skip" and task in SHARED_TASKS:
            done_by = "done by the voice connector set up earlier (sharedEci: skip)"
            rows.append(TaskStatus(task, True, done_by))
        elif not children:
            rows.append(TaskStatus(task, False, "not in this stack: run `pulumi up`"))
        else:
            missing = [c for c in children if refreshed.get(c) is None]
            changed = [c for c in children if c in drifted and c not in missing]
            if missing:
                rows.append(TaskStatus(task, False, f"missing in the org: {', '.join(missing)}"))
            elif changed:
                rows.append(TaskStatus(task, False, f"drifted: {', '.join(changed)} (see drift)"))
            else:
                rows.append(TaskStatus(task, True))
    return rows


def _api_key_task(aircall_health: str) -> TaskStatus:
    if aircall_health == OK:
        return TaskStatus(guide.TASK_AIRCALL_API_KEY, True, "the Aircall credential's callout works")
    if aircall_health.startswith("not checked"):
        return TaskStatus(guide.TASK_AIRCALL_API_KEY, True, "Preflight checked the key at the last `up`")
    return TaskStatus(guide.TASK_AIRCALL_API_KEY, False, f"the Aircall callout fails: {aircall_health}")


def _manual_step(eci_credential: Mapping[str, Any] | None, shared_eci: str) -> TaskStatus:
    if shared_eci == "skip":
        return TaskStatus(guide.MANUAL_STEP, True, "the voice connector configured earlier owns it")
    if not eci_credential:
        return TaskStatus(guide.MANUAL_STEP, False, f"{guide.ECI_NAMED_CREDENTIAL} is not in the org yet")
    auth = str(eci_credential.get("authentication_status") or "")
    if auth == "Authenticated":
        return TaskStatus(guide.MANUAL_STEP, True)
    url = eci_credential.get("authorize_url") or ""
    how = f"log in as the integration user, open {url}, and click Authorize" if url else "see nextManualStep"
    if auth == "NotAuthenticated":
        return TaskStatus(guide.MANUAL_STEP, False, f"not authorized ({eci_credential.get('health')}): {how}")
    return TaskStatus(guide.MANUAL_STEP, False, f"not measured ({eci_credential.get('health')}): {how}")


# --- engine events → steps


def step_of(metadata: Any) -> dict[str, Any]:
    """An Automation API ``StepEventMetadata`` as a plain step."""

    def state(s: Any) -> dict[str, Any] | None:
        if s is None:
            return None
        return {"inputs": dict(s.inputs or {}), "outputs": dict(s.outputs or {})}

    op = getattr(metadata.op, "value", metadata.op)
    old, new = state(metadata.old), state(metadata.new)
    return {"op": str(op), "urn": metadata.urn, "type": metadata.type, "old": old, "new": new}


class StatusRunner:
    """``preview --refresh`` of one stack through the Automation API (``fleet.AutomationRunner``'s stack
    selection and config), its steps collected from the engine's events."""

    def __init__(self, work_dir: Path, *, backend_url: str | None) -> None:
        self._automation = fleet.AutomationRunner(work_dir, backend_url=backend_url, resource_parallel=None)

    def __call__(self, job: fleet.StackJob) -> StackStatus:
        from pulumi.automation.errors import CommandError

        start = time.monotonic()
        steps: list[dict[str, Any]] = []

        def collect(event: Any) -> None:
            # A refresh step's live values are known once it has run (its outputs event); the planned
            # steps after it are complete when announced (pre event), and a preview runs none of them.
            done, pre = event.res_outputs_event, event.resource_pre_event
            if done is not None and str(getattr(done.metadata.op, "value", "")) == "refresh":
                steps.append(step_of(done.metadata))
            elif pre is not None and str(getattr(pre.metadata.op, "value", "")) != "refresh":
                steps.append(step_of(pre.metadata))

        try:
            stack = self._automation.select(job)
            stack.preview(refresh=True, color="never", on_event=collect)
        except CommandError as exc:
            error = fleet.command_error_line(exc, job.secrets.values())
            return StackStatus(job.stack, error=error, duration_s=time.monotonic() - start)
        status = assess(job.stack, steps)
        status.duration_s = time.monotonic() - start
        return status


# --- reporting


def _mark(done: bool) -> str:
    return "done" if done else "NOT DONE"


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def render_stack(status: StackStatus) -> str:
    lines = [f"== {status.stack}: {'ok' if status.ok else 'NEEDS ATTENTION'} ({status.duration_s:.1f}s)"]
    if status.error:
        lines.append(f"  error: {status.error}")
        return "\n".join(lines)
    for i, t in enumerate(status.tasks, 1):
        lines.append(f"  {i}. {t.task:<40} {_mark(t.done)}{f'  {t.detail}' if t.detail else ''}")
    if status.manual_step:
        m = status.manual_step
        lines.append(f"  manual: {m.task:<35} {_mark(m.done)}{f'  {m.detail}' if m.detail else ''}")
    for name, result in sorted(status.health.items()):
        lines.append(f"  health {name}: {result}")
    for d in status.drift:
        lines.append(f"  drift {d.resource}.{d.field}: {_value(d.org)} -> {_value(d.program)}")
    if status.drift:
        # A plain `up` starts from the state, which a drift made in the org is not in.
        lines.append(f"  fix: `pulumi up --refresh --stack {status.stack}` puts the org back to the program")
    else:
        lines.append("  drift: none")
    return "\n".join(lines)


def _counts(status: StackStatus) -> tuple[str, str, str, str]:
    tasks = f"{sum(t.done for t in status.tasks)}/{len(status.tasks)}" if status.tasks else "-"
    manual = _mark(status.manual_step.done) if status.manual_step else "-"
    health = (
        "ok"
        if status.health and all(h == OK for h in status.health.values())
        else ("-" if not status.health else "FAILING")
    )
    return tasks, manual, health, str(len(status.drift))


TABLE_HEADERS = ("stack", "status", "tasks", "manual step", "health", "drifted fields", "error")


def table_rows(results: Sequence[StackStatus]) -> list[list[str]]:
    return [[r.stack, "ok" if r.ok else "NEEDS ATTENTION", *_counts(r), r.error] for r in results]


def render_table(results: Sequence[StackStatus]) -> str:
    rows = table_rows(results)
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(TABLE_HEADERS)]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(widths[i]) for i, c in enumerate(cells)).rstrip()

    bad = sum(not r.ok for r in results)
    return "\n".join(
        [fmt(TABLE_HEADERS), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows),
         f"status: {len(results) - bad} ok, {bad} need attention, {len(results)} stacks"]
    )  # fmt: skip


def render_markdown(results: Sequence[StackStatus]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    out = ["## eci-aircall status", "", f"| {' | '.join(TABLE_HEADERS)} |", f"|{'---|' * len(TABLE_HEADERS)}"]
    out += [f"| {' | '.join(cell(c) for c in row)} |" for row in table_rows(results)]
    for r in results:
        out += ["", f"### {r.stack}", ""]
        if r.error:
            out.append(f"Error: {cell(r.error)}")
            continue
        out += ["| task | done | detail |", "|---|---|---|"]
        steps = [*r.tasks, *([r.manual_step] if r.manual_step else [])]
        out += [f"| {cell(t.task)} | {'yes' if t.done else '**no**'} | {cell(t.detail)} |" for t in steps]
        if r.health:
            out += ["", *(f"- health `{k}`: {cell(v)}" for k, v in sorted(r.health.items()))]
        if r.drift:
            out += ["", "| drifted field | in the org | in the program |", "|---|---|---|"]
            out += [
                f"| `{d.resource}.{d.field}` | `{cell(_value(d.org))}` | `{cell(_value(d.program))}` |"
                for d in r.drift
            ]
    return "\n".join(out) + "\n"


def report_json(results: Sequence[StackStatus], wall_s: float) -> dict[str, Any]:
    return {
        "ok": all(r.ok for r in results),
        "wall_s": round(wall_s, 3),
        "stacks": [
            {
                "stack": r.stack,
                "ok": r.ok,
                "error": r.error,
                "duration_s": round(r.duration_s, 3),
                "tasks": [asdict(t) for t in r.tasks],
                "manual_step": asdict(r.manual_step) if r.manual_step else None,
                "health": dict(r.health),
                "drift": [asdict(d) for d in r.drift],
            }
            for r in results
        ],
    }


def exit_code(results: Sequence[StackStatus]) -> int:
    return 0 if results and all(r.ok for r in results) else 1


# --- main


def _failed(job: fleet.StackJob, error: str, duration_s: float) -> StackStatus:
    return StackStatus(job.stack, error=error, duration_s=duration_s)


def _progress(result: StackStatus) -> None:
    state = "ok" if result.ok else "needs attention"
    print(f"  {result.stack}: {state} in {result.duration_s:.1f}s", file=sys.stderr, flush=True)


RunnerFactory = Callable[[fleet.FleetPlan, argparse.Namespace], Callable[[fleet.StackJob], StackStatus]]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="status.py", description=(__doc__ or "").split("\n\n")[0])
    fleet.add_stack_options(p)
    p.add_argument("--markdown", type=Path, help="also write the report as Markdown ($GITHUB_STEP_SUMMARY)")
    return p


def _default_runner(
    plan: fleet.FleetPlan, args: argparse.Namespace
) -> Callable[[fleet.StackJob], StackStatus]:
    return StatusRunner(plan.work_dir, backend_url=args.backend_url)


def main(argv: Sequence[str] | None = None, runner_factory: RunnerFactory = _default_runner) -> int:
    args = build_parser().parse_args(argv)
    try:
        plan = fleet.plan(
            "preview", args.stacks, work_dir=args.work_dir.resolve(), parallel=args.parallel,
            config=args.config, config_env=args.config_env, secret_env=args.secret_env,
        )  # fmt: skip
    except fleet.PlanError as exc:
        print(f"status: {exc}", file=sys.stderr)
        return 2
    if runner_factory is _default_runner:
        missing = fleet.pulumi_cli_missing_message(plan.work_dir)
        if missing:
            print(missing.replace("fleet:", "status:", 1), file=sys.stderr)
            return 2
    runner = runner_factory(plan, args)
    print(
        f"status: reading {len(plan.jobs)} stacks from their orgs ({plan.concurrency} at once; "
        "`pulumi preview --refresh`, nothing is written)...",
        file=sys.stderr,
        flush=True,
    )
    start = time.monotonic()
    results = fleet.run_fleet(plan, runner, on_done=_progress, failed=_failed)
    wall = time.monotonic() - start
    for r in results:
        print(render_stack(r))
        print()
    print(render_table(results))
    if args.json_path:
        args.json_path.parent.mkdir(parents=True, exist_ok=True)
        args.json_path.write_text(json.dumps(report_json(results, wall), indent=2) + "\n")
    if args.markdown:
        with args.markdown.open("a") as md:
            md.write(render_markdown(results))
    return exit_code(results)


if __name__ == "__main__":
    sys.exit(main())
