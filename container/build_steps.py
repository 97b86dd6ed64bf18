"""The container image's build steps, one per Dockerfile RUN.

The Dockerfile runs exactly these, and tests/integration/test_image_build.py runs the same
Dockerfile lines on Python 3.12 into a temporary task root, so the image's build is tested.

    python build_steps.py dependencies LOCK TASK_ROOT   the locked packages, hash-checked
    python build_steps.py prepare TASK_ROOT [ARG ...]   models and numba cache (function.runtime.prepare)
    python build_steps.py compile TASK_ROOT             .pyc for function/ (the task root is read-only on Lambda)

Each step ends by making what it wrote world-readable: Lambda runs the code as a non-root user.
Standard library only: the first step runs before anything is installed.
"""

from __future__ import annotations

import argparse
import compileall
import os
import stat
import subprocess
import sys
from pathlib import Path


def install_dependencies(lock: Path, task_root: Path) -> None:
    # --require-hashes: every package and file is the locked one; --only-binary: the base image
    # has no compilers, and a wheel missing for this architecture should fail here, not half-build.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--require-hashes",
            "--only-binary=:all:",
            "-r",
            str(lock),
            "--target",
            str(task_root),
        ],
        check=True,
    )
    make_world_readable(task_root)


def prepare(task_root: Path, args: list[str]) -> None:
    """Models and numba's cache, by the module the local set-up and tests also run."""
    # cwd: the task root is where `function` and the installed packages are found, as on Lambda.
    subprocess.run([sys.executable, "-m", "function.runtime.prepare", *args], cwd=task_root, check=True)
    make_world_readable(task_root)


def compile_code(task_root: Path) -> None:
    code = task_root / "function"
    if not compileall.compile_dir(code, quiet=1):
        raise SystemExit(f"compileall failed under {code}")
    make_world_readable(code)


def make_world_readable(root: Path) -> None:
    """`chmod a+rX` on whatever lacks it, and nothing else: in an image layer a chmod copies the file."""
    for dirpath, _, filenames in os.walk(root):
        for path in (dirpath, *(os.path.join(dirpath, name) for name in filenames)):
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                continue
            executable = stat.S_ISDIR(mode) or mode & 0o111
            wanted = mode | 0o444 | (0o111 if executable else 0)
            if wanted != mode:
                os.chmod(path, stat.S_IMODE(wanted))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    deps = steps.add_parser("dependencies", help="install the lock into the task root")
    deps.add_argument("lock", type=Path)
    deps.add_argument("task_root", type=Path)
    prep = steps.add_parser("prepare", help="models and numba cache; the rest goes to function.runtime.prepare")
    prep.add_argument("task_root", type=Path)
    prep.add_argument("args", nargs=argparse.REMAINDER)
    comp = steps.add_parser("compile", help="byte-compile function/")
    comp.add_argument("task_root", type=Path)
    args = parser.parse_args(argv)
    if args.step == "dependencies":
        install_dependencies(args.lock, args.task_root)
    elif args.step == "prepare":
        prepare(args.task_root, args.args)
    else:
        compile_code(args.task_root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
