"""PyTorch child process of `npm run bench` (bench/peers/torch.ts starts it with Debian's
/usr/bin/python3): runs the same workloads on the same inputs and weights (raw float32 files the
parent wrote) and prints one JSON line per workload with the timing samples in ms. Its own process so
that its thread pools and OpenBLAS settings (set by the parent in this process's env only) cannot
touch the Node process.

stdin: {"threads", "warmup_ms", "budget_ms", "min_samples", "dir", "workloads": [...]}
stdout: {"id", "samples_ms", "output"?} per workload, then {"done": true}.
"""

import json
import os
import sys
import time

import torch


def load(directory, name, shape):
    with open(os.path.join(directory, name), "rb") as f:
        data = bytearray(f.read())
    return torch.frombuffer(data, dtype=torch.float32).reshape(shape).clone()


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


def timed(fn, warmup_ms, budget_ms, min_samples):
    """Warm up for warmup_ms (at least one call), then sample until budget_ms and min_samples are both met.
    Same rule as bench/sample.ts: a call slower than budget_ms / min_samples lowers min_samples to what
    fits the budget (at least 1), so slow rows keep to the time box."""
    start = time.perf_counter()
    fn()
    probe_ms = (time.perf_counter() - start) * 1e3
    if probe_ms * min_samples > budget_ms:
        min_samples = max(1, min(min_samples, int(budget_ms // probe_ms)))
    while (time.perf_counter() - start) * 1e3 < warmup_ms:
        fn()
    samples = []
    start = time.perf_counter()
    while (time.perf_counter() - start) * 1e3 < budget_ms or len(samples) < min_samples:
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e3)
    return samples


def main():
    cfg = json.loads(sys.stdin.read())
    torch.set_num_threads(cfg["threads"])
    d = cfg["dir"]
    for w in cfg["workloads"]:
        B, T = w["batch"], w["seqLen"]
        x = load(d, w["id"] + ".x", (B, T, w["inputSize"]))
        rnn, head = build(w, d)
        result = {"id": w["id"]}
        if w["kind"] == "inference":
            rnn.eval()

            def fn():
                with torch.inference_mode():
                    return rnn(x)[0]

            out_path = os.path.join(d, "%s.torch%d.out" % (w["id"], cfg["threads"]))
            with open(out_path, "wb") as f:
                f.write(fn().contiguous().numpy().tobytes())  # numpy ships with python3-torch
            result["output"] = out_path
        else:
            y = load(d, w["id"] + ".y", (B, T, w["units"]))
            params = list(rnn.parameters()) + list(head.parameters())
            opt = torch.optim.Adam(params, lr=cfg["lr"])
            loss_fn = torch.nn.MSELoss()

            def fn():
                opt.zero_grad(set_to_none=True)
                out, _ = rnn(x)
                loss = loss_fn(head(out), y)
                loss.backward()
                opt.step()
                return loss

        result["samples_ms"] = timed(fn, cfg["warmup_ms"], cfg["budget_ms"], cfg["min_samples"])
        print(json.dumps(result), flush=True)
    print(json.dumps({"done": True}), flush=True)


if __name__ == "__main__":
    main()
