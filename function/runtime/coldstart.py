"""Cold-start set-up for Lambda. Entry points import this module FIRST and call prepare_runtime().

Why: `import rembg` imports pymatting, which compiles its numba kernels at import: with no usable
cache that is most of a cold start (docs/performance.md). numba only uses a cache directory it
can write to, and on Lambda only /tmp is writable, so a cache baked into the image is ignored
where it lies. Two measures, both here:

  1. The image bakes a numba cache (python -m function.runtime.prepare ... --numba-cache DIR, with
     NUMBA_CPU_NAME=generic) and sets NUMBA_BAKED_CACHE_DIR=DIR; prepare_runtime() copies it
     into NUMBA_CACHE_DIR (under /tmp) once per process, so pymatting loads without compiling.
  2. The cold start does not import pymatting at all: segmentation needs only the session
     class. Lazy `rembg` / `rembg.sessions` package objects (below) let
     rembg.sessions.u2netp be imported without running either __init__.py; alpha matting
     (rembg.bg) is imported on the first request that asks for it, from the copied cache.

Contract:
  prepare_runtime() -> None     idempotent; call before anything imports rembg, pymatting or numba.
  load_session_factory()        a `new_session` like rembg's, without importing pymatting.
  rembg_session_class(name)     rembg's session class for a model, the same way.
  load_rembg_bg()               rembg.bg (matting, post_process); the first call imports pymatting.
  load_matting()                rembg.bg.alpha_matting_cutout.
Env (the Dockerfile sets them): NUMBA_CPU_NAME=generic (must equal the bake's),
NUMBA_CACHE_DIR=/tmp/numba_cache, NUMBA_BAKED_CACHE_DIR=<baked dir in the image>.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.abc import Loader

    from PIL import Image

log = logging.getLogger(__name__)

DEFAULT_CACHE_DIR = "/tmp/numba_cache"
# Written last by the copy: its presence means the copy finished (a crash mid-copy redoes it).
COPIED_MARKER = ".copied-from-baked-cache"

_lock = threading.Lock()
_prepared = False


def prepare_runtime() -> None:
    """Point numba at a writable cache, seed it from the image, install the lazy rembg package."""
    global _prepared
    with _lock:
        if _prepared:
            return
        # setdefault: an explicit setting (tests, local runs) wins over these defaults.
        os.environ.setdefault("NUMBA_CPU_NAME", "generic")
        cache_dir = os.environ.setdefault("NUMBA_CACHE_DIR", DEFAULT_CACHE_DIR)
        _check_numba_not_configured_yet(cache_dir)
        baked = os.environ.get("NUMBA_BAKED_CACHE_DIR")
        if baked:
            seed_numba_cache(Path(baked), Path(cache_dir))
        _install_lazy_rembg()
        _prepared = True


def seed_numba_cache(baked: Path, target: Path) -> bool:
    """Copy the baked cache into the writable one unless already done; True if it copied."""
    if (target / COPIED_MARKER).exists():
        return False
    if not baked.is_dir():
        # Not fatal: segmentation works; only the first matting request would compile.
        log.warning("NUMBA_BAKED_CACHE_DIR=%s is missing: alpha matting will compile on first use", baked)
        return False
    shutil.copytree(baked, target, dirs_exist_ok=True)
    (target / COPIED_MARKER).write_text(str(baked))
    return True


# Models this service deploys -> (module under rembg.sessions, class): imported directly.
DIRECT_SESSIONS = {"u2net": ("u2net", "U2netSession"), "u2netp": ("u2netp", "U2netpSession")}


def new_session(model_name: str, *args: Any, sess_opts: Any = None, **kwargs: Any) -> Any:
    """rembg.new_session(model_name) without importing rembg.bg or the other session modules.

    u2net/u2netp are built exactly as rembg's factory builds them (default SessionOptions:
    onnxruntime uses every core; rembg's OMP_NUM_THREADS override is not applied). Any other
    model goes through rembg's own factory, which loads the full session registry.
    """
    prepare_runtime()
    if model_name not in DIRECT_SESSIONS:
        from rembg.session_factory import new_session as rembg_new_session

        return rembg_new_session(model_name, *args, sess_opts=sess_opts, **kwargs)
    import onnxruntime as ort

    return rembg_session_class(model_name)(model_name, sess_opts or ort.SessionOptions(), *args, **kwargs)


def rembg_session_class(model_name: str) -> type[Any]:
    """rembg's session class for a model; u2net/u2netp without loading rembg's whole registry."""
    prepare_runtime()
    if model_name not in DIRECT_SESSIONS:
        from rembg.sessions import sessions

        registered: type[Any] = sessions[model_name]
        return registered
    module, class_name = DIRECT_SESSIONS[model_name]
    direct: type[Any] = getattr(importlib.import_module(f"rembg.sessions.{module}"), class_name)
    return direct


def load_session_factory() -> Callable[..., Any]:
    """The `new_session` to call: rembg's signature, no pymatting/numba import (see above)."""
    prepare_runtime()
    return new_session


