"""Lambda entry points. They only translate events; the work lives in the modules they call.

Everything expensive (settings validation, the model session, the ASGI app) happens once,
at import, which Lambda runs during init.
"""

from __future__ import annotations

# First, before anything can import numba: make its cache usable on a read-only filesystem.
from function.imaging.coldstart import prepare_runtime

prepare_runtime()

import json  # noqa: E402 (the imports below must come after prepare_runtime)

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from mangum import Mangum

from function.http.app import create_app
from function.imaging.model import ModelRegistry
from function.observability import logger, metrics, traced
from function.s3.processor import S3Pipeline, objects_in_notification, summary
from function.settings import Settings
from function.s3.storage import ObjectStore

settings = Settings()
models = ModelRegistry(settings.u2net_home, settings.model_name)
model = models.default
logger.append_keys(model=model.name)
store = ObjectStore()
app = create_app(settings, models, store)
# lifespan="off": Mangum would otherwise run the app's startup/shutdown on every invocation.
_asgi = Mangum(app, lifespan="off")
s3_pipeline = S3Pipeline(settings, model, store)
_sqs_batch = BatchProcessor(event_type=EventType.SQS)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@traced
@metrics.log_metrics(capture_cold_start_metric=True)
def http_handler(event: dict, context) -> dict:
    """API Gateway HTTP API (payload v2) and REST API (v1) events -> the FastAPI app."""
    return _asgi(event, context)


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
        return process_partial_response(event, _s3_notification_in_message, _sqs_batch, context)
    # A TransientFailure propagates: Lambda retries the event (then its on-failure destination),
    # and the records that did succeed are skipped as duplicates on the retry.
    return summary(s3_pipeline.handle_all(objects_in_notification(event)))
