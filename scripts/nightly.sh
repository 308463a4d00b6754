#!/usr/bin/env bash
# The nightly job's steps, one per phase, as .github/workflows/nightly.yml calls them (and the
# tests run them): a runner's workspace is cleaned between jobs, so its runs live outside it.
#
#   bash scripts/nightly.sh run [SCENARIO]      run the suite (README's main command), save the run
#   bash scripts/nightly.sh publish             send this machine's runs to TRIPTYCH_STORE, if set
#   bash scripts/nightly.sh gate                the newest run against this machine's earlier ones
#   bash scripts/nightly.sh confirm [SCENARIO]  rerun the cases the gate suspects (if any)
#   bash scripts/nightly.sh decide              the night's verdict: the gate's, or the rerun's
#   bash scripts/nightly.sh report              reports/index.html (from the store when there is one)
#
# Environment: TRIPTYCH_RESULTS (default /var/lib/triptych/results) keeps the saved runs;
# TRIPTYCH_STORE=postgresql://... adds the shared store; TRIPTYCH_GATE_HISTORY (default 7) is how
# many earlier runs of this machine the gate compares against, TRIPTYCH_GATE_CALIBRATE (default
# 5) how many it needs before it decides. The gate keeps its regressions of record in the
# store's regressions table when there is a store (a runner reimaged forgets none; the fleet's
# report lists every machine's), else in $RESULTS/regressions.record (a runner that kept them
# there before it had a store keeps them there). Gate exit codes: 0 pass, 1 regression (a
# confirmed one still open: regressed again in a rerun or the next night, or a step over the
# series), 2 undecided: a suspected regression (one regressed run), calibrating (fewer earlier
# runs than that) or refused (not comparable, e.g. the kernel changed): neither a pass nor a
# regression.
#
# Confirmation before failing: a gate that suspects regressions lists their cases and platforms
# in $RESULTS/confirm.cases ("case platform" a line); `confirm` reruns just those cases on just
# those platforms (a new session: fresh containers, guests, files and servers) and `decide`
# gates the rerun on the suspected metrics alone, so a suspected regression is confirmed (1) or
# cleared (0) the same night. Without a suspected case `confirm` does nothing and `decide` exits
# with the gate's own code ($RESULTS/gate.status).
set -euo pipefail
cd "$(dirname "$0")/.."
RESULTS=${TRIPTYCH_RESULTS:-/var/lib/triptych/results}
HISTORY=${TRIPTYCH_GATE_HISTORY:-7}
CALIBRATE=${TRIPTYCH_GATE_CALIBRATE:-5}
STORE=${TRIPTYCH_STORE:-}
FLAGGED="$RESULTS/confirm.cases"
STATUS="$RESULTS/gate.status"
summary() { if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then printf '%s\n' "$*" >>"$GITHUB_STEP_SUMMARY"; fi; }
# Root's and private to writes: nothing another user plants here is ever read or written through.
private_results() {
  if [ "$(stat -c %u "$RESULTS")" != "$(id -u)" ] || [ -L "$RESULTS" ] \
    || [ -n "$(find "$RESULTS" -maxdepth 0 -perm /022)" ]; then
    echo "triptych: $RESULTS is not this user's or is writable by others; remove it" >&2
    exit 2
  fi
}
# The regressions of record: the store's (a file kept from before the store too), or the file
# beside the runs.
compare() {
  if [ -n "$STORE" ]; then
    # The store's URL (with its password) stays in the environment: never on a command line.
    local kept=()
    if [ -f "$RESULTS/regressions.record" ]; then kept=(--regressions "$RESULTS/regressions.record"); fi
    .venv/bin/triptych compare --last "$HISTORY" --calibrate "$CALIBRATE" "${kept[@]}" "$@"
  else
    .venv/bin/triptych compare "$RESULTS" --last "$HISTORY" --calibrate "$CALIBRATE" "$@"
  fi
}
verdict() {
  case "$1" in
    0) summary "**Gate passed.**" ;;
    1) summary "**Gate failed: a platform regressed** (see the table above). A regression stays open, and the gate failing, until it reverts or someone accepts it: \`triptych accept --list\` on this runner (with its TRIPTYCH_STORE, or \`triptych accept $RESULTS --list\` without a store)."
       echo "::error::triptych gate: regression" ;;
    2) summary "**Gate undecided: not a pass, not a regression.** A suspected regression (one regressed run: a rerun of its case tonight, or the next night, confirms or clears it; see the notes above), calibrating (too few earlier runs in this environment and scenario) or refused (the newest run could not be compared: see the message)."
       echo "::warning::triptych gate undecided (a suspected regression, calibrating or not comparable), not a regression" ;;
  esac
}

