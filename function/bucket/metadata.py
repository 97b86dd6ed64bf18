"""What an input object asks for through its user metadata, and text fit to store as metadata.

`aws s3 cp photo.jpg s3://bucket/input/ --metadata format=webp,bgcolor=ffffff` gives the object
`x-amz-meta-format` and `x-amz-meta-bgcolor`; S3 hands them back lower-cased, without the prefix.
They are validated by the same parser as the HTTP API's query string.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import quote

from function.errors import InvalidOption
from function.imaging.options import OPTION_NAMES, RemovalOptions, options_from_text

# The options, plus the model and a background image's key, which the HTTP API takes beside them.
METADATA_NAMES = (*OPTION_NAMES, "model", "bg_image_key")


def metadata_value(text: str) -> str:
    """`text` as a metadata value: URL-quoted (metadata is ASCII), hashed if long (an object's
    metadata is capped at 2 KB in all, and quoting can triple a 1,024-byte key)."""
    quoted = quote(text)
    return quoted if len(quoted) <= 512 else "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Requested:
    options: RemovalOptions
    model: str | None
    # The options as given, stored on the output: a re-upload of the same bytes with other
    # options has the same ETag, and must still count as new work.
    tag: str
    background_key: str | None = None  # as written: confined to the input's namespace before reading

    @property
    def format(self) -> str:
        """The output's format (and so its key's extension), `auto` resolved."""
        return self.options.delivered_format(self.background_key is not None)


def requested_in(metadata: dict[str, str]) -> Requested:
    """The options and model an object's metadata asks for; other metadata is not ours to judge.
    Names may be written with `-` for `_` (`only-mask`): some proxies drop headers with `_`."""
    given = {key.replace("-", "_"): value for key, value in metadata.items()}
    given = {name: given[name] for name in METADATA_NAMES if name in given}
    try:
        options = options_from_text(given)
    except InvalidOption as error:
        raise InvalidOption(f"object metadata: {error.message}", code=error.code) from error
    tag = metadata_value(",".join(f"{name}={value}" for name, value in given.items()))
    return Requested(options, given.get("model") or None, tag, given.get("bg_image_key") or None)
