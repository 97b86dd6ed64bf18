"""The image build bakes each model through rembg's own downloader: the URL and md5 rembg's session
class pins, pooch checking the file, the file where the function then finds and loads it. Offline:
rembg's release downloads are answered by a server on 127.0.0.1 holding stand-in files under the
release's file names (tests/standin_models.py).
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pooch
import pytest

from function.errors import PrepareError
from function.imaging.model import BackgroundModel, ModelRegistry
from function.runtime.model_catalog import MODEL_NAMES
from function.runtime.model_files import baked_models, optimised_file
from function.runtime.prepare import main as prepare
from function.runtime.prepare import model_via_rembg
from tests.standin_models import write_standin

RELEASES = "https://github.com/danielgatis/rembg/releases/download/"


class ReleaseMirror:
    """A loopback stand-in for rembg's GitHub releases, and what rembg asked pooch for."""

    def __init__(self, folder: Path):
        self.folder = folder
        handler = functools.partial(QuietHandler, directory=str(folder))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.requested: dict[str, tuple[str, str | None]] = {}  # file name -> (rembg's URL, rembg's hash)

    def publish(self, name: str, release_file: str) -> str:
        """A stand-in for `name` under the release's file name; its md5."""
        path = write_standin(name, self.folder / "build" / name)
        (self.folder / release_file).write_bytes(path.read_bytes())
        return hashlib.md5(path.read_bytes()).hexdigest()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    monkeypatch.delenv("MODEL_CHECKSUM_DISABLED", raising=False)
    monkeypatch.setenv("U2NET_HOME", str(tmp_path / "elsewhere"))  # prepare points rembg at --home itself
    releases = ReleaseMirror(tmp_path / "releases")
    releases.folder.mkdir()
    thread = threading.Thread(target=releases.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield releases
    releases.server.shutdown()
    releases.server.server_close()


def route_to(mirror: ReleaseMirror, monkeypatch, vouched: dict[str, str] | None = None) -> None:
    """rembg's pooch.retrieve, fetching from the mirror. `vouched` (release file -> md5) stands in for
    rembg's pinned md5 of our stand-in file; otherwise rembg's own md5 is checked, as in the build."""
    real_retrieve = pooch.retrieve

    def retrieve(url, known_hash, *args, **kwargs):
        release_file = Path(urlsplit(url).path).name
        mirror.requested[release_file] = (url, known_hash)
        if vouched is not None and known_hash is not None:
            known_hash = f"md5:{vouched[release_file]}"
        return real_retrieve(f"{mirror.url}/{release_file}", known_hash, *args, **kwargs)

    monkeypatch.setattr(pooch, "retrieve", retrieve)


def release_file_of(name: str) -> str:
    """The file name rembg's session class downloads for `name`, read from its source."""
    import inspect

    from function.runtime.coldstart import rembg_session_class

    session_class = rembg_session_class(name)
    source = inspect.getsource(session_class.download_models)
    (url,) = re.findall(r'"(https://[^"]+\.onnx)"', source)
    return url.rsplit("/", 1)[1]


def test_the_build_bakes_every_model_from_rembgs_release_with_its_md5_checked(mirror, monkeypatch, tmp_path, capsys):
    home = tmp_path / "models"
    vouched = {release_file_of(name): mirror.publish(name, release_file_of(name)) for name in MODEL_NAMES}
    route_to(mirror, monkeypatch, vouched)

    # As the Dockerfile runs it; u2netp twice, as the template may pass it (ModelName=u2netp).
    prepare([*MODEL_NAMES, "u2netp", "--home", str(home)])

    assert len(mirror.requested) == len(MODEL_NAMES)  # one download each
    for url, known_hash in mirror.requested.values():
        assert url.startswith(RELEASES) and re.fullmatch(r"md5:[0-9a-f]{32}", known_hash or ""), (url, known_hash)
    assert baked_models(home) == tuple(sorted(MODEL_NAMES))
    assert all(optimised_file(home, name) for name in MODEL_NAMES)
    assert capsys.readouterr().out.count("optimised copy") == len(MODEL_NAMES)
    registry = ModelRegistry(home, "birefnet-general-lite")
    assert registry.available == tuple(sorted(MODEL_NAMES))
    assert registry.default.file == optimised_file(home, "birefnet-general-lite")


def test_a_download_that_is_not_the_file_rembg_pins_is_refused_and_nothing_is_baked(mirror, monkeypatch, tmp_path):
    home = tmp_path / "models"
    mirror.publish("isnet-general-use", release_file_of("isnet-general-use"))
    route_to(mirror, monkeypatch)  # rembg's own md5: a stand-in cannot match it

    with pytest.raises(ValueError, match=r"(?i)md5|hash"):
        prepare(["isnet-general-use", "--home", str(home)])

    assert baked_models(home) == ()


def test_the_build_refuses_to_skip_rembgs_checksums(mirror, monkeypatch, tmp_path):
    monkeypatch.setenv("MODEL_CHECKSUM_DISABLED", "1")

    with pytest.raises(PrepareError, match="MODEL_CHECKSUM_DISABLED"):
        model_via_rembg("silueta", tmp_path)
    assert not mirror.requested


def test_a_model_file_already_in_the_folder_under_rembgs_name_is_used_as_it_is(mirror, monkeypatch, tmp_path):
    route_to(mirror, monkeypatch)
    placed = write_standin("birefnet-general-lite", tmp_path)
    before = placed.read_bytes()

    prepare(["birefnet-general-lite", "--home", str(tmp_path)])

    assert not mirror.requested and placed.read_bytes() == before
    assert BackgroundModel("birefnet-general-lite", tmp_path).recipe.input_side == 1024


def test_a_model_outside_the_catalogue_is_refused_before_any_download(mirror, monkeypatch, tmp_path):
    route_to(mirror, monkeypatch)

    with pytest.raises(PrepareError, match="u2net_cloth_seg"):
        prepare(["u2net_cloth_seg", "--home", str(tmp_path)])
    assert not mirror.requested
