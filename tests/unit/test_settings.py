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


@pytest.mark.parametrize(
    "environment, said",
    [
        ({"API_AUTH": "bogus"}, "invalid setting: API_AUTH='bogus': Input should be 'iam', 'jwt' or 'none'"),
        ({"MAX_INPUT_BYTES": "20MB"}, "invalid setting: MAX_INPUT_BYTES='20MB': Input should be a valid integer"),
        ({"OUTPUT_PREFIX": "input/x/"}, "invalid setting: INPUT_PREFIX='input/' and OUTPUT_PREFIX='input/x/' overlap"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable_and_what_it_takes(monkeypatch, environment, said):
    from function.settings import SettingsError, load_settings

    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError) as refused:
        load_settings()

    assert str(refused.value).startswith(said) and "\n" not in str(refused.value)


@pytest.mark.parametrize(
    "command",
    [
        ["-m", "local.run", "--port", "18142", "--s3-port", "18143"],  # what `make run` runs
        ["-c", "import function.handlers"],  # what Lambda's init runs
    ],
)
def test_the_entry_points_say_it_in_one_line_not_a_traceback(command):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    ran = subprocess.run(
        [sys.executable, *command],
        cwd=root,
        env={"PATH": "/usr/bin:/bin", "API_AUTH": "bogus", "HOME": "/tmp"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    said = "invalid setting: API_AUTH='bogus': Input should be 'iam', 'jwt' or 'none'"

    assert ran.returncode != 0
    if command[1] == "local.run":
        assert ran.stderr.strip() == f"make run: {said}"
    else:  # the log's one line, then Lambda reports the raised error (its own type and message)
        assert f'"message":"{said}"' in ran.stdout
        assert ran.stderr.strip().splitlines()[-1] == f"function.settings.SettingsError: {said}"


@pytest.mark.parametrize("name", ["u2net_cloth_seg", "bria-rmbg", "U2NET", ""])
def test_a_model_the_service_does_not_run_is_refused_at_start_up(name):
    # cloth_seg gives three masks, BRIA's weights are non-commercial: neither is offered.
    with pytest.raises(ValidationError, match="choose one of: u2net, u2netp"):
        Settings(model_name=name)


def test_every_single_mask_model_is_accepted():
    assert Settings(model_name="birefnet-general-lite").model_name == "birefnet-general-lite"
