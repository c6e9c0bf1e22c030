"""`python -m devtools.engine {preview|up|refresh|destroy} --stack NAME ...`: the Pulumi CLI's verbs and
output.

Extensions beyond the issue's interface: `stack export` / `stack import` (the CLI's
`pulumi stack export|import`, printing / reading the UntypedDeployment JSON), `config set [--secret] KEY
[VALUE]` (writes the stack file like `pulumi config set`; the value from stdin when left out), and
`--secret-env KEY=ENV_VAR` beside `--secret KEY=VALUE` (a secret that stays out of argv).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from .engine import Deployment, DeploymentError, ProgramProcess, Result, Step
from .project import Project, ProjectError, load_stack_config, set_stack_config
from .provider_host import ProviderError
from .secrets import PassphraseError
from .state import UNKNOWN, StateError, StateStore, is_secret

SYMBOLS = {"create": "+ ", "update": "~ ", "replace": "+-", "delete": "- ", "same": "  ", "read": "> "}
PAST = {
    "create": "created",
    "update": "updated",
    "replace": "replaced",
    "delete": "deleted",
    "same": "unchanged",
}
FUTURE = {
    "create": "to create",
    "update": "to update",
    "replace": "to replace",
    "delete": "to delete",
    "same": "unchanged",
}
# pkg/cmd/pulumi: `preview` says "were proposed"; `up` and `refresh` apply and then say "occurred".
EXPECT_NO_CHANGES = {
    "preview": "error: no changes were expected but changes were proposed",
    "up": "error: no changes were expected but changes occurred",
    "refresh": "error: no changes were expected but changes occurred",
    "destroy": "error: no changes were expected but changes occurred",
}


def _kv(items: list[str] | None, flag: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: {flag} expects KEY=VALUE, got {item.split('=')[0]!r}")
        result[key] = value
    return result


def _secrets(args: argparse.Namespace, env: dict[str, str]) -> dict[str, str]:
    """``--secret KEY=VALUE`` and ``--secret-env KEY=ENV_VAR`` (the value read from the environment)."""
    secrets = _kv(args.secret, "--secret")
    for key, var in _kv(args.secret_env, "--secret-env").items():
        if var not in env:
            raise SystemExit(f"error: --secret-env {key}: environment variable {var} is not set")
        secrets[key] = env[var]
    return secrets


def public_value(value: Any) -> Any:
    """Stack outputs as the CLI's JSON shows them: secrets as "[secret]", unknowns as "[unknown]"."""
    if is_secret(value):
        return "[secret]"
    if value == UNKNOWN:
        return "[unknown]"
    if isinstance(value, dict):
        return {k: public_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [public_value(v) for v in value]
    return value


def _step_line(step: Step, preview: bool) -> str:
    name = step.urn.rsplit("::", 1)[-1]
    op = step.op
    symbol = "-+" if op == "replace" and step.delete_first else SYMBOLS.get(op, "  ")
    text = f" {symbol} {step.type} {name} {op}"
    keys = step.diffs or step.input_diff  # rows.go getDiffInfo: the input diff when no detailed diff
    if keys:
        text += f" [diff: {' '.join('~' + d for d in keys)}]"
    if op == "replace" and step.replaces:
        text += f" (forces replacement: {', '.join(step.replaces)})"
    if preview and step.wiring:
        text += " [" + ", ".join(f"{k} <- {' + '.join(v)}" for k, v in step.wiring.items()) + "]"
    if step.error:
        text += " **failed**"
    return text


HEADERS = {"preview": "Previewing update", "up": "Updating", "refresh": "Refreshing", "destroy": "Destroying"}


def _shown(step: Step) -> bool:
    return not step.hidden and (step.op != "same" or step.error is not None)


def step_printer(verb: str, stack: str, out: TextIO) -> Callable[[Step], None]:
    """Prints the header now and each step as it completes, like the CLI's progress display."""
    out.write(f"{HEADERS[verb]} ({stack}):\n\n")
    out.flush()
    lock = threading.Lock()

    def on_step(step: Step) -> None:
        if _shown(step):
            with lock:
                out.write(_step_line(step, verb == "preview") + "\n")
                out.flush()

    return on_step


def render_human(verb: str, stack: str, result: Result, out: TextIO, *, streamed: bool = False) -> None:
    preview = verb == "preview"
    if not streamed:
        out.write(f"{HEADERS[verb]} ({stack}):\n\n")
        for step in result.steps:
            if _shown(step):
                out.write(_step_line(step, preview) + "\n")
    if result.diagnostics:
        # Program output; errors go to stderr only, once.
        out.write("\nDiagnostics:\n")
        for msg in result.diagnostics:
            out.write("  " + msg.replace("\n", "\n  ") + "\n")
    if result.outputs:
        out.write("\nOutputs:\n")
        for key, value in sorted(result.outputs.items()):
            out.write(f"    {key}: {json.dumps(public_value(value))}\n")
    changes = result.changes()
    out.write("\nResources:\n")
    words = FUTURE if preview else PAST
    for op in ("create", "update", "replace", "delete"):
        if changes[op]:
            out.write(f"    {SYMBOLS[op].strip()} {changes[op]} {words[op]}\n")
    if changes["same"]:
        out.write(f"    {changes['same']} unchanged\n")
    if not preview:
        out.write(f"\nDuration: {result.duration:.1f}s\n")


def json_document(result: Result) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "changes": result.changes(),
        "steps": [s.as_json() for s in result.steps if not s.hidden],
        "outputs": public_value(result.outputs),
    }
    if result.errors:
        doc["errors"] = list(result.errors)
    return doc


