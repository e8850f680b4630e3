"""Starts N ranks of train.py the way torchrun does, and waits for them.

    python launch.py --nproc 4 --epochs 3 --endpoint tcp://127.0.0.1:7700

Each rank gets `RANK`, `LOCAL_RANK`, `WORLD_SIZE`, `LOCAL_WORLD_SIZE`, `MASTER_ADDR` and
`MASTER_PORT`, one BLAS thread (`OMP_NUM_THREADS=1`, as torchrun sets), and
`CHORUS_RUN_ID` (from `--run-id`, else a fresh `numpy-ddp-…` name) and `CHORUS_ENDPOINT`
(from `--endpoint`, else inherited). Every argument `launch.py` does not know goes to
train.py. If a rank fails, the others are stopped and the launcher exits with its code.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

TRAIN = Path(__file__).with_name("train.py")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nproc", type=int, default=2, help="ranks to start (default 2)")
    parser.add_argument("--run-id", default=f"numpy-ddp-{uuid.uuid4().hex[:8]}")
    parser.add_argument("--endpoint", help="the collector (default: $CHORUS_ENDPOINT, else tcp://127.0.0.1:7700)")
    args, train_arguments = parser.parse_known_args()

    shared = {
        "WORLD_SIZE": str(args.nproc),
        "LOCAL_WORLD_SIZE": str(args.nproc),
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(free_port()),
        "CHORUS_RUN_ID": args.run_id,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    if args.endpoint:
        shared["CHORUS_ENDPOINT"] = args.endpoint
    print(f"run id: {args.run_id}", flush=True)
    ranks = [
        subprocess.Popen(
            [sys.executable, str(TRAIN), *train_arguments],
            env={**os.environ, **shared, "RANK": str(rank), "LOCAL_RANK": str(rank)},
        )
        for rank in range(args.nproc)
    ]
    while True:
        codes = [rank.poll() for rank in ranks]
        failed = [code for code in codes if code not in (None, 0)]
        if failed:
            for rank in ranks:
                if rank.poll() is None:
                    rank.terminate()
            for rank in ranks:
                rank.wait()
            print(f"a rank failed with exit code {failed[0]}; stopped the others", file=sys.stderr)
            return failed[0]
        if all(code == 0 for code in codes):
            return 0
        time.sleep(0.1)


if __name__ == "__main__":
    sys.exit(main())
