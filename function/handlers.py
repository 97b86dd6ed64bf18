"""Lambda entry points. They only translate events; the work lives in the modules they call.

Everything expensive (settings validation, the model session, the ASGI app) happens once,
at import, which Lambda runs during init. Lambda names the configured handler in _HANDLER, so
the S3-side functions' init skips the web stack and the HTTP function's skips boto3; with none
(tests, local runs) both are built.
"""

from __future__ import annotations

from function.observability import logger, metered, traced  # numba-free; first, so init's warnings are JSON too

# First, before anything can import numba: make its cache usable on a read-only filesystem.
from function.runtime.coldstart import prepare_runtime

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
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from function.bucket.storage import ObjectStore
from function.pipeline import batch, queue
from function.pipeline.processor import S3Pipeline, summary
from function.pipeline.records import objects_in_notification

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from mangum import Mangum
    from mangum.types import ASGI

model = models.default
logger.append_keys(model=model.name)
store = ObjectStore()
s3_pipeline = S3Pipeline(settings, models, store)


@cache
def _asgi() -> Mangum:
    """The FastAPI app behind Mangum, built once (at init, unless this is an S3-side function)."""
    from mangum import Mangum

    from function.http.app import create_app

    # lifespan="off": Mangum would otherwise run the app's startup/shutdown on every invocation.
    return Mangum(create_app(settings, models, store), lifespan="off")


def __getattr__(name: str) -> ASGI:
    if name == "app":  # `handlers.app`, for uvicorn and the tests
        return _asgi().app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_configured = os.environ.get("_HANDLER", "").rpartition(".")[2]
if _configured in ("", "http_handler"):
    _asgi()
if _configured != "http_handler":
    store.client  # noqa: B018 (boto3's import and client, now rather than in the first record)
model.wait()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@traced
@metered
def http_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway HTTP API (payload v2) and REST API (v1) events -> the FastAPI app."""
    # Mangum's LambdaContext protocol asks for settable attributes; Lambda's context object has read-only ones.
    return _asgi()(event, context)  # type: ignore[arg-type]


@logger.inject_lambda_context
@traced
@metered
def s3_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """S3 ObjectCreated notifications, invoked directly by S3 (or a redriven on-failure record of one)."""
    # A TransientFailure propagates: Lambda retries the event (then its on-failure destination),
    # and the records that did succeed are skipped as duplicates on the retry.
    return summary(s3_pipeline.handle_all(objects_in_notification(event)))


@logger.inject_lambda_context
@traced
@metered
def sqs_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """SQS messages carrying S3 notifications (or redriven on-failure records) -> a partial batch
    response: only the messages that failed transiently are retried."""
    return queue.answer(event, context, s3_pipeline)


@logger.inject_lambda_context
@traced
@metered
def batch_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """S3 Batch Operations tasks (a backfill) -> one result code per task for the job's report."""
    return batch.answer(event, s3_pipeline)
