"""Prints the fault matrix (fault × artifact × step → outcome) and its summary line after the session."""

from __future__ import annotations

from typing import Any

from tests.support.reliability import cells, render_matrix


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = render_matrix(cells())
    if not lines:
        return
    terminalreporter.section("fault matrix (issue 7)")
    for line in lines:
        terminalreporter.write_line(line)
