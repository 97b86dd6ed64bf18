"""Lambda entry points. They only translate events; the work lives in the modules they call.

Everything expensive (settings validation, the model session, the ASGI app) happens once,
at import, which Lambda runs during init. Lambda names the configured handler in _HANDLER, so
the S3 function's init skips the web stack and the HTTP function's skips boto3; with neither
(tests, local runs) both are built.
"""

from __future__ import annotations

# First, before anything can import numba: make its cache usable on a read-only filesystem.
from function.imaging.coldstart import prepare_runtime

prepare_runtime()

# Then the model starts loading on a background thread (onnxruntime releases the GIL) while the
# imports below run; init ends by waiting for it, so a model that cannot load still fails init.
from function.imaging.model import ModelRegistry  # noqa: E402
from function.settings import Settings  # noqa: E402

settings = Settings()
models = ModelRegistry(settings.u2net_home, settings.model_name, in_background=True)

import json  # noqa: E402 (the imports below must come after prepare_runtime)
import os  # noqa: E402
from functools import cache  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

from aws_lambda_powertools.logging import correlation_paths  # noqa: E402

from function.observability import logger, metrics, traced  # noqa: E402
from function.s3.processor import S3Pipeline, objects_in_notification, summary  # noqa: E402
from function.s3.storage import ObjectStore  # noqa: E402

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

model = models.default
logger.append_keys(model=model.name)
store = ObjectStore()
s3_pipeline = S3Pipeline(settings, model, store)


@cache
def _asgi():
    """The FastAPI app behind Mangum, built once (at init, unless this is the S3 function)."""
    from mangum import Mangum

    from function.http.app import create_app

    # lifespan="off": Mangum would otherwise run the app's startup/shutdown on every invocation.
    return Mangum(create_app(settings, models, store), lifespan="off")


def __getattr__(name: str):
    if name == "app":  # `handlers.app`, for uvicorn and the tests
        return _asgi().app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@cache
def _sqs_batch():
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

    return BatchProcessor(event_type=EventType.SQS)


_configured = os.environ.get("_HANDLER", "").rpartition(".")[2]
if _configured != "s3_handler":
    _asgi()
if _configured != "http_handler":
    store.client  # noqa: B018 (boto3's import and client, now rather than in the first record)
model.wait()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@traced
@metrics.log_metrics(capture_cold_start_metric=True)
def http_handler(event: dict, context) -> dict:
    """API Gateway HTTP API (payload v2) and REST API (v1) events -> the FastAPI app."""
    return _asgi()(event, context)


def _s3_notification_in_message(record: SQSRecord) -> None:
    # A message that is not an S3 notification can never succeed: log it rather than retry it.
    try:
        notification = json.loads(record.body)
    except json.JSONDecodeError:
        notification = None
    if not isinstance(notification, dict) or "Records" not in notification:
        logger.warning("SQS message %s is not an S3 notification; dropped", record.message_id)
        return
    s3_pipeline.handle_all(objects_in_notification(notification))


@logger.inject_lambda_context
@traced
@metrics.log_metrics(capture_cold_start_metric=True)
def s3_handler(event: dict, context) -> dict:
    """S3 ObjectCreated notifications, direct (async invoke) or wrapped in SQS messages."""
    records = event.get("Records") or []
    if records and records[0].get("eventSource") == "aws:sqs":
        from aws_lambda_powertools.utilities.batch import process_partial_response

        return process_partial_response(event, _s3_notification_in_message, _sqs_batch(), context)
    # A TransientFailure propagates: Lambda retries the event (then its on-failure destination),
    # and the records that did succeed are skipped as duplicates on the retry.
    return summary(s3_pipeline.handle_all(objects_in_notification(event)))
