"""No test imports another test module: a module under tests/ takes from the `tests` package only what
tests/support holds (the rule: tests/support/__init__.py). Read with `ast`, nothing imported or run."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import REPO

TESTS = REPO / "tests"
SUPPORT = "tests.support"


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, source: str) -> list[tuple[int, str]]:
    """(line, module or `module.name`) of every import in `source`, relative ones resolved, plus the plugins a
    conftest names in `pytest_plugins` (pytest imports those)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            # `from tests.providers import test_x` takes the module tests.providers.test_x: judge the name.
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "pytest_plugins" for target in node.targets
        ):
            found += [
                (node.lineno, value.value)
                for value in ast.walk(node.value)
                if isinstance(value, ast.Constant) and isinstance(value.value, str)
            ]
    return found


def violations(path: Path, source: str) -> list[str]:
    where = path.relative_to(REPO)
    return [
        f"{where}:{line} imports {name}: move what it needs into tests/support (tests/support/__init__.py)"
        for line, name in imported(path, source)
        if (name == "tests" or name.startswith("tests."))
        and name != SUPPORT
        and not name.startswith(f"{SUPPORT}.")
    ]


def test_no_module_under_tests_imports_a_test_module() -> None:
    modules = sorted(TESTS.rglob("*.py"))
    assert len(modules) > 50  # the walk found the suite
    found = [v for path in modules for v in violations(path, path.read_text())]
    assert found == []


@pytest.mark.parametrize(
    ("where", "source"),
    [
        ("tests/test_a.py", "from tests.test_component import EXPECTED_CREATE_GRAPH\n"),
        ("tests/test_a.py", "import tests.test_project\n"),
        ("tests/providers/test_a.py", "from tests.providers import test_connected_app as app\n"),
        ("tests/providers/test_a.py", "from tests.providers.conftest import Driver\n"),
        ("tests/providers/test_a.py", "from .conftest import Driver\n"),
        ("tests/providers/test_a.py", "from . import test_named_credential\n"),
        ("tests/reliability/test_a.py", "from ..test_component_engine import engine\n"),
        ("tests/support/seeds.py", "def f():\n    from tests.test_component_engine import NS\n"),
        ("tests/conftest.py", 'pytest_plugins = ["tests.support.emulator", "tests.emulator.fixtures"]\n'),
    ],
)
def test_the_walk_sees_each_way_of_importing_a_test_module(where: str, source: str) -> None:
    assert len(violations(REPO / where, source)) == 1


@pytest.mark.parametrize(
    ("where", "source"),
    [
        ("tests/test_a.py", "from tests.support.seeds import seed_shared_eci\nimport tests.support.keys\n"),
        ("tests/test_a.py", "from tests import support\nfrom tests.support import REPO\n"),
        ("tests/support/driver.py", "from .emulator import salesforce_ops\nfrom . import keys\n"),
        ("tests/conftest.py", 'pytest_plugins = ["tests.support.emulator"]\n'),
        ("tests/test_a.py", "import testsuite\nfrom providers import base\n"),
    ],
)
def test_imports_of_support_modules_and_of_other_packages_pass(where: str, source: str) -> None:
    assert violations(REPO / where, source) == []
