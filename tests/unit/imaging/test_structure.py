"""Structural limits: what real encoders write passes, one element past each limit is refused with
the code that names it, and the count never costs more than the limit's worth of steps."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from function.errors import ServiceError
from function.imaging import structure
from function.imaging.structure import check_structure, scan_allowance
from tests.hostile_inputs import seed_images
from tests.image_files import encoded, png_chunk, raw_png
from tests.jpeg_files import exif_segment, jpeg_with_segments, progressive_jpeg, segment
from tests.support import jpeg_bytes
from tests.tiff_files import tiff_file
from tests.worst_inputs import _bmp_rle, _gif, _rle4_rows

LIMIT = structure.MAX_SEGMENTS


def refusal(data: bytes) -> str:
    with pytest.raises(ServiceError) as raised:
        check_structure(data)
    assert raised.value.status == 413
    return raised.value.code


def photo(mode: str = "RGB", size=(96, 64)) -> Image.Image:
    return Image.open(io.BytesIO(jpeg_bytes())).convert(mode).resize(size)


@pytest.mark.parametrize("fmt", sorted(seed_images()))
def test_files_as_encoders_write_them_pass(fmt):
    check_structure(seed_images()[fmt])


@pytest.mark.parametrize(
    "name, data",
    [
        ("progressive colour (10 scans)", encoded(photo(), "JPEG", progressive=True, optimize=True)),
        ("progressive grey (6 scans)", encoded(photo("L"), "JPEG", progressive=True)),
        ("progressive CMYK (18 scans)", encoded(photo("CMYK"), "JPEG", progressive=True)),
        ("restart markers", encoded(photo(), "JPEG", restart_marker_blocks=1)),
        (
            "EXIF + ICC + comment",
            encoded(photo(), "JPEG", exif=b"Exif\0\0" + b"\0" * 60_000, icc_profile=b"\0" * 200_000, comment=b"hi"),
        ),
        ("interlaced PNG", encoded(photo("RGBA"), "PNG", optimize=True)),
        (
            "animated GIF",
            encoded(photo("P"), "GIF", save_all=True, append_images=[photo("P")], loop=0, comment=b"hello"),
        ),
        ("tiled TIFF", encoded(photo(), "TIFF", tile=(16, 16))),
        ("LZW TIFF in strips of one row", encoded(photo(), "TIFF", compression="tiff_lzw", strip_size=96 * 3)),
        ("RLE8 BMP within its limit", _bmp_rle(2000, 2000, b"\x00\x01")),
    ],
)
def test_real_encoders_output_passes(name, data):
    check_structure(data)


def test_every_real_progression_fits_the_scan_allowance_at_the_pixel_cap():
    # libjpeg writes 10 scans (YCbCr), 6 (grey), 2 + 4 per component (CMYK: 18).
    assert scan_allowance(50.0) >= 18
    assert scan_allowance(0.01) == structure.MAX_JPEG_SCANS


def test_jpeg_scans_past_the_allowance_are_refused():
    allowed = scan_allowance(1024 * 1024 / 1e6)
    check_structure(progressive_jpeg(1024, 1024, refinement_scans=allowed - 2))  # DC + AC + refinements

    assert refusal(progressive_jpeg(1024, 1024, refinement_scans=allowed - 1)) == "image_too_many_scans"


def test_jpeg_markers_and_fill_bytes_count_to_one_limit():
    check_structure(jpeg_with_segments(b"\xff\xe1\x00\x02" * (LIMIT - 20)))
    assert refusal(jpeg_with_segments(b"\xff\xe1\x00\x02" * LIMIT)) == "image_too_many_segments"
    assert refusal(jpeg_with_segments(b"\xff" * (LIMIT + 1))) == "image_too_many_segments"


def test_jpeg_exif_and_photoshop_segments_are_limited_to_a_few():
    many = structure.MAX_JPEG_METADATA_SEGMENTS
    check_structure(jpeg_with_segments(exif_segment(b"x") * many))
    assert refusal(jpeg_with_segments(exif_segment(b"x") * (many + 1))) == "image_too_many_segments"
    photoshop = segment(0xED, b"Photoshop 3.0\0" + b"8BIM\x04\x04\0\0\0\0\0\0")
    assert refusal(jpeg_with_segments(photoshop * (many + 1))) == "image_too_many_segments"


def test_jpeg_structure_after_the_end_of_the_picture_is_not_counted():
    # Motion photos and MPO files carry video or more frames after EOI; Pillow decodes frame 0 only.
    check_structure(seed_images()["jpeg"] + b"\xff\xda\x00\x02" * LIMIT)


def test_png_chunks_are_counted_up_to_the_first_frame():
    chunk = png_chunk(b"prIv", b"")
    check_structure(raw_png(1, 1, 8, 0, b"\0\0", extra=chunk * (LIMIT - 3)))
    assert refusal(raw_png(1, 1, 8, 0, b"\0\0", extra=chunk * LIMIT)) == "image_too_many_segments"


def test_gif_blocks_before_the_first_frame_are_counted():
    comment = b"\x21\xfe" + b"\x01c" * (LIMIT - 10) + b"\x00"
    check_structure(_gif((1, 1), comment))
    assert refusal(_gif((1, 1), b"\x21\xfe" + b"\x01c" * LIMIT + b"\x00")) == "image_too_many_segments"
    assert refusal(_gif((1, 1), b"\x00" * (LIMIT + 1))) == "image_too_many_segments"  # stray bytes


def test_run_length_bmp_is_limited_in_pixels():
    side = int(structure.RLE_MAX_PIXELS**0.5)
    check_structure(_bmp_rle(side, side, _rle4_rows(side, side), rle4=True))
    assert refusal(_bmp_rle(side + 1, side, b"\x00\x01")) == "image_rle_too_many_pixels"
    check_structure(encoded(Image.new("L", (side + 1, side)), "BMP"))  # uncompressed: C decodes it


def test_tiff_strips_tiles_and_tag_arrays_are_limited():
    check_structure(tiff_file(4096, 4096, tile=(16, 16)))  # 65,536 tiles
    assert refusal(tiff_file(4096, 4112, tile=(16, 16))) == "image_too_many_segments"
    assert refusal(tiff_file(64, 64, strips=LIMIT + 1)) == "image_too_many_segments"
    assert refusal(tiff_file(64, 64, extra=[(0x011A, 5, LIMIT + 1, None)])) == "image_too_many_segments"
    check_structure(tiff_file(64, 64, extra=[(0x011A, 5, 2**31, b"\0" * 8)]))  # claims more than the file holds
    check_structure(tiff_file(64, 64, extra=[(700, 1, 5 * LIMIT, None)]))  # XMP bytes: Pillow keeps them as bytes


def test_tiff_exif_directory_is_counted_too():
    # Pillow reads the Exif directory while loading a TIFF: point the Exif tag at one appended after the file.
    data = tiff_file(8, 8, extra=[(0x8769, 4, 1, None)])
    pointer = struct.pack("<HHII", 0x8769, 4, 1, 0)
    data = data.replace(pointer, pointer[:8] + struct.pack("<I", len(data)))
    data += struct.pack("<H", 1) + struct.pack("<HHII", 0x9000, 5, LIMIT + 1, len(data) + 18) + b"\0\0\0\0"
    data += bytes(8 * (LIMIT + 1))  # the rationals themselves: an array the file cannot hold is only corrupt

    assert refusal(data) == "image_too_many_segments"


def test_broken_structure_is_left_to_pillow():
    for data in (b"\xff\xd8\xff\xe1", b"\x89PNG\r\n\x1a\n\0\0", b"GIF89a\x01\0", b"BM\0", b"II*\x00\xff\xff\xff\x7f"):
        check_structure(data)


def test_tiff_directories_that_point_at_each_other_are_read_once():
    data = tiff_file(8, 8, extra=[(0x8769, 4, 1, None), (0x8825, 4, 1, None)])
    (ifd,) = struct.unpack_from("<I", data, 4)
    for tag in (0x8769, 0x8825):  # both point back at IFD0
        pointer = struct.pack("<HHII", tag, 4, 1, 0)
        data = data.replace(pointer, pointer[:8] + struct.pack("<I", ifd))

    check_structure(data)
