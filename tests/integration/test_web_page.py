"""A person opens the service in a browser through API Gateway: the page at / and the API docs, with no CDN.
(What the page does with them, and that it calls the API beside itself under a stage path, is
tests/integration/test_page_in_browser.py.)"""

from __future__ import annotations

import pytest

from tests.support import header, http_api_event, lambda_context, response_body


def get(handlers, path: str) -> dict:
    return handlers.http_handler(http_api_event(method="GET", path=path), lambda_context())


def test_the_page_is_served_at_the_root(handlers):
    response = get(handlers, "/")
    page = response_body(response).decode()

    assert response["statusCode"] == 200
    assert header(response, "content-type").startswith("text/html")
    assert '<input id="file" type="file" accept="image/*">' in page
    assert 'id="format"' in page and 'id="mask"' in page and 'id="crop"' in page and 'id="bgcolor"' in page
    assert "default-src 'none'" in header(response, "content-security-policy")


def test_docs_render_from_local_assets(handlers):
    response = get(handlers, "/docs")
    page = response_body(response).decode()

    assert response["statusCode"] == 200
    assert header(response, "content-type").startswith("text/html")
    assert "cdn." not in page and "https://" not in page and "http://" not in page
    assert 'src="docs/swagger-ui-bundle.js"' in page and 'href="docs/swagger-ui.css"' in page
    assert "url: 'openapi.json'" in page, "relative, so it works under a stage path"


@pytest.mark.parametrize(
    "path, content_type, starts_with",
    [
        ("/docs/swagger-ui-bundle.js", "text/javascript", b"/*! For license information"),
        ("/docs/swagger-ui.css", "text/css", b".swagger-ui"),
        ("/docs/favicon.png", "image/png", b"\x89PNG"),
    ],
)
def test_docs_assets_are_served_with_their_types(handlers, path, content_type, starts_with):
    response = get(handlers, path)
    body = response_body(response)

    assert response["statusCode"] == 200
    assert header(response, "content-type").split(";")[0] == content_type
    assert body.startswith(starts_with)
    assert "max-age" in header(response, "cache-control")


def test_the_cdn_docs_are_gone(handlers):
    assert get(handlers, "/redoc")["statusCode"] == 404
    assert get(handlers, "/openapi.json")["statusCode"] == 200
