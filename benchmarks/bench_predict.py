"""How many images per forward pass the test evaluation should take on this machine.

Every epoch of a run scores the 10,000 test images (``watlib.train``'s prediction, in eval
mode, no gradient). This script times that pass for the `cpu` preset's network (the paper's
CNN at width 0.25, a trained-size model with random weights: the time does not depend on
the weights) at several batch sizes, interleaved and repeated in one process, prints the
median seconds and the ratio to the batch size ``watlib.train.predict_batch_size`` picks for
the device, and checks that every batch size gives the same outputs.

    python benchmarks/bench_predict.py [--threads 1] [--repeats 3] [--device cpu]

The images are the real Fashion-MNIST test set when it is installed, else random ones of
its shape (the time of a convolution does not depend on the pixel values).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from watlib.models import CNN9
from watlib.train import PRESETS, predict_batch_size


def test_images(n: int = 10_000) -> tuple[torch.Tensor, str]:
    try:
        from watlib.data import load_dataset

        return load_dataset("fashion_mnist", train=False).x[:n], "Fashion-MNIST test images"
    except (FileNotFoundError, RuntimeError, OSError):
        return torch.randn(n, 1, 28, 28), "random images of Fashion-MNIST's shape"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 128, 256, 1024])
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    chosen = predict_batch_size(device)
    sizes = sorted(set(args.sizes) | {chosen})
    x, source = test_images()
    model = CNN9(1, 10, width=PRESETS["cpu"]["width"]).to(device).eval()

    @torch.no_grad()
    def predict(batch):
        out = [model(x[i : i + batch].to(device)).float().cpu() for i in range(0, len(x), batch)]
        if device.type == "cuda":
            torch.cuda.synchronize()
        return torch.cat(out)

    reference = predict(chosen)  # also the warm-up
    times = {b: [] for b in sizes}
    for _ in range(args.repeats):
        for b in sizes:
            t0 = time.perf_counter()
            out = predict(b)
            times[b].append(time.perf_counter() - t0)
            if not torch.equal(out.argmax(1), reference.argmax(1)):
                raise SystemExit(f"batch {b} changes a prediction")
    print(f"{len(x):,} {source}, CNN9 width {PRESETS['cpu']['width']}, {device}, {args.threads} thread(s), "
          f"median of {args.repeats}")
    base = statistics.median(times[chosen])
    for b in sizes:
        s = statistics.median(times[b])
        mark = "  <- predict_batch_size" if b == chosen else ""
        print(f"  batch {b:>5}: {s:6.2f} s, {s / base:5.2f} x the chosen{mark}")


if __name__ == "__main__":
    main()
