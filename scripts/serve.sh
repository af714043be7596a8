#!/usr/bin/env bash
# Serve what the main job stored (run `bash scripts/demo.sh` first): make an analyst token named
# after the user (printed once; kept only as a hash) unless one exists, then `varta serve` the data
# directory at http://127.0.0.1:8080/ (the dashboard; the API under /api/v1, TAXII under /taxii2/)
# until Ctrl-C. Data from $VARTA_DATA_DIR, else ./varta-data; address from $VARTA_LISTEN.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p varta-cli
varta=target/debug/varta
export VARTA_DATA_DIR="${VARTA_DATA_DIR:-varta-data}"
name="${USER:-analyst}"
name="${name//[^A-Za-z0-9_.@-]/_}"
if ! "$varta" token list --json | grep -q "\"name\":\"$name\""; then
  echo "== varta token add $name --role analyst   (log in to the dashboard with it; it is shown only now)"
  "$varta" token add "$name" --role analyst
fi
echo "== varta serve --listen ${VARTA_LISTEN:-127.0.0.1:8080}   (Ctrl-C stops it; requests in flight finish first)"
exec "$varta" serve --listen "${VARTA_LISTEN:-127.0.0.1:8080}"
