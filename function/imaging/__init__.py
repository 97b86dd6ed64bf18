"""Pure image work: decode, model, compose, encode. No AWS, no HTTP."""
