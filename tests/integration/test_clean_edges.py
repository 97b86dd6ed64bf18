"""A user cuts a subject out of a photo shot on a coloured background and puts it on a new one: the old
colour must not show in the soft edge. The scenes are composites whose truth is kept (tests/composites.py);
rembg runs on the same u2netp session, so both sides start from the same model."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from function.imaging import banded
from function.imaging.decode import DecodeLimits, decode_image
from function.imaging.options import RemovalOptions
from function.imaging.pipeline import compose, encode, remove_background
from tests.composites import BACKGROUNDS, decoded, photo, subject_alpha
from tests.composites import compose as composite
from tests.support import http_api_event, jpeg_bytes, lambda_context, open_image, response_body

LIMITS = DecodeLimits(max_bytes=50 << 20, max_pixels=50_000_000)
WHITE = (255, 255, 255, 255)


@pytest.fixture(scope="module")
def scenes(model):
    made = {}
    for name, background in (("chelsea", "green"), ("astronaut", "magenta"), ("coffee", "blue")):
        subject = photo(name)
        made[name] = composite(subject, subject_alpha(model, subject), BACKGROUNDS[background])
    return made


def cutout(data: bytes, model, **options) -> np.ndarray:
    return decoded(remove_background(data, RemovalOptions(**options), model, LIMITS).body)


@pytest.mark.parametrize("name", ["chelsea", "astronaut", "coffee"])
def test_the_old_background_leaves_at_most_half_of_rembgs_edge_error(model, scenes, name):
    import rembg

    scene = scenes[name]
    data = scene.png()

    ours = scene.edge_error(cutout(data, model))
    theirs = scene.edge_error(decoded(rembg.remove(data, session=model.session)))

    print(f"\n{name} over {scene.background}: edge error ours {ours:.1f} vs rembg.remove {theirs:.1f} (of 255)")
    assert ours <= theirs / 2


@pytest.mark.parametrize("name", ["chelsea", "astronaut"])
def test_the_alpha_stays_rembgs(model, scenes, name):
    import rembg

    data = scenes[name].png()

    ours = cutout(data, model)[..., 3].astype(int)
    theirs = decoded(rembg.remove(data, session=model.session))[..., 3]

    assert np.abs(ours - theirs).mean() <= 2


def test_decontaminate_false_is_todays_cutout_byte_for_byte(model):
    data = jpeg_bytes()
    image = decode_image(data, LIMITS)
    mask = banded.Upscaler(model.small_mask(image), image.size).full()
    today = banded.encode_png(np.asarray(Image.composite(image, Image.new("RGBA", image.size, 0), mask)))

    assert remove_background(data, RemovalOptions(decontaminate=False), model, LIMITS).body == today


@pytest.mark.parametrize("options", [dict(bgcolor=WHITE), dict(crop=True, format="webp")])
def test_decontaminate_false_is_todays_output_with_other_options_too(model, options):
    data = jpeg_bytes()
    image = decode_image(data, LIMITS)
    mask = banded.Upscaler(model.small_mask(image), image.size).full()
    chosen = RemovalOptions(decontaminate=False, **options)
    today = encode(compose(image, mask, chosen, LIMITS)[0], chosen.format)

    assert remove_background(data, chosen, model, LIMITS).body == today


def test_a_background_colour_and_a_crop_get_the_clean_edge_too(model, scenes):
    data = scenes["chelsea"].png()
    default = remove_background(data, RemovalOptions(), model, LIMITS)
    clean = Image.fromarray(decoded(default.body))

    flattened = np.asarray(open_image(remove_background(data, RemovalOptions(bgcolor=WHITE), model, LIMITS).body))
    cropped = decoded(remove_background(data, RemovalOptions(crop=True), model, LIMITS).body)

    expected = np.asarray(Image.alpha_composite(Image.new("RGBA", clean.size, WHITE), clean).convert("RGB"))
    assert np.array_equal(flattened, expected)
    box = default.foreground
    assert np.array_equal(cropped, np.asarray(clean)[box.top : box.top + box.height, box.left : box.left + box.width])


def test_only_mask_is_untouched(model, scenes):
    data = scenes["chelsea"].png()
    image = decode_image(data, LIMITS)
    mask = banded.Upscaler(model.small_mask(image), image.size).full()

    for decontaminate in (True, False):
        body = remove_background(data, RemovalOptions(only_mask=True, decontaminate=decontaminate), model, LIMITS).body
        assert np.array_equal(np.asarray(open_image(body)), np.asarray(mask))


def test_post_process_mask_matches_rembgs_within_1_in_255(model):
    import rembg

    data = jpeg_bytes()

    mask = open_image(
        remove_background(data, RemovalOptions(only_mask=True, post_process_mask=True), model, LIMITS).body
    )
    alpha = cutout(data, model, post_process_mask=True)[..., 3]
    their_mask = open_image(rembg.remove(data, session=model.session, only_mask=True, post_process_mask=True))
    their_alpha = decoded(rembg.remove(data, session=model.session, post_process_mask=True))[..., 3]

    assert np.abs(np.asarray(mask, int) - np.asarray(their_mask)).mean() <= 1
    assert np.abs(alpha.astype(int) - their_alpha).mean() <= 1
    assert set(np.unique(alpha)) <= {0, 255}, "a post-processed mask is hard"


def test_the_api_takes_both_options(handlers, scenes):
    data = scenes["chelsea"].png()

    def ask(query):
        event = http_api_event(body=data, headers={"content-type": "image/png"}, query=query)
        response = handlers.http_handler(event, lambda_context())
        assert response["statusCode"] == 200, response["body"][:300]
        return np.asarray(Image.open(io.BytesIO(response_body(response))).convert("RGBA"))

    clean, plain, hard = ask({}), ask({"decontaminate": "false"}), ask({"post_process_mask": "true"})

    assert np.array_equal(clean[..., 3], plain[..., 3]) and not np.array_equal(clean, plain)
    assert set(np.unique(hard[..., 3])) <= {0, 255}
