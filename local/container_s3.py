"""The embedded S3 for `sam local invoke`: served where the container looks, with what events/ names.

    python -m local.container_s3          # or `make local-s3`; leave it running, then elsewhere:
    sam build && sam local invoke S3Function -e events/s3-put.json

samconfig.toml gives `sam local invoke` `--env-vars events/local-env.json` (AWS_ENDPOINT_URL_S3 is this
server, AWS_BUCKET_NAME its bucket) and `--docker-network host`, so 127.0.0.1 inside the container is
this machine. The container signs its requests with your profile's credentials, which only this
local server sees; without it running, an S3 event fails to connect instead of reaching AWS.
"""

from __future__ import annotations

import argparse
import json
import threading
from pathlib import Path
from urllib.parse import urlsplit

from local.embedded_s3 import LOCAL_BUCKET, EmbeddedS3
from local.invoke import seed

EVENTS = Path(__file__).resolve().parents[1] / "events"


def local_env_endpoint() -> str:
    """The S3 endpoint events/local-env.json gives the containers."""
    return json.loads((EVENTS / "local-env.json").read_text())["Parameters"]["AWS_ENDPOINT_URL_S3"]


def s3_side_events() -> dict[str, dict]:
    """Every event file that names S3 objects (all but the HTTP ones and the env file)."""
    names = sorted(p.name for p in EVENTS.glob("*.json") if not p.name.startswith(("http-", "local-env")))
    return {name: json.loads((EVENTS / name).read_text()) for name in names}


def seed_events(client, bucket: str) -> None:
    for event in s3_side_events().values():
        seed(client, bucket, "batch" if "invocationSchemaVersion" in event else "s3", event)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--port",
        type=int,
        default=urlsplit(local_env_endpoint()).port,
        help="default: the port in events/local-env.json",
    )
    args = parser.parse_args(argv)

    s3 = EmbeddedS3(port=args.port)
    s3.start()
    s3.create_bucket(LOCAL_BUCKET)
    seed_events(s3.client(), LOCAL_BUCKET)
    print(
        f"Embedded S3 at {s3.endpoint}, bucket {LOCAL_BUCKET!r}, seeded for: {', '.join(s3_side_events())}", flush=True
    )
    print("Now: sam local invoke S3Function -e events/s3-put.json   (Ctrl-C here stops the server)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        s3.stop()


if __name__ == "__main__":
    main()
