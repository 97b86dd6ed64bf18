"""The Dockerfile, read, and run without Docker into a directory standing for the image's root.

Hand-written: no library runs a Dockerfile without a container engine. It knows only what our
Dockerfile uses (FROM, ENV, ARG, COPY of context paths, RUN in shell form, CMD) and refuses any
other instruction or flag, so a change to the Dockerfile cannot be skipped here unnoticed.
Docker's rules it keeps: ENV, ARG and COPY are expanded with ${VAR} at build time; a RUN line goes
to `sh -c` with the build ARGs and the image's ENV in its environment, in the base image's WORKDIR
(the task root); a directory COPY copies its contents; only what .dockerignore lets in can be
copied, without its `**/name` exclusions. The base image is stood for by a given Python of the
FROM tag's version, on PATH as `python`.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from fnmatch import fnmatch
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"
BASE_IMAGE = re.compile(r"public\.ecr\.aws/lambda/python:(\d+\.\d+)")
# Where the Lambda base image keeps the function's code (its LAMBDA_TASK_ROOT and WORKDIR) and its Python.
TASK_ROOT = "var/task"
PYTHON_BIN = "var/lang/bin"


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(KEYWORD, rest of the line) for each instruction, continuation lines joined, comments dropped."""
    lines = (line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
    logical = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in logical.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def expand(text: str, variables: dict[str, str]) -> str:
    """${NAME} and $NAME, as Docker expands them in ENV, ARG and COPY."""
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: variables.get(m[1] or m[2], ""), text)


class DockerContext:
    """The build context: the repo, filtered by .dockerignore's allow-list (`*`, then `!path`)."""

    def __init__(self, root: Path = REPO):
        self.root = root
        lines = [line.strip() for line in (root / ".dockerignore").read_text().splitlines()]
        lines = [line for line in lines if line and not line.startswith("#")]
        if lines[0] != "*":
            raise ValueError(".dockerignore is expected to start with '*' (an allow-list)")
        self.allowed = [line[1:].rstrip("/") for line in lines if line.startswith("!")]
        self.excluded = [line.removeprefix("**/") for line in lines[1:] if line.startswith("**/")]

    def path(self, source: str) -> Path:
        name = source.rstrip("/")
        if not any(name == a or name.startswith(a + "/") for a in self.allowed):
            raise ValueError(f"COPY {source}: not in the build context (.dockerignore)")
        return self.root / name

    def ignore(self, _dir: str, names: list[str]) -> set[str]:
        return {n for n in names if any(fnmatch(n, pattern) for pattern in self.excluded)}


def run_dockerfile(
    image_root: Path,
    python: str,
    build_args: dict[str, str],
    host_env: dict[str, str],
    *,
    umask: int = 0o022,
    dockerfile: Path = DOCKERFILE,
) -> dict[str, str]:
    """Build into image_root (the task root is image_root/var/task); returns the image's ENV."""
    context = DockerContext(dockerfile.parent)
    task_root = image_root / TASK_ROOT
    task_root.mkdir(parents=True)
    bin_dir = image_root / PYTHON_BIN
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(python)
    image_env = {"LAMBDA_TASK_ROOT": str(task_root)}
    args: dict[str, str] = {}
    for keyword, rest in dockerfile_instructions(dockerfile):
        variables = {**args, **image_env}
        if keyword == "FROM":
            _check_base_image(rest, python)
        elif keyword == "ENV":
            pairs = [word.split("=", 1) for word in shlex.split(rest)]
            image_env.update({name: expand(value, variables) for name, value in pairs})
        elif keyword == "ARG":
            name, _, default = rest.partition("=")
            args[name] = build_args.get(name, expand(" ".join(shlex.split(default)), variables))
        elif keyword == "COPY":
            *sources, dest = expand(rest, variables).split()
            copy_into(context, sources, dest)
        elif keyword == "RUN":
            if rest.startswith("["):
                raise NotImplementedError("RUN in exec (JSON) form")
            env = {**host_env, **args, **image_env, "PATH": f"{bin_dir}:/usr/bin:/bin"}
            subprocess.run(["sh", "-c", f"umask {umask:03o} && {rest}"], cwd=task_root, env=env, check=True)
        elif keyword != "CMD":
            raise NotImplementedError(f"Dockerfile instruction {keyword}")
    return image_env


def _check_base_image(image: str, python: str) -> None:
    match = BASE_IMAGE.fullmatch(image)
    if match is None:
        raise NotImplementedError(f"base image {image}")
    version = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if version != match[1]:
        raise ValueError(f"{image} runs Python {match[1]}, the given interpreter is {version}")


def copy_into(context: DockerContext, sources: list[str], dest: str) -> None:
    """COPY sources... dest, as Docker does it."""
    if any(source.startswith("-") for source in sources):
        raise NotImplementedError(f"COPY flags: {sources}")
    into_dir = dest.endswith("/") or len(sources) > 1
    for source in sources:
        path = context.path(source)
        if path.is_dir():  # Docker copies a directory's contents, not the directory itself
            shutil.copytree(path, dest, dirs_exist_ok=True, ignore=context.ignore)
        else:
            target = Path(dest) / path.name if into_dir else Path(dest)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


def task_root_of(image_root: Path) -> Path:
    return image_root / TASK_ROOT


def host_network_env(environ: dict[str, str] = os.environ) -> dict[str, str]:
    """What a build on this machine needs to reach the package registry, and HOME for pip's cache."""
    keep = {"HOME", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"}
    return {k: v for k, v in environ.items() if k in keep or k.startswith("PIP_") or k.lower().endswith("_proxy")}
