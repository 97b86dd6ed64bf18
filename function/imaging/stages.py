"""Timing a stage of the work, optionally inside a tracing span. Shared by the pure pipeline
(which is handed its tracer) and the entry points' own stages (fetch, store)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

Trace = Callable[[str], AbstractContextManager[None]]


def untraced(stage: str) -> AbstractContextManager[None]:
    return nullcontext()


@contextmanager
def timed(name: str, stage_ms: dict[str, float], trace: Trace = untraced) -> Iterator[None]:
    """Run a stage inside `trace(name)` and add its milliseconds to `stage_ms[name]`."""
    started = time.perf_counter()
    with trace(name):
        yield
    elapsed = (time.perf_counter() - started) * 1000
    stage_ms[name] = round(stage_ms.get(name, 0.0) + elapsed, 2)
