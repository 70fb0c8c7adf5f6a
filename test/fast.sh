#!/bin/sh
# The fast suite. As root: one vitest run. As a normal user: the CLI tests as that user (each verb joins the
# user's cairn namespace through the `cairn` wrapper), then the in-process tests inside that namespace.
set -e
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] || [ -n "$CAIRN_USERNS" ]; then exec npx vitest run test/fast "$@"; fi
npx vitest run test/fast/cli "$@"
exec bin/cairn unshare npx vitest run test/fast --exclude 'test/fast/cli/**' "$@"
