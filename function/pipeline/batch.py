"""S3 Batch Operations tasks (invocation schema 1.0 and 2.0) -> the S3 pipeline -> a result per task.

A backfill runs through the same `S3Pipeline` as notifications, so it writes the same outputs
under the same exactly-once rules; only the answer differs. Batch Operations retries a
`TemporaryFailure` (S3 throttling, timeouts, 5xx) and writes the rest into the job's completion
report, where the result string carries our error code.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import S3BatchOperationEvent, S3BatchOperationResponse
from aws_lambda_powertools.utilities.data_classes.s3_batch_operation_event import RESULT_CODE_TYPE

from function.pipeline.processor import Outcome, S3Pipeline, Status
from function.pipeline.records import task_object

RESULT_CODES: dict[Status, RESULT_CODE_TYPE] = {
    Status.PROCESSED: "Succeeded",
    Status.DUPLICATE: "Succeeded",
    Status.FAILED: "PermanentFailure",
    Status.IGNORED: "PermanentFailure",  # asked for an object we do not process (or that is gone): nothing will change that
    Status.TRANSIENT: "TemporaryFailure",
}
MAX_RESULT_STRING = 1024  # the report is a CSV meant for people; a key can be 1 KB on its own


def result_string(outcome: Outcome) -> str:
    """processed: the output key; duplicate: "duplicate <output key>"; failures: "<code>: <why>"."""
    if outcome.status is Status.PROCESSED:
        text = outcome.output_key or ""
    elif outcome.status is Status.DUPLICATE:
        text = f"duplicate {outcome.output_key}"
    else:
        text = f"{outcome.code or outcome.status}: {outcome.detail}"
    return text[:MAX_RESULT_STRING]


def answer(event: dict[str, Any], pipeline: S3Pipeline) -> dict[str, Any]:
    """The response Batch Operations expects: one result per task (it sends one task per call)."""
    job = S3BatchOperationEvent(event)
    response = S3BatchOperationResponse(job.invocation_schema_version, job.invocation_id, "PermanentFailure")
    for task in job.tasks:
        outcome = pipeline.attempt(task_object(task))
        response.add_result(task.build_task_batch_response(RESULT_CODES[outcome.status], result_string(outcome)))
    return response.asdict()
