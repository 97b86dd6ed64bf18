"""Peak memory of one image in a fresh process, ours against rembg, for each model.

    python -m benchmarks.memory ours|rembg PHOTO     # the child: one image, prints its peak RSS as JSON

`table()` (called by benchmarks.run) runs the child for each side and model. MODEL_NAME and
U2NET_HOME choose the model, as in the function.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

from benchmarks.common import MODELS, REPO, WORK, Table, model_home, photo_jpeg, photo_path, ratio


def peak_mb() -> float:
    # VmHWM, the peak RSS of this address space. ru_maxrss(RUSAGE_SELF) would do on Lambda, but
    # Linux keeps it across exec: a child of a big benchmark process reports the parent's peak.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main(side: str, photo: Path) -> None:
    data = photo.read_bytes()
    if side == "ours":
        from function.runtime.coldstart import prepare_runtime

        prepare_runtime()
        from function.imaging.decode import DecodeLimits
        from function.imaging.model import BackgroundModel
        from function.imaging.options import RemovalOptions
        from function.imaging.pipeline import remove_background
        from function.settings import Settings

        settings = Settings()
        model = BackgroundModel(settings.model_name, settings.u2net_home)
        limits = DecodeLimits(max_bytes=settings.max_input_bytes, max_pixels=settings.max_input_pixels)
        init = peak_mb()
        body = remove_background(data, RemovalOptions(), model, limits).body
    else:
        import rembg

        session = rembg.new_session(os.environ["MODEL_NAME"])
        init = peak_mb()
        body = rembg.remove(data, session=session)
    print(json.dumps({"side": side, "init_mb": init, "peak_mb": peak_mb(), "bytes": len(body)}))


def table(megapixels: float, models: tuple[str, ...] = MODELS) -> Table:
    photo_jpeg(megapixels)
    home = model_home()
    out = Table(
        f"Peak RSS, one {megapixels:g} MP image in a fresh process (VmHWM)",
        "model",
        "ours",
        "rembg",
        "ratio",
        "after init: ours vs rembg",
    )
    for model in models:
        peaks = {}
        for side in ("ours", "rembg"):
            env = {
                **os.environ,
                "MODEL_NAME": model,
                "U2NET_HOME": str(home),
                "PYTHONPATH": str(REPO),
                "NUMBA_CACHE_DIR": str(WORK / "numba-host"),
            }
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.memory", side, str(photo_path(megapixels))],
                capture_output=True,
                text=True,
                cwd=REPO,
                env=env,
                timeout=900,
            )
            if done.returncode != 0:
                raise RuntimeError(f"memory {model} {side} failed:\n{done.stderr[-3000:]}")
            peaks[side] = json.loads(done.stdout.strip().splitlines()[-1])
        ours, ref = peaks["ours"], peaks["rembg"]
        out.add(
            model,
            f"{ours['peak_mb']:.0f} MB",
            f"{ref['peak_mb']:.0f} MB",
            ratio(ours["peak_mb"], ref["peak_mb"]),
            f"{ours['init_mb']:.0f} MB vs {ref['init_mb']:.0f} MB",
        )
    return out


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
