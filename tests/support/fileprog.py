"""The `fileprog` test program: dynamic resources that are records of a local JSON file (real CLI)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from devtools.pulumi_cli import api

FILEPROG = Path(__file__).parent / "programs" / "fileprog"


class FileProg:
    """The `fileprog` test program with its JSON store and state directory under one tmp dir."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.state_dir = root / "state"
        self.db = root / "db.json"
        self.cwd = FILEPROG

    def run(
        self, verb: str, items: list[dict[str, Any]], *, config: dict[str, str] | None = None, **kw: Any
    ) -> api.CliResult:
        full = {"fileprog:db": str(self.db), "fileprog:items": json.dumps(items)}
        full.update(config or {})
        # The stack file is encrypted with the test passphrase, whatever the caller's shell has set.
        env = {"PULUMI_CONFIG_PASSPHRASE": api.TEST_PASSPHRASE, **kw.pop("env", {})}
        return api.run(verb, stack="dev", cwd=self.cwd, state_dir=self.state_dir, config=full, env=env, **kw)

    def data(self) -> dict[str, Any]:
        return dict(json.loads(self.db.read_text())) if self.db.exists() else {}

    def records(self) -> dict[str, dict[str, Any]]:
        return dict(self.data().get("records", {}))

    def contents(self) -> dict[str, str]:
        return {r["name"]: r["content"] for r in self.records().values()}

    def calls(self, *ops: str) -> list[dict[str, Any]]:
        return [c for c in self.data().get("__calls", []) if not ops or c["op"] in ops]

    def clear_calls(self) -> None:
        data = self.data()
        data["__calls"] = []
        self.db.write_text(json.dumps(data))

    @property
    def state_file(self) -> Path:
        return self.state_dir / ".pulumi" / "stacks" / "fileprog" / "dev.json"

    def state(self) -> dict[str, Any]:
        return dict(json.loads(self.state_file.read_text()))

    def state_resources(self) -> dict[str, dict[str, Any]]:
        return {r["urn"].rsplit("::", 1)[-1]: r for r in self.state()["checkpoint"]["latest"]["resources"]}
