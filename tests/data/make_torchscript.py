#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes the TorchScript fixture of tst_model_io: tiny_cnn.pt (a few KB) and tiny_cnn.json
(the logits it gives for a fixed probe input, to check the C++ import computes the same).

Run once with Debian's python3-torch (1.13) and commit both files:
    /usr/bin/python3 tests/data/make_torchscript.py
"""
import json
import os

import torch


class TinyCnn(torch.nn.Module):
    """1x8x8 input, 3 classes: conv 3x3 (2 channels) - ReLU - flatten - linear."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 3)
        self.bn = torch.nn.BatchNorm2d(2)
        self.fc = torch.nn.Linear(2 * 6 * 6, 3)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        return self.fc(torch.flatten(x, 1))


def main():
    torch.manual_seed(0)
    model = TinyCnn().eval()
    scripted = torch.jit.script(model)
    here = os.path.dirname(os.path.abspath(__file__))
    scripted.save(os.path.join(here, "tiny_cnn.pt"))
    # Probe input: 0, 1/64, ..., 63/64 in row-major order.
    probe = torch.arange(64, dtype=torch.float32).reshape(1, 1, 8, 8) / 64.0
    with torch.no_grad():
        logits = scripted(probe)[0].tolist()
    params = sum(p.numel() for p in model.parameters())
    with open(os.path.join(here, "tiny_cnn.json"), "w") as f:
        json.dump({"inputShape": [1, 8, 8], "classes": 3, "probeLogits": logits,
                   "parameters": params}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
