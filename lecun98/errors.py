"""User-facing errors: the CLI and the experiment scripts print the message as one line and exit
non-zero (run_script)."""

import sys
from typing import Callable

INTERRUPTED = "interrupted: finished runs and passes are kept; run the same command to resume"


class Lecun98Error(Exception):
    """A problem the user can fix (bad argument, missing or corrupt file). Never a bug."""


class DataError(Lecun98Error):
    """A dataset file is missing, truncated or altered."""


def run_script(main: Callable[[], object], interrupted: str = INTERRUPTED,
               usage: str | None = None) -> int:
    """An entry point's exit code: main's own if it returns an int (anything else is 0); a
    Lecun98Error is one line on stderr and 2; Ctrl-C a line saying what is kept and 130. A
    traceback means a bug. usage: the docstring of a script that takes no arguments; given any,
    it says so with the docstring's "Usage:" line and exits 2 before doing anything."""
    if usage is not None and len(sys.argv) > 1:
        line = next((x.strip() for x in usage.splitlines() if x.strip().startswith("Usage:")),
                    "")
        print(f"error: this script takes no arguments, got {' '.join(sys.argv[1:])!r}. {line}",
              file=sys.stderr)
        return 2
    try:
        code = main()
        return code if isinstance(code, int) else 0
    except Lecun98Error as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(interrupted, file=sys.stderr)
        return 130
