#!/usr/bin/env python3
"""Helpers for benchmarks/peers.sh (standard library only).

  report.py jmh FILE THREADS      one JMH JSON result (TrainingStepBenchmark, one configuration) as a RESULT line
  report.py table RESULTS OUT ... the Markdown table of medians and ratios from the RESULT lines of one run

A RESULT line is `RESULT key=value ...` with at least tool, model, batch, threads, samples_s and
windows_samples_s (samples/s of every timed window); peers.sh adds round= and others= (cores other
processes used during the measurement).
"""
import argparse
import json
import statistics
import sys
from collections import defaultdict

TOOLS = {"batchwise": "Batchwise", "libtorch": "libtorch", "dl4j": "DL4J"}
VERSIONS = [
    ("Batchwise", "this tree (`{tree}`), oneDNN 3.11 via `org.bytedeco:dnnl:3.11-1.5.13`, JMH 1.37 "
                  "`TrainingStepBenchmark` (one synthetic batch reused every step)"),
    ("libtorch", "2.10.0 via `org.bytedeco:pytorch:2.10.0-1.5.13` (+ `:linux-x86_64`), "
                 "`org.bytedeco:openblas:0.3.31-1.5.13`, JavaCPP 1.5.13; CPU build, OpenMP, MKL-DNN, OpenBLAS for GEMM"),
    ("DL4J", "`org.deeplearning4j:deeplearning4j-nn:1.0.0-M2.1`, `org.nd4j:nd4j-native:1.0.0-M2.1:linux-x86_64-onednn-avx2` "
             "(oneDNN linked in), `org.bytedeco:openblas:0.3.19-1.5.7`, JavaCPP 1.5.7"),
]


def jmh(path, threads):
    """The RESULT line of a JMH JSON file holding one TrainingStepBenchmark configuration."""
    with open(path) as f:
        runs = json.load(f)
    if len(runs) != 1:
        sys.exit(f"{path}: expected one benchmark configuration, found {len(runs)}")
    r = runs[0]
    batch = int(r["params"]["batch"])
    windows = [ops * batch for fork in r["primaryMetric"]["rawData"] for ops in fork]  # ops/s = steps/s
    print(" ".join([
        "RESULT tool=batchwise", f"model={r['params']['model']}", f"batch={batch}", f"threads={threads}",
        f"samples_s={statistics.median(windows):.1f}", f"min={min(windows):.1f}", f"max={max(windows):.1f}",
        "windows_samples_s=" + ",".join(f"{w:.1f}" for w in windows), "loss_start=NA", "loss_end=NA"]))


def parse(path):
    rows = []
    with open(path) as f:
        for line in f:
            if not line.startswith("RESULT "):
                continue
            kv = dict(p.split("=", 1) for p in line.split()[1:])
            kv["batch"] = int(kv["batch"])
            kv["threads"] = int(kv["threads"])
            kv["windows"] = [float(w) for w in kv["windows_samples_s"].split(",")]
            kv["others"] = float(kv.get("others", "0"))
            kv["setting"] = (f"torch {kv['torch_threads']} / BLAS {kv['blas_threads']}"
                             if kv["tool"] == "libtorch" else "")
            rows.append(kv)
    return rows


def num(x):
    return f"{x:,.0f}" if x >= 100 else f"{x:,.1f}"


