#!/usr/bin/env bash
# Fuzz a live OpenAPI 3.1 document with Schemathesis.
#
# Pinned: schemathesis==4.32.5 (the caller installs it, e.g.
#   python3 -m venv /tmp/st-venv && /tmp/st-venv/bin/pip install schemathesis==4.32.5
# and puts /tmp/st-venv/bin on PATH or sets SCHEMATHESIS=/tmp/st-venv/bin/schemathesis).
#
# Usage: bash schemathesis.sh URL_OF_OPENAPI_JSON TOKEN [extra schemathesis args...]
#   e.g. bash schemathesis.sh http://127.0.0.1:8080/api/v1/openapi.json "$TOKEN"
#
# OpenAPI 3.1 is supported natively in 4.x (no --experimental flag). The base URL
# is taken from the document's `servers` (resolved against the document URL;
# without `servers`, the document's origin is used); pass `--url BASE` to override.
#
# Runs every check but positive_data_acceptance (the API's cursors are opaque: a string the
# server did not give out is refused with 400, though any string fits the schema): not_a_server_error, status_code_conformance,
# content_type_conformance, response_headers_conformance,
# response_schema_conformance, negative_data_rejection, positive_data_acceptance,
# missing_required_header, unsupported_method, allow_header_conformance,
# ignored_auth (+ use_after_free, ensure_resource_availability and
# object_level_authorization, which need the stateful phase / several identities
# and so do nothing here).
# Phases: examples, coverage, fuzzing (stateful is left out: it needs OpenAPI links).
# Exit code: 0 = no failures, 1 = failures found, 2 = error (schema could not be
# loaded, bad config, nothing tested), 130 = interrupted; 124 = timed out (ST_TIMEOUT).
#
# A wrong TOKEN makes every call 401: Schemathesis only WARNS about that
# (missing_auth) and would exit 0, so a temporary schemathesis.toml turns the
# missing_auth and base_url_mismatch warnings into failures.
#
# Tunables (env): ST_MAX_EXAMPLES (default 50 per operation and phase),
# ST_SEED (default 1729), ST_TIMEOUT (default 600 s), ST_WORKERS (default 1),
# ST_REPORT_DIR (if set, writes a JUnit report there).
set -euo pipefail

if [ "$#" -lt 2 ]; then
  echo "usage: bash $0 URL_OF_OPENAPI_JSON TOKEN [extra schemathesis args...]" >&2
  exit 2
fi
SCHEMA_URL=$1
TOKEN=$2
shift 2

if [ -n "${SCHEMATHESIS:-}" ]; then
  read -r -a ST <<<"$SCHEMATHESIS"
elif command -v schemathesis >/dev/null 2>&1; then
  ST=(schemathesis)
else
  # The package has no top-level __main__; the CLI module does.
  ST=(python3 -m schemathesis.cli)
fi

REPORT_ARGS=()
if [ -n "${ST_REPORT_DIR:-}" ]; then
  REPORT_ARGS=(--report junit --report-dir "$ST_REPORT_DIR")
fi

TIMEOUT=()
if command -v timeout >/dev/null 2>&1; then
  TIMEOUT=(timeout "${ST_TIMEOUT:-600}")
fi

CONFIG=$(mktemp "${TMPDIR:-/tmp}/varta-st-XXXXXX.toml")
trap 'rm -f "$CONFIG"' EXIT
cat >"$CONFIG" <<'TOML'
[warnings]
fail-on = ["missing_auth", "base_url_mismatch"]
TOML

set +e
"${TIMEOUT[@]}" "${ST[@]}" --config-file "$CONFIG" run "$SCHEMA_URL" \
  --header "Authorization: Bearer ${TOKEN}" \
  --checks all --exclude-checks positive_data_acceptance \
  --phases examples,coverage,fuzzing \
  --max-examples "${ST_MAX_EXAMPLES:-50}" \
  --seed "${ST_SEED:-1729}" \
  --workers "${ST_WORKERS:-1}" \
  --request-timeout 10 \
  --generation-database none \
  --no-color \
  "${REPORT_ARGS[@]}" \
  "$@"
rc=$?
exit "$rc"
