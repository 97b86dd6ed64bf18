"""Fuzzing: malformed images never crash the pipeline or turn into a 5xx at the HTTP entry point.

Short by default (CI: FUZZ_EXAMPLES=100 per property, ~200 inputs). The long run:
    FUZZ_EXAMPLES=5000 python -m pytest tests/integration/test_fuzz.py -s
prints `inputs fuzzed: N, 5xx: 0, crashes: 0`.
"""

from __future__ import annotations

import os
import traceback

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from function.errors import ServiceError
from function.imaging.decode import DecodeLimits
from function.imaging.options import RemovalOptions
from function.imaging.pipeline import remove_background
from tests.fuzz_inputs import hostile_images
from tests.support import header, http_api_event, lambda_context, multipart, open_image, response_body, response_json

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,  # one slow inference is not a bug; hangs are caught by the total time
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
    database=None,  # no .hypothesis state left behind in the work tree
    derandomize=bool(os.environ.get("CI")),  # CI: the same inputs every run; laptops: new ones each run
    print_blob=True,  # a failure prints the exact input to reproduce it
)
# Fuzz at a 4 MP cap: the decoder's rules are the same, and a mutated header that declares a
# big picture is refused or decoded fast instead of spending seconds per example.
LIMITS = DecodeLimits(max_bytes=20 * 2**20, max_pixels=4_000_000)
OPTIONS = st.builds(
    RemovalOptions,
    format=st.sampled_from(["png", "webp"]),
    only_mask=st.booleans(),
    bgcolor=st.sampled_from([None, (255, 255, 255, 255), (0, 0, 0, 128)]),
    crop=st.booleans(),
)
FIGURES = {"inputs fuzzed": 0, "5xx": 0, "crashes": 0}


@pytest.fixture(scope="module", autouse=True)
def report_figures():
    yield
    print(f"\ninputs fuzzed: {FIGURES['inputs fuzzed']}, 5xx: {FIGURES['5xx']}, crashes: {FIGURES['crashes']}")


@FUZZ_SETTINGS
@given(data=hostile_images(), options=OPTIONS)
def test_pipeline_returns_an_image_or_a_client_error(model, data, options):
    FIGURES["inputs fuzzed"] += 1
    try:
        cutout = remove_background(data, options, model, LIMITS)
    except ServiceError as error:
        assert error.status < 500, (error.code, error.message)
        return
    except Exception:
        FIGURES["crashes"] += 1
        raise AssertionError(f"crash on {len(data)} bytes: {traceback.format_exc()}") from None
    assert open_image(cutout.body).size == (cutout.width, cutout.height)


QUERIES = st.fixed_dictionaries(
    {},
    optional={
        "format": st.sampled_from(["png", "webp"]),
        "crop": st.sampled_from(["true", "false"]),
        "only_mask": st.sampled_from(["true", "false"]),
        "bgcolor": st.sampled_from(["ffffff", "00000080"]),
    },
)


@FUZZ_SETTINGS
@given(
    data=hostile_images(),
    query=QUERIES,
    how=st.sampled_from(["image/jpeg", "image/png", "application/octet-stream", "multipart"]),
)
def test_http_entry_never_answers_5xx(handlers, data, query, how):
    FIGURES["inputs fuzzed"] += 1
    if how == "multipart":
        body, content_type = multipart("file", "upload.bin", data)
    else:
        body, content_type = data, how
    try:
        response = handlers.http_handler(
            http_api_event(query=query, body=body, headers={"content-type": content_type}), lambda_context()
        )
    except Exception:
        FIGURES["crashes"] += 1
        raise AssertionError(f"the handler raised: {traceback.format_exc()}") from None
    status = response["statusCode"]
    if status >= 500:
        FIGURES["5xx"] += 1
    assert status < 500, response_body(response)[:500]
    if status >= 400:
        assert header(response, "content-type") == "application/json"
        error = response_json(response)["error"]
        assert error["code"] and error["message"] and error["request_id"] == header(response, "x-request-id")
    elif status == 200:
        assert open_image(response_body(response)).format in ("PNG", "WEBP")
