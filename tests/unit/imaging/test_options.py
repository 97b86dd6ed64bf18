"""Options arrive as text (query strings, S3 metadata) and are validated by one parser."""

import pytest

from function.errors import ErrorCode, InvalidOption
from function.imaging.options import (
    SCALE_RANGE,
    Canvas,
    Margin,
    Matting,
    RemovalOptions,
    Roi,
    Shadow,
    options_from_text,
    parse_bgcolor,
    parse_margin,
)


def test_bgcolor_parsing():
    assert parse_bgcolor("ff0000") == (255, 0, 0, 255)
    assert parse_bgcolor("#00ff0080") == (0, 255, 0, 128)
    for bad in ("red", "fff", "ff00000", "gg0000", " ffffff"):
        with pytest.raises(InvalidOption) as refused:
            parse_bgcolor(bad)
        assert refused.value.code is ErrorCode.INVALID_BGCOLOR


def test_margin_in_pixels_or_percent_of_the_subject():
    assert parse_margin("30") == parse_margin("30px") == Margin(30)
    assert parse_margin("10%").pixels(250) == 25
    for bad in ("101%", "-5", "5em", "99999", " 5"):
        with pytest.raises(InvalidOption) as refused:
            parse_margin(bad)
        assert refused.value.code is ErrorCode.INVALID_CROP_MARGIN


def test_only_formats_the_service_can_write():
    with pytest.raises(InvalidOption) as refused:
        RemovalOptions(format="gif")
    assert refused.value.status == 422 and refused.value.code is ErrorCode.INVALID_FORMAT


def test_text_options_become_removal_options():
    options = options_from_text(
        {
            "format": "webp",
            "only_mask": "false",
            "bgcolor": "#00ff00",
            "crop": "Yes",
            "crop_margin": "10%",
            "scale": "300",
            "alpha_matting": "1",
            "alpha_matting_erode_size": "4",
        }
    )

    assert options == RemovalOptions(
        format="webp",
        bgcolor=(0, 255, 0, 255),
        crop=True,
        crop_margin=Margin(10, percent=True),
        scale=300,
        matting=Matting(erode_size=4),
    )
    assert options_from_text({}) == RemovalOptions()
    assert options_from_text({"bgcolor": "", "crop_margin": "", "other": "not an option"}) == RemovalOptions()


@pytest.mark.parametrize(
    "values, code",
    [
        ({"format": "gif"}, ErrorCode.INVALID_FORMAT),
        ({"format": ""}, ErrorCode.INVALID_FORMAT),
        ({"crop": "maybe"}, ErrorCode.INVALID_OPTION),
        ({"scale": "15"}, ErrorCode.INVALID_OPTION),
        ({"scale": "16384"}, ErrorCode.INVALID_OPTION),
        ({"scale": "1e3"}, ErrorCode.INVALID_OPTION),
        ({"scale": " 300"}, ErrorCode.INVALID_OPTION),  # exactly what the schema documents
        ({"scale": "300\n"}, ErrorCode.INVALID_OPTION),
        ({"alpha_matting_foreground_threshold": "256"}, ErrorCode.INVALID_OPTION),
        ({"alpha_matting_erode_size": "-1"}, ErrorCode.INVALID_OPTION),
        ({"bgcolor": "red"}, ErrorCode.INVALID_BGCOLOR),
        ({"crop_margin": "5em"}, ErrorCode.INVALID_CROP_MARGIN),
        ({"bgcolor": "ffffff\n"}, ErrorCode.INVALID_BGCOLOR),
        ({"crop_margin": "\u0663\u0660px"}, ErrorCode.INVALID_CROP_MARGIN),  # Arabic-Indic 30
    ],
)
def test_every_refusal_names_its_option_and_the_value(values, code):
    ((name, value),) = values.items()

    with pytest.raises(InvalidOption) as refused:
        options_from_text(values)

    assert refused.value.code is code
    assert refused.value.message.startswith(name) and repr(value) in refused.value.message


def test_the_ranges_are_inclusive():
    assert options_from_text({"scale": str(SCALE_RANGE[0])}).scale == 16
    assert options_from_text({"scale": str(SCALE_RANGE[1])}).scale == 16383


