"""What an input object asks for through its user metadata, and text fit to store as metadata.

`aws s3 cp photo.jpg s3://bucket/input/ --metadata format=webp,bgcolor=ffffff` gives the object
`x-amz-meta-format` and `x-amz-meta-bgcolor`; S3 hands them back lower-cased, without the prefix.
They are validated by the same parser as the HTTP API's query string.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import get_close_matches
from urllib.parse import quote

from function.errors import ErrorCode, InvalidOption
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


# User metadata that common tools add to every object they upload (s3fs-fuse and rclone: POSIX
# attributes and checksums; s3cmd: its attrs): never ours, and never refused for resembling ours.
TOOL_METADATA = frozenset(
    {"mode", "mtime", "atime", "ctime", "btime", "uid", "gid", "md5chksum", "s3cmd_attrs", "content_md5", "sha256"}
)


def misspelt_options(names: Iterable[str]) -> list[str]:
    """Metadata names that are not ours but read like one of ours (`formt`, `only_masks`, `alpha_mating`).

    Other names are left alone: S3 user metadata is shared with the tools and people who upload, and
    refusing every unknown name would fail every drop through s3fs, rclone or s3cmd."""
    return [
        name
        for name in names
        if name not in METADATA_NAMES
        and name not in TOOL_METADATA
        and get_close_matches(name, METADATA_NAMES, n=1, cutoff=MISSPELT_CUTOFF)
    ]


MISSPELT_CUTOFF = 0.75  # difflib's ratio: "formt" 0.91, "bg_color" 0.93; "author" 0.33


def requested_in(metadata: dict[str, str]) -> Requested:
    """The options and model an object's metadata asks for. Names may be written with `-` for `_`
    (`only-mask`): some proxies drop headers with `_`; both spellings at once are refused, as are
    names that read like a misspelt option (misspelt_options); other metadata is not ours to judge."""
    spelled: dict[str, list[str]] = {}
    for key in metadata:
        spelled.setdefault(key.replace("-", "_"), []).append(key)
    twice = [" and ".join(keys) for name, keys in spelled.items() if len(keys) > 1 and name in METADATA_NAMES]
    if twice:
        raise InvalidOption(f"object metadata: one option given twice ({'; '.join(twice)}); keep one spelling")
    if misspelt := misspelt_options(spelled):
        raise InvalidOption(
            f"object metadata: unknown option {', '.join(map(repr, misspelt))}; accepted: {', '.join(METADATA_NAMES)}",
            code=ErrorCode.UNKNOWN_OPTION,
        )
    given = {name: metadata[keys[0]] for name, keys in spelled.items() if name in METADATA_NAMES}
    given = {name: given[name] for name in METADATA_NAMES if name in given}
    try:
        options = options_from_text(given)
    except InvalidOption as error:
        raise InvalidOption(f"object metadata: {error.message}", code=error.code) from error
    tag = metadata_value(",".join(f"{name}={value}" for name, value in given.items()))
    return Requested(options, given.get("model") or None, tag, given.get("bg_image_key") or None)
