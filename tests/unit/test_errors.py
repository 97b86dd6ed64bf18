"""The error catalogue is the one place codes are written; docs and code follow it."""

from __future__ import annotations

import ast
from pathlib import Path

from function.errors import ErrorCode, ServiceError, http_codes, markdown_table
from function.http.docs import IMAGE_RESPONSES
from local.docs import ERRORS_PAGE, error_table_in

ROOT = Path(__file__).resolve().parents[2]
CODES = {code.value for code in ErrorCode}


def string_literals(path: Path) -> set[str]:
    return {
        node.value
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def test_no_error_code_is_spelled_outside_the_catalogue():
    catalogue = ROOT / "function" / "errors.py"
    offenders = {
        str(path.relative_to(ROOT)): sorted(string_literals(path) & CODES)
        for path in sorted((ROOT / "function").rglob("*.py")) + sorted((ROOT / "local").rglob("*.py"))
        if path != catalogue and string_literals(path) & CODES
    }
    assert offenders == {}


def test_every_code_has_a_status_and_a_meaning():
    for code in ErrorCode:
        assert 400 <= code.status < 600 and code.meaning, code
        assert code.value == code.value.lower() and " " not in code.value


def test_a_service_error_answers_with_its_codes_status():
    assert ServiceError("x", code=ErrorCode.OUTPUT_EXISTS).status == 409
    assert ServiceError("x").status == 400


def test_the_error_table_on_the_errors_page_is_the_catalogue():
    assert error_table_in(ERRORS_PAGE.read_text()) == markdown_table(), "run `.venv/bin/python -m local.docs`"


def test_the_openapi_responses_list_every_http_code_under_its_status():
    for code in http_codes():
        assert f"`{code}`" in IMAGE_RESPONSES[code.status]["description"], code
