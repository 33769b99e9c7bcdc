"""The layer-stack workloads of bench/stacks.ts (CR1 CRNN, AT1 attention text classifier) in PyTorch, for
bench/torch_bench.py: the same architecture and shapes as rnnkit's `{type, config}` spec, torch's own
default init (the stacks do not share weights), nn.CrossEntropyLoss on the logits, Adam.

Layout: the CRNN's input arrives [B, T, C] and is made [B, C, T] (nn.Conv1d's layout) before timing;
after pooling the features go time-major into the GRU (nn.GRU's native layout; batch_first would add
two transposes) and attention pools over the time axis.
"""

import torch
from torch import nn


class AdditivePooling(nn.Module):
    """Bahdanau attention pooling: softmax_t(vᵀ tanh(W h_t + b)) weighted sum of h_t; h is [T, B, F]."""

    def __init__(self, features, size):
        super().__init__()
        self.proj = nn.Linear(features, size)
        self.v = nn.Linear(size, 1, bias=False)

    def forward(self, h):
        scores = self.v(torch.tanh(self.proj(h))).squeeze(-1)  # [T, B]
        weights = torch.softmax(scores, dim=0)
        return (weights.unsqueeze(-1) * h).sum(0)  # [B, F]


class Crnn(nn.Module):
    def __init__(self, w):
        super().__init__()
        H = w["hiddenSize"]
        self.conv = nn.Conv1d(w["features"], w["convChannels"], w["kernel"], padding="same")
        self.pool = nn.MaxPool1d(w["pool"])
        self.rnn = nn.GRU(w["convChannels"], H, bidirectional=True)
        self.attention = AdditivePooling(2 * H, 2 * H)
        self.head = nn.Linear(2 * H, w["classes"])

    def forward(self, x):  # x: [B, C, T]
        z = self.pool(torch.relu(self.conv(x)))  # [B, C', T']
        out, _ = self.rnn(z.permute(2, 0, 1))  # [T', B, 2H]
        return self.head(self.attention(out))


class AttentionText(nn.Module):
    def __init__(self, w):
        super().__init__()
        H = w["hiddenSize"]
        self.embedding = nn.Embedding(w["vocab"], w["features"])
        self.rnn = nn.LSTM(w["features"], H, bidirectional=True)
        self.attention = AdditivePooling(2 * H, 2 * H)
        self.head = nn.Linear(2 * H, w["classes"])

    def forward(self, ids):  # ids: [T, B] int64
        out, _ = self.rnn(self.embedding(ids))  # [T, B, 2H]
        return self.head(self.attention(out))


def prepare_stack(w, load, lr):
    """One training step of the stack on the parent's input and labels; `load(name, dtype, shape)` reads a file."""
    B, T = w["batch"], w["seqLen"]
    torch.manual_seed(1)
    if w["family"] == "crnn":
        model = Crnn(w)
        x = load("x", torch.float32, (B, T, w["features"])).permute(0, 2, 1).contiguous()
    else:
        model = AttentionText(w)
        x = load("x", torch.int32, (B, T)).t().contiguous().long()
    y = load("y", torch.int32, (B,)).long()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()

    def fn():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return fn
