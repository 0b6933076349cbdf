#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60), one after another, and prints per target
# the executions, libFuzzer's coverage (cov: edges, ft: features) and the crashes, hangs and
# runaway allocations found (files in fuzz/artifacts/<target>/).
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# New inputs go to fuzz/target/corpus/<target> (not in git); the seeds in fuzz/corpus/<target>
# are only read. Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
set -uo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
# No sanitizer: the parsers are safe Rust, and panics, overflows (debug assertions on), hangs and
# memory growth are what is sought; without ASan each target runs about twice as many inputs.
flags=(-s none --debug-assertions)
cargo +nightly fuzz build "${flags[@]}" >/dev/null 2>&1 || cargo +nightly fuzz build "${flags[@]}" || exit 1

printf '%-28s %12s %8s %8s %s\n' target executions cov ft crashes
total=0
for t in "${targets[@]}"; do
  mkdir -p "target/corpus/$t" "artifacts/$t" target/logs
  before=$(ls "artifacts/$t" | wc -l)
  log="target/logs/$t.log"
  cargo +nightly fuzz run "${flags[@]}" "$t" "target/corpus/$t" "corpus/$t" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
  if [ -z "$execs" ]; then
    execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
  fi
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
  after=$(ls "artifacts/$t" | wc -l)
  found=$((after - before))
  total=$((total + ${execs:-0}))
  printf '%-28s %12s %8s %8s %s\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" \
    "$found$( [ "$found" -gt 0 ] && echo " (see $log and artifacts/$t)")"
done
echo "total executions: $total"