def table(args):
    rows = parse(args.results)
    if not rows:
        sys.exit(f"{args.results}: no RESULT lines")
    limit = args.limit
    # Pooled over rounds: every timed window of every round (as run.sh pools JMH forks x iterations).
    pooled = defaultdict(list)
    others = defaultdict(float)
    for r in rows:
        k = (r["tool"], r["setting"], r["model"], r["batch"], r["threads"])
        pooled[k] += r["windows"]
        others[k] = max(others[k], r["others"])
    med = {k: statistics.median(v) for k, v in pooled.items()}
    configs = sorted({(r["threads"], r["model"], r["batch"]) for r in rows},
                     key=lambda c: (c[0], ["mlp", "lenet"].index(c[1]), c[2]))
    disturbed_any = any(o > limit for o in others.values())

    def best_torch(t, m, b):
        cands = [(v, k[1]) for k, v in med.items() if k[0] == "libtorch" and k[2:] == (m, b, t)]
        return max(cands) if cands else (None, None)

    def mark(keys):
        return " **DISTURBED**" if any(others.get(k, 0) > limit for k in keys) else ""

    out = []
    w = out.append
    w("# Batchwise side by side with Deeplearning4j and libtorch")
    w("")
    w("Written by `benchmarks/peers.sh`; do not edit by hand: run the script again.")
    w("")
    if args.quick == "1":
        w("**Quick run** (`--quick`: few configurations, short windows): a smoke test of the comparison, "
          "not figures to quote.")
        w("")
    if disturbed_any:
        w(f"**DISTURBED: other processes used more than {limit} of a core during some measurements "
          "(marked below); these figures are not valid.** Run `benchmarks/peers.sh --wait` on an idle machine.")
        w("")
    w("## Machine, versions, command")
    w("")
    w("| | |")
    w("|---|---|")
    w(f"| command | `{args.command}` |")
    w(f"| when | {args.start} to {args.end} |")
    w(f"| CPU | {args.cpu} |")
    w(f"| Java | `{args.java}` |")
    for name, text in VERSIONS:
        w(f"| {name} | {text.format(tree=args.tree)} |")
    w(f"| measurement | each tool in a fresh JVM per configuration, {args.windows}; the tools alternate "
      "configuration by configuration (order reversed every other round); median over the timed windows of all rounds |")
    w(f"| other load | largest share of a core that other processes took during any one measurement: "
      f"{max(others.values()):.2f} (limit {limit}) |")
    w("")
    w("Models: MLP = Dense 784-256-128-10 with ReLU; LeNet-5 = conv5x5(6)+ReLU+maxpool2, conv5x5(16)+ReLU+maxpool2, "
      "fc120+ReLU, fc84+ReLU, fc10 on 1x28x28 without padding. Softmax cross-entropy (mean over the batch), "
      "plain SGD lr 0.01, float32, Glorot-uniform weights, zero biases. One sample per step = one image; "
      "samples/s = steps/s x batch. The peers cycle through consecutive real Fashion-MNIST training batches "
      "(`/usr/share/datasets/fashion-mnist`); Batchwise's JMH benchmark reuses one synthetic batch of uniform "
      "pixels (dense float arithmetic: the values do not change the work).")
    w("")
    w("## Training-step throughput (samples/s, medians) and ratios")
    w("")
    w("Ratio = Batchwise / peer (2.0 = Batchwise twice as fast). libtorch: its best thread setting for the budget "
      "(next section).")
    for t in sorted({c[0] for c in configs}):
        w("")
        w(f"### {t} thread{'s' if t > 1 else ''} (OMP_NUM_THREADS={t})")
        w("")
        w("| model | batch | Batchwise | libtorch (best setting) | DL4J | Batchwise / libtorch | Batchwise / DL4J |")
        w("|---|---:|---:|---:|---:|---:|---:|")
        for (tt, m, b) in configs:
            if tt != t:
                continue
            kb = ("batchwise", "", m, b, t)
            kd = ("dl4j", "", m, b, t)
            tv, ts = best_torch(t, m, b)
            kt = ("libtorch", ts, m, b, t)
            bw, dl = med.get(kb), med.get(kd)
            cell = lambda v: num(v) if v is not None else "-"
            ratio = lambda a, p: f"{a / p:.3g}" if a is not None and p else "-"
            setting = f" ({ts})" if t > 1 and ts else ""
            w(f"| {'LeNet-5' if m == 'lenet' else 'MLP'} | {b} | {cell(bw)} | {cell(tv)}{setting} | {cell(dl)} | "
              f"{ratio(bw, tv)} | {ratio(bw, dl)}{mark([kb, kd, kt])} |")
    settings = sorted({k[1] for k in med if k[0] == "libtorch" and k[4] > 1})
    if settings:
        w("")
        w("## libtorch thread settings")
        w("")
        w("`torch` = intra-op OpenMP threads (`torch::set_num_threads`, OMP_NUM_THREADS), `BLAS` = OpenBLAS's "
          "pthread pool (OPENBLAS_NUM_THREADS), which libtorch calls for the Linear layers' GEMMs. Two pools of two "
          "threads on two cores oversubscribe them. Medians, samples/s; the best of each row is in bold.")
        for t in sorted({k[4] for k in med if k[0] == "libtorch" and k[4] > 1}):
            w("")
            w(f"Budget {t} threads:")
            w("")
            w("| model | batch | " + " | ".join(settings) + " |")
            w("|---|---:|" + "---:|" * len(settings))
            for (tt, m, b) in configs:
                if tt != t:
                    continue
                tv, ts = best_torch(t, m, b)
                cells = []
                for s in settings:
                    v = med.get(("libtorch", s, m, b, t))
                    cells.append("-" if v is None else (f"**{num(v)}**" if s == ts else num(v)))
                w(f"| {'LeNet-5' if m == 'lenet' else 'MLP'} | {b} | " + " | ".join(cells) + " |")
    w("")
    w("## Every measurement")
    w("")
    w("Per round and tool: median (min .. max) over its timed windows; others = cores other processes used "
      "while it ran; loss = mean softmax cross-entropy over the first steps of training (about 256 samples, "
      "before the warm-up) and over as many steps after the timed windows (the peers train: it must fall; JMH does not report Batchwise's loss).")
    w("")
    w("| round | threads | model | batch | tool | setting | samples/s | min .. max | others | loss before -> after |")
    w("|---:|---:|---|---:|---|---|---:|---|---:|---|")
    for r in sorted(rows, key=lambda r: (int(r.get("round", 1)), r["threads"], ["mlp", "lenet"].index(r["model"]),
                                         r["batch"], list(TOOLS).index(r["tool"]), r["setting"])):
        loss = "-" if r["loss_start"] == "NA" else f"{float(r['loss_start']):.3f} -> {float(r['loss_end']):.3f}"
        flag = " **DISTURBED**" if r["others"] > limit else ""
        w(f"| {r.get('round', 1)} | {r['threads']} | {r['model']} | {r['batch']} | {TOOLS[r['tool']]} | {r['setting']} | "
          f"{num(float(r['samples_s']))} | {num(min(r['windows']))} .. {num(max(r['windows']))} | {r['others']:.2f}{flag} | {loss} |")
    bad = [r for r in rows if r["loss_start"] != "NA" and not float(r["loss_end"]) < float(r["loss_start"])]
    if bad:
        w("")
        w(f"**{len(bad)} peer measurement(s) did not lower the loss**: check those peers before quoting their figures.")
    with open(args.out, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "jmh":
        if len(sys.argv) != 4:
            sys.exit("usage: report.py jmh FILE THREADS")
        jmh(sys.argv[2], int(sys.argv[3]))
        return
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["table"])
    p.add_argument("results")
    p.add_argument("out")
    for a in ["command", "start", "end", "quick", "tree", "cpu", "java", "windows"]:
        p.add_argument("--" + a, default="?")
    p.add_argument("--limit", type=float, default=0.10)
    table(p.parse_args())


if __name__ == "__main__":
    main()
