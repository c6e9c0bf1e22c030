"""Every repository path the Markdown files name exists: a backticked path that starts at a top-level entry of
the repository (`providers/kit/inputs.py`, `tests/support/`, `Pulumi.yaml`), a `<placeholder>` in it matching
anything (`providers/<artifact>.py`), and every relative link. A bare file name (`server.py` in the emulator's
table) is relative to its section and not checked; nor is what git does not track (`.demo/`, `.tools/sf-cli`,
the `.github/workflows/` of a user's own repository)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.support import REPO


def tracked() -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True)
    return listed.stdout.split()


FILES = tracked()
DOCS = sorted(f for f in FILES if f.endswith(".md"))


def named_paths(text: str, top: set[str]) -> list[str]:
    """The backticked repository paths of a Markdown text: no space, first segment a top-level entry."""
    found: list[str] = []
    for token in re.findall(r"`([^`\n]+)`", text):
        first = token.split("/", 1)[0]
        if " " in token or first not in top or ("/" not in token and token != first):
            continue
        found.append(token)
    return found


def missing(doc: str, text: str, files: list[str]) -> list[str]:
    top = {f.split("/", 1)[0] for f in files}
    entries = set(files) | {str(Path(f).parents[i]) for f in files for i in range(len(Path(f).parents) - 1)}
    gone = []
    for token in named_paths(text, top):
        path = token.rstrip("/")
        pattern = re.escape(path).replace(r"\<", "<").replace(r"\>", ">")
        pattern = re.sub(r"<[^>]+>", "[^/]+", pattern)
        if not any(re.fullmatch(pattern, entry) for entry in entries):
            gone.append(token)
    for link in re.findall(r"\]\(([^)\s#]+)", text):
        if not re.match(r"[a-z]+:", link) and not (REPO / doc).parent.joinpath(link).resolve().exists():
            gone.append(link)
    return gone


@pytest.mark.parametrize("doc", DOCS)
def test_every_path_a_doc_names_exists(doc: str) -> None:
    assert missing(doc, (REPO / doc).read_text(), FILES) == []


def test_the_docs_that_name_most_paths_are_read() -> None:
    top = {f.split("/", 1)[0] for f in FILES}
    assert {"README.md", "docs/contracts.md"} <= set(DOCS)
    assert len(named_paths((REPO / "docs" / "contracts.md").read_text(), top)) >= 30


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("the generator, `devtools/generated.py`", ["devtools/generated.py"]),
        ("fixtures in `tests/emulator/fixtures.py`.", ["tests/emulator/fixtures.py"]),
        ("`providers/<artifact>.py` and `providers/<artifact>.yaml`", ["providers/<artifact>.yaml"]),
        ("`tests/support/` and `tests/nothing/`", ["tests/nothing/"]),
        ("see [the guide](missing.md) and [Pulumi](https://www.pulumi.com/)", ["missing.md"]),
        ("`server.py`, `.demo/`, `make demo`, `providers/kit/inputs.py`", []),
    ],
)
def test_a_stale_path_is_caught_and_the_rest_is_not(text: str, gone: list[str]) -> None:
    files = [
        "devtools/generate.py",
        "providers/guide.py",
        "providers/kit/inputs.py",
        "tests/support/__init__.py",
    ]
    assert missing("docs/contracts.md", text, files) == gone
