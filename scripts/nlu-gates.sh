#!/usr/bin/env bash
# Scores the NLU engine on the four evaluations and fails below the CI gates.
# Usage: scripts/nlu-gates.sh [--no-neural]   (datasets are read from ../shared/datasets)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/pipilu-target}"
DATA="${PIPILU_DATASETS:-../shared/datasets}"
cargo build --release -q -p pipilu
BIN="$CARGO_TARGET_DIR/release/pipilu"
OUT="$(mktemp -d)"
"$BIN" nlu "$@" eval --format pipilu --dataset fixtures/nlu --json > "$OUT/pipilu.json"
"$BIN" nlu "$@" eval --format snips-joint --dataset "$DATA/snips-joint" --json > "$OUT/snips.json"
"$BIN" nlu "$@" eval --format clinc150 --dataset "$DATA/clinc150" --json > "$OUT/clinc.json"
"$BIN" nlu "$@" eval --format braun --dataset "$DATA/braun2017" --json > "$OUT/braun.json"
python3 - "$OUT" <<'PY'
import json, sys, os
out = sys.argv[1]
# (file, metric, gate, goal)
checks = [
    ("pipilu", "intent_accuracy", 95.0, 97.0),
    ("pipilu", "slot_f1", 93.0, 95.0),
    ("snips", "intent_accuracy", 97.0, 98.5),
    ("snips", "slot_f1", 92.0, 94.0),
    ("snips", "exact_match", 80.0, 85.0),
    ("clinc", "in_scope_accuracy", 93.0, 95.0),
    ("clinc", "oos_recall", 60.0, 80.0),
    ("braun", "intent_accuracy", 90.0, 95.0),
]
failed = False
print(f"{'dataset':<8} {'metric':<18} {'score':>7} {'gate':>6} {'goal':>6}  layers")
for name, metric, gate, goal in checks:
    r = json.load(open(os.path.join(out, name + ".json")))
    v = r[metric]
    status = "FAIL" if v is None or v < gate else ("goal" if v >= goal else "gate")
    failed |= status == "FAIL"
    print(f"{name:<8} {metric:<18} {v:>7.2f} {gate:>6} {goal:>6}  {'+'.join(r['layers'])}  {status}")
r = json.load(open(os.path.join(out, "pipilu.json")))
if r["oos_as_restart_service"] != 0:
    print(f"FAIL: {r['oos_as_restart_service']} out-of-scope sentences parsed as restart_service")
    failed = True
sys.exit(1 if failed else 0)
PY
