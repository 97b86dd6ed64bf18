"""A shop turns product photos into publishable pictures: a JPEG on white, a fixed square tile, a shadow,
a brand background, only the subject inside a region. Every expectation is computed here from the plain
PNG cutout of the same photo (the test composites, places and scales it itself), on real photos and the
real u2netp model."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest
from mangum import Mangum
from PIL import Image
from skimage import data as skdata

from function.errors import ErrorCode, InputTooLarge, InvalidOption
from function.imaging.decode import DecodeLimits
from function.imaging.options import options_from_text
from function.imaging.pipeline import FOREGROUND_ALPHA, remove_background
from tests.support import (
    header,
    http_api_event,
    jpeg_bytes,
    jwt_authorizer,
    lambda_context,
    open_image,
    png_bytes,
    response_body,
    response_json,
    s3_put_event,
)

LIMITS = DecodeLimits(max_bytes=50 << 20, max_pixels=50_000_000)
# q90 JPEG against the exact composite (the same JPEG encoder run on the test's own composite measured 1.1-1.7 and 8-10)
JPEG_LOSS = {"mean": 2.5, "most": 16}
PHOTOS = {"astronaut": skdata.astronaut, "chelsea": skdata.chelsea, "coffee": skdata.coffee}


def photo_bytes(name: str) -> bytes:
    return jpeg_bytes(PHOTOS[name](), quality=95)


def run(model, data: bytes, background: bytes | None = None, **text):
    return remove_background(data, options_from_text(text), model, LIMITS, background=background)


def rgba(body: bytes) -> np.ndarray:
    return np.asarray(open_image(body).convert("RGBA")).astype(np.float64)


def over(cutout: np.ndarray, under: np.ndarray) -> np.ndarray:
    """The straight-alpha cutout over an opaque picture (or colour), in floats: what any viewer shows."""
    alpha = cutout[..., 3:4] / 255
    return cutout[..., :3] * alpha + np.asarray(under, np.float64)[..., :3] * (1 - alpha)


def subject_bbox(alpha: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(alpha > FOREGROUND_ALPHA)
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


def assert_close(actual: np.ndarray, expected: np.ndarray, mean: float, most: float) -> None:
    """Lossy (JPEG, resampling): small on average, and 99 % of the values within `most` levels."""
    error = np.abs(np.asarray(actual, np.float64) - expected)
    assert error.mean() <= mean, f"mean error {error.mean():.2f} > {mean}"
    assert np.percentile(error, 99) <= most, f"99th percentile error {np.percentile(error, 99):.1f} > {most}"


@pytest.fixture(scope="module")
def plain(model):
    """The plain PNG cutout of each photo: the reference every option is checked against."""
    return {name: rgba(run(model, photo_bytes(name)).body) for name in PHOTOS}


@pytest.mark.parametrize("name", list(PHOTOS))
def test_format_jpg_is_the_cutout_on_white_and_auto_picks_jpeg_only_for_opaque_results(model, plain, name):
    data = photo_bytes(name)

    jpg = run(model, data, format="jpg")
    on_red = run(model, data, format="auto", bgcolor="ff0000")
    transparent = run(model, data, format="auto")

    assert (jpg.format, jpg.content_type, open_image(jpg.body).format) == ("jpg", "image/jpeg", "JPEG")
    assert_close(np.asarray(open_image(jpg.body)), over(plain[name], (255, 255, 255)), **JPEG_LOSS)
    assert (on_red.format, open_image(on_red.body).mode) == ("jpg", "RGB")
    assert_close(np.asarray(open_image(on_red.body)), over(plain[name], (255, 0, 0)), **JPEG_LOSS)
    assert transparent.format == "png" and np.array_equal(rgba(transparent.body), plain[name])


def test_jpeg_quality_trades_size_for_fidelity(model, plain):
    data = photo_bytes("chelsea")

    low, high = run(model, data, format="jpg", quality="40"), run(model, data, format="jpg", quality="95")

    assert len(low.body) < len(high.body) / 2
    expected = over(plain["chelsea"], (255, 255, 255))
    assert (
        np.abs(np.asarray(open_image(high.body)) - expected).mean()
        < np.abs(np.asarray(open_image(low.body)) - expected).mean()
    )


def test_a_semi_transparent_bgcolor_as_jpeg_is_that_colour_over_white(model, plain):
    cutout = run(model, photo_bytes("coffee"), format="jpg", bgcolor="0000ff80")

    blue_over_white = (127, 127, 255)
    assert_close(np.asarray(open_image(cutout.body)), over(plain["coffee"], blue_over_white), **JPEG_LOSS)


@pytest.mark.parametrize("name", list(PHOTOS))
def test_a_catalogue_tile_centres_the_subject_on_an_exact_canvas(model, plain, name):
    data = photo_bytes(name)

    tile = run(model, data, crop="true", canvas="1000x1000", margin="5%", format="jpg")

    picture = np.asarray(open_image(tile.body))
    assert picture.shape == (1000, 1000, 3) and tile.format == "jpg"
    # A 512 px photo's subject fits a 1000 px tile as it is: never enlarged unless asked.
    x0, y0, x1, y1 = subject_bbox(plain[name][..., 3])
    assert (tile.foreground.width, tile.foreground.height) == (x1 - x0, y1 - y0)
    assert abs(tile.foreground.left + tile.foreground.width / 2 - 500) <= 2
    assert abs(tile.foreground.top + tile.foreground.height / 2 - 500) <= 2
    # The tile is the cutout, unscaled, over white at that place.
    white = np.full((1000, 1000, 4), 255.0)
    expected = white.copy()
    left, top = tile.foreground.left - x0, tile.foreground.top - y0
    height, width = plain[name].shape[:2]
    region = expected[max(top, 0) : top + height, max(left, 0) : left + width]
    region[...] = plain[name][
        max(-top, 0) : max(-top, 0) + region.shape[0], max(-left, 0) : max(-left, 0) + region.shape[1]
    ]
    assert_close(picture, over(expected, white), **JPEG_LOSS)


def test_a_small_canvas_scales_the_subject_down_to_fit_inside_its_margin(model, plain):
    tile = run(model, photo_bytes("astronaut"), canvas="300x300", margin="10px")

    picture = rgba(tile.body)
    assert picture.shape == (300, 300, 4) and tile.format == "png"
    box = tile.foreground
    assert max(box.width, box.height) in range(278, 281), "the longer side fills the 280 px inside the margin"
    assert abs(box.left + box.width / 2 - 150) <= 2 and abs(box.top + box.height / 2 - 150) <= 2
    # The subject as the test scales it itself: the cutout cropped to its box, resized (premultiplied).
    x0, y0, x1, y1 = subject_bbox(plain["astronaut"][..., 3])
    crop = Image.fromarray(plain["astronaut"][y0:y1, x0:x1].astype(np.uint8), "RGBA")
    scaled = np.asarray(crop.resize((box.width, box.height), Image.Resampling.LANCZOS)).astype(np.float64)
    placed = picture[box.top : box.top + box.height, box.left : box.left + box.width]
    assert_close(placed[..., 3], scaled[..., 3], mean=3, most=40)
    assert_close(over(placed, (0, 0, 0)), over(scaled, (0, 0, 0)), mean=3, most=40)


def test_upscale_enlarges_a_small_subject_to_the_canvas_only_when_asked(model):
    data = photo_bytes("coffee")

    kept = run(model, data, canvas="2000x2000")
    enlarged = run(model, data, canvas="2000x2000", upscale="true")

    assert max(kept.foreground.width, kept.foreground.height) < 600
    assert max(enlarged.foreground.width, enlarged.foreground.height) in range(1998, 2001)
    assert (enlarged.width, enlarged.height) == (2000, 2000)


def test_position_original_keeps_the_photos_framing(model, plain):
    framed = run(model, photo_bytes("astronaut"), canvas="256x400", position="original")

    x0, y0, x1, y1 = subject_bbox(plain["astronaut"][..., 3])
    # The 512x512 photo scaled by 1/2 and centred vertically: 72 px above it.
    box = framed.foreground
    assert (framed.width, framed.height) == (256, 400)
    assert abs(box.left - x0 / 2) <= 1 and abs(box.top - (72 + y0 / 2)) <= 1
    assert abs(box.width - (x1 - x0) / 2) <= 2 and abs(box.height - (y1 - y0) / 2) <= 2


@pytest.mark.parametrize("roi", ["0,0,256,512", "0%,0%,50%,100%"])
def test_roi_keeps_only_the_subject_inside_the_region(model, plain, roi):
    region = run(model, photo_bytes("astronaut"), roi=roi)

    pixels = rgba(region.body)
    assert (pixels[:, 256:] == 0).all(), "alpha (and colour) exactly 0 outside the region"
    assert np.array_equal(pixels[:, :256], plain["astronaut"][:, :256]), "inside it, the cutout as it was"
    assert region.foreground.left + region.foreground.width <= 256


def test_roi_in_pixels_of_the_original_still_holds_when_scale_shrinks_the_photo(model):
    region = run(model, photo_bytes("astronaut"), roi="0,0,256,512", scale="256")

    pixels = rgba(region.body)
    assert pixels.shape[:2] == (256, 256) and (pixels[:, 128:, 3] == 0).all() and pixels[:, :128, 3].max() == 255


@pytest.mark.parametrize("name", ["astronaut", "coffee"])
def test_a_shadow_falls_under_the_subject_and_leaves_its_pixels_alone(model, plain, name):
    shadowed = run(model, photo_bytes(name), shadow="true", shadow_offset="12,16", shadow_blur="6")

    pixels, cutout = rgba(shadowed.body), plain[name]
    opaque = cutout[..., 3] == 255
    assert np.array_equal(pixels[opaque], cutout[opaque]), "the subject's own pixels are unchanged"
    # Nearly opaque ones let at most a trace of the half-opaque shadow through.
    solid = cutout[..., 3] >= 250
    assert solid.sum() > 10_000 and np.abs(over(pixels[solid], (0, 0, 0)) - over(cutout[solid], (0, 0, 0))).max() <= 6
    # Below-right of the subject, where the cutout was transparent, the shadow shows: dark and half opaque.
    alpha = cutout[..., 3] > 0
    shifted = np.zeros_like(alpha)
    shifted[16:, 12:] = alpha[:-16, :-12]
    uncovered = shifted & (cutout[..., 3] == 0)
    assert uncovered.sum() > 100
    assert pixels[uncovered, 3].mean() > 40 and pixels[uncovered, :3].max() == 0


def test_a_shadow_on_a_colour_darkens_it_and_its_opacity_is_a_percentage(model, plain):
    data = photo_bytes("coffee")
    hard = dict(shadow="true", bgcolor="ffffff", shadow_blur="0", shadow_offset="30,-30")

    soft = rgba(run(model, data, shadow_opacity="20", **hard).body)
    strong = rgba(run(model, data, shadow_opacity="80", **hard).body)

    # Where only the (unblurred) shadow of the opaque subject lies: white darkened to 80 % and 20 %.
    cutout = plain["coffee"]
    shadow_only = np.zeros(cutout.shape[:2], bool)
    shadow_only[:-30, 30:] = cutout[30:, :-30, 3] >= 250
    shadow_only &= cutout[..., 3] == 0
    assert shadow_only.sum() > 100
    assert 204 <= np.median(soft[shadow_only, 0]) <= 206 and 51 <= np.median(strong[shadow_only, 0]) <= 56


def test_a_background_image_covers_the_output_under_the_cutout(model, plain):
    background = skdata.rocket()  # 640x427: wider than the photo's square, so cover crops its sides
    data = photo_bytes("astronaut")

    on_image = run(model, data, background=png_bytes(Image.fromarray(background)), format="auto")

    assert on_image.format == "jpg"
    # cover: scaled to the output's height (512 / 427), its middle columns kept.
    left = (640 - 427) / 2
    expected_bg = Image.fromarray(background).resize(
        (512, 512), Image.Resampling.BICUBIC, box=(left, 0, left + 427, 427)
    )
    expected = over(plain["astronaut"], np.asarray(expected_bg))
    assert_close(np.asarray(open_image(on_image.body)), expected, **JPEG_LOSS)


@pytest.mark.parametrize("fit", ["contain", "stretch"])
def test_background_fits_contain_and_stretch(model, plain, fit):
    background = Image.fromarray(skdata.rocket())

    result = run(model, photo_bytes("chelsea"), background=png_bytes(background), bg_fit=fit, bgcolor="00ff00")

    pixels = rgba(result.body)
    height, width = pixels.shape[:2]  # chelsea: 451x300
    if fit == "stretch":
        under = np.asarray(background.resize((width, height), Image.Resampling.BICUBIC))
    else:  # contain: the whole rocket, centred, on the colour
        scale = min(width / 640, height / 427)
        w, h = round(640 * scale), round(427 * scale)
        under = np.zeros((height, width, 3))
        under[...] = (0, 255, 0)
        left, top = (width - w) // 2, (height - h) // 2
        assert (w, left) == (450, 0), "the rocket's full width, a green column at the right"
        under[top : top + h, left : left + w] = np.asarray(background.resize((w, h), Image.Resampling.BICUBIC))
    assert_close(pixels[..., :3], over(plain["chelsea"], under), **JPEG_LOSS)
    assert (pixels[..., 3] == 255).all()


def test_everything_at_once_keeps_clean_edges(model):
    data = photo_bytes("astronaut")
    options = dict(crop="true", canvas="600x600", margin="4%", shadow="true", format="jpg", quality="85")

    clean = run(model, data, background=jpeg_bytes(skdata.coffee()), **options)
    raw = run(model, data, background=jpeg_bytes(skdata.coffee()), decontaminate="false", **options)

    assert clean.body != raw.body, "decontamination stays on under every option"
    assert (clean.width, clean.height, clean.format) == (600, 600, "jpg")


def test_only_mask_on_a_canvas_is_the_mask_placed_there(model):
    masked = run(model, photo_bytes("coffee"), only_mask="true", canvas="800x800")

    mask = open_image(masked.body)
    assert (mask.mode, mask.size) == ("L", (800, 800))
    assert abs(masked.foreground.left + masked.foreground.width / 2 - 400) <= 2


def test_a_background_over_the_pixel_cap_is_413_naming_the_cap(model):
    small_limits = DecodeLimits(max_bytes=50 << 20, max_pixels=400_000)
    huge = png_bytes(Image.new("RGB", (1000, 1000), "blue"))

    with pytest.raises(InputTooLarge) as refused:
        remove_background(photo_bytes("coffee"), options_from_text({}), model, small_limits, background=huge)

    assert refused.value.code is ErrorCode.IMAGE_TOO_MANY_PIXELS and refused.value.status == 413
    assert refused.value.message.startswith("the background image") and "0.4 MP" in refused.value.message


def test_a_canvas_over_its_cap_is_refused_before_any_work(model):
    with pytest.raises(InvalidOption) as refused:
        run(model, b"not even an image", canvas="10000x10000")

    assert refused.value.message.startswith("canvas") and "25 MP" in refused.value.message


def test_a_webp_canvas_counts_against_the_webp_cap(model):
    with pytest.raises(InputTooLarge) as refused:
        remove_background(
            photo_bytes("coffee"),
            options_from_text({"format": "webp", "canvas": "2000x2000"}),
            model,
            LIMITS,
            webp_max_pixels=1_000_000,
        )

    assert refused.value.code is ErrorCode.WEBP_TOO_LARGE


def test_a_mask_with_no_subject_still_fills_the_canvas(model):
    blank = png_bytes(Image.new("RGB", (200, 100), "white"))

    result = run(model, blank, canvas="300x300", format="jpg")

    assert (result.width, result.height) == (300, 300) and result.format == "jpg"
    assert isinstance(open_image(result.body), Image.Image)


def test_quality_applies_to_webp_too(model):
    data = photo_bytes("chelsea")

    assert len(run(model, data, format="webp", quality="30").body) < len(run(model, data, format="webp").body)


# Through the API and the S3 pipeline: the same options, the background from each kind of source.


def files(**named: bytes) -> tuple[bytes, str]:
    """A multipart body with one JPEG file per field."""
    boundary = uuid.uuid4().hex
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{field}.jpg"\r\n'
        f"Content-Type: image/jpeg\r\n\r\n".encode()
        + content
        + b"\r\n"
        for field, content in named.items()
    )
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def invoke(handlers, **event_args) -> dict:
    return handlers.http_handler(http_api_event(**event_args), lambda_context())


def test_a_tile_over_the_api_names_its_size_and_subject_box_as_delivered(handlers, photo):
    query = {"crop": "true", "canvas": "700x700", "margin": "5%", "format": "jpg", "shadow": "true"}

    response = invoke(handlers, body=photo, headers={"content-type": "image/jpeg"}, query=query)

    assert response["statusCode"] == 200, response_body(response)[:300]
    assert header(response, "content-type") == "image/jpeg"
    assert (header(response, "x-width"), header(response, "x-height")) == ("700", "700")
    left, width = int(header(response, "x-foreground-left")), int(header(response, "x-foreground-width"))
    top, height = int(header(response, "x-foreground-top")), int(header(response, "x-foreground-height"))
    assert abs(left + width / 2 - 350) <= 2 and abs(top + height / 2 - 350) <= 2
    assert open_image(response_body(response)).size == (700, 700)


def test_a_background_from_a_multipart_field_a_url_or_a_key_gives_the_same_picture(handlers, s3, bucket, photo):
    background = jpeg_bytes(skdata.coffee())
    key = f"input/backgrounds/{uuid.uuid4().hex}.jpg"
    s3.put_object(Bucket=bucket, Key=key, Body=background)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=300)
    body, content_type = files(file=photo, bg_file=background)

    by_field = invoke(handlers, body=body, headers={"content-type": content_type}, query={"format": "auto"})
    by_url = invoke(handlers, body=photo, headers={"content-type": "image/jpeg"}, query={"bg_image_url": url})
    by_key = invoke(handlers, body=photo, headers={"content-type": "image/jpeg"}, query={"bg_image_key": key})

    for response in (by_field, by_url, by_key):
        assert response["statusCode"] == 200, response_body(response)[:300]
    assert header(by_field, "content-type") == "image/jpeg", "auto: opaque, so JPEG"
    assert header(by_url, "content-type") == "image/png", "png unless asked: the picture, opaque"
    assert open_image(response_body(by_url)).mode == "RGB"
    assert response_body(by_url) == response_body(by_key)
    same = np.abs(
        np.asarray(open_image(response_body(by_field)), float) - np.asarray(open_image(response_body(by_url)))
    )
    assert same.mean() < 2.5, "the multipart background gives the same picture, but for JPEG"


def test_two_backgrounds_are_ambiguous_and_a_public_api_reads_no_background_key(handlers, app_in_mode, photo):
    body, content_type = files(file=photo, bg_file=photo)
    public = Mangum(app_in_mode("none"), lifespan="off")

    both = invoke(handlers, body=body, headers={"content-type": content_type}, query={"bg_image_key": "x.jpg"})
    anonymous = public(
        http_api_event(body=photo, headers={"content-type": "image/jpeg"}, query={"bg_image_key": "x.jpg"}),
        lambda_context(),
    )

    assert both["statusCode"] == 400 and response_json(both)["error"]["code"] == "image_ambiguous"
    assert "bg_image_key, bg_file" in response_json(both)["error"]["message"]
    assert anonymous["statusCode"] == 403 and response_json(anonymous)["error"]["code"] == "authorization_required"


def test_a_jwt_callers_background_key_stays_in_its_own_folder(app_in_mode, s3, bucket, photo):
    sub = f"shop-{uuid.uuid4().hex[:6]}"
    jwt = Mangum(app_in_mode("jwt"), lifespan="off")
    s3.put_object(Bucket=bucket, Key=f"input/{sub}/brand.jpg", Body=jpeg_bytes(skdata.coffee()))
    s3.put_object(Bucket=bucket, Key="input/someone-else/brand.jpg", Body=jpeg_bytes(skdata.rocket()))

    def call(key: str) -> dict:
        event = http_api_event(
            body=photo,
            headers={"content-type": "image/jpeg"},
            query={"bg_image_key": key},
            authorizer=jwt_authorizer(sub),
        )
        return jwt(event, lambda_context())

    own, escape, other = call("brand.jpg"), call("../someone-else/brand.jpg"), call("someone-else/brand.jpg")

    assert own["statusCode"] == 200, response_body(own)[:300]
    assert escape["statusCode"] == 400 and response_json(escape)["error"]["code"] == "key_not_allowed"
    assert other["statusCode"] == 400 and response_json(other)["error"]["code"] == "image_not_found", (
        "read as input/<sub>/someone-else/brand.jpg, which does not exist"
    )


@pytest.mark.parametrize(
    "query, named",
    [({"canvas": "big"}, "canvas"), ({"shadow": "true", "shadow_offset": "1"}, "shadow_offset"), ({"roi": "x"}, "roi")],
)
def test_bad_values_over_the_api_are_422_invalid_option_naming_the_option(handlers, photo, query, named):
    response = invoke(handlers, body=photo, headers={"content-type": "image/jpeg"}, query=query)

    assert response["statusCode"] == 422
    error = response_json(response)["error"]
    assert error["code"] == "invalid_option" and error["message"].startswith(named)


def test_an_s3_drop_asks_for_a_jpeg_tile_on_a_background_through_its_metadata(handlers, s3, bucket, photo):
    folder = f"input/{uuid.uuid4().hex}/"
    s3.put_object(Bucket=bucket, Key=folder + "wall.jpg", Body=jpeg_bytes(skdata.coffee()))
    key = folder + "product.jpg"
    metadata = {"format": "auto", "canvas": "640x480", "crop": "true", "bg-image-key": folder + "wall.jpg"}
    s3.put_object(Bucket=bucket, Key=key, Body=photo, Metadata=metadata)

    (record,) = handlers.s3_handler(s3_put_event(bucket, [key]), lambda_context())["records"]

    assert record["status"] == "processed", record
    assert record["output_key"] == key.replace("input/", "output/", 1), "auto with a background: .jpg"
    obj = s3.get_object(Bucket=bucket, Key=record["output_key"])
    assert obj["ContentType"] == "image/jpeg"
    assert (obj["Metadata"]["width"], obj["Metadata"]["height"]) == ("640", "480")
    via_api = remove_background(
        photo,
        options_from_text({k.replace("-", "_"): v for k, v in metadata.items() if k != "bg-image-key"}),
        handlers.model,
        LIMITS,
        background=jpeg_bytes(skdata.coffee()),
    )
    assert obj["Body"].read() == via_api.body, "the same options through metadata make the same picture"


def test_an_s3_drop_with_a_missing_or_oversized_background_is_a_failure_report(handlers, s3, bucket, photo):
    folder = f"input/{uuid.uuid4().hex}/"
    missing, key = folder + "missing.jpg", folder + "product.jpg"
    s3.put_object(Bucket=bucket, Key=key, Body=photo, Metadata={"bg-image-key": missing})

    (record,) = handlers.s3_handler(s3_put_event(bucket, [key]), lambda_context())["records"]

    assert (record["status"], record["code"]) == ("failed", "image_not_found")
    report = json.loads(s3.get_object(Bucket=bucket, Key=record["output_key"])["Body"].read())
    assert "bg-image-key" in report["error"]["message"]


def test_an_uploads_ticket_carries_the_background_key_inside_the_callers_folder(app_in_mode):
    sub = f"shop-{uuid.uuid4().hex[:6]}"
    jwt = Mangum(app_in_mode("jwt"), lifespan="off")
    event = http_api_event(
        method="POST",
        path="/uploads",
        query={"bg_image_key": "brand.jpg", "format": "auto"},
        authorizer=jwt_authorizer(sub),
    )

    ticket = jwt(event, lambda_context())

    assert ticket["statusCode"] == 201, response_body(ticket)[:300]
    fields = response_json(ticket)["upload"]["fields"]
    assert fields["x-amz-meta-bg_image_key"] == f"input/{sub}/brand.jpg"
    assert fields["x-amz-meta-format"] == "auto"
