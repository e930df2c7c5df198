#!/usr/bin/env bash
# The product's main job on the embedded defaults (SQLite under var/, the
# local outbox folder): build the sample issues, load the sample list, send
# the English issue, replay SES-shaped feedback, and print the delivery report. Safe to run again: the
# import changes nothing the second time and the send is repeated on purpose.
set -euo pipefail
cd "$(dirname "$0")/.."
M=.venv/bin/mailer
ISSUE=ai2x-briefing-2026-01-12
LIST=china-ai2x

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Database schema"
$M db upgrade

step "Building the sample issues"
for dir in issues/*/; do
  slug=$(basename "$dir")
  $M check "$slug"
  $M build "$slug" --out "var/build/$slug"
done

step "Lists from lists/*.toml, and the sample subscribers"
$M lists sync
$M subscribers import lists/samples/$LIST.csv --list $LIST
$M lists

step "Sending '$ISSUE' to '$LIST' through the local outbox"
again=""
if $M sends | grep -q "$ISSUE"; then again="--again"; fi
out=$($M send "$ISSUE" --list $LIST $again)
echo "$out"
send_id=$(echo "$out" | sed -n 's/^send #\([0-9][0-9]*\) done.*/\1/p' | tail -n 1)

step "Feedback: replaying SES-shaped events (deliveries, bounces, a complaint) for send #$send_id"
# The outbox has no provider to report back; `events simulate` writes what SES
# would publish, and `events ingest` runs it through the same policy as SQS.
$M events simulate "$send_id" --out "var/demo-feedback-$send_id.jsonl"
$M events ingest "var/demo-feedback-$send_id.jsonl"

step "Delivery report for send #$send_id"
$M report "$send_id"
$M report --list $LIST
$M lists

printf '\nMessages are in %s; the built issues in var/build/.\n' "var/outbox/send-$send_id"
printf 'Open var/build/%s/email.html in a browser, or run `make serve` for the web app.\n' "$ISSUE"
