#!/usr/bin/env bash
# The product's main job on the embedded defaults (SQLite, local outbox).
set -euo pipefail
cd "$(dirname "$0")/.."
M=.venv/bin/mailer
$M db upgrade
