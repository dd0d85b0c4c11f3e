"""Terminal output for people: progress lines for long steps, with their timings."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


@contextmanager
def progress(label: str, stream: TextIO | None = None) -> Iterator[None]:
    """Print `label ...` now and `done (1.2 s)` or `failed` when the block ends."""
    out = stream or sys.stdout
    out.write(f"{label} ... ")
    out.flush()
    started = time.perf_counter()
    try:
        yield
    except BaseException:
        out.write("failed\n")
        out.flush()
        raise
    out.write(f"done ({time.perf_counter() - started:.1f} s)\n")
    out.flush()
