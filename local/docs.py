"""Regenerate the parts of the docs that are generated from code: `python -m local.docs`.

Today that is the error table on docs/errors.md, written from function.errors
(tests/unit/test_errors.py fails when the page and the catalogue drift apart).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from function.errors import markdown_table

ERRORS_PAGE = Path(__file__).resolve().parents[1] / "docs" / "errors.md"
START, END = "<!-- errors:start (python -m local.docs) -->", "<!-- errors:end -->"


def error_table_in(text: str) -> str | None:
    match = re.search(re.escape(START) + r"\n(.*?)\n" + re.escape(END), text, re.S)
    return match.group(1) if match else None


def with_error_table(text: str) -> str:
    if error_table_in(text) is None:
        raise SystemExit(f"{ERRORS_PAGE} has no {START} ... {END} block")
    return re.sub(
        re.escape(START) + r"\n.*?\n" + re.escape(END),
        lambda _: f"{START}\n{markdown_table()}\n{END}",
        text,
        flags=re.S,
    )


def main() -> int:
    ERRORS_PAGE.write_text(with_error_table(ERRORS_PAGE.read_text()))
    print(f"{ERRORS_PAGE}: error table regenerated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
