"""One rank of a data-parallel training in NumPy, logging every step to Chorus.

A two-layer perceptron learns scikit-learn's bundled handwritten digits (1,797 8×8 images,
shipped inside the package: nothing is downloaded). Every rank trains on its own shard;
after each backward pass the ranks average their gradients (`allreduce.py`), so the model
replicas stay identical, as in PyTorch's DistributedDataParallel.

Each rank logs, every step, its own loss, accuracy, throughput (samples/s) and gradient
norm (before averaging), and after every epoch its evaluation loss and accuracy on its
shard of the held-out set. `launch.py` starts the ranks the way torchrun does; the only
Chorus-specific lines are `chorus.init()`, `run.define_metric`, `run.log`, `run.summary`
and `run.finish()`.

    python train.py [--epochs 3] [--batch-size 16] [--record-dir DIR]

Environment: `RANK`, `WORLD_SIZE`, `MASTER_ADDR`, `MASTER_PORT` (the allreduce), and
`CHORUS_RUN_ID`, `CHORUS_ENDPOINT` (read by `chorus.init()`).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any, Optional, TextIO

import numpy as np
from sklearn.datasets import load_digits

import chorus
from allreduce import Allreduce

CLASSES = 10


class Perceptron:
    """64 → hidden (ReLU) → 10 (softmax), trained with SGD and momentum."""

    def __init__(self, hidden: int, seed: int):
        rng = np.random.default_rng(seed)  # the same seed on every rank: identical replicas
        self.params = [
            rng.normal(0.0, (2 / 64) ** 0.5, (64, hidden)),
            np.zeros(hidden),
            rng.normal(0.0, (2 / hidden) ** 0.5, (hidden, CLASSES)),
            np.zeros(CLASSES),
        ]
        self.velocity = [np.zeros_like(p) for p in self.params]

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w1, b1, w2, b2 = self.params
        hidden = np.maximum(x @ w1 + b1, 0.0)
        logits = hidden @ w2 + b2
        logits -= logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        return hidden, probabilities

    def loss_and_accuracy(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        _, probabilities = self.forward(x)
        loss = -np.log(probabilities[np.arange(len(y)), y] + 1e-12).mean()
        return float(loss), float((probabilities.argmax(axis=1) == y).mean())

    def gradients(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, float]:
        """The flattened gradient of the mean cross-entropy, the loss and the accuracy."""
        w1, _, w2, _ = self.params
        hidden, probabilities = self.forward(x)
        loss = -np.log(probabilities[np.arange(len(y)), y] + 1e-12).mean()
        accuracy = (probabilities.argmax(axis=1) == y).mean()
        d_logits = probabilities
        d_logits[np.arange(len(y)), y] -= 1.0
        d_logits /= len(y)
        d_hidden = (d_logits @ w2.T) * (hidden > 0)
        grads = [x.T @ d_hidden, d_hidden.sum(axis=0), hidden.T @ d_logits, d_logits.sum(axis=0)]
        return np.concatenate([g.ravel() for g in grads]), float(loss), float(accuracy)

    def step(self, flat_gradient: np.ndarray, lr: float, momentum: float) -> None:
        offset = 0
        for param, velocity in zip(self.params, self.velocity):
            gradient = flat_gradient[offset:offset + param.size].reshape(param.shape)
            offset += param.size
            velocity *= momentum
            velocity -= lr * gradient
            param += velocity

    def norm(self) -> float:
        return float(np.sqrt(sum((p * p).sum() for p in self.params)))


def split(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A fixed 80/20 split of the digits into training and held-out images and labels."""
    digits = load_digits()
    order = np.random.default_rng(seed).permutation(len(digits.target))
    x, y = digits.data[order] / 16.0, digits.target[order]
    cut = int(0.8 * len(y))
    return x[:cut], y[:cut], x[cut:], y[cut:]


class Recorder:
    """Writes each `log` call of this rank to a JSONL file, so a test can check the collector."""

    def __init__(self, directory: Optional[str], rank: int):
        self._file: Optional[TextIO] = None
        if directory:
            Path(directory).mkdir(parents=True, exist_ok=True)
            self._file = open(Path(directory) / f"rank-{rank}.jsonl", "w")

    def log(self, run: chorus.Run, data: dict[str, Any], step: int) -> None:
        run.log(data, step=step)
        if self._file:
            self._file.write(json.dumps({"step": step, "data": data}) + "\n")

    def close(self) -> None:
        if self._file:
            self._file.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16, help="samples per rank and step")
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--record-dir", help="also write what each rank logs to DIR/rank-N.jsonl")
    args = parser.parse_args()

    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    x_train, y_train, x_test, y_test = split(args.seed)
    # Every rank takes the same number of steps, or the allreduce would wait forever.
    steps_per_epoch = len(y_train) // world_size // args.batch_size
    x_train, y_train = x_train[rank::world_size], y_train[rank::world_size]
    x_test, y_test = x_test[rank::world_size], y_test[rank::world_size]
    model = Perceptron(args.hidden, args.seed)
    allreduce = Allreduce(rank, world_size, os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]))
    recorder = Recorder(args.record_dir, rank)

    run = chorus.init()  # run id, endpoint, rank and world size from the environment
    run.define_metric("samples_per_s", reduce="sum")  # the job's throughput is the ranks' sum
    run.define_metric("val/acc", goal="max")
    run.define_metric("val/loss", goal="min")

    step = 0
    for epoch in range(args.epochs):
        order = np.random.default_rng([args.seed, rank, epoch]).permutation(len(y_train))
        for batch in range(steps_per_epoch):
            began = time.perf_counter()
            index = order[batch * args.batch_size:(batch + 1) * args.batch_size]
            gradient, loss, accuracy = model.gradients(x_train[index], y_train[index])
            model.step(allreduce.mean(gradient), args.lr, momentum=0.9)
            elapsed = time.perf_counter() - began
            recorder.log(run, {
                "train/loss": loss,
                "train/acc": accuracy,
                "samples_per_s": len(index) / elapsed,
                "grad_norm": float(np.linalg.norm(gradient)),
                "params/norm": model.norm(),  # the same on every rank while the replicas agree
                "epoch": epoch,
            }, step=step)
            step += 1
        val_loss, val_acc = model.loss_and_accuracy(x_test, y_test)
        # The same step as the epoch's last training step: it joins that row.
        recorder.log(run, {"val/loss": val_loss, "val/acc": val_acc}, step=step - 1)
        if rank == 0:
            print(f"epoch {epoch}: rank 0 val/acc {val_acc:.3f} val/loss {val_loss:.3f}", flush=True)

    # The accuracy over the whole held-out set: every rank's correct answers, averaged.
    correct, seen = allreduce.mean(np.array([val_acc * len(y_test), len(y_test)]))
    if rank == 0:
        run.summary["final/val_acc"] = float(correct / seen)
    run.finish()
    recorder.close()
    allreduce.close()


if __name__ == "__main__":
    main()
