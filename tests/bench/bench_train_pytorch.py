#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Python PyTorch peer of bench_train: LeNet-5 on Fashion-MNIST, batch 64, Adam (lr 1e-3),
one epoch over in-memory tensors, with the same loop as the engine (seeded permutation,
index_select per batch, cross-entropy, backward, step, loss accumulated per batch).

Prints one JSON line per repetition: {"rep": i, "samples": n, "seconds": s, "samples_per_s": r}.
bench_train runs it (one repetition per round, interleaved with the C++ loops); it can also
run alone:  /usr/bin/python3 tests/bench/bench_train_pytorch.py --threads 2 --reps 3
"""
import argparse
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import torch


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise SystemExit(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(folder, name):
    for candidate in (name, name + ".gz"):
        p = os.path.join(folder, candidate)
        if os.path.exists(p):
            return p
    raise SystemExit(f"{name}(.gz) not found in {folder}; install dataset-fashion-mnist")


def lenet5():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.ReLU(),
        torch.nn.Linear(120, 84), torch.nn.ReLU(),
        torch.nn.Linear(84, 10))


def epoch(model, opt, x, y, batch, gen, limit=None):
    n = x.shape[0]
    order = torch.randperm(n, generator=gen)
    batches = (n + batch - 1) // batch
    if limit is not None:
        batches = min(batches, limit)
    total = 0.0
    seen = 0
    for b in range(batches):
        idx = order[b * batch:(b + 1) * batch]
        xb = x.index_select(0, idx)
        yb = y.index_select(0, idx)
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.item() * idx.shape[0]
        seen += idx.shape[0]
    return seen, total / max(seen, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--limit", type=int, default=0, help="batches per epoch (0 = all)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    images = read_idx(find(args.data, "train-images-idx3-ubyte")).astype(np.float32) / 255.0
    labels = read_idx(find(args.data, "train-labels-idx1-ubyte")).astype(np.int64)
    x = torch.from_numpy(images).reshape(-1, 1, 28, 28)
    x = ((x - x.mean()) / x.std()).contiguous()
    y = torch.from_numpy(labels)

    torch.manual_seed(args.seed)
    model = lenet5()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(args.seed)
    model.train()
    epoch(model, opt, x, y, args.batch, gen, limit=50)  # warm-up, not timed
    for rep in range(args.reps):
        t0 = time.perf_counter()
        seen, loss = epoch(model, opt, x, y, args.batch, gen, args.limit or None)
        dt = time.perf_counter() - t0
        print(json.dumps({"rep": rep, "samples": seen, "seconds": dt,
                          "samples_per_s": seen / dt, "loss": loss,
                          "threads": torch.get_num_threads(), "torch": torch.__version__}))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
