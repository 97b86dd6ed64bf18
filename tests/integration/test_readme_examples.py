"""A newcomer pastes the README's curl examples and the deploy page's signed upload: they work as
printed, follow large results, and show an error instead of saving it as a picture."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import assert_astronaut_cutout, open_image

ROOT = Path(__file__).resolve().parents[2]
README, DEPLOY_PAGE = ROOT / "README.md", ROOT / "docs" / "deploy.md"
if not shutil.which("curl"):
    pytest.skip("no curl on this machine", allow_module_level=True)


def block(name: str, page: Path) -> str:
    """The code block the page marks `<!-- name:start -->` ... `<!-- name:end -->`."""
    found = re.search(rf"<!-- {name}:start -->\n```\w+\n(.*?)```\n<!-- {name}:end -->", page.read_text(), re.S)
    return found.group(1)


def curl_examples() -> list[str]:
    return [line for line in block("curl-examples", README).splitlines() if line.startswith("curl ")]


def run(command: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def folder(tmp_path, photo, s3, bucket) -> Path:
    (tmp_path / "photo.jpg").write_bytes(photo)
    s3.put_object(Bucket=bucket, Key="input/readme.jpg", Body=photo)
    return tmp_path


@pytest.mark.parametrize("server", ["live_api", "parking_api"], ids=["inline", "parked-303"])
def test_the_curl_examples_work_as_printed(request, folder, s3, bucket, server):
    api = request.getfixturevalue(server)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "input/readme.jpg"}, ExpiresIn=300)
    by_body, by_url, with_options = curl_examples()

    for command, saved, fmt in (
        (by_body, "cutout.png", "PNG"),
        (by_url, "cutout.png", "PNG"),
        (with_options, "cutout.webp", "WEBP"),
    ):
        (folder / saved).unlink(missing_ok=True)
        done = run(command, folder, API=api, URL=url)
        assert done.returncode == 0 and not done.stdout, (command, done.stdout, done.stderr)
        assert open_image((folder / saved).read_bytes()).format == fmt
    assert_astronaut_cutout(open_image((folder / "cutout.png").read_bytes()))


@pytest.mark.parametrize("server", ["live_api", "parking_api"], ids=["inline", "parked-303"])
def test_the_signed_upload_of_the_deploy_walkthrough_saves_the_picture_either_way(request, folder, server):
    # SIGN=() stands in for the SigV4 arguments: what is tested is the 303 handling around them.
    done = run("SIGN=()\n" + block("signed-upload", DEPLOY_PAGE), folder, API=request.getfixturevalue(server))

    assert done.returncode == 0, done.stderr
    assert_astronaut_cutout(open_image((folder / "cutout.png").read_bytes()))


def test_an_error_is_shown_not_saved_as_the_picture(live_api, folder):
    (folder / "photo.jpg").write_text("a shopping list, not a photo")

    done = run(curl_examples()[0], folder, API=live_api)

    assert '"code":"unsupported_media_type"' in done.stdout.replace(" ", "")
    assert "returned error: 415" in done.stderr
