#!/usr/bin/env bash
# Would fine-tuning the encoder reach SNIPS's 98.5 % intent goal? pipilu's
# neural layer reads frozen MiniLM features; this fine-tunes all-MiniLM-L6-v2
# end to end in PyTorch (mean pooling, dropout 0.1, a linear layer; AdamW,
# weight decay 0.01, 10 % warm-up then linear decay, batch 32, 2 threads) on
# SNIPS train and prints valid and test accuracy after every epoch. A research
# probe for the next step of the engine, not part of the tests or CI. Torch
# and transformers go into a venv under ~/.cache (about 4.6 GB: PyPI's torch
# wheel pulls its CUDA libraries even on a CPU-only machine). An epoch takes
# about two minutes here. After each epoch its probabilities are also mixed
# with those of pipilu's lexical layer (`pipilu nlu --no-neural eval
# --predictions`, trained on train and scored on valid and on test), as the
# engine mixes its layers: a weighted geometric mean, the weight chosen on
# valid.
# Usage: scripts/research/snips-finetune-probe.sh [LR] [EPOCHS] [SEED]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
data=${SNIPS:-$root/../shared/datasets/snips-joint}
models=$root/models/all-MiniLM-L6-v2
[ -f "$models/model.safetensors" ] || "$root/scripts/fetch-model.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/pipilu-target}
cargo build -q --release -p pipilu
# The lexical layer's probabilities on valid: a copy of the corpus whose test split is valid.
mkdir "$work/valid-as-test"
ln -s "$data/train" "$data/valid" "$work/valid-as-test/"
ln -s "$data/valid" "$work/valid-as-test/test"
for split in valid test; do
  dir=$data
  [ "$split" = valid ] && dir=$work/valid-as-test
  "$CARGO_TARGET_DIR/release/pipilu" nlu --no-neural eval --format snips-joint --dataset "$dir" \
    --json --predictions "$work/lexical-$split.jsonl" > /dev/null
done
venv=${XDG_CACHE_HOME:-$HOME/.cache}/pipilu-finetune-venv
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" -q install torch transformers tokenizers safetensors; }
"$venv/bin/python" - "$data" "$models" "${1:-1e-4}" "${2:-3}" "${3:-0}" "$work" "$root/scripts/research" <<'PY'
import json, math, random, sys, time
import torch, torch.nn as nn
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv.pop())
from minilm_classifier import Batcher, Classifier


data, models, lr, epochs, seed = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
work = sys.argv[6]
torch.set_num_threads(2)
random.seed(seed)
torch.manual_seed(seed)

def load(split):
    xs = [l.strip() for l in open(f"{data}/{split}/seq.in")]
    ys = [l.strip() for l in open(f"{data}/{split}/label")]
    return xs, ys

train, valid, test = load("train"), load("valid"), load("test")
labels = sorted(set(train[1]))
index = {l: i for i, l in enumerate(labels)}
encode = Batcher(models)

model = Classifier(models, len(labels))

@torch.no_grad()
def probabilities(xs):
    model.eval()
    out = []
    for i in range(0, len(xs), 128):
        out += torch.softmax(model(*encode(xs[i : i + 128])), -1).tolist()
    return out

def accuracy(probs, xs, ys):
    preds = [max(range(len(labels)), key=p.__getitem__) for p in probs]
    wrong = [(g, labels[p], x) for x, g, p in zip(xs, ys, preds) if labels[p] != g]
    return 100 * (1 - len(wrong) / len(ys)), wrong

lexical = {s: [json.loads(l) for l in open(f"{work}/lexical-{s}.jsonl")] for s in ("valid", "test")}
weights = [w / 10 for w in range(11)]

def mixed(split, probs, ys):
    """Accuracy of the geometric mix at each weight of the fine-tuned model."""
    rows = list(zip(lexical[split], probs, ys))
    assert all(r["gold"] == g for r, _, g in rows)
    def score(w):
        right = 0
        for r, p, g in rows:
            s = [(1 - w) * math.log(max(r["probabilities"][l], 1e-9)) + w * math.log(max(p[k], 1e-9))
                 for k, l in enumerate(labels)]
            right += labels[max(range(len(labels)), key=s.__getitem__)] == g
        return 100 * right / len(rows)
    return [score(w) for w in weights]

batch = 32
steps = (len(train[0]) + batch - 1) // batch
total, warm = steps * epochs, int(0.1 * steps * epochs)
opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
sched = torch.optim.lr_scheduler.LambdaLR(
    opt, lambda s: s / max(1, warm) if s < warm else max(0.0, (total - s) / max(1, total - warm))
)
order = list(range(len(train[0])))
for epoch in range(1, epochs + 1):
    model.train()
    random.shuffle(order)
    start = time.time()
    for b in range(steps):
        chosen = order[b * batch : (b + 1) * batch]
        y = torch.tensor([index[train[1][i]] for i in chosen])
        loss = nn.functional.cross_entropy(model(*encode([train[0][i] for i in chosen])), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    secs = time.time() - start
    pv, pt = probabilities(valid[0]), probabilities(test[0])
    v, _ = accuracy(pv, *valid)
    t, wrong = accuracy(pt, *test)
    print(f"lr {lr} seed {seed} epoch {epoch}: {secs:.0f} s, valid {v:.2f}, test {t:.2f}", flush=True)
    mv, mt = mixed("valid", pv, valid[1]), mixed("test", pt, test[1])
    best = max(range(len(weights)), key=lambda i: (mv[i], -abs(weights[i] - 0.5)))
    grid = " ".join(f"{w}:{a:.2f}/{b:.2f}" for w, a, b in zip(weights, mv, mt))
    print(f"  mixed with the lexical layer, weight:valid/test {grid}", flush=True)
    print(f"  weight chosen on valid {weights[best]}: valid {mv[best]:.2f}, test {mt[best]:.2f}", flush=True)
for g, p, x in wrong:
    print(f"  {g} -> {p}: {x}")
PY
