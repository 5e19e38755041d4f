#!/usr/bin/env bash
# How far can re-weighting the two intent layers go? Trains and scores a
# corpus with `pipilu nlu eval --predictions`, whose rows carry each layer's
# probabilities before the mix, then replays the mix on the test split at
# every neural weight (0 to 1 by tenths) and every lexical skip level, and
# prints the accuracy of each: the ceiling of tuning the mix, chosen on test
# itself, so an upper bound and not a score. For corpora without out-of-scope
# test sentences (snips-joint, braun), where accuracy needs no threshold.
# A research probe, not part of the tests or CI.
# Usage: scripts/research/mix-ceiling.sh FORMAT DATASET
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
format=${1:?format: snips-joint or braun}
dataset=${2:?dataset path}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/pipilu-target}
(cd "$root" && cargo build -q --release -p pipilu)
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
"$CARGO_TARGET_DIR/release/pipilu" nlu --models "$root/models" eval --format "$format" --dataset "$dataset" \
  --json --predictions "$rows" | python3 -c 'import json, sys; r = json.load(sys.stdin); print("as trained: %.2f %% of %d" % (r["intent_accuracy"], r["sentences"]))'
python3 - "$rows" <<'PY'
import json, math, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
if any(r["layers"]["neural"] is None for r in rows):
    sys.exit("no neural layer: fetch the model with scripts/fetch-model.sh")
if any(r["layers"]["knn"] is not None for r in rows):
    print("note: a nearest-neighbour vote was trained; the replay leaves it out")
weights = sorted({round(r["layers"]["neural_weight"], 3) for r in rows})
sure = sorted({round(r["layers"]["lexical_sure"], 3) for r in rows})
print(f"trained neural weight {weights}, skip at lexical confidence {sure}")

def decided(r, w, skip):
    lex, neu = r["layers"]["lexical"], r["layers"]["neural"]
    if max(lex.values()) >= skip:
        return max(lex, key=lex.get)
    return max(lex, key=lambda k: (1 - w) * math.log(max(lex[k], 1e-9)) + w * math.log(max(neu[k], 1e-9)))

grid = [w / 10 for w in range(11)]
best = (0, None)
print("skip   " + " ".join(f"{w:>5}" for w in grid))
for skip in (0.9, 0.95, 0.98, 0.99, 0.999, 1.01):
    right = [sum(decided(r, w, skip) == r["gold"] for r in rows) for w in grid]
    best = max(best, (max(right), skip))
    print(f"{skip:<6} " + " ".join(f"{n:>5}" for n in right))
print(f"best on test: {best[0]} of {len(rows)} ({100 * best[0] / len(rows):.2f} %)")
PY
