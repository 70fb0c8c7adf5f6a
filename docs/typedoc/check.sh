#!/bin/sh
# npm run docs:api:check: regenerates the API reference into a temporary directory and fails, with one line,
# when docs/api differs from it (a TSDoc comment of dsl/index.ts's exports changed without `npm run docs:api`).
set -eu
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
docs/typedoc/node_modules/.bin/typedoc --logLevel Error --out "$out"
if ! diff -r docs/api "$out" >/dev/null 2>&1; then
  echo "docs/api is stale: run npm run docs:api" >&2
  exit 1
fi
