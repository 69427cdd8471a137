#!/usr/bin/env bash
# Exports a commit of this repository to DEST with the checkout's node_modules linked in, and builds
# its CLI, so `bench/startup/run.sh` can compare two commits without anyone's uncommitted work.
# The workspace packages (node_modules/@argus/*) are linked to DEST's own sources: linking the
# checkout's node_modules whole would make the build bundle the checkout's live sources instead.
# Usage: bash bench/startup/export-tree.sh <commit> <dest>   then   (cd <dest> && bash bench/startup/run.sh)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
rev=$1
dest=$2
rm -rf "$dest"
mkdir -p "$dest/node_modules/@argus"
git -C "$ROOT" archive "$rev" | tar -x -C "$dest"
for entry in "$ROOT"/node_modules/* "$ROOT"/node_modules/.bin; do
  name=$(basename "$entry")
  [[ $name == "@argus" ]] || ln -s "$entry" "$dest/node_modules/$name"
done
for entry in "$ROOT"/node_modules/@argus/*; do
  ln -s "$(readlink "$entry")" "$dest/node_modules/@argus/$(basename "$entry")"
done
(cd "$dest" && node scripts/build.mjs cli)
