#!/bin/sh
# `npm test`: the unit and integration tiers (test/unit, test/integration). As root: one vitest run. As a normal
# user: the CLI tests as that user (each verb joins the user's cairn namespace through the `cairn` wrapper),
# then the rest inside that namespace; a namespace the run started is ended at the end, as if it never was.
# test/interop, test/stress and test/system have their own scripts.
set -e
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] || [ -n "$CAIRN_USERNS" ]; then exec npx vitest run --project unit --project integration "$@"; fi
rundir="${XDG_RUNTIME_DIR:-/tmp}/cairn-$(id -u)"
[ -e "$rundir" ] && had=1 || had=
pause() { cut -d' ' -f1 "$rundir/pause.pid" 2>/dev/null; }
[ -n "$(pause)" ] && kill -0 "$(pause)" 2>/dev/null && running=1 || running=
status=0
npx vitest run --project integration test/integration/cli "$@" || status=$?
bin/cairn unshare npx vitest run --project unit --project integration --exclude 'test/integration/cli/**' "$@" || status=$?
if [ -z "$running" ] && [ -n "$(pause)" ]; then kill "$(pause)" 2>/dev/null || true; fi
if [ -z "$had" ]; then rm -rf "$rundir"; fi
exit $status
