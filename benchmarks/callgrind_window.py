"""Count the instructions of a window of code in a process running under valgrind's callgrind.

``zero()`` before the window and ``instructions(dump)`` after it (``dump`` is the child's
``--callgrind-out-file``): ``callgrind_control --zero`` / ``--dump`` on this process, and the total of the
dump written in between. Used by ``benchmarks.telemetry_cpu`` and ``benchmarks.middleware_instructions``.
"""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path


def _control(option: str) -> None:
    subprocess.run(["callgrind_control", option, str(os.getpid())], check=True, capture_output=True)


def zero() -> None:
    """Reset this process's counters: the window starts here."""
    _control("--zero")


def instructions(dump: Path) -> int:
    """Instructions since ``zero()``: dumps the counters and reads (then deletes) the new dump file."""
    before = set(dump.parent.glob(dump.name + "*"))
    _control("--dump")
    [new] = set(dump.parent.glob(dump.name + "*")) - before
    text = new.read_text()
    new.unlink()
    totals = re.search(r"^(?:totals|summary): (\d+)", text, re.MULTILINE)
    if totals is None:
        raise SystemExit(f"no totals in callgrind dump {new}")
    return int(totals.group(1))
