"""Fetching an image from a caller-given URL, and the policy of which URLs may be fetched."""
