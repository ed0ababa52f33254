"""What every benchmark script shares: the machine description and docs/benchmarks.md sections."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def machine() -> str:
    """Platform, CPU model, core count and Python version, for the record of a run."""
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    python = platform.python_version()
    return f"{platform.platform()}, {cpu}, {os.cpu_count()} cores, Python {python}"


def write_section(path: Path, heading: str, section: str) -> None:
    """Replace (or append) the section that starts with `heading`, keeping every other one."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == heading), None)
    if start is None:
        new = text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        rest = "\n".join(lines[end:])
        new = "\n".join(lines[:start]) + "\n" + section.rstrip("\n") + "\n"
        if rest:
            new += "\n" + rest + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new, encoding="utf-8")
