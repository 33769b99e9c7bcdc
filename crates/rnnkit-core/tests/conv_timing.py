#!/usr/bin/python3
"""PyTorch side of tests/conv_timing.rs: nn.Conv1d forward + backward (dx and parameter gradients)
at one thread on the same shapes, median (min) of 20 after 3 warm-ups, in ms.
Run: /usr/bin/python3 crates/rnnkit-core/tests/conv_timing.py"""

import time

import torch
import torch.nn as nn

torch.set_num_threads(1)
B, T, C = 32, 200, 40
SAMPLES = 20


def stats(xs):
    """median (min) in ms"""
    xs = sorted(xs)
    return f"{xs[len(xs) // 2] * 1e3:7.3f} ({xs[0] * 1e3:6.3f})"


print(f"nn.Conv1d B={B} T={T} C_in={C}, torch {torch.__version__}, 1 thread, median (min) of {SAMPLES}, ms")
for name, c_out, groups in [("depthwise C=40 k=5 same", C, C), ("depthwise C=40 x2 k=5 same", 2 * C, C), ("groups=1 40->64 k=5 same", 64, 1)]:
    conv = nn.Conv1d(C, c_out, 5, groups=groups, padding="same")
    x = torch.rand(B, C, T, requires_grad=True)  # torch's own layout [B, C, T]
    g = torch.rand(B, c_out, T)
    fw, bw, both = [], [], []
    for i in range(SAMPLES + 3):
        conv.zero_grad()
        x.grad = None
        s = time.perf_counter()
        y = conv(x)
        f = time.perf_counter() - s
        s = time.perf_counter()
        y.backward(g)
        b = time.perf_counter() - s
        if i >= 3:
            fw.append(f)
            bw.append(b)
            both.append(f + b)
    print(f"  {name:<28} forward {stats(fw)}  backward {stats(bw)}  total {stats(both)}")
