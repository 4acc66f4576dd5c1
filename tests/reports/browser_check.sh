#!/usr/bin/env bash
# Browser test of the HTML reports (single run and comparison): headless Chromium loads generated reports with the
# network cut off and dumps the DOM after the page scripts ran; the check reads the marks the page script leaves
# (reports/html_report.h, reports/comparison_report.h):
# data-rendered on each chart canvas, data-report-ready on <body>, and the #js-errors element, hidden unless a
# script error occurred.
#   browser_check.sh SAMPLE_BINARY CHROMIUM WORK_DIR
set -euo pipefail

if [[ $# -ne 3 ]]; then
  echo "usage: $0 SAMPLE_BINARY CHROMIUM WORK_DIR" >&2
  exit 2
fi
sample=$1
chromium=$2
work=$3
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)  # file:// URLs need an absolute path
# Chromium profiles live outside WORK: Chromium's helper processes may still write into a profile for a moment after
# the browser exits, so removing it must neither fail the check nor race with the next run's `rm -rf "$work"`.
profiles=$(mktemp -d "${TMPDIR:-/tmp}/kvsim-browser-check.XXXXXX")
trap 'rm -rf "$profiles" 2>/dev/null || true' EXIT

failures=0
fail() {
  echo "FAIL [$1]: $2" >&2
  failures=$((failures + 1))
}

# occurrences REGEX FILE: how many times REGEX matches in FILE (0 is not an error).
occurrences() { grep -Eo -- "$1" "$2" | wc -l || true; }

# check VARIANT EXPECTED_DRAWN EXPECTED_EMPTY [EXPECTED_PANELS]: panels are the small multiples' own charts
check() {
  local variant=$1 want_drawn=$2 want_empty=$3 want_panels=${4:-0}
  local html="$work/$variant.html" dom="$work/$variant.dom.html" log="$work/$variant.chromium.log"
  "$sample" "--$variant" "$html"
  # --host-resolver-rules makes any network access fail, so the page must work offline.
  if ! timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
      --user-data-dir="$profiles/$variant" --host-resolver-rules="MAP * ~NOTFOUND" \
      --window-size=1280,2000 --virtual-time-budget=10000 --dump-dom "file://$html" >"$dom" 2>"$log"; then
    fail "$variant" "chromium failed; see $log"
    return
  fi
  grep -q 'data-report-ready="true"' "$dom" || fail "$variant" "page script did not finish (no data-report-ready)"
  if grep -q 'data-js-errors=' "$dom" || ! grep -q '<div id="js-errors" class="js-errors" hidden=' "$dom"; then
    fail "$variant" "JavaScript error: $(grep -o '<div id="js-errors"[^<]*' "$dom" || true)"
  fi
  local drawn empty bad
  drawn=$(occurrences 'data-rendered="true"' "$dom")
  empty=$(occurrences 'data-rendered="empty"' "$dom")
  bad=$(occurrences 'data-rendered="(blank|error)"' "$dom")
  [[ $drawn -eq $want_drawn ]] || fail "$variant" "$drawn charts drawn, expected $want_drawn"
  [[ $empty -eq $want_empty ]] || fail "$variant" "$empty charts without data, expected $want_empty"
  [[ $bad -eq 0 ]] || fail "$variant" "$bad charts blank or failed"
  local panels bad_panels
  panels=$(occurrences 'data-panel-rendered="true"' "$dom")
  bad_panels=$(occurrences 'data-panel-rendered="blank"' "$dom")
  [[ $panels -eq $want_panels ]] || fail "$variant" "$panels small-multiple panels drawn, expected $want_panels"
  [[ $bad_panels -eq 0 ]] || fail "$variant" "$bad_panels small-multiple panels blank"
  # Escaped strings stay text: no element injected from the results.
  if grep -q -e '<b>' -e '<script>alert' "$dom"; then fail "$variant" "markup from the results became an element"; fi
  echo "[$variant] charts drawn: $drawn, without data: $empty, small-multiple panels: $panels"
}

check normal 7 0
check hostile 7 0
check minimal 0 5
check cluster 9 0   # the normal report's 7, and KV utilization and requests per replica
check cluster-many 9 0 16   # eight replicas: those two as small multiples, a panel per replica
# Comparison: TTFT, E2E and TPOT CDFs, throughput, KV utilization, batch size, time by op.
check comparison 7 0
check comparison-hostile 7 0
check comparison-many 7 0 20   # ten variants: KV and batch timelines as small multiples, a panel per variant
check comparison-minimal 0 6
# Capacity: p99 TTFT, p99 TPOT and goodput against the rate.
check capacity 3 0
# Sweep: throughput against TTFT p99.
check sweep 1 0
# Plan: the Pareto chart.
check plan 1 0

if [[ $failures -ne 0 ]]; then
  echo "$failures check(s) failed; outputs in $work" >&2
  exit 1
fi
echo "browser check passed"
