"""A person uses the page in a real browser (headless Chromium) against the local server, end to end.

Needs Debian's `chromium` (`make browser`) and Playwright for Python (requirements-dev.txt); it skips
without them. Playwright's own browser download is never used: it launches the system Chromium.
With UPDATE_SCREENSHOT=1 it retakes the web page's screenshot (docs/page.png, shown on docs/web-page.md).
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

from local.gateway import LocalJwtAuthorizer
from local.s3_trigger import InputPrefixPoller
from tests.support import (
    assert_astronaut_cutout,
    jpeg_bytes,
    large_phone_photo,
    open_image,
    phone_photo,
    recording_server,
    run_signing_example,
    served,
    sigv4_signature_is_valid,
)

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip("no chromium on this machine (make browser installs Debian's)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "page.png"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def server(live_api):
    return live_api


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextmanager
def opened(browser, server: str, also: tuple[str, ...] = ()):
    """The page at `server` in a fresh browser context (its own sessionStorage), checked to load
    nothing from anywhere but there and `also`."""
    context = browser.new_context(viewport={"width": 1000, "height": 700}, accept_downloads=True)
    page = context.new_page()
    elsewhere = []
    allowed = (server, "blob:", "data:", *also)
    page.on("request", lambda request: None if request.url.startswith(allowed) else elsewhere.append(request.url))
    page.goto(f"{server}/")
    yield page
    context.close()
    assert not elsewhere, f"the page reached beyond its own server: {elsewhere}"


@pytest.fixture
def page(browser, server):
    with opened(browser, server) as page:
        yield page


@pytest.fixture(scope="module")
def jwt_api(app_in_mode):
    """The app in jwt mode behind the local stand-in for API Gateway's JWT authorizer."""
    gateway = LocalJwtAuthorizer(app_in_mode("jwt"))
    with served(gateway) as url:
        yield gateway, url


@pytest.fixture
def parking_page(browser, parking_api, embedded_s3):
    """The page of a server that parks every result in the (embedded) bucket."""
    with opened(browser, parking_api, also=(embedded_s3.endpoint,)) as page:
        yield page


def choose_the_astronaut(page, tmp_path) -> None:
    photo = tmp_path / "astronaut.jpg"
    photo.write_bytes(jpeg_bytes())
    page.set_input_files("#file", str(photo))
    sync_api.expect(page.locator("#status")).to_have_text("Done.", timeout=60_000)


def download(page) -> tuple[str, bytes]:
    """Click Download; the name the browser saves the file under, and its bytes."""
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download").click()
    return download_info.value.suggested_filename, Path(download_info.value.path()).read_bytes()


def test_upload_see_and_download_the_cutout(page, tmp_path):
    expect = sync_api.expect

    choose_the_astronaut(page, tmp_path)

    expect(page.locator("#result")).to_be_visible()
    expect(page.locator("#size")).to_have_text("512 × 512 px")
    expect(page.locator("#subject")).to_contain_text("px at left")
    assert page.eval_on_selector("#result", "img => img.complete && img.naturalWidth") == 512
    name, body = download(page)
    assert name == "astronaut-cutout.png"
    assert_astronaut_cutout(open_image(body))
    shot = SCREENSHOT if os.environ.get("UPDATE_SCREENSHOT") else tmp_path / "page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert open_image(shot.read_bytes()).width == 1000


def test_options_go_to_the_api_and_its_errors_are_shown(page, tmp_path):
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_bytes(b"this is text, not a picture")
    expect = sync_api.expect

    choose_the_astronaut(page, tmp_path)
    page.check("#crop")
    page.select_option("#format", "webp")  # last: only the run with both options names a .webp
    expect(page.locator("#download")).to_have_attribute("download", "astronaut-cutout.webp", timeout=60_000)
    width, height = (int(n) for n in page.locator("#size").inner_text().split(" px")[0].split(" × "))
    assert width <= 512 and height < 512, "cropped to the subject (the astronaut is clear of the top edge)"
    expect(page.locator("#subject")).to_contain_text("at left 0, top 0")

    page.set_input_files("#file", str(not_an_image))

    status = page.locator("#status")
    expect(status).to_have_class("error", timeout=30_000)
    expect(status).to_contain_text("unsupported_media_type")
    expect(status).to_contain_text("request ")
    # The previous photo's cutout is not this file's answer: neither it nor its Download stays.
    expect(page.locator("#result")).to_be_hidden()
    expect(page.locator("#download")).to_be_hidden()
    expect(page.locator("#facts")).to_be_hidden()


