"""What a failure inside the pure pipeline means: the input's, not the service's.

Decoding, transforming and encoding work on bytes already in memory, so the same request fails
the same way every time: whatever Pillow, numpy or pymatting raise there is a refusal (a 4xx over
HTTP, a failure report on the S3 path), never a 500 or a retry. Two things pass through as they
are: a ServiceError (already classified) and MemoryError, which the caps and the per-request
memory budget (docs/performance.md) leave no input to cause; if one does, the function's memory
setting is what is wrong, and a 500 (or an S3 retry) is the honest answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from function.errors import ImageUnprocessable, ServiceError

logger = logging.getLogger(__name__)


@contextmanager
def refused_on_failure(step: str, refusal: Callable[[], ServiceError], level: int = logging.INFO) -> Iterator[None]:
    """Anything but a ServiceError or MemoryError raised inside becomes `refusal()`, logged once."""
    try:
        yield
    except (ServiceError, MemoryError):
        raise
    except Exception as exc:
        # WARNING and up carry the traceback: a step that fails after a clean decode may be our bug.
        logger.log(
            level, "%s failed on this input: %s: %s", step, type(exc).__name__, exc, exc_info=level >= logging.WARNING
        )
        raise refusal() from exc


def processing(step: str) -> AbstractContextManager[None]:
    """A step after a clean decode: a failure there is refused as image_unprocessable and logged
    with its traceback, since it may be a bug of ours rather than of the file."""
    return refused_on_failure(
        step, lambda: ImageUnprocessable(f"the image decoded, but {step} failed on it"), logging.WARNING
    )
