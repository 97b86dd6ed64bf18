"""The S3 side: notification records -> work items -> stored outputs; keys; the S3 adapter."""
