#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs the Debian packages the tests drive
# (tmux for the real binary in a real terminal, procps for pgrep, prometheus for promtool's
# golden values), then runs every test target. README.md and .ci/run both call this.
# kubectl (1.27 or newer) comes with the machine image; Debian's is too old to use.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v pgrep >/dev/null 2>&1 || need+=(procps)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing missing Debian packages: ${need[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "need root or sudo to install: ${need[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
  # The tests start their own Prometheus on loopback; the package's service (which would
  # listen on every address) must not run.
  if [[ " ${need[*]} " == *" prometheus "* ]]; then
    $sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
    $sudo service prometheus stop >/dev/null 2>&1 || true
  fi
fi

# CI builds from a fresh clone once: incremental compilation only costs it time.
if [ -n "${CI:-}" ]; then
  export CARGO_INCREMENTAL=0
fi

# Every crate of the workspace. Benches run once each in test mode too, so a broken
# benchmark fails here. Every target runs even after one fails, so a run reports every
# failure, not only the first.
cargo test --workspace --all-targets --no-fail-fast "$@"
