#!/usr/bin/env bash
# Parallel `pdplan batch` of every fixture vs the sum of single `pdplan solve` runs.
# Usage: scripts/bench-batch.sh [INPUT_DIR] [REPEATS]   (default: fixtures/, 5 repeats; the
# best of the repeats is kept for each figure, to damp noise on a shared machine).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-fixtures}
reps=${2:-5}
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/pdplan
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
best() { sort -g | head -1; }

# The task files the batch solves (the walker's rule: .md/.json that are tasks).
"$bin" batch "$dir" --out "$tmp/probe" --quiet || true
mapfile -t tasks < <(awk -F, 'NR > 1 && $3 != "skipped" { print $2 }' "$tmp/probe/summary.csv")

singles=(); batch1=(); batchn=()
for _ in $(seq "$reps"); do
  t0=$(now)
  for t in "${tasks[@]}"; do "$bin" solve "$t" --out "$tmp/single" >/dev/null 2>&1 || true; done
  t1=$(now)
  "$bin" batch "$dir" --out "$tmp/b1" --quiet --jobs 1 || true
  t2=$(now)
  "$bin" batch "$dir" --out "$tmp/bn" --quiet || true
  t3=$(now)
  singles+=("$(echo "$t1 - $t0" | bc -l)"); batch1+=("$(echo "$t2 - $t1" | bc -l)"); batchn+=("$(echo "$t3 - $t2" | bc -l)")
done
s=$(printf '%s\n' "${singles[@]}" | best)
b1=$(printf '%s\n' "${batch1[@]}" | best)
bn=$(printf '%s\n' "${batchn[@]}" | best)
jobs=$(nproc)
printf '%d task files from %s, best of %d runs, %d cores\n' "${#tasks[@]}" "$dir" "$reps" "$jobs"
printf 'sum of single pdplan solve runs : %.3f s\n' "$s"
printf 'pdplan batch --jobs 1          : %.3f s\n' "$b1"
printf 'pdplan batch (%d jobs)          : %.3f s\n' "$jobs" "$bn"
printf 'speed-up of batch over singles : x%.2f   (over batch --jobs 1: x%.2f)\n' \
  "$(echo "$s / $bn" | bc -l)" "$(echo "$b1 / $bn" | bc -l)"
