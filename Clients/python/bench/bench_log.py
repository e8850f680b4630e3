"""What `log` of 10 keys adds to a training loop, per call.

For each loop body, times N iterations without logging and N iterations that also call
`run.log` with 10 keys, from after `init` through `run.finish()` (so the background
encoding and sending are included), and prints the difference divided by N: in wall time,
in CPU time of the training process (all its threads), and the CPU time of the relay
process that encodes and sends. A separate process drains a real PULL socket, as a
collector would. Next to it: the same loop with wandb in offline mode, if wandb is
importable, and `json.dumps` of the same record alone.

Loop bodies:

- `python`: building the metrics dict and nothing else, 500,000 records a second: the
  whole pipeline's throughput (relay and receiver) bounds the loop here, not `log`.
- `numpy`: a forward and backward pass of a small MLP in NumPy (about 150 µs, mostly in
  BLAS, which releases the GIL), closer to a real training step.

On a machine whose cores are all busy (other processes, or one rank per core), the relay
and the receiver compete with the loop for CPU, and the wall figure grows towards the sum
of the CPU figures.

    python bench/bench_log.py [--iterations 20000] [--repeats 5]

Prints figures only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
import timeit
from dataclasses import dataclass
from typing import Any, Callable, Optional

# One BLAS thread, as torchrun sets OMP_NUM_THREADS=1 for its workers: on a small machine a
# multi-threaded BLAS fights the relay and the receiving process for the cores.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402  (after the thread settings, which it reads at import)
import zmq  # noqa: E402

import chorus  # noqa: E402

KEYS = 10
SETTLE = 0.5
"""Seconds between `init` and the timed loop, for the relay process to start (as it does
while a real training builds its model and data loaders); otherwise its start-up, about
0.1 s of CPU, would be counted against the first few thousand calls."""
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


@dataclass
class Cost:
    """One timed loop: wall time, CPU time of this process, CPU time of children that exited."""

    wall: float
    cpu: float
    children_cpu: float


def timed(loop: Callable[[], None]) -> Cost:
    before_self, before_children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    loop()
    wall = time.perf_counter() - start
    after_self, after_children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)

    def cpu(after: Any, before: Any) -> float:
        return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime

    return Cost(wall, cpu(after_self, before_self), cpu(after_children, before_children))


def loop_without(body: Body, iterations: int) -> Cost:
    def loop() -> None:
        for i in range(iterations):
            body(i)

    return timed(loop)


def loop_with_chorus(body: Body, iterations: int, endpoint: str) -> Cost:
    run = chorus.init(run_id="bench", endpoint=endpoint)
    time.sleep(SETTLE)

    def loop() -> None:
        for i in range(iterations):
            run.log(body(i))
        run.finish(timeout=60)

    cost = timed(loop)
    if run.dropped:
        print(f"    (chorus dropped {run.dropped} records)")
    return cost


def loop_with_wandb(body: Body, iterations: int, directory: str) -> Optional[Cost]:
    os.environ["WANDB_MODE"] = "offline"
    os.environ["WANDB_SILENT"] = "true"
    os.environ["WANDB_CONSOLE"] = "off"
    try:
        import wandb
    except ImportError:
        return None
    run = wandb.init(project="chorus-bench", dir=directory)
    time.sleep(SETTLE)

    def loop() -> None:
        for i in range(iterations):
            run.log(body(i))
        run.finish()

    return timed(loop)


def added_us(with_logging: list[Cost], without: list[Cost], iterations: int, field: str) -> float:
    """The median difference of one field, per iteration, in µs."""
    median = statistics.median
    return (median(getattr(c, field) for c in with_logging) - median(getattr(c, field) for c in without)) / (
        iterations / 1e6)


def report(name: str, with_logging: list[Cost], without: list[Cost], iterations: int, children: bool) -> None:
    walls = [c.wall / iterations * 1e6 for c in with_logging]
    line = (f"  {name}: wall {added_us(with_logging, without, iterations, 'wall'):7.2f} µs per call "
            f"(runs {min(walls) - statistics.median(c.wall for c in without) / iterations * 1e6:.1f} … "
            f"{max(walls) - statistics.median(c.wall for c in without) / iterations * 1e6:.1f}); "
            f"CPU of the training process {added_us(with_logging, without, iterations, 'cpu'):.2f} µs")
    if children:
        line += f", of the relay {statistics.median(c.children_cpu for c in with_logging) / iterations * 1e6:.2f} µs"
    print(line)


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
            base_us = statistics.median(c.wall for c in without) / args.iterations * 1e6
            print(f"loop body {name!r} ({base_us:.1f} µs per iteration without logging)")
            report("chorus run.log", with_chorus, without, args.iterations, children=True)
            with_wandb = []
            for _ in range(min(args.repeats, 3)):
                cost = loop_with_wandb(body, args.wandb_iterations, directory)
                if cost is None:
                    break
                with_wandb.append(cost)
            if with_wandb:
                base = [loop_without(body, args.wandb_iterations) for _ in with_wandb]
                report(f"wandb offline ({args.wandb_iterations} iterations)", with_wandb, base,
                       args.wandb_iterations, children=False)
            else:
                print("  wandb offline: not measured (wandb is not importable)")
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
