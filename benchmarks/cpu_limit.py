"""A CPU quota for one process tree, the way Lambda hands out CPU: a share of the cores, not fewer cores.

Lambda gives a function CPU in proportion to its memory (one vCPU at 1,769 MB). Here that is a
cgroup CPU bandwidth limit (`cpu.max` on cgroup v2, `cpu.cfs_quota_us` on v1): the process still
sees every core but may use only `cpus` of them per period, on average. Needs root.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PERIOD_US = 100_000
_V2_ROOT = Path("/sys/fs/cgroup")
_V1_CPU = Path("/sys/fs/cgroup/cpu")


def _v2_usable() -> bool:
    controllers = _V2_ROOT / "cgroup.controllers"
    return controllers.exists() and "cpu" in controllers.read_text().split()


def quota_unavailable() -> str | None:
    """None when quotas work here, else why not (callers skip the measurement on it)."""
    if os.geteuid() != 0:
        return "needs root to create a cgroup"
    if _v2_usable() or (_V1_CPU / "cpu.cfs_quota_us").exists():
        return None
    return "no cgroup CPU controller (cgroup v2 cpu.max or v1 cpu.cfs_quota_us)"


class CpuQuota:
    """A cgroup limited to `cpus` CPUs; `wrap(argv)` runs a command inside it."""

    def __init__(self, name: str, cpus: float):
        self.cpus = cpus
        if _v2_usable():
            subtree = _V2_ROOT / "cgroup.subtree_control"
            if "cpu" not in subtree.read_text().split():
                subtree.write_text("+cpu")
            self.path = _V2_ROOT / name
            self.path.mkdir(exist_ok=True)
            (self.path / "cpu.max").write_text(f"{round(cpus * PERIOD_US)} {PERIOD_US}")
        else:
            self.path = _V1_CPU / name
            self.path.mkdir(exist_ok=True)
            (self.path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (self.path / "cpu.cfs_quota_us").write_text(str(round(cpus * PERIOD_US)))

    def wrap(self, argv: list[str]) -> list[str]:
        """argv, started by a shell that first moves itself into the cgroup (so every thread is in it)."""
        return ["sh", "-c", f'echo $$ > {self.path / "cgroup.procs"} && exec "$@"', "cpu-quota", *argv]

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.path.rmdir()  # only once its processes have exited
