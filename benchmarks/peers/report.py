#!/usr/bin/env python3
"""Helpers for benchmarks/peers.sh (standard library only).

  report.py jmh FILE THREADS      one JMH JSON result (TrainingStepBenchmark, one configuration) as a RESULT line
  report.py table RESULTS OUT ... the Markdown table of medians and ratios from the RESULT lines of one run
  report.py batchwise-run DIR THREADS TARGET   a `batchwise train --out DIR` run as a time-to-accuracy RESULT line
  report.py tta RESULTS OUT ...   the "Time to accuracy" section of OUT from the time-to-accuracy RESULT lines
                                  (replaces that section, keeps the rest of OUT; `table` keeps it likewise)

A RESULT line is `RESULT key=value ...` with at least tool, model, batch, threads, samples_s and
windows_samples_s (samples/s of every timed window); peers.sh adds round= and others= (cores other
processes used during the measurement).
"""
import argparse
import csv
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
    kept = tta_section(args.out, keep=True)  # the time-to-accuracy section stays
    with open(args.out, "w") as f:
        f.write("\n".join(out) + "\n" + kept)


# --- Time to accuracy (peers.sh --time-to-accuracy)

TTA_HEADING = "## Time to accuracy"


def tta_section(path, keep):
    """The "Time to accuracy" section of the file at path (from its heading to the end), or ""."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return ""
    i = text.find("\n" + TTA_HEADING + "\n")
    if keep:
        return "" if i < 0 else text[i:]
    return text if i < 0 else text[:i]


def batchwise_run(out_dir, threads, target):
    """The RESULT line of `batchwise train --out out_dir`: its epochs.csv (test accuracy and elapsed_sec per epoch)."""
    with open(f"{out_dir}/epochs.csv") as f:
        rows = list(csv.DictReader(f))
    with open(f"{out_dir}/summary.json") as f:
        summary = json.load(f)
    if not rows:
        sys.exit(f"{out_dir}/epochs.csv: no epochs")
    acc = [float(r["test_accuracy"]) for r in rows]
    secs = [float(r["elapsed_sec"]) for r in rows]
    hit = next((i for i, a in enumerate(acc) if a >= target), None)
    print(" ".join([
        "RESULT tool=batchwise", f"model={summary['model']}", f"threads={threads}",
        f"batch={summary['effective_batch']}", f"epochs={len(rows)}", f"target={target:.4f}",
        "accuracy=" + ",".join(f"{a:.4f}" for a in acc), "elapsed_s=" + ",".join(f"{t:.2f}" for t in secs),
        f"time_to_target_s={'NA' if hit is None else f'{secs[hit]:.2f}'}",
        f"reached_epoch={'NA' if hit is None else hit + 1}", f"best_accuracy={max(acc):.4f}", f"total_s={secs[-1]:.2f}",
        "timer=train+eval+checkpoints,excluding_data_loading_and_planning"]))


def tta_parse(path):
    rows = []
    with open(path) as f:
        for line in f:
            if not line.startswith("RESULT "):
                continue
            kv = dict(p.split("=", 1) for p in line.split()[1:])
            kv["threads"] = int(kv["threads"])
            kv["acc"] = [float(a) for a in kv["accuracy"].split(",")]
            kv["secs"] = [float(t) for t in kv["elapsed_s"].split(",")]
            kv["ttt"] = None if kv["time_to_target_s"] == "NA" else float(kv["time_to_target_s"])
            kv["others"] = float(kv.get("others", "0"))
            kv["setting"] = (f"torch {kv['torch_threads']} / BLAS {kv['blas_threads']}" if kv["tool"] == "libtorch"
                             else f"{kv['threads']} thread{'s' if kv['threads'] > 1 else ''}")
            rows.append(kv)
    return rows


def tta(args):
    rows = tta_parse(args.results)
    if not rows:
        sys.exit(f"{args.results}: no RESULT lines")
    limit = args.limit
    models = [m for m in ["lenet", "mlp"] if any(r["model"] == m for r in rows)]
    name = lambda m: "LeNet-5" if m == "lenet" else "MLP"
    # One configuration = tool, model, thread budget and (libtorch) pool sizes; over rounds: the median time to
    # target when every round reached it, else not reached.
    configs = defaultdict(list)
    for r in rows:
        configs[(r["tool"], r["model"], r["threads"], r["setting"])].append(r)

    def summary(runs):
        times = [r["ttt"] for r in runs]
        return {"time": statistics.median(times) if None not in times else None,
                "epoch": statistics.median(int(r["reached_epoch"]) for r in runs) if None not in times else None,
                "best": max(float(r["best_accuracy"]) for r in runs), "total": statistics.median(r["secs"][-1] for r in runs),
                "disturbed": any(r["others"] > limit for r in runs), "target": float(runs[0]["target"])}

    sums = {k: summary(v) for k, v in configs.items()}

    def best(tool, model):
        cands = [(v["time"], k) for k, v in sums.items() if k[0] == tool and k[1] == model and v["time"] is not None]
        if cands:
            return min(cands)[1]
        rest = [(v["best"], k) for k, v in sums.items() if k[0] == tool and k[1] == model]
        return max(rest)[1] if rest else None

    def cell(k):
        if k is None:
            return "-"
        v = sums[k]
        where = f"{k[3]}" + (f", epoch {v['epoch']:g}" if v["time"] is not None else "")
        text = (f"{v['time']:.1f} s ({where})" if v["time"] is not None
                else f"not reached (best {v['best']:.4f}; {v['total']:.1f} s, {where})")
        return text + (" **DISTURBED**" if v["disturbed"] else "")

    def ratio(kb, kp):
        if kb is None or kp is None:
            return "-"
        b, p = sums[kb]["time"], sums[kp]["time"]
        if b is None:
            return "-"
        return f"{p / b:.3g}" if p is not None else f"> {sums[kp]['total'] / b:.3g}"

    out = []
    w = out.append
    w("")
    w(TTA_HEADING)
    w("")
    w("Written by `benchmarks/peers.sh --time-to-accuracy`; do not edit by hand: run the script again.")
    w("")
    if args.quick == "1":
        w("**Quick run** (`--quick`: one epoch on a subset, a low target): a smoke test of the comparison, not figures "
          "to quote.")
        w("")
    if any(v["disturbed"] for v in sums.values()):
        w(f"**DISTURBED: other processes used more than {limit} of a core during some runs (marked below); these "
          "figures are not valid.** Run `benchmarks/peers.sh --time-to-accuracy --wait` on an idle machine.")
        w("")
    w("Batchwise's main job, `batchwise train --model M --epochs 5` with its defaults, and the same job in libtorch's "
      "and Deeplearning4j's own training loops: seconds from the first training step until the first test-set "
      "evaluation (after an epoch) that reaches the target accuracy. Each tool at its best thread setting on this "
      "machine (every setting tried is listed below).")
    w("")
    w("| | |")
    w("|---|---|")
    w(f"| command | `{args.command}` |")
    w(f"| when | {args.start} to {args.end} |")
    w(f"| CPU | {args.cpu} |")
    w(f"| Java | `{args.java}` |")
    for tool, text in VERSIONS:
        if tool == "Batchwise":
            text = "this tree (`{tree}`), oneDNN 3.11 via `org.bytedeco:dnnl:3.11-1.5.13`, `batchwise train`"
        w(f"| {tool} | {text.format(tree=args.tree)} |")
    w(f"| job | {args.job} |")
    w("| runs | Batchwise: `OMP_NUM_THREADS=T java ... io.batchwise.cli.Main train --model M --epochs E --out DIR` "
      "(what `./batchwise train` runs, without the launcher's build check); its times from `DIR/epochs.csv`. "
      "libtorch: `OMP_NUM_THREADS=t OPENBLAS_NUM_THREADS=b java -cp peer-pytorch.jar "
      "io.batchwise.peers.pytorch.TorchTimeToAccuracy model=M threads=T torch_threads=t blas_threads=b ...`. "
      "DL4J: `OMP_NUM_THREADS=T java -cp peer-dl4j.jar io.batchwise.peers.dl4j.Dl4jTimeToAccuracy model=M threads=T ...`. "
      f"Each run a fresh JVM, {args.windows}. |")
    w("| timer | from just before the first training step to the end of each epoch's test-set evaluation: training "
      "(shuffling and gathering batches included) and evaluation, for all three; not JVM start, reading and "
      "standardizing the data, building the model, or (Batchwise) planning. Batchwise's `elapsed_sec` also covers "
      "writing `metrics.csv` per step, the progress bar and the checkpoint saved after each epoch (so from epoch 2 "
      "on). *process* = the whole command, JVM start and data loading included. |")
    w(f"| other load | largest share of a core that other processes took during any one run: "
      f"{max(r['others'] for r in rows):.2f} (limit {limit}) |")
    w("")
    w("Time to target, each tool's best thread setting (ratio = peer's time / Batchwise's: 2.0 = Batchwise reaches the "
      "target twice as fast; `>` = the peer did not reach it, so its whole run's time is a lower bound):")
    w("")
    w("| model | target | Batchwise | libtorch | DL4J | libtorch / Batchwise | DL4J / Batchwise |")
    w("|---|---:|---|---|---|---:|---:|")
    for m in models:
        kb, kt, kd = best("batchwise", m), best("libtorch", m), best("dl4j", m)
        target = sums[kb or kt or kd]["target"]
        w(f"| {name(m)} | {target:.2f} | {cell(kb)} | {cell(kt)} | {cell(kd)} | {ratio(kb, kt)} | {ratio(kb, kd)} |")
    w("")
    w("Every run: test accuracy and elapsed seconds (timer) after each epoch; *process* = the command's wall time; "
      "others = cores other processes used meanwhile.")
    w("")
    w("| round | model | tool | setting | test accuracy per epoch | elapsed s per epoch | time to target | process s | others |")
    w("|---:|---|---|---|---|---|---:|---:|---:|")
    order = list(TOOLS)
    for r in sorted(rows, key=lambda r: (int(r.get("round", 1)), models.index(r["model"]), order.index(r["tool"]),
                                         r["threads"], r["setting"])):
        ttt = f"{r['ttt']:.1f} s (epoch {r['reached_epoch']})" if r["ttt"] is not None else "not reached"
        flag = " **DISTURBED**" if r["others"] > limit else ""
        w(f"| {r.get('round', 1)} | {name(r['model'])} | {TOOLS[r['tool']]} | {r['setting']} | "
          f"{' '.join(f'{a:.4f}' for a in r['acc'])} | {' '.join(f'{t:.1f}' for t in r['secs'])} | {ttt} | "
          f"{float(r.get('wall_s', 'nan')):.1f} | {r['others']:.2f}{flag} |")
    w("")
    w("What differs between the three jobs (everything else is the same: model, Glorot-uniform weights and zero "
      "biases, softmax cross-entropy as the mean over the batch, batch 32, AdamW lr 0.004 with decoupled weight decay "
      "0.1 on all parameters, betas 0.9/0.999, eps 1e-8, linear warm-up over the first 5% of the steps then cosine to 0 "
      "set per step, seed 1, a new shuffle every epoch, pixels `(x/255 - 0.2860) / 0.3530`, float32, the test set "
      "after every epoch):")
    w("")
    for line in DIFFERENCES:
        w(f"- {line}")
    text = tta_section(args.out, keep=False)
    if text and not text.endswith("\n"):
        text += "\n"
    if not text:
        text = "# Batchwise side by side with Deeplearning4j and libtorch\n"
    with open(args.out, "w") as f:
        f.write(text.rstrip("\n") + "\n" + "\n".join(out) + "\n")


DIFFERENCES = [
    "**Optimizer.** Batchwise: its AdamW (`w *= 1 - lr wd`, then Adam). libtorch: `torch::optim::AdamW`, the same "
    "rule. DL4J 1.0.0-M2.1 has no AdamW updater: `Adam` plus its `WeightDecay(0.1, applyLR=true)` regularization on "
    "weights and biases, which DL4J applies after the updater (`update = adam(g) + lr wd w`): decoupled weight decay, "
    "the same update written DL4J's way, through DL4J's own Adam kernel.",
    "**Random streams.** Each tool draws its initial weights and its shuffles from its own generator seeded with 1 "
    "(Batchwise's SplittableRandom Fisher-Yates, libtorch's `randperm`, the DL4J peer's SplittableRandom "
    "Fisher-Yates and DL4J's weight initializer), so weights and batch orders differ and the accuracy after a given "
    "epoch differs by seed-to-seed noise. With the target close to the final accuracy (LeNet-5 0.90 after 5 epochs) "
    "a tool can reach it an epoch earlier or later, or not at all, on the luck of the seed: read the epoch with the time.",
    "**Evaluation.** Batchwise evaluates in its planned micro-batch (32) and also computes the test loss; libtorch "
    "evaluates under `NoGradGuard` in batches of 1,000 (argmax only); DL4J runs `net.evaluate(iterator)` in batches "
    "of 1,000 (its `Evaluation`, which also fills a confusion matrix). Larger evaluation batches favour the peers.",
    "**Batches.** Batchwise gathers each batch from its in-memory data set; libtorch `index_select`s the batch from "
    "one training tensor; DL4J's iterator `pullRows` it from one array (synchronously: no `AsyncDataSetIterator` "
    "prefetch thread, so all three stay within the thread budget). nd4j's periodic `System.gc()` is off and its "
    "workspaces on, as in the step benchmark.",
    "**Bookkeeping.** Batchwise's timed run also writes a `metrics.csv` row per step, draws the progress bar and saves "
    "a checkpoint after every epoch; the peers only print a line per epoch.",
]


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "jmh":
        if len(sys.argv) != 4:
            sys.exit("usage: report.py jmh FILE THREADS")
        jmh(sys.argv[2], int(sys.argv[3]))
        return
    if len(sys.argv) >= 2 and sys.argv[1] == "batchwise-run":
        if len(sys.argv) != 5:
            sys.exit("usage: report.py batchwise-run DIR THREADS TARGET")
        batchwise_run(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
        return
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["table", "tta"])
    p.add_argument("results")
    p.add_argument("out")
    for a in ["command", "start", "end", "quick", "tree", "cpu", "java", "windows", "job"]:
        p.add_argument("--" + a, default="?")
    p.add_argument("--limit", type=float, default=0.10)
    args = p.parse_args()
    (table if args.mode == "table" else tta)(args)


if __name__ == "__main__":
    main()