def load_rembg_bg() -> ModuleType:
    """rembg.bg (alpha matting, mask post-processing). The first call imports pymatting (from the copied cache)."""
    prepare_runtime()
    return importlib.import_module("rembg.bg")


def load_matting() -> Callable[..., Image.Image]:
    """rembg's alpha_matting_cutout (see load_rembg_bg)."""
    cutout: Callable[..., Image.Image] = load_rembg_bg().alpha_matting_cutout
    return cutout


def _check_numba_not_configured_yet(cache_dir: str) -> None:
    # numba reads NUMBA_CACHE_DIR once, when it is imported. If something imported it before us,
    # our setting is ignored and every cold start would recompile: fail loudly instead.
    numba_config = sys.modules.get("numba.core.config")
    if numba_config is not None and getattr(numba_config, "CACHE_DIR", None) != cache_dir:
        raise RuntimeError(
            "numba was imported before function.runtime.coldstart.prepare_runtime(); "
            "import function.runtime.coldstart first in every entry point"
        )


def _install_lazy_rembg() -> None:
    """Register `rembg` and `rembg.sessions` as packages whose __init__.py runs only when needed.

    rembg/__init__.py only does `from .bg import remove` and `from .session_factory import
    new_session`, and rembg.bg imports pymatting (numba). rembg/sessions/__init__.py imports every
    session module to fill its registry, and SAM's alone pulls in scipy.ndimage and jsonschema.
    We build each package module from its own spec (so __path__ and submodule imports are the
    real ones) but defer running its __init__.py: `import rembg.sessions.u2netp` then loads just
    base.py and u2netp.py. The first access to any other attribute
    (rembg.remove, rembg.sessions.sessions_class, ...) runs the real __init__.py in place, once,
    so code written for plain rembg still works, merely paying those imports at that point.
    (importlib.util.LazyLoader does not help: importing a submodule touches the parent and
    triggers its full load.)
    """
    for name in ("rembg", "rembg.sessions"):
        if name in sys.modules:  # already imported for real: nothing left to defer
            return
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return  # not installed: the import fails where it is used, with the usual error
        package = importlib.util.module_from_spec(spec)
        # typeshed declares ModuleType.__getattr__ as a method; PEP 562 defines it as a module attribute.
        package.__getattr__ = _finish_init_on_demand(package, spec.loader)  # type: ignore[method-assign]
        sys.modules[name] = package
        parent, _, child = name.rpartition(".")
        if parent:  # what the import system does for a loaded submodule
            setattr(sys.modules[parent], child, package)


def _finish_init_on_demand(package: ModuleType, loader: Loader) -> Callable[[str], Any]:
    finish_lock = threading.RLock()

    def __getattr__(name: str) -> Any:  # PEP 562: called only for names the module lacks
        if name.startswith("__") and name != "__version__":
            raise AttributeError(name)  # probes like __wrapped__ must not trigger the import
        with finish_lock:
            if "__getattr__" in package.__dict__:
                del package.__getattr__
                loader.exec_module(package)  # the real __init__.py, in the same module object
        return getattr(package, name)

    return __getattr__
