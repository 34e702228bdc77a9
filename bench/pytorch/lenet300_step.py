#!/usr/bin/env python3
"""PyTorch reference for sparsegraph's `train.lenet300.b128.samples_per_s` (bench/nn.ts).

Trains LeNet-300-100 (784-300-100-10, ReLU, nn.Linear) with cross-entropy and SGD (lr 0.1, momentum
0.9, weight decay 1e-4, as bench/nn.ts) at batch 128 on random data of MNIST's shape (60,000 x 784,
labels 0-9), one thread, and reports training samples per second for three cases:

  train.lenet300.b128.samples_per_s       dense
  train.lenet300.b128.s90.samples_per_s   masked dense, 90% of every weight matrix masked
  train.lenet300.b128.s98.samples_per_s   masked dense, 98%

Random data, because a step's cost does not depend on the pixel values; it keeps this script free of
any data file. Warm-up steps are excluded; each figure is the best of --repeats timings, since other
work on a shared machine only ever slows a run down (the project's benchmarks use the same rule).

Torch is never a dependency of sparsegraph: without it this script prints
"skipped: torch not installed" and exits 0.
"""
import argparse
import json
import sys
import time


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=300, help="timed steps per repeat (default 300, as bench/nn.ts)")
    p.add_argument("--warmup", type=int, default=30, help="untimed steps before the timed ones (default 30)")
    p.add_argument("--repeats", type=int, default=3, help="timings per case; the best is reported (default 3)")
    p.add_argument("--json", action="store_true", help="one JSON object per line and case instead of a table")
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    try:
        import torch
    except ImportError:
        # Torch is optional: a machine without it has nothing to compare, and that is not a failure.
        print("skipped: torch not installed")
        return 0
    import torch.nn as nn
    import torch.nn.functional as F

    # One thread, as sparsegraph's wasm backend uses one: the comparison is per core.
    torch.set_num_threads(1)
    torch.manual_seed(0)

    B = 128
    n = 60000
    X = torch.rand(n, 784)
    Y = torch.randint(0, 10, (n,))

    def lenet300():
        return nn.Sequential(nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10))

    def random_masks(model, sparsity, gen):
        """A fixed random mask per weight matrix with exactly round(sparsity * size) zeros (biases stay dense)."""
        masks = {}
        for name, p in model.named_parameters():
            if not name.endswith("weight"):
                continue
            k = round(sparsity * p.numel())
            m = torch.ones(p.numel())
            m[torch.randperm(p.numel(), generator=gen)[:k]] = 0
            masks[p] = m.view_as(p)
        return masks

    def run(sparsity, repeat):
        torch.manual_seed(repeat)
        model = lenet300()
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
        masks = random_masks(model, sparsity, torch.Generator().manual_seed(100 + repeat)) if sparsity else {}
        # How the masks are applied, the usual PyTorch way (as sparsegraph's train.ts does too): the
        # weights are multiplied by their mask once, then every step multiplies each weight's gradient by
        # its mask before optimizer.step(). A masked weight is then 0, its gradient 0, its weight-decay term
        # wd * 0 = 0, so its momentum buffer stays 0 and the weight stays exactly 0 without re-masking.
        with torch.no_grad():
            for p, m in masks.items():
                p.mul_(m)
        gen = torch.Generator().manual_seed(repeat)
        perm = torch.randperm(n, generator=gen)
        pos = 0
        t0 = None
        for step in range(args.warmup + args.steps):
            if step == args.warmup:
                t0 = time.perf_counter()
            if pos + B > n:
                perm = torch.randperm(n, generator=gen)
                pos = 0
            idx = perm[pos : pos + B]
            pos += B
            x, y = X[idx], Y[idx]
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            for p, m in masks.items():
                p.grad.mul_(m)
            opt.step()
        elapsed = time.perf_counter() - t0
        # The masks held: every masked weight is still exactly zero.
        for p, m in masks.items():
            if bool((p.detach()[m == 0] != 0).any()):
                raise AssertionError("a masked weight became nonzero")
        if not torch.isfinite(loss):
            raise AssertionError(f"training diverged: loss {loss.item()}")
        return args.steps * B / elapsed

    cases = [
        ("train.lenet300.b128.samples_per_s", 0.0),
        ("train.lenet300.b128.s90.samples_per_s", 0.9),
        ("train.lenet300.b128.s98.samples_per_s", 0.98),
    ]
    threads = torch.get_num_threads()
    # Repeats interleave the cases, so that a busy stretch of a shared machine slows every case a
    # little rather than one case a lot; each case keeps its best.
    best = {name: 0.0 for name, _ in cases}
    for r in range(args.repeats):
        for name, sparsity in cases:
            best[name] = max(best[name], run(sparsity, r))
    for name, sparsity in cases:
        row = {
            "name": name,
            "value": round(best[name]),
            "unit": "samples/s",
            "sparsity": sparsity,
            "torch": torch.__version__,
            "threads": threads,
            "steps": args.steps,
            "warmup": args.warmup,
            "repeats": args.repeats,
        }
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            print(f"{name:42s} {row['value']:>10,d}  (torch {torch.__version__}, {threads} thread(s), best of {args.repeats} x {args.steps} steps)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
