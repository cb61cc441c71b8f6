"""Serve a snapshot directory on loopback, with added latency, until stopped (SIGTERM).

`python -m benchmarks.server DIR --latency 0.05` prints the base URL on its first line."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from empiar_mirror.harvester.replay import ReplayServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each answer")
    parser.add_argument(
        "--empiar-post",
        default="keyed",
        help="how EMPIAR's POST entry/ answers (ReplayServer's empiar_post; 'none': refused)",
    )
    args = parser.parse_args()
    post = None if args.empiar_post == "none" else args.empiar_post
    server = ReplayServer([args.root], latency=args.latency, empiar_post=post)
    print(server.start(), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    server.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
