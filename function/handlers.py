"""Lambda entry points. They only translate events; the work lives in the modules they call.

Everything expensive (settings validation, the model session, the ASGI app) happens once,
at import, which Lambda runs during init. Lambda names the configured handler in _HANDLER, so
the S3-side functions' init skips the web stack and the HTTP function's skips boto3; with none
(tests, local runs) both are built.
"""

from __future__ import annotations

# First, before anything can import numba: make its cache usable on a read-only filesystem.
from function.imaging.coldstart import prepare_runtime
from function.observability import logger, metrics, traced  # numba-free; first, so init's warnings are JSON too

prepare_runtime()

# The imports below must come after prepare_runtime() (pyproject.toml allows E402 in this file).
# The model starts loading on a background thread (onnxruntime releases the GIL) while the other
# imports run; init ends by waiting for it, so a model that cannot load still fails init.
from function.imaging.model import ModelRegistry
from function.settings import Settings

settings = Settings()
models = ModelRegistry(settings.u2net_home, settings.model_name, in_background=True)

import os
from functools import cache
from typing import TYPE_CHECKING

from aws_lambda_powertools.logging import correlation_paths

from function.s3 import batch
from function.s3.processor import S3Pipeline, summary
from function.s3.records import NotAnS3Notification, is_sqs_event, objects_in_message, objects_in_notification
from function.s3.storage import ObjectStore

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

model = models.default
logger.append_keys(model=model.name)
store = ObjectStore()
s3_pipeline = S3Pipeline(settings, models, store)


@cache
def _asgi():
    """The FastAPI app behind Mangum, built once (at init, unless this is an S3-side function)."""
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
if _configured in ("", "http_handler"):
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


@logger.inject_lambda_context
@traced
@metrics.log_metrics(capture_cold_start_metric=True)
def s3_handler(event: dict, context) -> dict:
    """S3 ObjectCreated notifications, invoked directly by S3 (or a redriven on-failure record of one).

    Deprecated: SQS-wrapped notifications are still accepted here for one release; point SQS
    event sources at `sqs_handler` instead.
    """
    if is_sqs_event(event):
        logger.warning("s3_handler received an SQS event; configure the queue to invoke sqs_handler instead")
        return _process_queue(event, context)
    # A TransientFailure propagates: Lambda retries the event (then its on-failure destination),
    # and the records that did succeed are skipped as duplicates on the retry.
    return summary(s3_pipeline.handle_all(objects_in_notification(event)))


@logger.inject_lambda_context
@traced
@metrics.log_metrics(capture_cold_start_metric=True)
def sqs_handler(event: dict, context) -> dict:
    """SQS messages carrying S3 notifications (or redriven on-failure records) -> a partial batch
    response: only the messages that failed transiently are retried."""
    return _process_queue(event, context)


@logger.inject_lambda_context
@traced
@metrics.log_metrics(capture_cold_start_metric=True)
def batch_handler(event: dict, context) -> dict:
    """S3 Batch Operations tasks (a backfill) -> one result code per task for the job's report."""
    return batch.answer(event, s3_pipeline)


def _process_message(record: SQSRecord) -> None:
    try:
        objects = objects_in_message(record)
    except NotAnS3Notification as error:  # retrying cannot fix it: drop it, loudly
        logger.warning("%s; dropped", error)
        return
    s3_pipeline.handle_all(objects)


def _process_queue(event: dict, context) -> dict:
    from aws_lambda_powertools.utilities.batch import process_partial_response

    return process_partial_response(event, _process_message, _sqs_batch(), context)
