"""The HTTP API: FastAPI app, routes, request parsing, delivery of results, the page and docs."""
