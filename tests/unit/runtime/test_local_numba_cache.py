"""`make run`'s first alpha matting request loads kernels `make setup` baked, as the image's does, instead of
compiling them for a minute with nothing said."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from function.runtime.coldstart import cache_is_baked
from local import run

MAKEFILE = Path(__file__).resolve().parents[3] / "Makefile"


def test_setup_bakes_the_numba_cache_once_as_a_file_target_in_the_venv():
    makefile = MAKEFILE.read_text()
    target = re.search(r"^NUMBA_CACHE := (.+)$", makefile, re.M).group(1)
    setup = re.search(r"^setup: (.+)$", makefile, re.M).group(1).split()
    recipe = re.search(r"^\$\(NUMBA_CACHE\): \$\(STAMP\)\n((?:\t.+\n)+)", makefile, re.M).group(1)

    assert "$(NUMBA_CACHE)" in setup and target == "$(VENV)/numba-cache/.baked"
    assert "-m function.runtime.prepare --numba-cache $(dir $@)" in recipe and "touch $@" in recipe
    assert run.local_numba_cache() == Path(sys.prefix) / "numba-cache"  # where `make run` looks: the same dir


def test_make_run_points_numba_at_the_baked_cache_and_says_so_when_there_is_none(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)  # restored afterwards, as is NUMBA_CPU_NAME
    monkeypatch.delenv("NUMBA_CPU_NAME", raising=False)
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    run.use_baked_numba_cache()
    said = capsys.readouterr().out
    assert "NUMBA_CACHE_DIR" not in os.environ and "the first alpha matting request compiles" in said

    (tmp_path / "numba-cache" / "pymatting").mkdir(parents=True)
    (tmp_path / "numba-cache" / "pymatting" / "kernel.nbi").write_bytes(b"")
    run.use_baked_numba_cache()

    assert cache_is_baked(tmp_path / "numba-cache")
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "numba-cache")
    assert capsys.readouterr().out == ""
