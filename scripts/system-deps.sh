#!/usr/bin/env bash
# Install the Debian packages the tests and benchmarks use, when we can:
# chromium (browser tests), postfix (smtp-sink for the SMTP benchmark), wrk
# (HTTP load for the web benchmark).
set -u
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v smtp-sink >/dev/null 2>&1 || [ -x /usr/sbin/smtp-sink ] || need+=(postfix)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing ${need[*]} from Debian packages…"
  apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 \
    || echo "warning: apt-get install ${need[*]} failed; browser/SMTP-sink tests will skip" >&2
else
  echo "note: not root; install by hand for full coverage: sudo apt-get install ${need[*]}" >&2
fi
exit 0
