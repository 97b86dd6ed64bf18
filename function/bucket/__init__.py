"""What both sides use of the bucket: the S3 adapter, the key rules, options carried as object metadata."""
