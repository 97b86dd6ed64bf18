"""Configuration is validated once, at init: a layout that would loop never starts."""

import pytest
from pydantic import ValidationError

from function.settings import Settings


def test_defaults_match_the_documented_contract():
    settings = Settings(aws_bucket_name="b", frontend_url="")

    assert (settings.input_prefix, settings.output_prefix, settings.failed_prefix) == ("input/", "output/", "failed/")
    assert settings.results_prefix == "results/"
    assert settings.api_auth == "iam"  # the deployed default: signed callers only
    assert settings.max_response_bytes == 4_400_000
    assert settings.cors_origins == ()


def test_prefixes_are_normalised_to_folders():
    settings = Settings(input_prefix="/uploads", output_prefix="cutouts")

    assert (settings.input_prefix, settings.output_prefix) == ("uploads/", "cutouts/")


@pytest.mark.parametrize(
    "overrides",
    [
        {"output_prefix": "input/"},
        {"output_prefix": "input/out/"},
        {"input_prefix": "output/in/"},
        {"failed_prefix": "input/failed/"},
        {"results_prefix": "input/api/"},
        {"input_prefix": ""},
    ],
)
def test_layouts_that_would_retrigger_the_function_are_refused(overrides):
    with pytest.raises(ValidationError):
        Settings(aws_bucket_name="b", **overrides)


@pytest.mark.parametrize(
    "overrides",
    [
        {"results_prefix": "output/"},  # an API output_key could replace or block a pipeline output
        {"results_prefix": "output/api/"},
        {"output_prefix": "results/cutouts/"},
        {"failed_prefix": "output/failed/"},
        {"failed_prefix": "results/"},
    ],
)
def test_written_folders_may_not_overlap_even_with_a_separate_output_bucket(overrides):
    for buckets in ({"aws_bucket_name": "b"}, {"aws_bucket_name": "in", "output_bucket": "out"}):
        with pytest.raises(ValidationError, match="overlap"):
            Settings(**buckets, **overrides)


@pytest.mark.parametrize("value, mode", [("iam", "iam"), ("JWT", "jwt"), ("None", "none")])
def test_the_auth_mode_is_read_case_insensitively(monkeypatch, value, mode):
    monkeypatch.setenv("API_AUTH", value)

    assert Settings().api_auth == mode


@pytest.mark.parametrize("value", ["", "open", "cognito", "aws_iam"])
def test_an_unknown_auth_mode_stops_the_cold_start(monkeypatch, value):
    monkeypatch.setenv("API_AUTH", value)

    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize(
    "overrides",
    [
        {"batch_report_prefix": "input/"},
        {"batch_report_prefix": "input/reports/"},
        {"batch_report_prefix": "output/"},
        {"batch_report_prefix": "failed/batch/"},
        {"batch_report_prefix": "results/"},
        {"batch_report_prefix": "out/", "output_bucket": "elsewhere", "output_prefix": "out/reports/"},
    ],
)
def test_backfill_reports_get_a_prefix_of_their_own(overrides):
    with pytest.raises(ValidationError, match="BATCH_REPORT_PREFIX"):
        Settings(aws_bucket_name="b", **overrides)


def test_overlapping_prefixes_are_fine_in_a_separate_output_bucket():
    settings = Settings(aws_bucket_name="in", output_bucket="out", output_prefix="input/")

    assert settings.results_bucket == "out"


def test_frontend_url_accepts_a_comma_separated_list(monkeypatch):
    monkeypatch.setenv("FRONTEND_URL", "http://localhost:3000, https://app.example.com")

    assert Settings().cors_origins == ("http://localhost:3000", "https://app.example.com")
