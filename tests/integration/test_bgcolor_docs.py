"""Regression (found by schemathesis): `bgcolor=` (empty) is accepted as "no colour", so the
documented pattern must allow it, and a real bad colour is still our own 422."""

from tests.hostile_inputs import seed_images
from tests.support import http_api_event, lambda_context, response_json


def test_empty_bgcolor_means_none_and_the_schema_says_so(handlers):
    pattern = next(
        p for p in handlers.app.openapi()["paths"]["/remove-bg"]["post"]["parameters"] if p["name"] == "bgcolor"
    )
    event = http_api_event(query={"bgcolor": ""}, body=seed_images(32)["png"], headers={"content-type": "image/png"})

    assert handlers.http_handler(event, lambda_context())["statusCode"] == 200
    assert pattern["schema"]["pattern"].endswith(")?$")
    bad = http_api_event(query={"bgcolor": "red"}, body=seed_images(32)["png"], headers={"content-type": "image/png"})
    assert response_json(handlers.http_handler(bad, lambda_context()))["error"]["code"] == "invalid_bgcolor"
