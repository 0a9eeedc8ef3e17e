"""Cost of one optimisation step of WAT against CCE and VAT (issue: WAT <= 2.8 x CCE, <= 1.05 x VAT).

One step on a batch of 256 Fashion-MNIST images (real ones when the Debian package is
installed, else random inputs of the same shape: the cost does not depend on the pixels),
CNN9 at width 0.25, on the CPU, for the methods' ``loss`` followed by ``backward`` and an
Adam step — exactly what :func:`watlib.train.run` does per batch. The regularizers are on
(epoch past the warm-up). The methods are timed interleaved in the same process (median of
repeats), and the ratios are printed. WAT_C and WAT_0-1 run twice: with training's default
(:data:`watlib.ot_settings.TRAIN_OT`, Newton to 1e-6), whose step should not depend on the
cost's conditioning (WAT_0-1 within 5% of WAT_C), and with the first study's solver
(:data:`~watlib.ot_settings.STUDY_OT`, Sinkhorn to 1e-4, implicit gradients). The conditioning is that of a
trained network: when ``benchmarks/wat_pairs.pt`` holds the CNN9 of the ``cpu`` preset's
warm-up (``bench_solvers.py`` makes it), every method starts from it, and its predictions
are the peaked ones of training; otherwise from a fresh initialisation, whose near-uniform
predictions every solver finds easy (the script says which).

The floor is about 8/3: WAT's step makes three forward passes (clean, perturbed,
adversarial), one backward to the input only (no weight gradients) and two full backward
passes (through the clean and the adversarial forward), against CCE's one forward and one
backward. That count assumes a backward pass costs twice a forward and a backward to the input
once; the script also times the passes on their own (forward F, forward + backward to the
input, forward + full backward) and prints the floor they imply on this machine,
(3 F + B_in + 2 B_full + optimiser) / CCE, and how far WAT's step is above it.

Run: ``python benchmarks/bench_step.py [--width 0.25] [--batch 256] [--repeats 15]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from watlib.adversarial import frozen_batchnorm
from watlib.costs import class_names, word_vector_cost, zero_one_cost
from watlib.methods import make_method
from watlib.models import CNN9
from watlib.ot_settings import STUDY_OT, TRAIN_OT


def _batch(n, seed=0):
    if Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").exists():
        from watlib.data import load_dataset

        ds = load_dataset("fashion_mnist", train=True)
        g = torch.Generator().manual_seed(seed)
        idx = torch.randperm(len(ds), generator=g)[:n]
        return ds.x[idx], ds.y[idx], "real Fashion-MNIST"
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=g) * 2 - 1, torch.randint(0, 10, (n,), generator=g), "random inputs"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--warmup", type=int, default=3)
    args = p.parse_args(argv)

    x, y, source = _batch(args.batch)
    cost = word_vector_cost(class_names("fashion_mnist"))
    methods = {
        "cce": make_method("cce"),
        "vat": make_method("vat", warmup=0),
        "watc": make_method("watc", warmup=0, cost=cost, ot=TRAIN_OT),
        "wat01": make_method("wat01", warmup=0, cost=zero_one_cost(10), ot=TRAIN_OT),
        "watc study": make_method("watc", warmup=0, cost=cost, ot=STUDY_OT),
        "wat01 study": make_method("wat01", warmup=0, cost=zero_one_cost(10), ot=STUDY_OT),
    }
    pairs = Path(__file__).with_name("wat_pairs.pt")
    warm = torch.load(pairs, weights_only=False).get("model") if pairs.exists() else None
    if warm is not None and warm["width"] != args.width:
        warm = None
    print("models: " + ("the CNN9 after the cpu preset's warm-up (benchmarks/wat_pairs.pt)" if warm is not None
                        else "freshly initialised (no warm-up model of this width in benchmarks/wat_pairs.pt)"))
    state = {}
    for name, method in methods.items():
        torch.manual_seed(0)
        (model,) = method.build(lambda: CNN9(1, 10, width=args.width))
        if warm is not None:
            model.load_state_dict(warm["state_dict"])
        model.train()
        state[name] = (method, model, torch.optim.Adam(model.parameters(), lr=1e-3))

    def step(name):
        method, model, opt = state[name]
        loss = method.loss([model], x, y, epoch=20)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    # The passes a step is made of, priced on their own (on CCE's model, BatchNorm frozen so
    # that its running statistics are those of the CCE steps alone).
    _, cce_model, _ = state["cce"]

    def forward():  # a forward that records the graph, as in training
        with frozen_batchnorm(cce_model):
            cce_model(x)

    def forward_backward_input():  # the direction search: gradient to the input only
        with frozen_batchnorm(cce_model):
            r = torch.zeros_like(x).requires_grad_(True)
            torch.autograd.grad(cce_model(x + r).logsumexp(dim=1).sum(), r)

    def forward_backward_full():  # CCE's step without the optimiser
        with frozen_batchnorm(cce_model):
            torch.nn.functional.cross_entropy(cce_model(x), y).backward()
        cce_model.zero_grad(set_to_none=True)

    passes = {"F": forward, "F+B_in": forward_backward_input, "F+B_full": forward_backward_full}
    jobs = {**{name: (lambda name=name: step(name)) for name in methods}, **passes}
    times = {name: [] for name in jobs}
    for r in range(args.warmup + args.repeats):
        for name, job in jobs.items():  # interleaved, so that load drifts hit all alike
            t0 = time.perf_counter()
            job()
            if r >= args.warmup:
                times[name].append(time.perf_counter() - t0)
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"one step, batch {args.batch} ({source}), CNN9 width {args.width}, CPU, "
          f"{torch.get_num_threads()} threads, median of {args.repeats}")
    for name in methods:
        print(f"  {name:11s} {med[name] * 1000:8.1f} ms")
    print(f"WAT / CCE = {med['watc'] / med['cce']:.2f}  (target <= 2.8; floor about 8/3 = 2.67)")
    print(f"WAT / VAT = {med['watc'] / med['vat']:.3f} (target <= 1.05)")
    for solver, suffix in ((f"training's ({TRAIN_OT.solver} to {TRAIN_OT.tol:g})", ""),
                           (f"the study's ({STUDY_OT.solver} to {STUDY_OT.tol:g})", " study")):
        print(f"{solver}: WAT_0-1 / WAT_C = {med['wat01' + suffix] / med['watc' + suffix]:.3f} (target <= 1.05), "
              f"WAT_C / VAT = {med['watc' + suffix] / med['vat']:.3f}")
    # The floor on this machine: WAT's passes priced at the measured cost of each pass.
    F = med["F"]
    B_in, B_full = med["F+B_in"] - F, med["F+B_full"] - F
    rest = med["cce"] - med["F+B_full"]  # optimiser step and loss
    floor = (3 * F + B_in + 2 * B_full + rest) / med["cce"]
    print(f"passes: forward F {F * 1000:.1f} ms, backward to the input {B_in * 1000:.1f} ms ({B_in / F:.2f} F), "
          f"full backward {B_full * 1000:.1f} ms ({B_full / F:.2f} F), optimiser {rest * 1000:.1f} ms")
    print(f"floor on this machine (3 F + B_in + 2 B_full + optimiser) / CCE = {floor:.2f}; "
          f"WAT's step is {med['watc'] / med['cce'] / floor - 1:+.1%} above it")


if __name__ == "__main__":
    main()
