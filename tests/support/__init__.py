"""What the tests share, in one place: no test imports another test module.

The rule (checked by tests/test_support_rule.py, which reads every module under tests/ with `ast`):

- A module under tests/ imports from the `tests` package only modules of `tests.support` (this package). The
  files that pytest collects or loads by name (`test_*.py`, `*_test.py`, `conftest.py`) and the rest of
  tests/ (the `python -m tests.emulator` alias) are never imported, so a test module can be renamed, split
  or deleted without breaking another one.
- A fixture more than one folder uses lives in a module here, registered in `tests/conftest.py`'s
  `pytest_plugins` (only the rootdir's conftest may name plugins: pytest docs, "Deprecations and Removals",
  "pytest_plugins in non-top-level conftest files"), or in the `conftest.py` of the folder that uses it;
  test modules never import fixtures.
- A helper, constant or expectation that a second test file needs moves here under a public name; one that
  only its own test file uses stays in that file.
- There are no other support modules: nothing outside tests/support/ is declared as one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]


def load_project() -> dict[str, Any]:
    """The repository's `Pulumi.yaml`."""
    data = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    assert isinstance(data, dict)
    return data
