"""`python -m tests.emulator ...`: an alias of `python -m devtools.sf_emulator ...`, the documented start
line."""

from devtools.sf_emulator.__main__ import main

if __name__ == "__main__":
    main()