case "${1:-}" in
  run)
    install -d -m 0755 "$RESULTS"
    private_results
    rm -f -- "$FLAGGED" "$STATUS"  # last night's: never decide tonight by them
    # Another benchmark on this machine (a pull request's) runs first: wait for its lock.
    SCENARIO=${2:-${SCENARIO:-scenarios/default.toml}} NAME=nightly STORAGE="$RESULTS" \
      bash scripts/main.sh --triptych-wait
    ;;
  publish)
    if [ -z "$STORE" ]; then
      echo "triptych: no TRIPTYCH_STORE: the runs stay in $RESULTS"
      exit 0
    fi
    .venv/bin/triptych publish "$RESULTS"
    ;;
  gate)
    private_results
    status=0
    compare --flagged "$FLAGGED" || status=$?
    printf '%s\n' "$status" >"$STATUS"
    if [ "$status" = 2 ] && [ -s "$FLAGGED" ]; then
      summary "**Gate suspects a regression** in $(sed 's/^\([^ ]*\) \(.*\)$/`\1` on `\2`/' "$FLAGGED" | paste -sd, | sed 's/,/, /g'): those cases are rerun now on those platforms (a fresh set-up, the same night), and the rerun decides (the next steps)."
      echo "::warning::triptych gate: suspected regression, rerunning its cases to decide"
    else
      verdict "$status"
    fi
    exit "$status"
    ;;
  confirm)
    private_results
    if [ ! -s "$FLAGGED" ]; then
      echo "triptych: nothing to confirm (the gate suspects no regression)"
      exit 0
    fi
    # Case and platform names the gate wrote (scenario names, the suite's platforms only); the
    # plugin checks both against the scenario. Every flagged case runs on every flagged platform.
    cases=$(cut -d' ' -f1 "$FLAGGED" | sort -u | paste -sd,)
    platforms=$(cut -s -d' ' -f2 "$FLAGGED" | sort -u | paste -sd,)
    only=()
    if [ -n "$platforms" ]; then only=(--triptych-platforms="$platforms"); fi
    SCENARIO=${2:-${SCENARIO:-scenarios/default.toml}} NAME=nightly-confirm STORAGE="$RESULTS" \
      bash scripts/main.sh --triptych-wait --triptych-cases="$cases" "${only[@]}"
    ;;
  decide)
    private_results
    status=$(cat "$STATUS" 2>/dev/null || true)
    case "$status" in 0 | 1 | 2) ;; *) echo "triptych: no gate ran tonight ($STATUS)" >&2; exit 2 ;; esac
    if [ "$status" != 2 ] || [ ! -s "$FLAGGED" ]; then
      exit "$status"  # the gate decided (its summary is written)
    fi
    if [ -n "$STORE" ]; then .venv/bin/triptych publish "$RESULTS"; fi
    status=0
    compare --confirming || status=$?
    rm -f -- "$FLAGGED"
    printf '%s\n' "$status" >"$STATUS"
    verdict "$status"
    exit "$status"
    ;;
  report)
    if [ -n "$STORE" ]; then
      regressions=()
      if [ -f "$RESULTS/regressions.record" ]; then regressions=(--regressions "$RESULTS/regressions.record"); fi
      .venv/bin/triptych report -o reports/index.html "${regressions[@]}"
    else
      .venv/bin/triptych report "$RESULTS" -o reports/index.html
    fi
    ;;
  *)
    echo "usage: $0 run [SCENARIO] | publish | gate | confirm [SCENARIO] | decide | report" >&2
    exit 2
    ;;
esac
