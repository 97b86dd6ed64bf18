"""SQS messages carrying S3 notifications -> the S3 pipeline -> a partial batch response.

Powertools' batch processor runs each message and reports the ones that raised, so only a message
with a transient failure is retried (and, after the queue's maxReceiveCount, lands in the DLQ).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from function.observability import logger
from function.pipeline.processor import S3Pipeline
from function.pipeline.records import NotAnS3Notification, objects_in_message

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch import BatchProcessor
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext


@cache
def _processor() -> BatchProcessor:
    # Imported on the first batch, not at init, so no function's cold start pays for it.
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

    return BatchProcessor(event_type=EventType.SQS)


def answer(event: dict[str, Any], context: LambdaContext, pipeline: S3Pipeline) -> PartialItemFailureResponse:
    """`{"batchItemFailures": [...]}`: the messages SQS should deliver again."""

    def process_message(record: SQSRecord) -> None:
        try:
            objects = objects_in_message(record)
        except NotAnS3Notification as error:  # retrying cannot fix it: drop it, loudly
            logger.warning("%s; dropped", error)
            return
        pipeline.handle_all(objects)  # raises TransientFailure: this message is retried

    from aws_lambda_powertools.utilities.batch import process_partial_response

    return process_partial_response(event, process_message, _processor(), context)