def test_product_photo_options_from_text():
    options = options_from_text(
        {
            "format": "jpg",
            "quality": "75",
            "bg_fit": "contain",
            "shadow": "true",
            "shadow_opacity": "30",
            "shadow_blur": "8",
            "shadow_offset": "-4,12",
            "canvas": "1000x800",
            "position": "original",
            "margin": "5%",
            "upscale": "true",
            "roi": "10%,0,90%,400px",
        }
    )

    assert options == RemovalOptions(
        format="jpg",
        quality=75,
        bg_fit="contain",
        shadow=Shadow(opacity=30, blur=8, offset=(-4, 12)),
        canvas=Canvas(1000, 800, position="original", margin=Margin(5, percent=True), upscale=True),
        roi=Roi((Margin(10, True), Margin(0), Margin(90, True), Margin(400))),
    )
    assert options.roi.box(200, 300) == (20, 0, 180, 300), "pixels past the image stop at its edge"
    assert options_from_text({"shadow": "1"}).shadow == Shadow()
    assert options_from_text({"canvas": "10x20"}).canvas == Canvas(10, 20)


def test_auto_is_jpeg_exactly_when_the_result_is_opaque():
    assert RemovalOptions(format="auto").delivered_format() == "png"
    assert RemovalOptions(format="auto", bgcolor=(1, 2, 3, 255)).delivered_format() == "jpg"
    assert RemovalOptions(format="auto", bgcolor=(1, 2, 3, 128)).delivered_format() == "png"
    assert RemovalOptions(format="auto").delivered_format(background_image=True) == "jpg"
    assert RemovalOptions(format="auto", only_mask=True, bgcolor=(1, 2, 3, 255)).delivered_format() == "png"
    assert RemovalOptions(format="webp").delivered_format(background_image=True) == "webp"


@pytest.mark.parametrize(
    "values, named",
    [
        ({"quality": "0"}, "quality"),
        ({"quality": "101"}, "quality"),
        ({"bg_fit": "fill"}, "bg_fit"),
        ({"shadow": "sure"}, "shadow"),
        ({"shadow": "true", "shadow_opacity": "150"}, "shadow_opacity"),
        ({"shadow": "true", "shadow_blur": "-1"}, "shadow_blur"),
        ({"shadow": "true", "shadow_offset": "10"}, "shadow_offset"),
        ({"shadow": "true", "shadow_offset": "1,2,3"}, "shadow_offset"),
        ({"shadow_blur": "5"}, "shadow_blur"),  # without shadow=true it would do nothing: said, not ignored
        ({"canvas": "1000"}, "canvas"),
        ({"canvas": "0x100"}, "canvas"),
        ({"canvas": "100x20000"}, "canvas"),
        ({"canvas": "100x100", "position": "left"}, "position"),
        ({"canvas": "100x100", "margin": "50%"}, "margin"),
        ({"canvas": "100x100", "upscale": "big"}, "upscale"),
        ({"margin": "5%"}, "margin"),
        ({"upscale": "true"}, "upscale"),
        ({"roi": "1,2,3"}, "roi"),
        ({"roi": "50%,0,10%,100%"}, "roi"),
        ({"roi": "0,0,120%,100%"}, "roi"),
        ({"roi": "-1,0,10,10"}, "roi"),
    ],
)
def test_bad_product_photo_values_are_invalid_options_naming_the_option(values, named):
    with pytest.raises(InvalidOption) as refused:
        options_from_text(values)

    assert refused.value.code is ErrorCode.INVALID_OPTION and refused.value.status == 422
    assert refused.value.message.startswith(named)


def test_empty_text_fields_mean_none_as_an_untouched_form_sends_them():
    blank = dict.fromkeys(("bgcolor", "crop_margin", "shadow_offset", "canvas", "margin", "roi"), "")

    assert options_from_text(blank) == RemovalOptions()


@pytest.mark.parametrize(
    "name", ["quality", "scale", "bg_fit", "shadow_opacity", "shadow_blur", "position", "upscale", "only_mask"]
)
def test_an_empty_number_flag_or_choice_is_refused_as_the_schema_says(name):
    # OpenAPI documents these as integers, booleans and enums: "" is none of them, so `quality=`
    # is a mistake to report, not a default to guess (schemathesis sends exactly this).
    with pytest.raises(InvalidOption) as refused:
        options_from_text({"shadow": "true", "canvas": "100x100", name: ""})

    assert refused.value.message.startswith(name)
