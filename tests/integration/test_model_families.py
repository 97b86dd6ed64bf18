"""A user who deploys another of rembg's models gets the cutout rembg's own session would give on the
same file, through the HTTP API and through the bucket, for each family of model (U²-Net at 320²,
ISNet and BiRefNet at 1024², BiRefNet's logits through a sigmoid).

No weights are needed: each model is a small stand-in network of the real one's input and output
shape (tests/standin_models.py) saved under rembg's file name in a model folder, which rembg loads
with MODEL_CHECKSUM_DISABLED=1 and the function loads as it would the baked file.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from mangum import Mangum
from PIL import Image
from skimage.data import astronaut

from function.bucket.storage import ObjectStore
from function.http.app import create_app
from function.imaging.model import BackgroundModel, ModelRegistry
from function.pipeline.processor import S3Pipeline
from function.pipeline.records import objects_in_notification
from function.settings import Settings
from tests.integration.test_matches_rembg import MAX_MEAN_ALPHA_DIFF, decoded
from tests.integration.test_s3_pipeline import drop, read, unique
from tests.standin_models import write_standin
from tests.support import http_api_event, jpeg_bytes, response_body, s3_put_event

# One model of each family; the cheapest where a family has several.
FAMILIES = {"U2-Net": "silueta", "ISNet": "isnet-general-use", "BiRefNet": "birefnet-general-lite"}
# Our banded upscale of the model's mask to the photo may round a pixel differently from Pillow's
# one-call resize (function/imaging/banded.py): rarely, and by at most this much.
MAX_ALPHA_DIFF = 2


@pytest.fixture(scope="module")
def standin_home(handlers, tmp_path_factory):
    # After `handlers`: its environment is set first (and prepare_runtime() runs before rembg's import).
    home = tmp_path_factory.mktemp("u2net_home")
    for name in FAMILIES.values():
        write_standin(name, home)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("U2NET_HOME", str(home))  # where rembg's session looks for <name>.onnx
        env.setenv("MODEL_CHECKSUM_DISABLED", "1")  # the stand-in is not rembg's published file
        yield home


@pytest.fixture(scope="module")
def photo() -> bytes:
    # Landscape and smaller than either input side: the model input is resized both ways.
    return jpeg_bytes(np.asarray(Image.fromarray(astronaut()).resize((384, 256), Image.Resampling.LANCZOS)))


def rembg_alpha(name: str, photo: bytes) -> np.ndarray:
    import rembg

    return decoded(rembg.remove(photo, session=rembg.new_session(name)))[..., 3].astype(int)


def assert_same_alpha(ours: np.ndarray, theirs: np.ndarray) -> None:
    difference = np.abs(ours.astype(int) - theirs)
    assert difference.mean() < MAX_MEAN_ALPHA_DIFF and difference.max() <= MAX_ALPHA_DIFF
    assert theirs.std() > 20, "the stand-in's mask should tell regions apart, or the comparison proves little"


@pytest.mark.parametrize("name", FAMILIES.values(), ids=FAMILIES.keys())
def test_the_models_mask_is_rembgs_sessions_within_1_in_255(standin_home, photo, name):
    import rembg

    image = Image.open(io.BytesIO(photo)).convert("RGB")
    model = BackgroundModel(name, standin_home)
    ours = model.small_mask(image)
    (theirs,) = rembg.new_session(name).predict(image)

    assert ours.size == (model.recipe.input_side,) * 2
    # rembg resizes its mask to the photo in one call: the same call on ours leaves only the model's arithmetic.
    ours_resized = np.asarray(ours.resize(image.size, Image.Resampling.LANCZOS)).astype(int)
    assert np.abs(ours_resized - np.asarray(theirs)).max() <= 1


@pytest.mark.parametrize("name", FAMILIES.values(), ids=FAMILIES.keys())
def test_a_request_for_the_model_cuts_out_as_rembg_does(standin_home, photo, name):
    models = ModelRegistry(standin_home, "silueta")
    api = Mangum(create_app(Settings(api_auth="none", model_name="silueta"), models, ObjectStore()), lifespan="off")

    response = api(
        http_api_event(body=photo, headers={"content-type": "image/jpeg"}, query={"model": name}, authorizer=None),
        None,
    )

    assert response["statusCode"] == 200, response_body(response)[:500]
    assert_same_alpha(decoded(response_body(response))[..., 3], rembg_alpha(name, photo))


@pytest.mark.parametrize("name", FAMILIES.values(), ids=FAMILIES.keys())
def test_a_photo_dropped_in_the_bucket_is_cut_out_by_the_deployed_model_as_rembg_does(
    handlers, standin_home, s3, bucket, photo, name
):
    pipeline = S3Pipeline(handlers.settings, ModelRegistry(standin_home, name), handlers.store)
    key = unique("family.jpg")
    drop(s3, bucket, key, photo)

    (outcome,) = pipeline.handle_all(objects_in_notification(s3_put_event(bucket, [key])))

    assert outcome.status == "processed"
    output = read(s3, bucket, key.replace("input/", "output/", 1).replace(".jpg", ".png"))
    assert_same_alpha(decoded(output)[..., 3], rembg_alpha(name, photo))


def test_a_model_that_is_not_baked_is_refused_by_name_with_those_that_are(standin_home, photo):
    models = ModelRegistry(standin_home, "silueta")
    api = Mangum(create_app(Settings(api_auth="none", model_name="silueta"), models, ObjectStore()), lifespan="off")

    response = api(
        http_api_event(body=photo, headers={"content-type": "image/jpeg"}, query={"model": "birefnet-massive"}),
        None,
    )

    assert response["statusCode"] == 422
    message = response_body(response).decode()
    assert "model_not_available" in message and "birefnet-general-lite, isnet-general-use, silueta" in message
