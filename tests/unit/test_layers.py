"""The layers the folders name, kept by reading every module's imports (function-level ones too).

imaging/ is the pure core: bytes -> cutout. Build and start-up code lives in runtime/, the bucket
in bucket/, events in pipeline/ and http/; the rules below are the ones docs/architecture.md states.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUNCTION = ROOT / "function"

# What bytes -> cutout never needs: processes, archives, command lines, the network, AWS, the web stack.
NOT_IN_THE_CORE = {
    "subprocess", "multiprocessing", "zipfile", "tarfile", "shutil", "argparse", "urllib", "urllib3", "http",
    "socket", "ssl", "requests", "boto3", "botocore", "aws_lambda_powertools", "fastapi", "starlette", "mangum",
    "pydantic", "pydantic_settings", "pooch",
}  # fmt: skip
# The only modules of ours the core may use: the error catalogue, itself, and the runtime's loaders
# (where a model's file is, what each model's arithmetic is, and rembg's classes imported without
# compiling pymatting at start-up).
CORE_MAY_USE = (
    "function.errors",
    "function.imaging",
    "function.runtime.coldstart",
    "function.runtime.model_files",
    "function.runtime.model_catalog",
)

# package -> packages of ours it must never import
LAYERS = {
    "function.imaging": ("function.http", "function.pipeline", "function.bucket", "function.fetch", "function.service"),
    "function.runtime": ("function.http", "function.pipeline", "function.bucket", "function.fetch", "function.service"),
    "function.bucket": ("function.http", "function.pipeline", "function.service", "function.fetch"),
    "function.fetch": ("function.http", "function.pipeline", "function.bucket", "function.service"),
    "function.pipeline": ("function.http", "function.fetch"),
    "function.http": ("function.pipeline",),
    "function.service": ("function.http", "function.pipeline", "function.bucket"),
}


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


MODULES = {module_name(path): imports_of(path) for path in sorted(FUNCTION.rglob("*.py"))}


def under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize("module", [name for name in MODULES if under(name, "function.imaging")])
def test_the_imaging_core_holds_no_build_start_up_network_or_aws_code(module):
    imported = MODULES[module]
    foreign = {name for name in imported if name.split(".")[0] in NOT_IN_THE_CORE}
    ours = {name for name in imported if under(name, "function") and not any(under(name, p) for p in CORE_MAY_USE)}
    assert foreign == set() and ours == set()


@pytest.mark.parametrize("module", [name for name in CORE_MAY_USE if under(name, "function.runtime")])
def test_what_the_core_uses_of_the_runtime_stays_as_light(module):
    # coldstart copies the baked numba cache (shutil); prepare, build-time only, is not among these.
    assert {name for name in MODULES[module] if name.split(".")[0] in NOT_IN_THE_CORE - {"shutil"}} == set()


@pytest.mark.parametrize("package", LAYERS)
def test_each_layer_imports_only_what_lies_below_it(package):
    crossings = {
        module: sorted(name for name in imported if any(under(name, banned) for banned in LAYERS[package]))
        for module, imported in MODULES.items()
        if under(module, package)
    }
    assert {module: names for module, names in crossings.items() if names} == {}


def test_only_the_lambda_runtime_imports_the_entry_points():
    importers = [module for module, imported in MODULES.items() if any(under(n, "function.handlers") for n in imported)]
    assert importers == []


def test_the_function_never_imports_dev_only_code():
    dev_only = ("local", "tests", "benchmarks", "container")
    crossings = {m: names for m, i in MODULES.items() if (names := sorted(n for n in i if n.split(".")[0] in dev_only))}
    assert crossings == {}
