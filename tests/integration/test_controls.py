"""A user tunes the result: a smaller size, a crop with room around the subject, finer edges."""

from __future__ import annotations

import numpy as np
import pytest
from mangum import Mangum

from function.bucket.storage import ObjectStore
from function.http.app import create_app
from function.settings import Settings
from tests.support import (
    assert_astronaut_cutout,
    header,
    http_api_event,
    lambda_context,
    open_image,
    response_body,
    response_json,
)


def invoke(handlers, query: dict, photo: bytes) -> dict:
    event = http_api_event(body=photo, headers={"content-type": "image/jpeg"}, query=query)
    return handlers.http_handler(event, lambda_context())


def box(response: dict) -> tuple[int, int, int, int]:
    return tuple(int(header(response, f"x-foreground-{side}")) for side in ("left", "top", "width", "height"))


def test_scale_shrinks_the_longest_side_and_never_enlarges(handlers, photo):
    smaller = invoke(handlers, {"scale": "256"}, photo)
    larger = invoke(handlers, {"scale": "2048"}, photo)

    assert_astronaut_cutout(open_image(response_body(smaller)), size=(256, 256))
    assert (header(smaller, "x-width"), header(smaller, "x-height")) == ("256", "256")
    assert open_image(response_body(larger)).size == (512, 512)


@pytest.mark.parametrize(
    "margin, extra",
    [("20px", lambda w, h: (20, 20)), ("20", lambda w, h: (20, 20)), ("10%", lambda w, h: (w // 10, h // 10))],
)
def test_crop_margin_keeps_room_around_the_subject(handlers, photo, margin, extra):
    _, _, width, height = box(invoke(handlers, {}, photo))
    dx, dy = extra(width, height)

    response = invoke(handlers, {"crop_margin": margin}, photo)

    image = open_image(response_body(response))
    assert image.size == (width + 2 * dx, height + 2 * dy)
    assert box(response) == (dx, dy, width, height)
    # The astronaut touches the photo's left and bottom edges: the margin there is transparent padding.
    assert np.asarray(image)[-1, 0, 3] == 0


def test_crop_margin_padding_takes_the_background_colour(handlers, photo):
    response = invoke(handlers, {"crop_margin": "20px", "bgcolor": "0000ff"}, photo)

    image = open_image(response_body(response))
    assert image.mode == "RGB" and tuple(np.asarray(image)[-1, 0]) == (0, 0, 255)


@pytest.mark.parametrize(
    "query",
    [
        {"crop_margin": "lots"},
        {"crop_margin": "150%"},
        {"crop_margin": "-5px"},
        {"crop_margin": "9999px"},
        {"crop_margin": "9000px", "format": "webp"},
        {"scale": "0"},
        {"scale": "99999"},
        {"alpha_matting": "yes please"},
        {"alpha_matting": "true", "alpha_matting_erode_size": "400"},
    ],
)
def test_bad_control_values_are_a_422(handlers, photo, query):
    response = invoke(handlers, query, photo)

    assert response["statusCode"] == 422
    assert response_json(response)["error"]["code"] in (
        "invalid_option",
        "invalid_crop_margin",
        "crop_margin_too_large",
    )


def test_alpha_matting_refines_the_edges(handlers, photo):
    plain = open_image(response_body(invoke(handlers, {"scale": "256"}, photo)))

    response = invoke(handlers, {"scale": "256", "alpha_matting": "true"}, photo)

    assert response["statusCode"] == 200
    matted = open_image(response_body(response))
    assert_astronaut_cutout(matted, size=(256, 256))
    changed = np.abs(np.asarray(matted)[:, :, 3].astype(int) - np.asarray(plain)[:, :, 3]).mean()
    assert changed > 0.5, "matting re-estimated the soft edges"


WIDEST_MATTING = {
    "alpha_matting": "true",
    "alpha_matting_foreground_threshold": "250",
    "alpha_matting_background_threshold": "5",
    "alpha_matting_erode_size": "40",
}


def test_alpha_matting_whose_knobs_leave_too_much_unknown_is_refused_naming_them(handlers, photo):
    # The astronaut's trimap with these knobs: ~90,000 unknown pixels; rembg's defaults: ~28,000.
    refused = invoke(handlers, WIDEST_MATTING, photo)

    assert refused["statusCode"] == 413
    error = response_json(refused)["error"]
    assert error["code"] == "alpha_matting_too_large"
    assert "alpha_matting_erode_size=40" in error["message"] and "limit is 60,000" in error["message"]
    narrower = invoke(handlers, {**WIDEST_MATTING, "alpha_matting_erode_size": "10"}, photo)
    assert narrower["statusCode"] == 200


def test_alpha_matting_above_its_size_limit_is_refused_before_inference(handlers, photo):
    settings = Settings(model_name="u2netp", alpha_matting_max_megapixels=0.1)
    handler = Mangum(create_app(settings, handlers.models, ObjectStore()), lifespan="off")
    event = http_api_event(body=photo, headers={"content-type": "image/jpeg"}, query={"alpha_matting": "true"})
    scaled = http_api_event(
        body=photo, headers={"content-type": "image/jpeg"}, query={"alpha_matting": "true", "scale": "300"}
    )

    refused = handler(event, None)
    accepted = handler(scaled, None)

    assert refused["statusCode"] == 413
    assert response_json(refused)["error"]["code"] == "alpha_matting_too_large"
    assert "scale=" in response_json(refused)["error"]["message"]
    assert accepted["statusCode"] == 200
