#!/bin/sh
# `npm test`: the unit and integration tiers (test/unit, test/integration). As root: one vitest run. As a normal
# user: the CLI tests as that user (each verb joins the user's cairn namespace through the `cairn` wrapper),
# then the rest inside that namespace. test/interop, test/stress and test/system have their own scripts.
set -e
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] || [ -n "$CAIRN_USERNS" ]; then exec npx vitest run --project unit --project integration "$@"; fi
npx vitest run --project integration test/integration/cli "$@"
exec bin/cairn unshare npx vitest run --project unit --project integration --exclude 'test/integration/cli/**' "$@"