def test_a_shop_makes_a_square_jpeg_tile_on_its_own_background_with_a_shadow(page, tmp_path):
    from skimage import data as skdata

    wall = tmp_path / "wall.jpg"
    wall.write_bytes(jpeg_bytes(skdata.coffee()))
    expect = sync_api.expect

    choose_the_astronaut(page, tmp_path)
    page.set_input_files("#bgfile", str(wall))
    page.check("#shadow")
    page.check("#tile")
    page.select_option("#format", "auto")  # last: only the run with every option names a .jpg

    expect(page.locator("#download")).to_have_attribute("download", "astronaut-cutout.jpg", timeout=90_000)
    expect(page.locator("#size")).to_have_text("1000 × 1000 px")
    name, body = download(page)
    tile = open_image(body)
    assert (name, tile.format, tile.mode, tile.size) == ("astronaut-cutout.jpg", "JPEG", "RGB", (1000, 1000))
    corner = tile.getpixel((5, 5))
    assert corner != (255, 255, 255) and max(corner) - min(corner) > 20, "the coffee photo, not white, fills the tile"


def test_a_result_parked_in_the_bucket_is_shown_and_saved_without_leaving_the_page(parking_page, tmp_path):
    choose_the_astronaut(parking_page, tmp_path)

    assert parking_page.eval_on_selector("#result", "img => img.src").startswith("blob:")
    assert parking_page.eval_on_selector("#result", "img => img.complete && img.naturalWidth") == 512
    address = parking_page.url
    name, body = download(parking_page)
    assert name == "astronaut-cutout.png"
    assert_astronaut_cutout(open_image(body))
    assert parking_page.url == address, "Download saved the file instead of navigating to the bucket"


@pytest.fixture
def upload_trigger(handlers, s3, bucket):
    """`make run`'s emulated S3 trigger, on the uploads' folder only (the photos other tests dropped stay put)."""
    trigger = InputPrefixPoller(s3, bucket, "input/uploads/", handlers.s3_handler, interval=0.5)
    trigger.new_objects()  # uploads from before this test are not its work
    trigger.start()
    yield trigger
    trigger.stop()
    trigger.join(30)


def test_an_8_mb_photo_goes_up_to_the_bucket_with_a_progress_bar_and_comes_back(
    browser, live_api, embedded_s3, upload_trigger, tmp_path
):
    photo = tmp_path / "IMG_1234.jpg"
    photo.write_bytes(large_phone_photo())
    expect = sync_api.expect

    with opened(browser, live_api, also=(embedded_s3.endpoint,)) as page:
        sent = []
        page.on("request", lambda request: sent.append((request.method, request.url.split("?")[0])))
        page.set_input_files("#file", str(photo))
        expect(page.locator("#progress")).to_be_visible(timeout=30_000)
        expect(page.locator("#status")).to_contain_text("job runs in the bucket", timeout=120_000)
        expect(page.locator("#status")).to_have_text("Done.", timeout=300_000)

        expect(page.locator("#size")).to_have_text("6000 × 4000 px")
        expect(page.locator("#subject")).to_contain_text("px at left")  # the job's result carries the box
        expect(page.locator("#progress")).to_be_hidden()
        assert page.eval_on_selector("#result", "img => img.complete && img.naturalWidth") == 6000
        name, body = download(page)
    assert name == "IMG_1234-cutout.png" and open_image(body).size == (6000, 4000)
    assert ("POST", f"{live_api}/uploads") in sent and ("POST", f"{embedded_s3.endpoint}/local-bucket") in sent
    assert not any(url.endswith("/remove-bg") for _, url in sent), "too large for a request body"
    assert any(url.startswith(f"{live_api}/jobs/") for _, url in sent)


def test_a_heic_original_this_browser_cannot_show_is_named_not_shown_broken(page, tmp_path):
    photo = tmp_path / "IMG_0001.HEIC"
    photo.write_bytes(phone_photo("HEIF"))
    expect = sync_api.expect

    page.set_input_files("#file", str(photo))

    expect(page.locator("#status")).to_have_text("Done.", timeout=60_000)
    expect(page.locator("#original-note")).to_contain_text("IMG_0001.HEIC: this browser cannot show this format")
    expect(page.locator("#original")).to_be_hidden()
    expect(page.locator("#size")).to_have_text("512 × 512 px")  # the cutout, upright

    choose_the_astronaut(page, tmp_path)  # the next photo it can show is shown again
    expect(page.locator("#original")).to_be_visible()
    expect(page.locator("#original-note")).to_be_hidden()


