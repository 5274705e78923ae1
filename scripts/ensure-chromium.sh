#!/usr/bin/env bash
# Make sure Debian's Chromium is at /usr/bin/chromium for the browser tests (driven by
# Playwright through executable_path: Playwright's own browser download does not work
# here). Installs it with apt-get when it is missing (as root); fails, never skips.
set -euo pipefail

say() { echo "make test: $*"; }
die() { echo "make test: $*" >&2; exit 1; }

[ -x /usr/bin/chromium ] && exit 0
[ "$(id -u)" = 0 ] || die "/usr/bin/chromium is missing and only root can install it; \
run apt-get install chromium, then make test"
say "installing chromium with apt-get (the web UI tests run in it)"
log=$(mktemp)
apt-get -o DPkg::Lock::Timeout=300 update -qq >"$log" 2>&1 \
    || { cat "$log" >&2; die "apt-get update failed"; }
apt-get -o DPkg::Lock::Timeout=300 install -y -qq chromium >"$log" 2>&1 \
    || { cat "$log" >&2; die "apt-get install chromium failed; install it and rerun"; }
rm -f "$log"
[ -x /usr/bin/chromium ] || die "chromium installed but /usr/bin/chromium is missing"
