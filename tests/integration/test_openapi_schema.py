"""The app answers as its own OpenAPI document says: schemathesis generates requests (valid and
invalid) from the schema FastAPI serves and checks every response against it, in process (ASGI).

Driven through `schema.as_strategy()` + Hypothesis rather than schemathesis' pytest plugin,
whose lazy fixture loader does not work with pytest 9.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support import behind_gateway

pytestmark = pytest.mark.fuzz

CASES = int(os.environ.get("SCHEMA_EXAMPLES", "150"))
# Every response check, and invalid input must be refused. Not `positive_data_acceptance`: a
# schema-valid body is any bytes under image/*, and no schema can say "bytes that decode".
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def test_api_conforms_to_its_own_openapi_schema(handlers, capsys):
    # As a signed caller (the deployed default), so every route is exercised past the authorizer.
    schema = schemathesis.openapi.from_asgi("/openapi.json", behind_gateway(handlers.app))
    figures = {"cases": 0, "5xx": 0, "violations": 0}
    failures: list[str] = []
    cases = st.one_of(schema.as_strategy(GenerationMode.POSITIVE), schema.as_strategy(GenerationMode.NEGATIVE))

    # CI=true: the same cases on every run (no surprise red builds); elsewhere new ones each run.
    @settings(
        max_examples=CASES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=bool(os.environ.get("CI")),
    )
    @given(case=cases)
    def exercise(case):
        figures["cases"] += 1
        response = case.call()
        if response.status_code >= 500:
            figures["5xx"] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except BaseException as failure:  # schemathesis' FailureGroup is a BaseExceptionGroup  # collect them all, then fail once with the list
            figures["violations"] += 1
            failures.append(
                f"{case.method} {case.formatted_path} query={case.query!r} -> {response.status_code}: {failure}"[:900]
            )

    exercise()
    with capsys.disabled():
        print(
            f"\nschemathesis cases: {figures['cases']}, 5xx: {figures['5xx']}, schema violations: {figures['violations']}"
        )
    assert figures["cases"] >= 100
    assert not failures, "\n".join(failures[:5])
    assert figures["5xx"] == 0
