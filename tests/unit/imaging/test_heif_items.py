"""A HEIF/AVIF file's items, grids and tiles are counted before libheif or libavif sees them: phones'
grids pass, tiles outside the picture, tiles decoding past the pixel cap, and item floods are refused."""

from __future__ import annotations

import struct

import pytest
from PIL import Image

from function.errors import ErrorCode, ServiceError
from function.imaging.decode import DecodeLimits, decode_image
from function.imaging.heif_items import MAX_DEPTH, MAX_ITEMS, check_items
from tests.heif_files import (
    astronaut_tile,
    grid_file,
    grid_item,
    grid_of_grids,
    heif_file,
    tile_item,
    with_hidden_items,
)
from tests.image_files import encoded

MAX_PIXELS = 50_000_000
LIMITS = DecodeLimits(max_bytes=20 * 2**20, max_pixels=MAX_PIXELS)


def refusal(data: bytes) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        check_items(data, MAX_PIXELS)
    return caught.value


@pytest.fixture(scope="module")
def tile():
    return astronaut_tile()


def test_a_phone_shaped_grid_of_512_tiles_decodes_whole(tile):
    # An iPhone's 12 MP photo: 8x6 tiles of 512², the last row overhanging 4032x3024 by 48 px.
    data = grid_file(tile, rows=6, columns=8, size=(4032, 3024))

    check_items(data, MAX_PIXELS)
    image = decode_image(data, LIMITS)

    assert image.size == (4032, 3024)
    # Every tile is the same coded picture, decoded into its place.
    first, inner = image.crop((0, 0, 512, 512)), image.crop((512, 512, 1024, 1024))
    assert first.tobytes() == inner.tobytes() and len(first.getcolors(2**24)) > 1000  # a photo, not a blank


def test_a_grid_pillow_heif_wrote_passes():
    # pillow-heif writes grids as phones do (tile_size=512): its own boxes, not ours.
    picture = Image.effect_mandelbrot((1100, 700), (-2, -1.5, 1, 1.5), 50).convert("RGB")
    data = encoded(picture, "HEIF", quality=50, tile_size=512)
    assert data.count(b"grid") >= 1

    check_items(data, MAX_PIXELS)

    assert decode_image(data, LIMITS).size == (1100, 700)


def test_an_avif_from_pillow_passes():
    data = encoded(Image.effect_mandelbrot((640, 480), (-2, -1.5, 1, 1.5), 50).convert("RGB"), "AVIF", quality=60)

    check_items(data, MAX_PIXELS)

    assert decode_image(data, LIMITS).size == (640, 480)


def test_a_grid_at_the_pixel_cap_with_its_last_tiles_overhanging_passes(tile):
    check_items(grid_file(tile, rows=14, columns=14, size=(7071, 7071)), MAX_PIXELS)


def test_a_grid_whose_tiles_lie_outside_its_picture_is_refused_naming_the_limit(tile):
    error = refusal(grid_file(tile, rows=12, columns=12, size=(64, 64)))

    assert error.code is ErrorCode.IMAGE_TILES_OUTSIDE_PICTURE and error.status == 413
    assert "64x64 grid of 12x12 tiles of 512x512" in error.message


def test_one_whole_column_past_the_picture_is_refused(tile):
    # 3 columns of 512 cover 1024 px; a 1024-wide picture needs only 2.
    assert refusal(grid_file(tile, rows=1, columns=3, size=(1024, 512))).code is ErrorCode.IMAGE_TILES_OUTSIDE_PICTURE
    check_items(grid_file(tile, rows=1, columns=3, size=(1025, 512)), MAX_PIXELS)


def test_nested_grids_count_every_tile_they_decode(tile):
    # 2x2 grids of 7x7 tiles: each grid inside its picture; 196 tiles of 512² decode 51 MP: fine.
    check_items(grid_of_grids(tile, outer=2, inner=(7, 7), size=(7071, 7071)), MAX_PIXELS)
    # Under a 30 MP cap its tiles decode past 1.25 x 30 MP (decode_image would refuse the 7071² picture
    # by its own size first; here only the tiles are counted).
    data = grid_of_grids(tile, outer=2, inner=(7, 7), size=(7071, 7071))
    with pytest.raises(ServiceError) as caught:
        check_items(data, 30_000_000)
    assert caught.value.code is ErrorCode.IMAGE_TOO_MANY_PIXELS
    assert "decode to 51.4 MP; the limit is 37.5 MP" in caught.value.message


