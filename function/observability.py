"""Powertools logger, metrics and tracer: created once, shared by both entry points.

Names come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE (template.yaml sets
them). Metrics are CloudWatch EMF documents printed to stdout and flushed by the handlers'
`log_metrics` decorator on every invocation, errors included.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics, Tracer, single_metric
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from function.errors import OPERATOR_FAULTS, ErrorCode
from function.imaging.stages import timed

if TYPE_CHECKING:
    from function.imaging.pipeline import Cutout

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "rembg")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "RemoveBg")

# A request with nothing to count (GET /health) is normal here, not a mistake worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(service=SERVICE)
# Modules log through logging.getLogger(__name__) (the pure ones stay free of Powertools). Giving
# their package's logger Powertools' handler and level makes every line JSON with the correlation
# id, including modules imported later: their loggers propagate to it. The helper only sees
# loggers that exist, hence the getLogger first.
PACKAGE = __name__.partition(".")[0]
logging.getLogger(PACKAGE)
copy_config_to_registered_loggers(source_logger=logger, include={PACKAGE})
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
# Building a Tracer imports the X-Ray SDK, a noticeable part of the cold start, even when tracing
# is off, so it is only built when tracing is on (template parameter Tracing=Active clears this variable).
TRACING = os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").lower() not in ("1", "true")
tracer = Tracer(service=SERVICE) if TRACING else None

# Stage name -> metric name; the stages an image goes through, in order.
STAGE_METRICS = {
    "fetch": "FetchMs",
    "decode": "DecodeMs",
    "infer": "InferMs",
    "matte": "MattingMs",
    "compose": "ComposeMs",
    "encode": "EncodeMs",
    "compose_encode": "ComposeEncodeMs",  # the default cutout fuses both, in parallel bands
    "store": "StoreMs",
}


Handler = TypeVar("Handler", bound=Callable[..., Any])
# Powertools annotates what its handler decorators return as Callable[..., Any]; their wrappers keep
# the handler's signature (functools.wraps), so the casts below restore it for the type checker.


def traced(handler: Handler) -> Handler:
    """The handler under Powertools' `capture_lambda_handler`, or as it is when tracing is off."""
    # capture_response=False: a response is a whole base64 image, far over X-Ray's document size.
    return cast(Handler, tracer.capture_lambda_handler(handler, capture_response=False)) if tracer else handler


def metered(handler: Handler) -> Handler:
    """The handler under Powertools' `log_metrics`, which flushes its metrics and adds ColdStart."""
    return cast(Handler, metrics.log_metrics(handler, capture_cold_start_metric=True))


@contextmanager
def subsegment(name: str) -> Iterator[None]:
    """An X-Ray subsegment for one stage (a no-op where tracing is off)."""
    if tracer is None:
        yield
        return
    with tracer.provider.in_subsegment(f"## {name}"):
        yield


def timed_stage(name: str, stage_ms: dict[str, float]) -> AbstractContextManager[None]:
    """Trace a stage and record its duration, for stages outside the pure pipeline (fetch, store)."""
    return timed(name, stage_ms, subsegment)


def record_image(cutout: Cutout, io_stage_ms: dict[str, float], model: str) -> None:
    """Metrics and a log line for one delivered cutout (a pipeline.Cutout) and its I/O stages."""
    stage_ms = {**io_stage_ms, **cutout.stage_ms}
    metrics.add_metric(name="ImagesProcessed", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="InputMegapixels", unit=MetricUnit.NoUnit, value=round(cutout.source_megapixels, 3))
    metrics.add_metric(name="TotalMs", unit=MetricUnit.Milliseconds, value=round(sum(stage_ms.values()), 2))
    for stage, value in stage_ms.items():
        if stage in STAGE_METRICS:
            metrics.add_metric(name=STAGE_METRICS[stage], unit=MetricUnit.Milliseconds, value=value)
    logger.info(
        "image processed",
        extra={
            "stage_ms": stage_ms,
            "input_megapixels": round(cutout.source_megapixels, 3),
            "format": cutout.format,
            "model": model,  # the one this request chose, which may not be the default
        },
    )


def record_failure(code: ErrorCode) -> None:
    """One failure, counted per error code (its own EMF document: one dimension set per code)."""
    with single_metric(
        name="Failures",
        unit=MetricUnit.Count,
        value=1,
        namespace=NAMESPACE,
        default_dimensions=metrics.default_dimensions,
    ) as metric:
        metric.add_dimension(name="service", value=SERVICE)
        metric.add_dimension(name="error_code", value=str(code))
    extra = {"error_code": str(code), "status": code.status}
    if code in OPERATOR_FAULTS:
        logger.error("misconfigured: %s", code.meaning, extra=extra)
    else:
        logger.info("request refused" if code.status < 500 else "request failed", extra=extra)
