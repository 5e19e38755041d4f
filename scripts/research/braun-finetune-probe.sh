#!/usr/bin/env bash
# Would fine-tuning the encoder reach Braun's 95 % goal? The corpora are tiny
# (30 to 100 training sentences each), where fine-tuning a whole encoder is
# known to be fragile, but cheap to try: this fine-tunes all-MiniLM-L6-v2 end
# to end in PyTorch on each corpus's training sentences (mean pooling, dropout
# 0.1, a linear layer with HEAD_LR_FACTOR times the encoder's learning rate;
# AdamW, weight decay 0.01, 10 % warm-up then linear decay, batch 16, 2
# threads), scores its test split, and prints the pooled accuracy. A research
# probe, not part of the tests or CI; it shares the venv of
# snips-finetune-probe.sh (torch and transformers, about 4.6 GB, under ~/.cache).
# Usage: scripts/research/braun-finetune-probe.sh [LR] [EPOCHS] [SEED] [HEAD_LR_FACTOR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
data=${BRAUN:-$root/../shared/datasets/braun2017}
models=$root/models/all-MiniLM-L6-v2
[ -f "$models/model.safetensors" ] || "$root/scripts/fetch-model.sh"
venv=${XDG_CACHE_HOME:-$HOME/.cache}/pipilu-finetune-venv
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" -q install torch transformers tokenizers safetensors; }
"$venv/bin/python" - "$data" "$models" "${1:-1e-4}" "${2:-10}" "${3:-0}" "${4:-10}" "$root/scripts/research" <<'PY'
import json, random, sys
import torch, torch.nn as nn
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv.pop())
from minilm_classifier import Batcher, Classifier

data, models = sys.argv[1], sys.argv[2]
lr, epochs, seed, head_factor = float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
torch.set_num_threads(2)
encode = Batcher(models)

right = total = 0
for corpus in ("AskUbuntuCorpus", "ChatbotCorpus", "WebApplicationsCorpus"):
    random.seed(seed)
    torch.manual_seed(seed)
    sentences = json.load(open(f"{data}/{corpus}.json"))["sentences"]
    train = [(s["text"], s["intent"]) for s in sentences if s["training"]]
    test = [(s["text"], s["intent"]) for s in sentences if not s["training"]]
    labels = sorted({y for _, y in train})
    index = {l: i for i, l in enumerate(labels)}
    model = Classifier(models, len(labels))
    batch = 16
    steps = (len(train) + batch - 1) // batch
    total_steps, warm = steps * epochs, int(0.1 * steps * epochs)
    opt = torch.optim.AdamW(
        [{"params": model.enc.parameters(), "lr": lr}, {"params": model.head.parameters(), "lr": lr * head_factor}],
        weight_decay=0.01,
    )
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / max(1, warm) if s < warm else max(0.0, (total_steps - s) / max(1, total_steps - warm))
    )
    order = list(range(len(train)))
    for _ in range(epochs):
        model.train()
        random.shuffle(order)
        for b in range(steps):
            chosen = order[b * batch : (b + 1) * batch]
            y = torch.tensor([index[train[i][1]] for i in chosen])
            loss = nn.functional.cross_entropy(model(*encode([train[i][0] for i in chosen])), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    with torch.no_grad():
        preds = model(*encode([t for t, _ in test])).argmax(-1).tolist()
    ok = sum(labels[p] == g for p, (_, g) in zip(preds, test))
    print(f"{corpus}: {ok} of {len(test)}", flush=True)
    right, total = right + ok, total + len(test)
print(f"lr {lr} epochs {epochs} seed {seed} head x{head_factor}: pooled {right} of {total} ({100 * right / total:.2f} %)")
PY
