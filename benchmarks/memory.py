"""One image in a fresh process; prints the peak RSS as JSON. Run by benchmarks.run (memory row).

python -m benchmarks.memory ours|rembg PHOTO
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path


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
        from function.imaging.coldstart import prepare_runtime

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
        import os

        import rembg

        session = rembg.new_session(os.environ.get("MODEL_NAME", "u2netp"))
        init = peak_mb()
        body = rembg.remove(data, session=session)
    print(json.dumps({"side": side, "init_mb": init, "peak_mb": peak_mb(), "bytes": len(body)}))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
