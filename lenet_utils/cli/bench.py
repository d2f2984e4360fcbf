"""Benchmark of the data path and training speed (``python -m lenet_utils.cli.bench``).

1. One epoch of LeNet5Modern through the conventional path (torchvision dataset with ToTensor and
   Normalize, read through a DataLoader, as the source documents and d2l do), then one epoch through
   lenet_utils' in-memory path, same batch size and optimizer: samples/s of each and their ratio.
2. Time to evaluate the 10,000 test images.
3. Seconds of training until LeNet5Modern first reaches 99% test accuracy (its recipe's learning rate).
With ``--accuracy`` it also trains LeNet5Modern and LeNet5Paper with their full recipes
(``lenet_utils.train.RECIPES``: 5 and 10 epochs) and reports their test accuracy.
With ``--online`` it only times one online SDLM step (``lenet_utils.online.benchmark``).
With ``--overhead`` it only measures the Trainer's own cost instead: for every model, one pass over
``--samples`` training images with the model's recipe (``RECIPES``), timed three ways, alternating in one process
(median of ``--repeats`` runs each, after a warm-up round): a bare forward-loss-backward-step loop over
contiguous slices of pre-shuffled in-memory tensors, the same bare loop over a shuffling ``TensorLoader``,
and ``Trainer.train_epoch`` (progress bar, metrics, history) over that same loader. The Trainer's own cost
is the time it adds to the bare loop over the same loader; the book's path (Trainer and loader) is compared
with the bare loop over slices. Each figure is given by the wall clock and by the process's CPU time
(``cpu_*``): other jobs on a shared machine slow the first, hardly the second (with ``--threads 1``, where
no thread waits for another).
The last line printed is one JSON object with every figure.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import torch
import torchvision
from torchvision import transforms

from ..data import MNIST_MEAN, MNIST_STD, TensorLoader, data_root, load_mnist, mnist_loaders, prepare
from ..models import LeNet5Modern, build_model
from ..online import benchmark as online_benchmark
from ..train import RECIPES, Trainer, describe_machine, evaluate, recipe_loss, set_seed, train_recipe


def conventional_loaders(batch_size: int, root=None, subset=None):
    """The usual path: a torchvision dataset decoding one PIL image at a time, batched by a DataLoader."""
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))])
    train = torchvision.datasets.MNIST(data_root(root), train=True, transform=tf, download=False)
    test = torchvision.datasets.MNIST(data_root(root), train=False, transform=tf, download=False)
    if subset is not None:
        train = torch.utils.data.Subset(train, range(subset))
    return (torch.utils.data.DataLoader(train, batch_size=batch_size, shuffle=True),
            torch.utils.data.DataLoader(test, batch_size=1000))


def one_epoch(train_loader, seed: int, lr: float) -> float:
    set_seed(seed)
    model = LeNet5Modern()
    trainer = Trainer(model, torch.optim.Adam(model.parameters(), lr=lr), device="cpu")
    return trainer.train_epoch(train_loader, progress=True)["samples_per_s"]


def seconds_to_accuracy(target: float, batch_size: int, max_epochs: int, seed: int,
                        lr: float = RECIPES["modern"]["lr"], subset=None) -> dict:
    """Train with a one-cycle schedule, evaluating after every epoch; training and evaluation time count."""
    set_seed(seed)
    train, test = mnist_loaders(batch_size=batch_size, seed=seed, subset=subset)
    model = LeNet5Modern()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max_epochs * len(train))
    trainer = Trainer(model, opt, device="cpu", scheduler=sched)
    start = time.perf_counter()
    for _ in range(max_epochs):
        trainer.fit(train, test, epochs=1, progress=False)
        if trainer.history[-1]["test_acc"] >= target:
            return {"seconds": time.perf_counter() - start, "epochs": len(trainer.history),
                    "test_acc": trainer.history[-1]["test_acc"]}
    return {"seconds": None, "epochs": max_epochs, "test_acc": trainer.history[-1]["test_acc"]}


def accuracy_runs(seed: int) -> dict:
    """LeNet5Modern and LeNet5Paper trained with their full recipes: final (and best) test accuracy."""
    set_seed(seed)
    modern = train_recipe("modern", seed=seed).history
    set_seed(seed)
    paper = train_recipe("paper", seed=seed).history
    return {"modern_5_epochs_test_acc": modern[-1]["test_acc"],
            "paper_10_epochs_test_acc": paper[-1]["test_acc"],
            "paper_best_test_acc": max(row["test_acc"] for row in paper),
            "paper_seconds_per_epoch": sum(row["seconds"] for row in paper) / len(paper)}


def _bare_epoch(model, optimizer, loss_fn, batches) -> None:
    model.train()
    for x, y in batches:
        loss = loss_fn(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def trainer_overhead(names=None, samples: int = 10_000, repeats: int = 5, seed: int = 0) -> dict:
    """samples/s of a bare training loop (over slices, over a TensorLoader) and of ``Trainer.train_epoch``
    for each model, alternating, median of ``repeats`` runs each after one warm-up round."""
    names = list(RECIPES) if names is None else list(names)
    images, labels = load_mnist(train=True)
    out = {}
    for name in names:
        spec = RECIPES[name]
        x = prepare(images[:samples], spec["normalize"], pad=spec["pad"])
        y = labels[:samples]
        loader = TensorLoader(x, y, spec["batch_size"], shuffle=True, seed=seed)
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
        xs, ys = x[order].contiguous(), y[order].contiguous()
        b = spec["batch_size"]
        slices = [(xs[i:i + b], ys[i:i + b]) for i in range(0, len(xs), b)]
        speeds = {"bare_slices": [], "bare_loader": [], "trainer": []}
        cpu_speeds = {mode: [] for mode in speeds}
        load_before = os.getloadavg()[0]
        for round_ in range(repeats + 1):
            modes = list(speeds) if round_ % 2 == 0 else list(speeds)[::-1]
            for mode in modes:
                set_seed(seed)
                model = build_model(spec["model"])
                opt = torch.optim.Adam(model.parameters(), lr=spec["lr"])
                loss_fn = recipe_loss(name)
                start, cpu_start = time.perf_counter(), time.process_time()
                if mode == "trainer":
                    Trainer(model, opt, loss_fn, device="cpu").train_epoch(loader, progress=True)
                else:
                    _bare_epoch(model, opt, loss_fn, slices if mode == "bare_slices" else loader)
                seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
                if round_ > 0:
                    speeds[mode].append(len(x) / seconds)
                    cpu_speeds[mode].append(len(x) / cpu_seconds)
        row = {}
        for prefix, runs in (("", speeds), ("cpu_", cpu_speeds)):
            med = {mode: statistics.median(v) for mode, v in runs.items()}
            row.update({f"{prefix}{mode}_samples_per_s": round(v) for mode, v in med.items()})
            row[f"{prefix}trainer_overhead_percent"] = round(100 * (med["bare_loader"] / med["trainer"] - 1), 1)
            row[f"{prefix}loader_overhead_percent"] = round(100 * (med["bare_slices"] / med["bare_loader"] - 1), 1)
            row[f"{prefix}book_path_overhead_percent"] = round(100 * (med["bare_slices"] / med["trainer"] - 1), 1)
            row[f"{prefix}runs_samples_per_s"] = {mode: [round(v) for v in vs] for mode, vs in runs.items()}
        row.update(batch_size=spec["batch_size"], samples=len(x), repeats=repeats, torch_threads=torch.get_num_threads(),
                   load_average_1min=[round(load_before, 2), round(os.getloadavg()[0], 2)])
        out[name] = row
        for prefix, what in (("", "wall clock"), ("cpu_", "CPU time")):
            print(f"{spec['model']:15s} batch {spec['batch_size']:3d}, {what:10s}: bare loop "
                  f"{row[prefix + 'bare_slices_samples_per_s']:6,} (slices) "
                  f"{row[prefix + 'bare_loader_samples_per_s']:6,} (TensorLoader), Trainer "
                  f"{row[prefix + 'trainer_samples_per_s']:6,} samples/s: Trainer's own cost "
                  f"{row[prefix + 'trainer_overhead_percent']:+.1f}%, Trainer + loader "
                  f"{row[prefix + 'book_path_overhead_percent']:+.1f}% "
                  f"(load {row['load_average_1min'][0]:.2f} -> {row['load_average_1min'][1]:.2f})", flush=True)
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-epochs", type=int, default=4, help="give up reaching 99%% after this many epochs")
    parser.add_argument("--target", type=float, default=0.99, help="test accuracy to reach (default 0.99)")
    parser.add_argument("--subset", type=int, default=None, help="train on the first N images only (smoke test)")
    parser.add_argument("--accuracy", action="store_true", help="also run the 5- and 10-epoch accuracy checks")
    parser.add_argument("--overhead", action="store_true",
                        help="only compare a bare training loop with the Trainer, for every model")
    parser.add_argument("--models", nargs="+", default=None, choices=list(RECIPES),
                        help="with --overhead: the models to measure (default all)")
    parser.add_argument("--samples", type=int, default=10_000, help="with --overhead: images per timed pass")
    parser.add_argument("--repeats", type=int, default=5, help="with --overhead: timed runs per way (median)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--online", action="store_true",
                        help="only time one online SDLM step (one image per update): the eager loop, phase by phase, "
                             "and FastOnlineStep, on one thread")
    parser.add_argument("--steps", type=int, default=3000, help="with --online: timed steps per way")
    args = parser.parse_args(argv)
    if args.threads is not None:
        if args.threads < 1:
            parser.error(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    if args.online:
        result = {"online": online_benchmark(args.steps, args.seed), "machine": describe_machine(),
                  "date": time.strftime("%Y-%m-%d %H:%M")}
        print(json.dumps(result))
        return result
    if args.overhead:
        result = {"overhead": trainer_overhead(args.models, args.samples, args.repeats, args.seed),
                  "machine": describe_machine(), "date": time.strftime("%Y-%m-%d %H:%M")}
        print(json.dumps(result))
        return result

    load_mnist(True), load_mnist(False)  # read and check the files once, outside the timings
    conventional_train, _ = conventional_loaders(args.batch_size, subset=args.subset)
    conventional = one_epoch(conventional_train, args.seed, args.lr)
    ours_train, ours_test = mnist_loaders(batch_size=args.batch_size, seed=args.seed, subset=args.subset)
    ours = one_epoch(ours_train, args.seed, args.lr)
    print(f"conventional DataLoader path: {conventional:,.0f} samples/s")
    print(f"lenet_utils in-memory path:   {ours:,.0f} samples/s  (ratio {ours / conventional:.2f})")

    model = LeNet5Modern()
    evaluate(model, ours_test)  # warm-up
    start = time.perf_counter()
    evaluate(model, ours_test)
    eval_seconds = time.perf_counter() - start
    print(f"evaluate 10,000 test images: {eval_seconds:.3f} s")

    reach = seconds_to_accuracy(args.target, args.batch_size, args.max_epochs, args.seed, subset=args.subset)
    print(f"LeNet5Modern reaches {args.target:.0%} test accuracy after {reach['seconds']} s ({reach['epochs']} epochs)")
    result = {"conventional_samples_per_s": round(conventional), "lenet_utils_samples_per_s": round(ours),
              "ratio": round(ours / conventional, 2), "eval_seconds_10k": round(eval_seconds, 3),
              "target_acc": args.target,
              "seconds_to_target": None if reach["seconds"] is None else round(reach["seconds"], 1),
              "epochs_to_target": reach["epochs"], "test_acc_at_stop": reach["test_acc"],
              "train_images": args.subset or 60_000,
              "batch_size": args.batch_size, "machine": describe_machine()}
    if args.accuracy:
        result.update(accuracy_runs(args.seed))
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
