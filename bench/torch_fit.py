"""PyTorch child of `npm run bench:fit` (bench/fit/run.ts starts one per thread count per workload with
Debian's /usr/bin/python3, env from bench/peers/torch.ts's torchEnv): PyTorch's ordinary training loop
on the same data and initial weights as rnnkit (files written by bench/fit/files.ts), one epoch per
request, so its epochs take part in the driver's interleaved rounds.

The loop: nn.LSTM(batch_first) + nn.Linear at every step, Adam; per epoch a seeded torch.randperm of
the sequences, mini-batches are consecutive slices of it (the last one partial), as rnnkit's fit()
does. No DataLoader: indexing the whole-dataset tensors is PyTorch's fastest path for in-memory data.
Text input is one-hot built per batch inside the loop with F.one_hot(ids, V).float() (token ids stay
int64 in memory, like rnnkit's int32 ids); loss F.cross_entropy on the logits (mean over B·T steps).
Series: F.mse_loss. The epoch loss is the mean of the mini-batch losses, like rnnkit's.

Protocol: one JSON object per line on stdin, one JSON reply per line on stdout.
  first line → {"ok": true, "ready": true, "torch": VERSION, "threads": N}
  {"cmd": "prepare", "workload": FitWorkload, "dir": DIR, "sequences": N} → {"ok": true, "prepare_ms"}
  {"cmd": "epoch"} → {"ok": true, "ms", "loss"}
  {"cmd": "check", "workload", "dir", "sequences", "n"} → the loss on the first n sequences, no
      update ({"ok": true, "loss"}): the harness test compares it with rnnkit's evaluate().
  {"cmd": "quit"} (or end of stdin) → exits.
"""

import json
import os
import sys
import time

import torch
import torch.nn.functional as F

from json_lines import serve

SHUFFLE_SEED = 7


def load_data(w, d, n):
    dtype = torch.int32 if w["tokens"] else torch.float32
    T = w["seqLen"]

    def read(name):
        with open(os.path.join(d, w["id"] + "." + name), "rb") as f:
            data = bytearray(f.read())
        t = torch.frombuffer(data, dtype=dtype)
        return t.reshape(n, T) if w["tokens"] else t.reshape(n, T, 1)

    x, y = read("x"), read("y")
    if w["tokens"]:
        x, y = x.long(), y.long()  # F.one_hot and cross_entropy take int64 ids
    return x, y


def build(w, d):
    with open(os.path.join(d, w["id"] + ".weights.json")) as f:
        sd = json.load(f)

    def t(name):
        return torch.tensor(sd[name]["data"], dtype=torch.float32).reshape(sd[name]["shape"])

    lstm = torch.nn.LSTM(w["inputSize"], w["hiddenSize"], batch_first=True)
    head = torch.nn.Linear(w["hiddenSize"], w["units"])
    with torch.no_grad():
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(lstm, name).copy_(t("0." + name))
        head.weight.copy_(t("1.weight"))
        head.bias.copy_(t("1.bias"))
    return lstm, head


def batch_loss(w, lstm, head, xb, yb):
    if w["tokens"]:
        out, _ = lstm(F.one_hot(xb, w["inputSize"]).float())
        logits = head(out)
        return F.cross_entropy(logits.reshape(-1, w["units"]), yb.reshape(-1))
    out, _ = lstm(xb)
    return F.mse_loss(head(out), yb)


class Trainer:
    def __init__(self, w, d, n):
        self.w = w
        self.x, self.y = load_data(w, d, n)
        self.lstm, self.head = build(w, d)
        self.opt = torch.optim.Adam(list(self.lstm.parameters()) + list(self.head.parameters()), lr=w["lr"])
        self.gen = torch.Generator().manual_seed(SHUFFLE_SEED)

    def epoch(self):
        w, B = self.w, self.w["batchSize"]
        t0 = time.perf_counter()
        perm = torch.randperm(self.x.shape[0], generator=self.gen)
        total, batches = 0.0, 0
        for s in range(0, perm.numel(), B):
            idx = perm[s : s + B]
            self.opt.zero_grad(set_to_none=True)
            loss = batch_loss(w, self.lstm, self.head, self.x[idx], self.y[idx])
            loss.backward()
            self.opt.step()
            total += loss.item()
            batches += 1
        return {"ms": (time.perf_counter() - t0) * 1e3, "loss": total / batches}


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    torch.set_num_threads(threads)
    state = {}

    def handle(msg):
        cmd = msg["cmd"]
        if cmd == "prepare":
            t0 = time.perf_counter()
            state["trainer"] = Trainer(msg["workload"], msg["dir"], msg["sequences"])
            return {"prepare_ms": (time.perf_counter() - t0) * 1e3, "sequences": msg["sequences"]}
        if cmd == "epoch":
            if "trainer" not in state:
                raise RuntimeError("epoch before prepare")
            return state["trainer"].epoch()
        if cmd == "check":
            w = msg["workload"]
            x, y = load_data(w, msg["dir"], msg["sequences"])
            lstm, head = build(w, msg["dir"])
            n = msg["n"]
            with torch.no_grad():
                return {"loss": batch_loss(w, lstm, head, x[:n], y[:n]).item()}
        raise ValueError("unknown cmd %r" % cmd)

    serve({"torch": torch.__version__, "threads": torch.get_num_threads()}, handle)


if __name__ == "__main__":
    main()
