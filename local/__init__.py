"""Local stand-ins for what AWS provides: an embedded S3 and a runner for the API. Not shipped."""
