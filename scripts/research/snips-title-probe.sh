#!/usr/bin/env bash
# Does the frozen MiniLM encoder know a film title from a book, song or show
# title? SNIPS's remaining intent errors are SearchScreeningEvent (films) read
# as SearchCreativeWork on bare titles ("find heat wave"). This embeds the gold
# movie_name / object_name spans of SNIPS train, valid and test, fits a
# logistic regression (scikit-learn, in a venv under ~/.cache) on train and
# prints its accuracy on valid and test, and its film probability for the
# titles of the test sentences pipilu gets wrong. A research probe: not part of
# the tests or CI.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
data=${SNIPS:-$root/../shared/datasets/snips-joint}
models=$root/models/all-MiniLM-L6-v2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
venv=${XDG_CACHE_HOME:-$HOME/.cache}/pipilu-research-venv
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" -q install numpy scikit-learn; }
cargo build -q --release -p pipilu-nlu --example dump_features
bin=${CARGO_TARGET_DIR:-$root/target}/release/examples/dump_features
"$venv/bin/python" - "$data" "$work" <<'PY'
import json, sys
data, work = sys.argv[1:]
for split in ["train", "valid", "test"]:
    rows = []
    words = open(f"{data}/{split}/seq.in").read().split("\n")
    tags = open(f"{data}/{split}/seq.out").read().split("\n")
    for w, t in zip(words, tags):
        cur = None
        for word, tag in zip(w.split(), t.split()):
            if tag.startswith("B-"):
                if cur: rows.append(cur)
                cur = [tag[2:], [word]]
            elif tag.startswith("I-") and cur:
                cur[1].append(word)
            elif cur:
                rows.append(cur); cur = None
        if cur: rows.append(cur)
    rows = [(n, " ".join(x)) for n, x in rows if n in ("movie_name", "object_name")]
    json.dump(rows, open(f"{work}/{split}.json", "w"))
    open(f"{work}/{split}.txt", "w").write("".join(t + "\n" for _, t in rows))
PY
for split in train valid test; do "$bin" "$models" "$work/$split.f32" < "$work/$split.txt"; done
"$venv/bin/python" - "$work" <<'PY'
import json, sys
import numpy as np
from sklearn.linear_model import LogisticRegression
work = sys.argv[1]
def load(split):
    rows = json.load(open(f"{work}/{split}.json"))
    x = np.fromfile(f"{work}/{split}.f32", dtype="<f4").reshape(len(rows), -1)
    return rows, x, np.array([n == "movie_name" for n, _ in rows])
(_, xt, yt), (_, xv, yv), (rs, xs, ys) = load("train"), load("valid"), load("test")
for name, cols in [("last layer", slice(0, 384)), ("all six layers", slice(None))]:
    for c in [0.3, 1.0, 3.0]:
        clf = LogisticRegression(C=c, max_iter=3000).fit(xt[:, cols], yt)
        print(f"{name:15} C={c:<4} film-or-not accuracy: valid {clf.score(xv[:, cols], yv):.3f}, test {clf.score(xs[:, cols], ys):.3f}")
missed = {"on dress parade", "king of hearts", "now and forever", "heat wave", "mother joan of the angels",
          "the trouble with girls", "take this waltz", "apocalypse 2024", "the panic in needle park", "a slice of life"}
clf = LogisticRegression(C=1.0, max_iter=3000).fit(xt, yt)
print("film probability of the titles in SearchScreeningEvent test sentences read as SearchCreativeWork:")
for (n, t), p in zip(rs, clf.predict_proba(xs)[:, 1]):
    if t in missed and n == "movie_name":
        print(f"  {p:.2f}  {t}")
PY
