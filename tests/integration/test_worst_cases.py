"""The worst inputs inside the caps (tests/worst_inputs.py), each sent through the pipeline with the
real u2netp in a fresh process, as a warm function would see it: refused with the code that names
its limit, or answered; never a 500 or an uncaught exception, and never more memory than a real
50 MP photo (measured the same way, in this run). The answered ones run again with a 1024² model
(ISNet's architecture and size, random weights: benchmarks/u2net_shaped.py), whose mask is ten
times larger, against a 50 MP photo with that model. Time is the benchmark's business
(`python -m benchmarks.worst_cases [--model isnet-general-use]` prints both, next to the photo).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.u2net_shaped import ensure_model
from benchmarks.worst_cases import input_file, measure, write_case
from tests.worst_inputs import (
    ANSWERED,
    WORST_CASES,
    matting_default_knobs,
    real_photo_jpeg,
    small_photo_on_a_huge_canvas,
)

pytestmark = pytest.mark.slow

# A hang guard, not a speed assertion: the slowest answered case takes seconds.
TIMEOUT_S = 600
# RSS peaks of the same work vary by a few percent between runs.
MEMORY_SLACK = 1.05
# With a 1024² model a HEIF grid of grids peaks up to ~8 % over the 50 MP photo (libheif's buffers on
# top of a larger model: docs/performance.md), more than MEMORY_SLACK's measurement noise.
LARGE_MODEL_SLACK = 1.10
LARGE_INPUT_MODEL = "isnet-general-use"


def run(tmp_path, case, model_home, model_name: str = "u2netp") -> dict:
    path = tmp_path / "input.bin"
    write_case(case, path)
    return measure(path, "png", TIMEOUT_S, model_home, model_name)


@pytest.fixture(scope="module")
def numba_kernels_compiled(tmp_path_factory, model_home) -> None:
    """One matting request first, unmeasured: it compiles pymatting's kernels into the children's shared
    numba cache, as the image bakes them. Compiling costs far more memory than running, and a deployed
    function never pays it, so no case may be the one that does."""
    figure = run(tmp_path_factory.mktemp("warm"), matting_default_knobs(), model_home)
    assert figure["status"] == 200, figure


@pytest.fixture(scope="module")
def photo_peak_mb(tmp_path_factory, model_home, numba_kernels_compiled) -> float:
    figure = run(tmp_path_factory.mktemp("photo"), real_photo_jpeg(), model_home)
    assert figure["status"] == 200, figure
    return figure["peak_mb"]


@pytest.fixture(scope="module")
def large_model_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("isnet")
    ensure_model("isnet", home, name=LARGE_INPUT_MODEL)  # 176 MB, a few seconds
    return home


@pytest.fixture(scope="module")
def large_model_photo_mb(tmp_path_factory, large_model_home, numba_kernels_compiled) -> tuple[float, float]:
    """(the warm 1024² model's own memory, a 50 MP photo's peak with it): the mean of two runs' model
    memory, which varies by up to 150 MB between processes, and the larger of what the photo adds."""
    figures = [
        run(tmp_path_factory.mktemp("photo"), real_photo_jpeg(), large_model_home, LARGE_INPUT_MODEL) for _ in range(2)
    ]
    assert all(figure["status"] == 200 for figure in figures), figures
    model_mb = sum(figure["init_mb"] for figure in figures) / len(figures)
    return model_mb, model_mb + max(above_the_model(figure) for figure in figures)


def above_the_model(figure: dict) -> float:
    return figure["peak_mb"] - figure["init_mb"]


@pytest.mark.parametrize("make", WORST_CASES, ids=lambda make: make.__name__)
def test_each_worst_case_is_refused_with_its_code_or_answered_within_a_photos_memory(
    make, tmp_path, model_home, photo_peak_mb
):
    case = make()

    figure = run(tmp_path, case, model_home)

    assert figure["status"] is not None and figure["status"] < 500, (case.name, figure["outcome"])
    assert (figure["code"] or ANSWERED) == case.expect, (case.name, figure["outcome"])
    assert figure["peak_mb"] <= photo_peak_mb * MEMORY_SLACK, (case.name, figure["peak_mb"], photo_peak_mb)


@pytest.mark.parametrize(
    "option_set, make",
    [
        ("jpg+bg_image", real_photo_jpeg),  # a background image at the pixel cap under a 50 MP cutout
        ("png+shadow", real_photo_jpeg),  # a shadow cast by a 50 MP cutout
        ("jpg+canvas_cap", real_photo_jpeg),  # the largest canvas, with a shadow and a 50 MP background
        ("jpg+canvas_cap", small_photo_on_a_huge_canvas),  # a small photo enlarged onto it
    ],
    ids=lambda value: value if isinstance(value, str) else value.__name__,
)
def test_product_photo_options_at_the_caps_stay_within_a_photos_memory(
    option_set, make, tmp_path, model_home, photo_peak_mb
):
    case = make()
    path = tmp_path / "input"
    write_case(case, path)
    input_file(real_photo_jpeg, cached=True)  # the background, made here: the measured process only reads it

    figure = measure(path, option_set, TIMEOUT_S, model_home)

    assert figure["status"] == 200, (case.name, option_set, figure["outcome"])
    assert figure["peak_mb"] <= photo_peak_mb * MEMORY_SLACK, (case.name, option_set, figure, photo_peak_mb)


@pytest.mark.parametrize("make", WORST_CASES, ids=lambda make: make.__name__)
def test_with_a_1024_model_each_answered_worst_case_stays_within_a_photos_memory(
    make, tmp_path, large_model_home, large_model_photo_mb
):
    case = make()
    if case.expect != ANSWERED:
        pytest.skip("refused before the model runs: the model cannot change it")

    figure = run(tmp_path, case, large_model_home, LARGE_INPUT_MODEL)

    # Alpha matting's limit counts the mask's unsure pixels, and random weights make an unsure mask:
    # refusing is the answer the limit gives such a mask, after the model has run.
    assert figure["status"] == 200 or figure["code"] == "alpha_matting_too_large", (case.name, figure["outcome"])
    # What the input controls is what the pipeline adds on top of the model (whose own share is noise here).
    model_mb, photo_mb = large_model_photo_mb
    assert model_mb + above_the_model(figure) <= photo_mb * LARGE_MODEL_SLACK, (case.name, figure, large_model_photo_mb)
