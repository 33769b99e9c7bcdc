"""The long-sequence workloads of bench/long.ts (minGRU, minLSTM, GRU, LSTM at T = 512 and 4096) in
PyTorch, for bench/torch_bench.py: torch's own default init (no shared weights), batch-first input.

minGRU and minLSTM are written as the paper gives them for training (Feng et al. 2024, arXiv 2410.01201,
appendix): log-space gates and the log-space parallel scan (log-cumsum-exp, Heinsen 2023), h_0 = 0; the
same code serves the forward rows. GRU and LSTM are nn.GRU / nn.LSTM (batch_first). Training rows add a
Linear(H → units) head at every step, MSE, Adam — as bench/torch_bench.py's T1.
"""

import torch
import torch.nn.functional as F
from torch import nn


def log_g(x):
    """log of g(x) = x + 1/2 (x >= 0), sigmoid(x) (x < 0)."""
    return torch.where(x >= 0, (F.relu(x) + 0.5).log(), -F.softplus(-x))


def parallel_scan_log(log_coeffs, log_values):
    """h_t = a_t h_{t-1} + b_t from log a and log b [B, T, H] with h_0 = 0, in log space."""
    a_star = torch.cumsum(log_coeffs, dim=1)
    return torch.exp(a_star + torch.logcumsumexp(log_values - a_star, dim=1))


class MinGRU(nn.Module):
    def __init__(self, input_size, hidden):
        super().__init__()
        self.linear = nn.Linear(input_size, 2 * hidden)

    def forward(self, x):
        k, h = self.linear(x).chunk(2, dim=-1)
        return parallel_scan_log(-F.softplus(k), -F.softplus(-k) + log_g(h))


class MinLSTM(nn.Module):
    def __init__(self, input_size, hidden):
        super().__init__()
        self.linear = nn.Linear(input_size, 3 * hidden)

    def forward(self, x):
        f, i, h = self.linear(x).chunk(3, dim=-1)
        diff = F.softplus(-f) - F.softplus(-i)  # log i - log f
        return parallel_scan_log(-F.softplus(diff), -F.softplus(-diff) + log_g(h))


class Recurrent(nn.Module):
    """nn.GRU / nn.LSTM returning the output sequence only."""

    def __init__(self, ctor, input_size, hidden):
        super().__init__()
        self.rnn = ctor(input_size, hidden, batch_first=True)

    def forward(self, x):
        return self.rnn(x)[0]


def build(cell, input_size, hidden):
    if cell == "mingru":
        return MinGRU(input_size, hidden)
    if cell == "minlstm":
        return MinLSTM(input_size, hidden)
    return Recurrent(nn.GRU if cell == "gru" else nn.LSTM, input_size, hidden)


def prepare_long(w, load, lr):
    """One forward or training step of the workload; `load(name, dtype, shape)` reads a file."""
    B, T, I, H = w["batch"], w["seqLen"], w["inputSize"], w["hiddenSize"]
    torch.manual_seed(1)
    layer = build(w["cell"], I, H)
    x = load("x", torch.float32, (B, T, I))
    if w["kind"] == "inference":
        layer.eval()

        def forward():
            with torch.inference_mode():
                return layer(x)

        return forward
    head = nn.Linear(H, w["units"])
    y = load("y", torch.float32, (B, T, w["units"]))
    opt = torch.optim.Adam(list(layer.parameters()) + list(head.parameters()), lr=lr)
    loss_fn = nn.MSELoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(head(layer(x)), y)
        loss.backward()
        opt.step()
        return loss

    return step
