"""Work that arrives as records (S3 notifications, SQS messages, Batch Operations tasks) -> outcomes -> outputs or reports."""
