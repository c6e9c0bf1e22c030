"""`python -m tests.engine ...`: an alias of `python -m devtools.engine ...` (the documented commands)."""

import runpy

if __name__ == "__main__":
    runpy.run_module("devtools.engine", run_name="__main__", alter_sys=True)
