"""Run Python code on a Lambda-like filesystem: everything read-only except a fresh, empty /tmp.

Used by the integration tests and by the cold-start benchmark, so both measure the same thing.
The recipe (a private mount namespace, as root):

    unshare -m --propagation private  ->  rbind / onto itself, remount it read-only
    -> a new tmpfs on /tmp  ->  `env -i` with only the variables the image would set.

The read-only root matters: as root, without it, any HOME or cache dir "just works" and the
test would lie. Files the sandboxed process reads must live outside /tmp (e.g. /var/tmp),
because the fresh /tmp hides the old one.

Timings: the parent stamps the wall clock into SANDBOX_T0 just before spawning; a tiny
prelude in the child defines `mark(label)`, which prints seconds since then. So every mark
counts from "process start" as Lambda would (sandbox set-up, ~10 ms, included).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SANDBOX_HOME = "/home/sbx_user1051"  # Lambda's HOME: it does not exist and cannot be created.
MARK_PREFIX = "@@mark "

# Mounts, in order. /dev/shm is made read-only too: Lambda has no writable shared memory.
# Code that lives under /tmp itself (a checkout or venv there, as in a CI clone) would vanish
# under the fresh tmpfs, so the old /tmp is parked on /mnt first and just those folders are
# bound back read-only at their own paths (numba's cache keys include source paths).
_ROOT_READ_ONLY = (
    "mount --rbind / / && mount -o remount,bind,ro / && (mount -o remount,bind,ro /dev/shm 2>/dev/null || true) && "
)
_FRESH_TMP = "mount -t tmpfs -o size=512m tmpfs /tmp && "
_ENTER = "cd /tmp && exec env -i "


def kept_under_tmp(*paths: str | Path) -> list[str]:
    """The top-level /tmp folders holding any of `paths` (besides what the sandbox writes)."""
    keep = set()
    for path in (REPO, Path(sys.prefix), *paths):
        parts = Path(path).resolve().parts
        if len(parts) > 2 and parts[:2] == ("/", "tmp"):
            keep.add(parts[2])
    return sorted(keep)


def _mount_script(keep: list[str]) -> str:
    if not keep:
        return _ROOT_READ_ONLY + _FRESH_TMP + _ENTER
    park = "mount --bind /tmp /mnt && "
    rebind = "".join(
        f"mkdir -p /tmp/{name} && mount --bind /mnt/{name} /tmp/{name} && mount -o remount,bind,ro /tmp/{name} && "
        for name in keep
    )
    return _ROOT_READ_ONLY + park + _FRESH_TMP + rebind + "umount -l /mnt && " + _ENTER


_MOUNTS = _mount_script(kept_under_tmp())


# Runs before the caller's code: stdlib only, so it does not distort the import timings.
_PRELUDE = f"""\
import os as _os, sys as _sys, time as _time
_T0 = float(_os.environ.get("SANDBOX_T0", _time.time()))
def mark(label):
    print("{MARK_PREFIX}%s %.4f" % (label, _time.time() - _T0), flush=True)
mark("interpreter")
"""


@dataclass
class SandboxResult:
    returncode: int
    stdout: str
    stderr: str
    wall: float
    marks: dict[str, float] = field(default_factory=dict)

    @property
    def output(self) -> str:
        """stdout without the mark lines: what the caller's code printed."""
        return "\n".join(line for line in self.stdout.splitlines() if not line.startswith(MARK_PREFIX))

    def describe(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr[-4000:]}"


@functools.cache
def sandbox_available() -> str | None:
    """None when the sandbox works here, else the reason it does not (callers skip on it)."""
    if shutil.which("unshare") is None:
        return "unshare(1) is not installed"
    if os.geteuid() != 0:
        return "needs root for unshare -m and mount"
    probe = _MOUNTS + "PATH=/usr/bin:/bin sh -c 'touch /tmp/ok && ! touch /probe-ro 2>/dev/null'"
    try:
        done = subprocess.run(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", probe], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare failed: {exc}"
    if done.returncode != 0:
        return f"unshare/mount not permitted here (exit {done.returncode}): {done.stderr.strip()[:200]}"
    return None


def lambda_env(
    *, baked_cache: str | Path | None = None, model_home: str | Path | None = None, **overrides: str | None
) -> dict[str, str]:
    """The environment the Dockerfile sets, as Lambda would pass it. An override of None drops a key."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": SANDBOX_HOME,
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(REPO),
        "NUMBA_CPU_NAME": "generic",
        "NUMBA_CACHE_DIR": "/tmp/numba_cache",
        "ORT_DISABLE_TELEMETRY": "1",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    if baked_cache is not None:
        env["NUMBA_BAKED_CACHE_DIR"] = str(baked_cache)
    if model_home is not None:
        env["U2NET_HOME"] = str(model_home)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_in_sandbox(
    code: str, env: dict[str, str], *, python: str = sys.executable, timeout: float = 300.0, wrap=None
) -> SandboxResult:
    """Run `code` with `python -c` in a fresh sandbox; `mark(label)` is available to it.

    `wrap(argv) -> argv` may prefix the command (e.g. benchmarks.cpu_limit.CpuQuota.wrap)."""
    reason = sandbox_available()
    if reason is not None:
        raise RuntimeError(f"sandbox unavailable: {reason}")
    # env -i takes NAME=VALUE words; passing them as argv (not through a shell string) keeps
    # quoting out of it. sh's "$@" forwards them verbatim after the mount commands.
    t0 = time.time()
    assignments = [f"{k}={v}" for k, v in env.items()] + [f"SANDBOX_T0={t0!r}"]
    argv = [
        "unshare",
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        _MOUNTS + '"$@"',
        "sandbox",
        *assignments,
        python,
        "-c",
        _PRELUDE + code,
    ]
    if wrap is not None:
        argv = wrap(argv)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    wall = time.time() - t0
    marks = {}
    for line in done.stdout.splitlines():
        if line.startswith(MARK_PREFIX):
            label, seconds = line[len(MARK_PREFIX) :].rsplit(" ", 1)
            marks[label] = float(seconds)
    return SandboxResult(done.returncode, done.stdout, done.stderr, wall, marks)