def default_state_dir(project_dir: Path) -> Path:
    """Where state lives without --state-dir: a `file://` PULUMI_BACKEND_URL (the CLI's diy backend)."""
    url = os.environ.get("PULUMI_BACKEND_URL", "")
    if url.startswith("file://"):
        path = url[len("file://") :]
        return Path(os.path.expanduser(path)) if path else Path.home()
    return project_dir


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m devtools.engine", description="A local Pulumi engine for tests."
    )
    sub = ap.add_subparsers(dest="verb", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--stack", "-s", required=True)
        p.add_argument("--cwd", "-C", default=".")
        p.add_argument(
            "--state-dir",
            default=None,
            help="file backend root (default: a file:// PULUMI_BACKEND_URL, else the project directory)",
        )

    for verb in ("preview", "up", "refresh", "destroy"):
        p = sub.add_parser(verb)
        common(p)
        p.add_argument("-c", "--config", action="append", default=[], metavar="KEY=VALUE")
        p.add_argument("--secret", action="append", default=[], metavar="KEY=VALUE")
        # The secret's value from an environment variable, so it never appears in argv (`ps` shows argv).
        p.add_argument("--secret-env", action="append", default=[], metavar="KEY=ENV_VAR")
        p.add_argument("--expect-no-changes", action="store_true")
        p.add_argument("--json", "-j", action="store_true")
        p.add_argument("--parallel", "-p", type=int, default=None)
        p.add_argument(
            "--yes", "-y", action="store_true", help="accepted for CLI compatibility; never prompts"
        )
        p.add_argument("--skip-preview", action="store_true", help="accepted for CLI compatibility")
        if verb in ("refresh", "destroy"):
            p.add_argument(
                "--run-program",
                action="store_true",
                help="configure the provider from the current stack config instead of the one saved at the "
                "last up (the CLI runs the program for that)",
            )
        if verb == "refresh":
            p.add_argument(
                "--clear-pending-creates",
                action="store_true",
                help="Clear all pending creates, dropping them from the state",
            )
    stack = sub.add_parser("stack")
    stack_sub = stack.add_subparsers(dest="stack_verb", required=True)
    exp = stack_sub.add_parser("export")
    common(exp)
    exp.add_argument("--file", default=None)
    imp = stack_sub.add_parser("import")
    common(imp)
    imp.add_argument("--file", default=None)
    cfg = sub.add_parser("config")
    cfg_sub = cfg.add_subparsers(dest="config_verb", required=True)
    cset = cfg_sub.add_parser("set")
    common(cset)
    cset.add_argument("key")
    # As `pulumi config set`: a value left out is read from stdin when stdin is not a terminal, trailing
    # newlines removed unless --raw (pulumi/pulumi pkg/cmd/pulumi/config/config.go, configSetCmd.Run).
    cset.add_argument("value", nargs="?")
    cset.add_argument("--secret", action="store_true")
    cset.add_argument("--raw", action="store_true")
    return ap


def main(argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        return _main(args, out, err)
    except (ProjectError, StateError, PassphraseError, DeploymentError, ProviderError) as exc:
        err.write(f"error: {exc}\n")
        if getattr(args, "json", False):
            out.write(json.dumps({"changes": {}, "steps": [], "outputs": {}, "errors": [str(exc)]}) + "\n")
        return 1


def _main(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    project = Project.load(args.cwd)
    state_dir = Path(args.state_dir) if args.state_dir else default_state_dir(project.directory)
    store = StateStore(state_dir, project.name, args.stack)
    if args.verb == "stack":
        if args.stack_verb == "export":
            text = json.dumps(store.export(), indent=4) + "\n"
            if args.file:
                Path(args.file).write_text(text)
            else:
                out.write(text)
            return 0
        data = Path(args.file).read_text() if args.file else sys.stdin.read()
        store.import_(json.loads(data))
        return 0
    if args.verb == "config":
        value = args.value
        if value is None:
            if sys.stdin.isatty():
                raise SystemExit("error: config value must be given (or piped in on stdin)")
            value = sys.stdin.read()
            if not args.raw:
                value = value.rstrip("\r\n")
        set_stack_config(project, args.stack, args.key, value, secret=args.secret)
        return 0

    env = dict(os.environ)
    program = None
    if args.verb in ("preview", "up"):
        # Start the program's interpreter now; it waits for its settings while we decrypt config.
        program = ProgramProcess.spawn(
            project, args.stack, preview=args.verb == "preview", parallel=args.parallel, env=env
        )
    try:
        config = load_stack_config(
            project, args.stack, _kv(args.config, "--config"), _secrets(args, env), env
        )
        on_step = None if args.json else step_printer(args.verb, args.stack, out)
        deployment = Deployment(
            project, args.stack, config, store, parallel=args.parallel, env=env, on_step=on_step,
            run_program=getattr(args, "run_program", False),
            clear_pending_creates=getattr(args, "clear_pending_creates", False),
        )  # fmt: skip
    except BaseException:
        if program is not None:
            program.abort()
        raise
    if args.verb in ("preview", "up"):
        result = deployment.run_program(preview=args.verb == "preview", program=program)
    elif args.verb == "refresh":
        result = deployment.refresh()
    else:
        result = deployment.destroy()

    if args.json:
        out.write(json.dumps(json_document(result), indent=2) + "\n")
        for msg in result.errors:
            err.write(f"error: {msg}\n")
        for msg in result.diagnostics:
            err.write(msg + "\n")
    else:
        render_human(args.verb, args.stack, result, out, streamed=True)
        for msg in result.errors:
            err.write(f"error: {msg}\n")
    if not result.ok:
        return 255
    if args.expect_no_changes and result.has_changes():
        err.write(EXPECT_NO_CHANGES[args.verb] + "\n")
        return 255
    return 0
