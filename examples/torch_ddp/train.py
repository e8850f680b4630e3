"""PyTorch DistributedDataParallel on CPU (gloo), logging every rank's metrics to Chorus.

A small MLP learns scikit-learn's bundled handwritten digits (no download). Launch it with
torchrun, which sets `RANK`, `WORLD_SIZE`, `TORCHELASTIC_RUN_ID` and
`TORCHELASTIC_RESTART_COUNT`; `chorus.init()` reads them:

    CHORUS_RUN_ID=digits-ddp torchrun --standalone --nproc-per-node 2 train.py --epochs 3

Each rank logs, every step, its loss and accuracy on its own batch, its throughput
(samples/s) and the norm of its own gradient (before DDP averages it, measured in a
communication hook), and after every epoch its evaluation loss and accuracy on its shard of
the held-out set. The loss, accuracy and norm are logged as 0-d tensors: the client calls
`.item()` itself.
"""

# No `from __future__ import annotations` here: DDP checks the communication hook's
# annotations at run time, and postponed (string) annotations fail that check.
import argparse
import json
import time
from pathlib import Path
from typing import Any, Optional, TextIO

import torch
import torch.distributed as dist
from sklearn.datasets import load_digits
from torch import nn
from torch.distributed.algorithms.ddp_comm_hooks import default_hooks
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

import chorus


def datasets(seed: int) -> tuple[TensorDataset, TensorDataset]:
    """A fixed 80/20 split of the digits, the same on every rank."""
    digits = load_digits()
    order = torch.randperm(len(digits.target), generator=torch.Generator().manual_seed(seed))
    x = torch.tensor(digits.data, dtype=torch.float32)[order] / 16.0
    y = torch.tensor(digits.target, dtype=torch.long)[order]
    cut = int(0.8 * len(y))
    return TensorDataset(x[:cut], y[:cut]), TensorDataset(x[cut:], y[cut:])


class LocalGradientNorm:
    """A DDP communication hook that measures this rank's gradient before averaging it."""

    def __init__(self) -> None:
        self.squared = torch.zeros(())

    def take(self) -> torch.Tensor:
        """The norm of the gradient since the last call."""
        norm, self.squared = self.squared.sqrt(), torch.zeros(())
        return norm

    def hook(self, _: object, bucket: dist.GradBucket) -> torch.futures.Future[torch.Tensor]:
        self.squared = self.squared + bucket.buffer().pow(2).sum()
        return default_hooks.allreduce_hook(None, bucket)


class Recorder:
    """Writes each `log` call of this rank to a JSONL file, to compare with the collector."""

    def __init__(self, directory: Optional[str], rank: int):
        self._file: Optional[TextIO] = None
        if directory:
            Path(directory).mkdir(parents=True, exist_ok=True)
            self._file = open(Path(directory) / f"rank-{rank}.jsonl", "w")

    def log(self, run: chorus.Run, data: dict[str, Any], step: int) -> None:
        run.log(data, step=step)
        if self._file:
            plain = {key: value.item() if isinstance(value, torch.Tensor) else value for key, value in data.items()}
            self._file.write(json.dumps({"step": step, "data": plain}) + "\n")

    def close(self) -> None:
        if self._file:
            self._file.close()


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader) -> tuple[float, float]:
    loss, correct, seen = 0.0, 0, 0
    for x, y in loader:
        logits = model(x)
        loss += nn.functional.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(dim=1) == y).sum().item()
        seen += len(y)
    return loss / seen, correct / seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32, help="samples per rank and step")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--record-dir", help="also write what each rank logs to DIR/rank-N.jsonl")
    args = parser.parse_args()

    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.manual_seed(args.seed)
    train, held_out = datasets(args.seed)
    sampler = DistributedSampler(train, shuffle=True, seed=args.seed, drop_last=True)
    loader = DataLoader(train, batch_size=args.batch_size, sampler=sampler, drop_last=True)
    eval_loader = DataLoader(held_out, batch_size=256, sampler=DistributedSampler(held_out, shuffle=False))
    model = DistributedDataParallel(nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)))
    local_gradient = LocalGradientNorm()
    model.register_comm_hook(None, local_gradient.hook)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    recorder = Recorder(args.record_dir, rank)

    run = chorus.init()
    run.define_metric("samples_per_s", reduce="sum")
    run.define_metric("val/acc", goal="max")
    run.define_metric("val/loss", goal="min")

    step = 0
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        model.train()
        for x, y in loader:
            began = time.perf_counter()
            logits = model(x)
            loss = nn.functional.cross_entropy(logits, y)
            optimizer.zero_grad()
            loss.backward()  # DDP averages the gradients across ranks here
            optimizer.step()
            elapsed = time.perf_counter() - began
            recorder.log(run, {
                "train/loss": loss.detach(),
                "train/acc": (logits.argmax(dim=1) == y).float().mean(),
                "samples_per_s": len(y) / elapsed,
                "grad_norm": local_gradient.take(),
                "epoch": epoch,
            }, step=step)
            step += 1
        model.eval()
        val_loss, val_acc = evaluate(model, eval_loader)
        # The same step as the epoch's last training step: it joins that row.
        recorder.log(run, {"val/loss": val_loss, "val/acc": val_acc}, step=step - 1)
        if rank == 0:
            print(f"epoch {epoch}: rank 0 val/acc {val_acc:.3f} val/loss {val_loss:.3f}", flush=True)

    run.finish()
    recorder.close()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
