"""Background removal on AWS Lambda: the function package copied into LAMBDA_TASK_ROOT."""

__version__ = "0.1.0"
