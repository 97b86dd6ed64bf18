"""Configuration read from the environment once, at init, and validated there.

The environment variable names are the field names upper-cased; template.yaml passes
exactly these (a test checks it). A bad configuration fails the cold start loudly rather
than failing each request later.
"""

from __future__ import annotations

from functools import cached_property
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from function.runtime.model_catalog import MODEL_NAMES

if TYPE_CHECKING:
    from function.imaging.decode import DecodeLimits

# Where the image bakes the models: a `models/` folder beside the `function/` package.
DEFAULT_MODEL_HOME = Path(__file__).resolve().parent.parent / "models"

# A synchronous Lambda response is capped at 6 MB after base64 (x4/3), headers included,
# so about 4.4 MB of image bytes is the most that reliably fits.
LAMBDA_RESPONSE_BYTES = 4_400_000
# The same cap applies to a request: a larger body never reaches the function.
LAMBDA_REQUEST_BYTES = LAMBDA_RESPONSE_BYTES


def megabytes(size: int) -> str:
    """A byte count as the service states sizes: MB of 1,000,000 bytes, e.g. 20_000_000 -> "20 MB"."""
    return f"{size / 1_000_000:.4g} MB"


def _split_csv(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, frozen=True, extra="ignore")

    # One of rembg's single-mask models (function/runtime/model_catalog.py); it must be baked under u2net_home.
    model_name: str = "u2net"
    u2net_home: Path = DEFAULT_MODEL_HOME

    aws_bucket_name: str | None = None
    output_bucket: str | None = None
    input_prefix: str = "input/"
    output_prefix: str = "output/"
    failed_prefix: str = "failed/"
    # Everything the HTTP API writes (output_key results, large-result offloads): never the pipeline's outputs.
    results_prefix: str = "results/"
    # Where S3 Batch Operations writes a backfill's completion report (and the object list it
    # generated), in the input bucket; the functions never write there, but it must overlap nothing.
    batch_report_prefix: str = "batch-reports/"
    # Who may call the API, as API Gateway's authorizer tells it (function/http/auth.py). The
    # deployed default; local runs set it explicitly (`make run`: none).
    api_auth: Literal["iam", "jwt", "none"] = "iam"
    # In iam mode, any principal allowed execute-api:Invoke reads all of the input prefix and writes all of
    # the results prefix through the function's role. True confines each to a folder derived from its
    # principal ARN (function/http/callers.py), as jwt mode confines each sub.
    iam_caller_folders: bool = False

    frontend_url: str = ""
    allowed_image_hosts: str = ""
    # Read only to allow-list the local/embedded S3 endpoint for URL fetching; boto3 itself
    # picks the variable up for its clients, so no endpoint is ever passed in code.
    aws_endpoint_url_s3: str | None = None
    aws_region: str | None = Field(default=None, validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"))

    # 20 MB: every size the service states is in MB of 1,000,000 bytes (megabytes() below), as
    # Lambda's and API Gateway's limits are, so the limit reads as one number everywhere.
    max_input_bytes: int = Field(default=20_000_000, gt=0)
    max_input_megapixels: float = Field(default=50.0, gt=0)
    max_response_bytes: int = Field(default=LAMBDA_RESPONSE_BYTES, gt=0)
    # Alpha matting's memory grows fast with size (docs/api.md, options): past this a request would
    # need more than a 50 MP photo does, so it is refused, not attempted.
    alpha_matting_max_megapixels: float = Field(default=0.5, gt=0)
    # libwebp's encoder needs many bytes a pixel beside the picture (docs/performance.md), so beyond
    # this a WebP result is refused: a 50 MP one would need more memory than anything else.
    webp_max_megapixels: float = Field(default=12.0, gt=0)
    fetch_connect_timeout: float = Field(default=3.0, gt=0)
    fetch_timeout: float = Field(default=10.0, gt=0)
    presigned_url_ttl: int = Field(default=3600, gt=0, le=7 * 24 * 3600)
    # An upload ticket (POST /uploads) lives only as long as sending one photo takes: it can be
    # replayed until it expires (each replay ends as a report, but is still a request to S3).
    upload_ttl: int = Field(default=900, gt=0, le=3600)

    @field_validator("aws_bucket_name", "output_bucket", "aws_endpoint_url_s3", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return value or None

    @field_validator("model_name")
    @classmethod
    def _a_model_we_run(cls, value: str) -> str:
        if value not in MODEL_NAMES:
            raise ValueError(f"choose one of: {', '.join(MODEL_NAMES)}")
        return value

    @field_validator("api_auth", mode="before")
    @classmethod
    def _lower_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("input_prefix", "output_prefix", "failed_prefix", "results_prefix", "batch_report_prefix")
    @classmethod
    def _prefix_is_a_folder(cls, value: str) -> str:
        value = value.lstrip("/")
        if not value:
            raise ValueError("a prefix must not be empty (the bucket root would loop)")
        return value if value.endswith("/") else value + "/"

    @model_validator(mode="after")
    def _prefixes_do_not_overlap(self) -> Settings:
        # A write under the input prefix re-triggers the S3 function, and an API write under the
        # output prefix could squat a pipeline output: every pair of folders that share a bucket
        # must be disjoint (the three written ones always share the results bucket).
        written = ("output_prefix", "failed_prefix", "results_prefix")
        same_bucket = self.output_bucket in (None, self.aws_bucket_name)
        pairs = list(combinations(written, 2)) + ([("input_prefix", name) for name in written] if same_bucket else [])
        # Backfill reports: in the input bucket, apart from every other folder.
        pairs += [(name, "batch_report_prefix") for name in ("input_prefix", *written)]
        for first, second in pairs:
            a, b = getattr(self, first), getattr(self, second)
            if a.startswith(b) or b.startswith(a):
                raise ValueError(
                    f"{first.upper()}={a!r} and {second.upper()}={b!r} overlap in one bucket: "
                    "outputs would trigger the function again or land in each other's folders"
                )
        return self

    @cached_property
    def cors_origins(self) -> tuple[str, ...]:
        return _split_csv(self.frontend_url)

    @cached_property
    def extra_image_hosts(self) -> tuple[str, ...]:
        return tuple(host.lower() for host in _split_csv(self.allowed_image_hosts))

    @property
    def results_bucket(self) -> str | None:
        return self.output_bucket or self.aws_bucket_name

    @property
    def longest_prefix(self) -> str:
        """The longest of the folders a caller's own folder sits under: its keys must fit there too."""
        folders = (self.input_prefix, self.output_prefix, self.failed_prefix, self.results_prefix)
        return max(folders, key=lambda prefix: len(prefix.encode()))

    @property
    def max_input_pixels(self) -> int:
        return int(self.max_input_megapixels * 1_000_000)

    @cached_property
    def decode_limits(self) -> DecodeLimits:
        """The DecodeLimits every decode uses, HTTP and S3 alike."""
        # Imported here: the image build runs prepare (which imports this module) before imaging/ is copied in.
        from function.imaging.decode import DecodeLimits

        return DecodeLimits(max_bytes=self.max_input_bytes, max_pixels=self.max_input_pixels)

    @property
    def alpha_matting_max_pixels(self) -> int:
        return int(self.alpha_matting_max_megapixels * 1_000_000)

    @property
    def webp_max_pixels(self) -> int:
        return int(self.webp_max_megapixels * 1_000_000)


class SettingsError(ValueError):
    """A bad environment variable, in one line that names it and what it takes."""


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment; a bad value is a SettingsError naming the variable and its
    allowed values (pydantic's own report is a dozen lines of traceback per variable)."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(describe(error)) from None


def describe(error: ValidationError) -> str:
    """`API_AUTH='bogus': Input should be 'iam', 'jwt' or 'none'`, one clause per bad variable."""
    clauses = []
    for problem in error.errors(include_url=False):
        message = problem["msg"].removeprefix("Value error, ")
        if problem["loc"]:
            clauses.append(f"{str(problem['loc'][0]).upper()}={problem['input']!r}: {message}")
        else:  # a rule over several variables (overlapping prefixes): its message names them
            clauses.append(message)
    return "invalid setting: " + "; ".join(clauses)
