"""Regenerate the parts of README.md that are generated from code: `python -m local.docs`.

Today that is the error table, written from function.errors (tests/unit/test_errors.py fails
when the README and the catalogue drift apart).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from function.errors import markdown_table

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- errors:start (python -m local.docs) -->", "<!-- errors:end -->"


def error_table_in(text: str) -> str | None:
    match = re.search(re.escape(START) + r"\n(.*?)\n" + re.escape(END), text, re.S)
    return match.group(1) if match else None


def with_error_table(text: str) -> str:
    if error_table_in(text) is None:
        raise SystemExit(f"README.md has no {START} ... {END} block")
    return re.sub(
        re.escape(START) + r"\n.*?\n" + re.escape(END),
        lambda _: f"{START}\n{markdown_table()}\n{END}",
        text,
        flags=re.S,
    )


def main() -> int:
    README.write_text(with_error_table(README.read_text()))
    print(f"{README}: error table regenerated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
