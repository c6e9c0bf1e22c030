"""Drive the real `pulumi` CLI from Python (tests, `make demo`, `make bench`): one call per CLI verb.

`run(verb, stack=, cwd=, state_dir=, config=, secrets=)` runs `pulumi VERB --json` on a file backend under
`state_dir`, on a private work copy of the project (`state_dir/project/<name>`: the project's files linked,
its stack config folder copied), because the CLI saves config into the stack file and the repository's own
`stacks/` must stay as committed. Each run's config is the project's stack file plus `config` and `secrets`,
exactly: what a run does not pass is not set (a key left out is unset, as with `-c` on a fresh checkout).
Secrets reach the CLI on stdin (`pulumi config set --secret KEY`, value left out: pkg/cmd/pulumi/config/
config.go reads it from stdin), never in argv.

The result's `steps`, `changes` and `outputs` come from the CLI's own `--json`: for `preview` the digest
(pkg/backend/display/json.go ShowPreviewDigest), for the other verbs the engine event stream (ShowJSONEvents).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
# The passphrase the stack files in this repository were encrypted with (it protects nothing real).
TEST_PASSPHRASE = "eci-aircall-test-passphrase"
# Top-level entries of a project that a work copy does not link.
NOT_LINKED = {".git", ".demo", ".state", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".tools"}


class CliError(AssertionError):
    """The CLI exited non-zero while the caller asked for check=True."""

    def __init__(self, result: CliResult) -> None:
        self.result = result
        super().__init__(
            f"`pulumi {result.verb}` exited {result.returncode}\n--- messages ---\n{result.text[-6000:]}"
        )


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str
    data: dict[str, Any] = field(default_factory=dict)
    verb: str = ""

    @property
    def changes(self) -> dict[str, int]:
        return dict(self.data.get("changes") or {})

    @property
    def outputs(self) -> dict[str, Any]:
        return dict(self.data.get("outputs") or {})

    @property
    def errors(self) -> list[str]:
        return list(self.data.get("errors") or [])

    @property
    def text(self) -> str:
        """What a person reads: every diagnostic the CLI reported, then its stderr."""
        return "\n".join([*(self.data.get("messages") or []), self.stderr])

    def ops(self, include_same: bool = False) -> dict[str, str]:
        """URN → op of every resource step (sames left out unless asked)."""
        return {s["urn"]: s["op"] for s in self.data.get("steps") or [] if include_same or s["op"] != "same"}

    def steps_by_name(self) -> dict[str, dict[str, Any]]:
        return {s["urn"].rsplit("::", 1)[-1]: s for s in self.data.get("steps") or []}


def pulumi_binary() -> str:
    """The CLI `make pulumi` built or found (`ECI_PULUMI`), else `pulumi` on PATH."""
    if os.environ.get("ECI_PULUMI"):
        return os.environ["ECI_PULUMI"]
    from devtools.pulumi_cli import build

    found = build.find(build.required_version())
    if found is None:
        raise RuntimeError("no pulumi CLI: run `make pulumi`")
    os.environ["ECI_PULUMI"] = str(found)
    return str(found)


def cli_env(state_dir: str | Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every CLI run: offline, on a file backend under state_dir, this venv's Python."""
    state = Path(state_dir).resolve()
    full = dict(os.environ)
    full.update(
        {
            "PULUMI_BACKEND_URL": state.as_uri(),
            "PULUMI_HOME": str(state / ".pulumi-home"),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
            # The dynamic-provider plugin runs this Python when the CLI gives it no virtualenv (the --client
            # route replaces the project's runtime options).
            "PULUMI_PYTHON_CMD": sys.executable,
            "ECI_PULUMI": pulumi_binary(),
            "NO_COLOR": "1",
        }
    )
    full.update(env or {})
    if "PULUMI_CONFIG_PASSPHRASE" not in full and "PULUMI_CONFIG_PASSPHRASE_FILE" not in full:
        full["PULUMI_CONFIG_PASSPHRASE"] = TEST_PASSPHRASE
    full["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), full.get("PYTHONPATH", "")) if p)
    return full


@cache
def _project_settings(source: Path) -> tuple[str, str]:
    doc = yaml.safe_load((source / "Pulumi.yaml").read_text())
    return str(doc["name"]), str(doc.get("stackConfigDir") or "")


def work_copy(source: str | Path, state_dir: str | Path) -> Path:
    """The project's private work copy under state_dir: every file linked but the stack config folder."""
    src = Path(source).resolve()
    name, config_dir = _project_settings(src)
    work = Path(state_dir).resolve() / "project" / name
    if work.exists():
        return work
    work.mkdir(parents=True)
    for entry in src.iterdir():
        if (
            entry.name in NOT_LINKED
            or entry.name == "__pycache__"
            or (config_dir and entry.name == config_dir)
        ):
            continue
        (work / entry.name).symlink_to(entry)
    if config_dir:
        shutil.copytree(src / config_dir, work / config_dir)
    return work


def stack_file(work: Path, stack: str) -> Path:
    _, config_dir = _project_settings(work)
    return work / config_dir / f"Pulumi.{stack}.yaml"


def cli(
    args: list[str], *, work: Path, state_dir: str | Path, env: dict[str, str] | None = None,
    input_: str | None = None, check: bool = True, timeout: float = 300,
) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """One CLI command that runs no program (stack, config, cancel, export …) in the work copy ``work``."""
    cmd = [pulumi_binary(), *args, "--cwd", str(work), "--non-interactive"]
    proc = subprocess.run(
        cmd, env=cli_env(state_dir, env), input=input_ if input_ is not None else "", capture_output=True,
        text=True, timeout=timeout, check=False,
    )  # fmt: skip
    if check and proc.returncode != 0:
        raise RuntimeError(f"`pulumi {' '.join(args)}` exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc


# work dir → fingerprint of the config last written there (secrets hashed, in memory only).
_WRITTEN: dict[str, str] = {}


def prepare(
    *, stack: str, cwd: str | Path, state_dir: str | Path, config: dict[str, str] | None = None,
    secrets: dict[str, str] | None = None, env: dict[str, str] | None = None,
) -> Path:  # fmt: skip
    """The work copy with the stack selected (created on first use) and its config exactly as given."""
    work = work_copy(cwd, state_dir)
    path = stack_file(work, stack)
    key = f"{work}:{stack}"
    if key not in _WRITTEN and not _stack_exists(state_dir, stack):
        cli(["stack", "init", stack], work=work, state_dir=state_dir, env=env)
    config, secrets = dict(config or {}), dict(secrets or {})
    source = Path(cwd).resolve()
    _, config_dir = _project_settings(source)
    original = source / config_dir / f"Pulumi.{stack}.yaml"
    base = yaml.safe_load(original.read_text()) if original.exists() else {}
    base = base or {}
    digest = hashlib.sha256(
        json.dumps([base, config, {k: hashlib.sha256(v.encode()).hexdigest() for k, v in secrets.items()}],
                   sort_keys=True).encode()
    ).hexdigest()  # fmt: skip
    if _WRITTEN.get(key) == digest:
        return work
    current = yaml.safe_load(path.read_text()) if path.exists() else {}
    doc: dict[str, Any] = {k: v for k, v in (current or {}).items() if k != "config"}
    doc.update({k: v for k, v in base.items() if k != "config"})
    merged = dict(base.get("config") or {})
    merged.update(config)
    doc["config"] = merged
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    for name, value in secrets.items():
        cli(["config", "set", "--secret", "--stack", stack, name], work=work, state_dir=state_dir, env=env,
             input_=value)  # fmt: skip
    _WRITTEN[key] = digest
    return work


def _stack_exists(state_dir: str | Path, stack: str) -> bool:
    root = Path(state_dir) / ".pulumi" / "stacks"
    return root.exists() and any(root.rglob(f"{stack}.json*"))


def start(
    verb: str,
    *,
    stack: str,
    cwd: str | Path,
    state_dir: str | Path,
    config: dict[str, str] | None = None,
    secrets: dict[str, str] | None = None,
    expect_no_changes: bool = False,
    parallel: int | None = None,
    env: dict[str, str] | None = None,
    extra_args: list[str] | None = None,
    json_output: bool = True,
    stream: bool = False,
) -> subprocess.Popen[str]:
    """Start `pulumi VERB` with this run's config (see `run`); the caller waits for it, or kills it."""
    work = prepare(stack=stack, cwd=cwd, state_dir=state_dir, config=config, secrets=secrets, env=env)
    args = [verb, "--stack", stack]
    if json_output:
        args.append("--json")
    if verb != "preview":
        args += ["--yes", "--skip-preview"]
    if expect_no_changes:
        args.append("--expect-no-changes")
    if parallel is not None:
        args += ["--parallel", str(parallel)]
    args += [*(extra_args or []), "--cwd", str(work), "--non-interactive"]
    pipe = None if stream else subprocess.PIPE
    # Its own process group (unless streaming to a terminal): a timeout or an interrupted test ends the CLI,
    # the program and the provider together.
    return subprocess.Popen(
        [sys.executable, "-m", "devtools.pulumi_cli.client", *args], cwd=str(REPO_ROOT),
        env=cli_env(state_dir, env), stdin=subprocess.DEVNULL, stdout=pipe, stderr=pipe,
        text=True, start_new_session=not stream,
    )  # fmt: skip


def finish(
    proc: subprocess.Popen[str], verb: str, *, timeout: float = 300, json_output: bool = True
) -> CliResult:
    """Wait for a started run and read what the CLI said."""
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    stdout, stderr = stdout or "", stderr or ""
    data = parse_json(stdout) if json_output else {}
    if proc.returncode != 0 and json_output and not data.get("errors"):
        # Refused before the engine ran (bad flags, config the project's schema rejects: exit 255), the CLI
        # writes its error to stderr only.
        data.setdefault("errors", [])
        data.setdefault("failed", [])
        data["errors"] += [line for line in stderr.splitlines() if line.startswith("error:")]
    return CliResult(proc.returncode, stdout, stderr, data, verb)


def run(
    verb: str,
    *,
    check: bool = True,
    timeout: float = 300,
    json_output: bool = True,
    **kw: Any,
) -> CliResult:
    """`pulumi VERB --json` with this run's config; with check=True a non-zero exit raises CliError.

    Keywords as `start`: stack, cwd, state_dir, config, secrets, expect_no_changes, parallel, env,
    extra_args, stream (True shows the CLI's own output on this terminal instead of capturing it).
    """
    proc = start(verb, json_output=json_output, **kw)
    result = finish(proc, verb, timeout=timeout, json_output=json_output)
    if check and result.returncode != 0:
        raise CliError(result)
    return result


def stack_export(
    *, stack: str, cwd: str | Path, state_dir: str | Path, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """`pulumi stack export` (secrets stay encrypted)."""
    work = work_copy(cwd, state_dir)
    proc = cli(["stack", "export", "--stack", stack], work=work, state_dir=state_dir, env=env)
    return dict(json.loads(proc.stdout))


def stack_import(
    deployment: dict[str, Any], *, stack: str, cwd: str | Path, state_dir: str | Path,
    env: dict[str, str] | None = None,
) -> None:  # fmt: skip
    """`pulumi stack import` of a deployment (from stdin's file)."""
    work = work_copy(cwd, state_dir)
    path = Path(state_dir) / f"import-{stack}.json"
    path.write_text(json.dumps(deployment))
    try:
        cli(
            ["stack", "import", "--stack", stack, "--file", str(path)],
            work=work,
            state_dir=state_dir,
            env=env,
        )
    finally:
        path.unlink()


def state_text(state_dir: str | Path) -> str:
    """Every checkpoint file of the file backend, as text."""
    root = Path(state_dir) / ".pulumi" / "stacks"
    return "".join(p.read_text() for p in sorted(root.rglob("*.json")))


# --- the CLI's --json ---------------------------------------------------------------------------------------

HIDDEN_TYPES = ("pulumi:providers:", "pulumi:pulumi:Stack")
REPLACE_OPS = {"create-replacement", "replace", "delete-replaced"}


def _masked(value: Any) -> Any:
    """The CLI shows secrets as the string "[secret]" in --json (apitype SecretValue when serialised)."""
    if isinstance(value, dict):
        if value.get("4dabf18193072939515e22adb298388d") == "1b47061264138c4ac30d75fd1eb44270":
            return "[secret]"
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _step(meta: dict[str, Any]) -> dict[str, Any]:
    state = meta.get("new") or meta.get("old") or {}
    step: dict[str, Any] = {
        "urn": meta["urn"],
        "type": meta.get("type") or state.get("type", ""),
        "op": meta["op"],
        "diffs": list(meta.get("diffs") or meta.get("diffReasons") or []),
        "replaces": list(meta.get("keys") or meta.get("replaceReasons") or []),
        "detailedDiff": meta.get("detailedDiff") or {},
    }
    olds = (meta.get("old") or meta.get("oldState") or {}).get("inputs") or {}
    news = (meta.get("new") or meta.get("newState") or {}).get("inputs") or {}
    # What the CLI's display lists when the provider gives no detailed diff (display/rows.go getDiffInfo).
    shown = sorted(k for k in set(olds) | set(news) if not k.startswith("__") and olds.get(k) != news.get(k))
    if shown and meta["op"] not in ("same", "create", "delete"):
        step["inputDiff"] = shown
    step["outputs"] = _masked((meta.get("new") or meta.get("newState") or {}).get("outputs") or {})
    return step


def parse_json(stdout: str) -> dict[str, Any]:
    """The CLI's --json in one shape: steps, changes, outputs, errors and every diagnostic message."""
    text = stdout.strip()
    if not text:
        return {}
    steps: dict[str, dict[str, Any]] = {}
    messages: list[str] = []
    errors: list[str] = []
    outputs: dict[str, Any] = {}
    summary: dict[str, int] | None = None
    failed: list[str] = []
    resource_errors: list[dict[str, str]] = []
    if text.startswith("{\n") and not text.startswith('{"sequence'):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError:
            doc = None
        if doc is not None:  # the preview digest
            for raw in doc.get("steps") or []:
                step = _step(
                    {**raw, "type": ((raw.get("newState") or raw.get("oldState") or {}).get("type"))}
                )
                steps[step["urn"]] = step
            for diag in doc.get("diagnostics") or []:
                messages.append(str(diag.get("message", "")).rstrip())
                if diag.get("severity") == "error":
                    errors.append(str(diag.get("message", "")).rstrip())
            summary = doc.get("changeSummary")
            return _document(steps, summary, outputs, messages, errors, failed)
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        for kind in ("resourcePreEvent", "resOutputsEvent", "resOpFailedEvent"):
            meta = (event.get(kind) or {}).get("metadata")
            if meta:
                step = _step(meta)
                before = steps.get(step["urn"], {})
                if kind == "resOpFailedEvent":
                    step = {**before, "error": True}
                    failed.append(step["urn"])
                # A replacement is three steps on one URN (create-replacement, replace, delete-replaced).
                if step.get("op") in REPLACE_OPS or before.get("op") == "replace":
                    step["op"] = "replace"
                steps[step["urn"]] = {**before, **step}
                if kind == "resOutputsEvent" and step["type"] == "pulumi:pulumi:Stack":
                    outputs = step["outputs"]
        diag = event.get("diagnosticEvent")
        if diag and diag.get("severity") != "debug":
            message = (str(diag.get("prefix") or "") + str(diag.get("message") or "")).rstrip()
            messages.append(message)
            if diag.get("severity") == "error":
                errors.append(message)
                urn = str(diag.get("urn") or "")
                if urn and "::pulumi:pulumi:Stack::" not in urn:
                    resource_errors.append({"urn": urn, "message": str(diag.get("message") or "")})
        if "summaryEvent" in event:
            summary = event["summaryEvent"].get("resourceChanges") or {}
    doc = _document(steps, summary, outputs, messages, errors, failed)
    doc["resource_errors"] = resource_errors
    return doc


def _document(
    steps: dict[str, dict[str, Any]], summary: dict[str, int] | None, outputs: dict[str, Any],
    messages: list[str], errors: list[str], failed: list[str],
) -> dict[str, Any]:  # fmt: skip
    shown = [s for s in steps.values() if not s["type"].startswith(HIDDEN_TYPES)]
    changes = {"create": 0, "update": 0, "replace": 0, "delete": 0, "same": 0}
    if summary is not None:
        # The CLI's own count (engine SummaryEvent), less the root stack, which it counts too. A preview
        # digest lists no `same` steps, so only this count has them.
        for op, n in summary.items():
            if op in changes:
                changes[op] += int(n)
        stack_op = next((s["op"] for s in steps.values() if s["type"] == "pulumi:pulumi:Stack"), "same")
        if changes.get(stack_op, 0) > 0:
            changes[stack_op] -= 1
    else:
        for step in shown:
            op = {"refresh": "same", "read": "same"}.get(step["op"], step["op"])
            if op in changes and not step.get("error"):
                changes[op] += 1
    if not outputs:
        for step in steps.values():
            if step["type"] == "pulumi:pulumi:Stack":
                outputs = step.get("outputs") or {}
    return {
        "changes": changes,
        "summary": summary or {},
        "steps": shown,
        "outputs": outputs,
        "messages": messages,
        "errors": errors,
        "failed": failed,
    }
