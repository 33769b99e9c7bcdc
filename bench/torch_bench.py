"""PyTorch child process of `npm run bench` (bench/peers/torch.ts starts one per thread count with
Debian's /usr/bin/python3 and keeps it for the whole run): builds the same workloads on the same
inputs and weights (raw float32 files the parent wrote) and times them when asked, so that the
PyTorch rows take part in run.ts's interleaved rounds like the in-process peers. Its own process so
that its thread pools and OpenBLAS settings (set by the parent in this process's env only) cannot
touch the Node process. While the parent times another peer this process is blocked on stdin and
uses no CPU.

Protocol: one JSON object per line on stdin, one JSON reply per line on stdout (nothing else is
printed there). Every reply is {"ok": true, ...} or {"ok": false, "error": "..."}.

  {"cmd": "prepare", "workload": {...}, "dir": DIR, "lr": LR}
      builds the module(s) of workload["id"] with the weights in DIR/<id>.*, makes one untimed probe
      call → {"ok": true, "probe_ms": ms}
  {"cmd": "time", "id": ID, "budget_ms", "warmup_ms", "min_samples", "warmup": bool, "probe_ms"?: ms}
      samples like bench/sample.ts (tinybench): without probe_ms an untimed probe call first; a call
      slower than budget_ms / min_samples takes max(1, min(min_samples, budget_ms // probe_ms))
      samples; warm-up (at least one call, warmup_ms of call time) only when "warmup" is true and the
      call is not slow (or its probe fits twice in warmup_ms); then samples until both budget_ms of
      summed call time and the sample count are met → {"ok": true, "samples_ms": [...]}
  {"cmd": "output", "id": ID, "path": PATH}
      inference: writes one call's output [B, T, H] (float32, batch-first) to PATH → {"ok": true, "path": PATH}
  {"cmd": "dispose", "id": ID} → {"ok": true}
  {"cmd": "quit"} (or end of stdin) → exits.

The first line, before any command: {"ok": true, "ready": true, "torch": VERSION, "threads": N}.
"""

import os
import sys
import time

import torch

from json_lines import serve
from torch_long import prepare_long
from torch_stacks import prepare_stack


def load(directory, name, shape, dtype=torch.float32):
    with open(os.path.join(directory, name), "rb") as f:
        data = bytearray(f.read())
    return torch.frombuffer(data, dtype=dtype).reshape(shape).clone()


def build(w, d):
    """The recurrent module (+ Linear head for training) with the parent's weights."""
    I, H = w["inputSize"], w["hiddenSize"]
    G = {"lstm": 4, "gru": 3, "rnn": 1}[w["cell"]]
    ctor = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[w["cell"]]
    rnn = ctor(I, H, batch_first=True)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(load(d, w["id"] + ".weight_ih", (G * H, I)))
        rnn.weight_hh_l0.copy_(load(d, w["id"] + ".weight_hh", (G * H, H)))
        rnn.bias_ih_l0.copy_(load(d, w["id"] + ".bias_ih", (G * H,)))
        rnn.bias_hh_l0.copy_(load(d, w["id"] + ".bias_hh", (G * H,)))
    head = None
    if w["kind"] == "train":
        head = torch.nn.Linear(H, w["units"])
        with torch.no_grad():
            head.weight.copy_(load(d, w["id"] + ".head_weight", (w["units"], H)))
            head.bias.copy_(load(d, w["id"] + ".head_bias", (w["units"],)))
    return rnn, head


def prepare(w, d, lr):
    """The workload's call: one inference forward pass or one training step."""
    if "family" in w:  # a layer stack (CR1, AT1): torch_stacks.py
        return prepare_stack(w, lambda name, dtype, shape: load(d, w["id"] + "." + name, shape, dtype), lr)
    if "long" in w:  # a long-sequence workload (minGRU, minLSTM, GRU, LSTM): torch_long.py
        return prepare_long(w, lambda name, dtype, shape: load(d, w["id"] + "." + name, shape, dtype), lr)
    B, T = w["batch"], w["seqLen"]
    x = load(d, w["id"] + ".x", (B, T, w["inputSize"]))
    rnn, head = build(w, d)
    if w["kind"] == "inference":
        rnn.eval()

        def fn():
            with torch.inference_mode():
                return rnn(x)[0]

        return fn
    y = load(d, w["id"] + ".y", (B, T, w["units"]))
    params = list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    loss_fn = torch.nn.MSELoss()

    def fn():
        opt.zero_grad(set_to_none=True)
        out, _ = rnn(x)
        loss = loss_fn(head(out), y)
        loss.backward()
        opt.step()
        return loss

    return fn


def timed_call(fn):
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def sample(fn, budget_ms, warmup_ms, min_samples, warmup, probe_ms):
    """bench/sample.ts's rules (tinybench's loops count summed call time, not wall time)."""
    if probe_ms is None:
        probe_ms = timed_call(fn)
    slow = probe_ms * min_samples > budget_ms
    iterations = max(1, min(min_samples, int(budget_ms // probe_ms))) if slow else min_samples
    if warmup and (not slow or probe_ms * 2 < warmup_ms):
        total, n = 0.0, 0
        while total < warmup_ms or n < 1:
            total += timed_call(fn)
            n += 1
    samples = []
    total = 0.0
    while total < budget_ms or len(samples) < iterations:
        ms = timed_call(fn)
        samples.append(ms)
        total += ms
    return samples


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("OMP_NUM_THREADS", "1"))
    torch.set_num_threads(threads)
    calls = {}

    def handle(msg):
        cmd = msg["cmd"]
        if cmd == "prepare":
            w = msg["workload"]
            calls.pop(w["id"], None)
            fn = prepare(w, msg["dir"], msg.get("lr", 1e-3))
            calls[w["id"]] = fn
            return {"probe_ms": timed_call(fn)}
        if cmd in ("time", "output") and msg["id"] not in calls:
            raise RuntimeError("workload %r is not prepared" % msg["id"])
        if cmd == "time":
            fn = calls[msg["id"]]
            return {"samples_ms": sample(fn, msg["budget_ms"], msg["warmup_ms"], msg["min_samples"], msg.get("warmup", True), msg.get("probe_ms"))}
        if cmd == "output":
            out = calls[msg["id"]]()
            with open(msg["path"], "wb") as f:
                f.write(out.contiguous().numpy().tobytes())  # numpy ships with python3-torch
            return {"path": msg["path"]}
        if cmd == "dispose":
            calls.pop(msg["id"], None)
            return {}
        raise ValueError("unknown cmd %r" % cmd)

    serve({"torch": torch.__version__, "threads": torch.get_num_threads()}, handle)


if __name__ == "__main__":
    main()