def test_a_file_over_the_input_limit_is_refused_before_it_is_sent(page, tmp_path):
    huge = tmp_path / "huge.jpg"
    huge.write_bytes(b"\xff" * (20_000_000 + 1))
    sent = []
    page.on("request", lambda request: sent.append(request.url) if request.method == "POST" else None)

    page.set_input_files("#file", str(huge))

    status = page.locator("#status")
    sync_api.expect(status).to_have_class("error", timeout=10_000)
    sync_api.expect(status).to_contain_text("up to 20 MB.")  # one number, one unit, as the docs say it
    assert sent == []


class UnderStage:
    """The app behind a stage path, as API Gateway serves a REST API (`/Prod/...`): only paths
    under the stage reach it, without the stage."""

    def __init__(self, app, stage: str):
        self.app, self.stage = app, stage

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            if not scope["path"].startswith(self.stage + "/"):
                await send({"type": "http.response.start", "status": 404, "headers": []})
                await send({"type": "http.response.body", "body": b""})
                return
            path = scope["path"].removeprefix(self.stage)
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)


def test_under_a_stage_path_the_page_calls_the_api_beside_itself(browser, app_in_mode, tmp_path):
    with served(UnderStage(app_in_mode("none"), "/Prod")) as url, opened(browser, f"{url}/Prod") as page:
        choose_the_astronaut(page, tmp_path)  # opened() fails on any request outside /Prod

        sync_api.expect(page.locator("#result")).to_be_visible()
        page.get_by_role("link", name="API docs").click()
        sync_api.expect(page.locator(".opblock-summary-path", has_text="/remove-bg")).to_be_visible(timeout=30_000)
        assert page.url == f"{url}/Prod/docs"


def test_api_docs_render_offline(page, server):
    refused = []  # what the docs' Content-Security-Policy blocked, as the browser reports it
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.get_by_role("link", name="API docs").click()

    sync_api.expect(page.locator(".opblock-summary-path", has_text="/remove-bg")).to_be_visible(timeout=30_000)
    assert page.url == f"{server}/docs"
    assert refused == []


def test_a_public_api_asks_for_no_token(page):
    sync_api.expect(page.locator("#drop")).to_be_visible()

    assert page.locator("#signin").is_hidden() and page.locator("#signed").is_hidden()


def test_with_jwt_the_page_takes_a_token_keeps_it_in_the_tab_only_and_sends_it(browser, jwt_api, tmp_path):
    gateway, api = jwt_api
    photo = tmp_path / "astronaut.jpg"
    photo.write_bytes(jpeg_bytes())
    token = gateway.token_for("browser-user")
    expect = sync_api.expect

    with opened(browser, api) as page:
        sent = []
        page.on(
            "request",
            lambda request: sent.append(request.headers.get("authorization")) if "remove-bg" in request.url else None,
        )
        expect(page.locator("#token")).to_be_visible()
        page.set_input_files("#file", str(photo))  # no token yet: API Gateway's 401
        expect(page.locator("#status")).to_have_class("error", timeout=30_000)
        expect(page.locator("#status")).to_contain_text("bearer token")

        page.fill("#token", token)
        page.keyboard.press("Tab")  # leaving the field runs the request again, with the token

        expect(page.locator("#status")).to_have_text("Done.", timeout=60_000)
        expect(page.locator("#size")).to_have_text("512 × 512 px")
        assert sent[-1] == f"Bearer {token}"
        assert page.evaluate("sessionStorage.getItem('rembg.token')") == token
        assert page.evaluate("localStorage.length") == 0
        page.reload()
        expect(page.locator("#token")).to_have_value(token)

    with opened(browser, api) as another_tab:  # a new browsing context starts signed out
        expect(another_tab.locator("#token")).to_have_value("")


def test_with_iam_the_page_explains_signed_requests_and_shows_a_working_example(browser, app_in_mode, tmp_path):
    with served(app_in_mode("iam")) as api, opened(browser, api) as page:
        example = page.locator("#sigv4")
        sync_api.expect(example).to_contain_text("SigV4Auth", timeout=10_000)
        code = example.inner_text()
        assert f'API = "{api}/"' in code
        assert page.locator("#form").is_hidden() and page.locator("#signin").is_hidden()

    with recording_server() as (gateway, seen):
        run = run_signing_example(code, gateway, tmp_path)

    assert run.returncode == 0, run.stderr[-2000:]
    ((method, path, headers, body),) = seen
    assert (method, path, body) == ("POST", "/remove-bg", jpeg_bytes())
    assert sigv4_signature_is_valid(method, path, headers, body)
    assert (tmp_path / "cutout.png").read_bytes().startswith(b"\x89PNG")
