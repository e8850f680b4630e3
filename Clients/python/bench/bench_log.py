"""What `log` of 10 keys adds to a training loop's wall time, per call.

For each loop body, times N iterations without logging and N iterations that also call
`run.log` with 10 keys (from after `init` through `run.finish()`, so the background encoding and sending is
included), and prints the difference divided by N. A separate process drains a real PULL
socket, as a collector would. Next to it: the same loop with wandb in offline mode, if
wandb is importable, and `json.dumps` of the same record alone.

Loop bodies:

- `python`: building the metrics dict and nothing else. The training thread holds the GIL
  all the time, so the sender thread's encoding competes with it directly: the worst case.
- `numpy`: a forward and backward pass of a small MLP in NumPy (about 150 µs, mostly in
  BLAS, which releases the GIL), closer to a real training step.

    python bench/bench_log.py [--iterations 20000] [--repeats 5]

Prints figures only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import timeit
from typing import Any, Callable, Optional

# One BLAS thread, as torchrun sets OMP_NUM_THREADS=1 for its workers: on a small machine a
# multi-threaded BLAS fights the sender thread (and other processes) for the cores.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402  (after the thread settings, which it reads at import)
import zmq  # noqa: E402

import chorus  # noqa: E402

KEYS = 10
Body = Callable[[int], dict[str, Any]]


def drain(endpoint: str, ready: Any, counts: Any) -> None:
    """Receives until told to stop; counts log records (runs in its own process)."""
    context = zmq.Context()
    socket = context.socket(zmq.PULL)
    socket.bind(endpoint)
    ready.set()
    records = 0
    while True:
        frame = socket.recv()
        if frame == b"stop":
            break
        if b'"kind":"log"' in frame:
            records += 1
    counts.put(records)
    socket.close(linger=0)
    context.term()


def python_body(i: int) -> dict[str, Any]:
    x = float(i)
    return {f"metric_{k}": x * 1.000001 + k / 7 for k in range(KEYS)}


def numpy_body_factory() -> Body:
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((128, 64))
    hidden = rng.standard_normal((64, 128)) * 0.1
    output = rng.standard_normal((128, 10)) * 0.1

    def body(i: int) -> dict[str, Any]:
        activation = np.maximum(inputs @ hidden, 0.0)
        logits = activation @ output
        grad_hidden = inputs.T @ ((logits @ output.T) * (activation > 0))
        x = float(logits[0, 0]) + float(grad_hidden[0, 0])
        return {f"metric_{k}": x + k / 7 for k in range(KEYS)}

    return body


def loop_without(body: Body, iterations: int) -> float:
    start = time.perf_counter()
    for i in range(iterations):
        body(i)
    return time.perf_counter() - start


def loop_with_chorus(body: Body, iterations: int, endpoint: str) -> float:
    run = chorus.init(run_id="bench", endpoint=endpoint)
    start = time.perf_counter()
    for i in range(iterations):
        run.log(body(i))
    run.finish(timeout=60)
    elapsed = time.perf_counter() - start
    if run.dropped:
        print(f"    (chorus dropped {run.dropped} records)")
    return elapsed


def loop_with_wandb(body: Body, iterations: int, directory: str) -> Optional[float]:
    os.environ["WANDB_MODE"] = "offline"
    os.environ["WANDB_SILENT"] = "true"
    os.environ["WANDB_CONSOLE"] = "off"
    try:
        import wandb
    except ImportError:
        return None
    run = wandb.init(project="chorus-bench", dir=directory)
    start = time.perf_counter()
    for i in range(iterations):
        run.log(body(i))
    run.finish()
    return time.perf_counter() - start


def per_call_us(with_logging: list[float], without: list[float], iterations: int) -> str:
    added = (statistics.median(with_logging) - statistics.median(without)) / iterations * 1e6
    spread = (max(with_logging) - min(with_logging)) / iterations * 1e6
    return f"{added:8.2f} µs per call (spread of runs {spread:.2f} µs)"


def json_dumps_us() -> float:
    record = {
        "v": 1, "kind": "log", "run": "bench", "rank": 0, "inc": "0" * 32, "attempt": 0,
        "seq": 17, "step": 1200, "ts": time.time(), "data": python_body(1200),
    }
    n = 20000
    return min(timeit.repeat(lambda: json.dumps(record), number=n, repeat=5)) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--wandb-iterations", type=int, default=2000)
    args = parser.parse_args()

    spawn = multiprocessing.get_context("spawn")
    ready, counts = spawn.Event(), spawn.Queue()
    with tempfile.TemporaryDirectory() as directory:
        endpoint = f"ipc://{directory}/bench.sock"
        drainer = spawn.Process(target=drain, args=(endpoint, ready, counts))
        drainer.start()
        ready.wait()
        print(f"python {'.'.join(map(str, sys.version_info[:3]))}, pyzmq {zmq.__version__}, "
              f"{os.cpu_count()} CPUs; {args.iterations} iterations, median of {args.repeats} runs")
        print(f"json.dumps of one 10-key log record alone: {json_dumps_us():.2f} µs")
        for name, body in (("python", python_body), ("numpy", numpy_body_factory())):
            without, with_chorus = [], []
            for _ in range(args.repeats):
                without.append(loop_without(body, args.iterations))
                with_chorus.append(loop_with_chorus(body, args.iterations, endpoint))
            base_us = statistics.median(without) / args.iterations * 1e6
            print(f"loop body {name!r} ({base_us:.1f} µs per iteration without logging)")
            print(f"  chorus run.log: {per_call_us(with_chorus, without, args.iterations)}")
            wandb_times = []
            for _ in range(min(args.repeats, 3)):
                elapsed = loop_with_wandb(body, args.wandb_iterations, directory)
                if elapsed is None:
                    break
                wandb_times.append(elapsed)
            if wandb_times:
                base = [loop_without(body, args.wandb_iterations) for _ in wandb_times]
                print(f"  wandb offline:  {per_call_us(wandb_times, base, args.wandb_iterations)} "
                      f"({args.wandb_iterations} iterations, finish included)")
            else:
                print("  wandb offline:  not measured (wandb is not importable)")
        stop = zmq.Context.instance().socket(zmq.PUSH)
        stop.connect(endpoint)
        stop.send(b"stop")
        stop.close(linger=1000)
        received = counts.get(timeout=30)
        expected = 2 * args.repeats * args.iterations
        print(f"collector side received {received} of {expected} chorus log records")
        drainer.join()


if __name__ == "__main__":
    main()
