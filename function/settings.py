"""Configuration read from the environment once, at init, and validated there.

The environment variable names are the field names upper-cased; template.yaml passes
exactly these (a test checks it). A bad configuration fails the cold start loudly rather
than failing each request later.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Where the image bakes the models: a `models/` folder beside the `function/` package.
DEFAULT_MODEL_HOME = Path(__file__).resolve().parent.parent / "models"

# A synchronous Lambda response is capped at 6 MB after base64 (x4/3), headers included,
# so about 4.4 MB of image bytes is the most that reliably fits.
LAMBDA_RESPONSE_BYTES = 4_400_000


def _split_csv(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, frozen=True, extra="ignore")

    model_name: str = "u2net"
    u2net_home: Path = DEFAULT_MODEL_HOME

    aws_bucket_name: str | None = None
    output_bucket: str | None = None
    input_prefix: str = "input/"
    output_prefix: str = "output/"
    failed_prefix: str = "failed/"

    frontend_url: str = ""
    allowed_image_hosts: str = ""
    # Read only to allow-list the local/embedded S3 endpoint for URL fetching; boto3 itself
    # picks the variable up for its clients, so no endpoint is ever passed in code.
    aws_endpoint_url_s3: str | None = None
    aws_region: str | None = Field(default=None, validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"))

    max_input_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    max_input_megapixels: float = Field(default=50.0, gt=0)
    max_response_bytes: int = Field(default=LAMBDA_RESPONSE_BYTES, gt=0)
    # Alpha matting's memory grows ~0.5 GB per megapixel (README, Performance): past this a request
    # would need more than a 50 MP photo does, so it is refused, not attempted.
    alpha_matting_max_megapixels: float = Field(default=0.5, gt=0)
    # libwebp's encoder needs up to ~40 bytes a pixel beside the picture (README, Performance), so
    # beyond this a WebP result is refused: a 50 MP one would need more memory than anything else.
    webp_max_megapixels: float = Field(default=12.0, gt=0)
    fetch_connect_timeout: float = Field(default=3.0, gt=0)
    fetch_timeout: float = Field(default=10.0, gt=0)
    presigned_url_ttl: int = Field(default=3600, gt=0, le=7 * 24 * 3600)

    @field_validator("aws_bucket_name", "output_bucket", "aws_endpoint_url_s3", mode="before")
    @classmethod
    def _blank_is_none(cls, value):
        return value or None

    @field_validator("input_prefix", "output_prefix", "failed_prefix")
    @classmethod
    def _prefix_is_a_folder(cls, value: str) -> str:
        value = value.lstrip("/")
        if not value:
            raise ValueError("a prefix must not be empty (the bucket root would loop)")
        return value if value.endswith("/") else value + "/"

    @model_validator(mode="after")
    def _no_trigger_loops(self) -> "Settings":
        # A write under the input prefix re-triggers the S3 function: refuse any layout where
        # our outputs or failure reports could land there (or inputs under outputs).
        same_bucket = self.output_bucket in (None, self.aws_bucket_name)
        if same_bucket:
            for name in ("output_prefix", "failed_prefix"):
                prefix = getattr(self, name)
                if prefix.startswith(self.input_prefix) or self.input_prefix.startswith(prefix):
                    raise ValueError(
                        f"{name.upper()}={prefix!r} overlaps INPUT_PREFIX={self.input_prefix!r} "
                        "in the same bucket: every output would trigger the function again"
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
    def max_input_pixels(self) -> int:
        return int(self.max_input_megapixels * 1_000_000)

    @property
    def alpha_matting_max_pixels(self) -> int:
        return int(self.alpha_matting_max_megapixels * 1_000_000)

    @property
    def webp_max_pixels(self) -> int:
        return int(self.webp_max_megapixels * 1_000_000)