def test_an_inner_grid_with_tiles_outside_its_own_picture_is_refused(tile):
    tiles = {2 + i: tile_item(tile) for i in range(16)}
    inner = {100 + i: grid_item(4, 4, (256, 256), tuple(tiles), hidden=True) for i in range(4)}
    data = heif_file({1: grid_item(2, 2, (512, 512), tuple(inner)), **inner, **tiles}, primary=1)

    assert refusal(data).code is ErrorCode.IMAGE_TILES_OUTSIDE_PICTURE


def test_derivations_nested_too_deep_or_in_a_cycle_are_refused(tile):
    items = {1: tile_item(tile)}
    for level in range(2, MAX_DEPTH + 3):  # each a 1x1 grid of the one before
        items[level] = grid_item(1, 1, (512, 512), (level - 1,), hidden=True)
    top = max(items)
    assert refusal(heif_file(items, primary=top)).code is ErrorCode.IMAGE_TOO_MANY_ITEMS

    chain = {1: tile_item(tile), **{level: grid_item(1, 1, (512, 512), (level - 1,)) for level in range(2, 900)}}
    assert refusal(heif_file(chain, primary=899)).code is ErrorCode.IMAGE_TOO_MANY_ITEMS  # not a RecursionError

    cycle = {1: grid_item(1, 1, (512, 512), (2,)), 2: grid_item(1, 1, (512, 512), (1,), hidden=True)}
    assert refusal(heif_file(cycle, primary=1)).code is ErrorCode.IMAGE_UNDECODABLE


def test_an_item_flood_is_refused_before_libavif_parses_it():
    picture = astronaut_tile(512, "AVIF")

    error = refusal(with_hidden_items(picture, 48_000))

    assert error.code is ErrorCode.IMAGE_TOO_MANY_ITEMS and error.status == 413
    assert "48,001 items; the limit is 1,000" in error.message
    at_limit = with_hidden_items(picture, MAX_ITEMS - 1)
    check_items(at_limit, MAX_PIXELS)
    assert decode_image(at_limit, LIMITS).size == (512, 512)


def _patched(data: bytes, box: bytes, offset: int, value: bytes) -> bytes:
    at = data.index(box) + 4 + offset
    return data[:at] + value + data[at + len(value) :]


def test_each_count_libavif_walks_is_limited(tile):
    # The file holds 3 items; each box's own count says 60,000 (libavif trusts it, and loops).
    data = heif_file({1: tile_item(tile), 2: tile_item(tile), 3: tile_item(tile)}, primary=1)
    iloc_count = _patched(data, b"iloc", 6, struct.pack(">H", 60_000))
    ipma_count = _patched(data, b"ipma", 4, struct.pack(">I", 60_000))

    assert refusal(iloc_count).code is ErrorCode.IMAGE_TOO_MANY_ITEMS
    assert refusal(ipma_count).code is ErrorCode.IMAGE_TOO_MANY_ITEMS


def test_too_many_references_are_refused(tile):
    # A 40x40 grid of the same tile: 1,600 references from a file of two items.
    data = heif_file({1: grid_item(40, 40, (20480, 20480), (2,) * 1600), 2: tile_item(tile)}, primary=1)

    error = refusal(data)

    assert error.code is ErrorCode.IMAGE_TOO_MANY_ITEMS and "1,600 item references" in error.message


@pytest.mark.parametrize("cut", [20, 100, 300, 600])
def test_a_truncated_file_is_left_to_the_decoder(tile, cut):
    data = grid_file(tile, rows=2, columns=2, size=(1024, 1024))

    check_items(data[:cut], MAX_PIXELS)  # no exception of its own: libheif refuses it as corrupt


def test_a_meta_box_hidden_behind_many_boxes_is_refused(tile):
    data = grid_file(tile, rows=1, columns=1, size=(512, 512))
    ftyp_end = int.from_bytes(data[:4], "big")
    padding = b"\0\0\0\x08free" * 20

    error = refusal(data[:ftyp_end] + padding + data[ftyp_end:])

    assert error.code is ErrorCode.IMAGE_TOO_MANY_ITEMS and "over 16 boxes before its meta box" in error.message
