#!/usr/bin/env bash
# Side by side: bankid-oidc (the dist build: fat LTO, SQLite in a temporary data directory) and
# node-oidc-provider (the OpenID-certified npm package, installed into a temporary folder from
# the committed lock file benches/oidc-provider/package-lock.json), configured alike: ES256,
# PKCE required, the same client (client_secret_basic) and one user. Each scenario runs against
# both in turn with the same workers and duration; the Markdown report goes to stdout and to
# $OUT. Everything listens on 127.0.0.1 only and every run has a fixed duration.
#
#   benches/compare.sh                      # defaults below
#   WORKERS=16 DURATION=20 benches/compare.sh
#   SCENARIOS="discovery code-flow" MEMORY_SECONDS=0 benches/compare.sh
#
# Settings (environment):
#   WORKERS=64 DURATION=10 WARMUP=2      load per run (64 in flight keep ours busy while its
#                                        logins wait for the disk; oidc-provider is flat from 8)
#   REPEAT=1                             runs of each scenario; the median ratio's pair is reported
#   GENERATOR_THREADS                    threads of the load generator, which shares the
#                                        machine. Default: $(nproc) for the logins (code-flow,
#                                        par-flow: on one thread the generator was itself their
#                                        limit, the CPUs sat 15-18% idle) and 1 for the single
#                                        requests (one thread keeps the server busy; a second
#                                        only takes CPU from it). Set: that many for every run
#   SCENARIOS="discovery jwks client-credentials code-flow par-flow"
#   HALF_LOAD=1                          also run the code flow paced at half of each peak
#   HALF_LOAD_TMPFS=1                    and ours once more at that rate with its store on
#                                        /dev/shm, which tells the server's latency from the disk's
#   FSYNC_PROBE=1                        time 5 s of 4 KB writes + fdatasync on the data disk
#   MEMORY_SECONDS=0                     then run code flows against ours this long and read VmRSS
#   CRYPTO=1                             run the ES256 criterion benchmark (short) for the limit
#   NODE_PORT=18401 OURS_PORT=18402      loopback ports
#   OUT=target/bench/compare.md          where the report is written (the JSON beside it)
#   SKIP_BUILD=1                         use the existing dist binaries (target/dist)
#   POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres
#                                        a PostgreSQL server on which to run the code flow
#                                        against one instance of ours, then two instances on one
#                                        database (the workers spread over both), in a database
#                                        made for the run and dropped after it; empty: skipped
#   INSTANCE_CPUS=0                      pin both providers and the load generator to these CPUs
#                                        (taskset -c): each store's instance gets the same CPU,
#                                        and PostgreSQL, which is not pinned, runs beside them on
#                                        the others, as a database on a machine of its own would.
#                                        The two-instance run is skipped. Empty: nothing pinned
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORKERS=${WORKERS:-64}
REPEAT=${REPEAT:-1}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
GENERATOR_THREADS=${GENERATOR_THREADS:-}
FLOW_THREADS=${GENERATOR_THREADS:-$(nproc)}
REQUEST_THREADS=${GENERATOR_THREADS:-1}
threads_for() { # SCENARIO
  case "$1" in
    code-flow | par-flow) echo "$FLOW_THREADS" ;;
    *) echo "$REQUEST_THREADS" ;;
  esac
}
SCENARIOS=${SCENARIOS:-"discovery jwks client-credentials code-flow par-flow"}
HALF_LOAD=${HALF_LOAD:-1}
HALF_LOAD_TMPFS=${HALF_LOAD_TMPFS:-1}
FSYNC_PROBE=${FSYNC_PROBE:-1}
MEMORY_SECONDS=${MEMORY_SECONDS:-0}
CRYPTO=${CRYPTO:-1}
NODE_PORT=${NODE_PORT:-18401}
OURS_PORT=${OURS_PORT:-18402}
OUT=${OUT:-$ROOT/target/bench/compare.md}
POSTGRES_URL=${POSTGRES_URL-postgres://postgres@127.0.0.1:5432/postgres}
INSTANCE_CPUS=${INSTANCE_CPUS:-}
PIN=()
if [ -n "$INSTANCE_CPUS" ]; then
  command -v taskset >/dev/null || { echo "compare.sh: INSTANCE_CPUS needs taskset (util-linux)" >&2; exit 2; }
  PIN=(taskset -c "$INSTANCE_CPUS")
fi

CLIENT_ID=bench-client
CLIENT_SECRET=bench-secret-6Qm1vV0cYtq2XwB8-kR4pLz9E
REDIRECT_URI=http://127.0.0.1:9/callback
NNIN=01818512321

for tool in cargo node npm curl; do
  command -v "$tool" >/dev/null || { echo "compare.sh needs $tool on PATH" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bankid-oidc-bench.XXXXXX")
RESULTS=$(dirname "$OUT")/results
mkdir -p "$RESULTS"
rm -f "$RESULTS"/*.json
NODE_PID=
OURS_PID=
SHM=
SHM_PID=
cleanup() {
  [ -n "$SHM_PID" ] && kill "$SHM_PID" 2>/dev/null && wait "$SHM_PID" 2>/dev/null
  [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null
  [ -n "$OURS_PID" ] && kill "$OURS_PID" 2>/dev/null && wait "$OURS_PID" 2>/dev/null
  rm -rf "$WORK"
  [ -n "$SHM" ] && rm -rf "$SHM"
  return 0 # the script's own status stands, not that of the last test above
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "compare.sh: $*" >&2; }

wait_for() { # URL PID NAME
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { log "$3 exited; its log:"; cat "$WORK/$3.log" >&2; exit 1; }
    sleep 0.1
  done
  log "$3 did not answer at $1 within 30 s"; exit 1
}

rss_kb() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# --- build ---------------------------------------------------------------------------------
cd "$ROOT"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "building the dist binaries (fat LTO, one codegen unit: the tuned build)"
  cargo build --profile dist -q -p bankid-oidc -p bankid-oidc-bench
fi
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
BIN=$TARGET_DIR/dist/bankid-oidc
BENCH=$TARGET_DIR/dist/bankid-oidc-bench

# --- crypto limit --------------------------------------------------------------------------
if [ "$CRYPTO" = 1 ]; then
  log "ES256 sign/verify micro benchmark"
  cargo bench -q -p bankid-oidc-bench --bench es256 -- --warm-up-time 1 --measurement-time 4 >&2
  node -e '
    const fs = require("fs");
    const mean = (f) => JSON.parse(fs.readFileSync(`${process.argv[1]}/criterion/es256/${f}/new/estimates.json`)).mean.point_estimate;
    console.log(JSON.stringify({ sign_ns: mean("sign"), verify_ns: mean("verify") }));
  ' "$TARGET_DIR" > "$RESULTS/es256.json"
fi

# --- the data disk -------------------------------------------------------------------------
# How long the disk under the data directory takes to make a small write durable: the floor of
# every answer ours gives after a durable write, and the cause of its worst latencies.
if [ "$FSYNC_PROBE" = 1 ]; then
  log "fdatasync latency of the data disk (5 s)"
  node -e '
    const fs = require("fs");
    const file = process.argv[1];
    const fd = fs.openSync(file, "w");
    const page = Buffer.alloc(16384, 1);
    for (let i = 0; i < 64; i++) fs.writeSync(fd, page, 0, page.length, i * page.length);
    fs.fdatasyncSync(fd);
    const lat = [];
    const until = Date.now() + 5000;
    for (let i = 0; Date.now() < until; i++) {
      fs.writeSync(fd, page, 0, page.length, (i % 64) * page.length);
      const t = process.hrtime.bigint();
      fs.fdatasyncSync(fd);
      lat.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    fs.closeSync(fd); fs.unlinkSync(file);
    lat.sort((a, b) => a - b);
    const at = (q) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))];
    console.log(JSON.stringify({ count: lat.length, p50_ms: at(0.5), p99_ms: at(0.99), max_ms: lat[lat.length - 1],
      over_20ms: lat.filter((x) => x > 20).length, seconds: 5 }));
  ' "$WORK/fsync-probe" > "$RESULTS/fsync.json"
fi

# --- oidc-provider -------------------------------------------------------------------------
log "installing oidc-provider into $WORK/node"
mkdir -p "$WORK/node"
cp "$ROOT"/benches/oidc-provider/{package.json,package-lock.json,provider.js} "$WORK/node/"
(cd "$WORK/node" && npm ci --no-audit --no-fund --loglevel=error >&2)
(cd "$WORK/node" && exec "${PIN[@]}" env PORT="$NODE_PORT" CLIENT_ID="$CLIENT_ID" CLIENT_SECRET="$CLIENT_SECRET" \
  REDIRECT_URI="$REDIRECT_URI" NODE_ENV=production node provider.js) >"$WORK/node.log" 2>&1 &
NODE_PID=$!
NODE_ISSUER=http://127.0.0.1:$NODE_PORT
wait_for "$NODE_ISSUER/.well-known/openid-configuration" "$NODE_PID" node

# --- bankid-oidc ---------------------------------------------------------------------------
log "starting bankid-oidc on SQLite in $WORK/data"
DATA=$WORK/data
"$BIN" --data-dir "$DATA" clients add --client-id "$CLIENT_ID" --client-secret "$CLIENT_SECRET" \
  --redirect-uri "$REDIRECT_URI" --scope "openid profile esign/csc" --name "Benchmark" \
  --grant-type authorization_code --grant-type client_credentials >/dev/null
"$BIN" --data-dir "$DATA" users add --nnin "$NNIN" --given-name Per --family-name Person \
  --birthdate 1985-01-01 >/dev/null
# Per-request logs off, as oidc-provider logs nothing per request.
BANKID_OIDC_LOG=warn "${PIN[@]}" "$BIN" --data-dir "$DATA" serve --listen "127.0.0.1:$OURS_PORT" >"$WORK/ours.log" 2>&1 &
OURS_PID=$!
OURS_ISSUER=http://127.0.0.1:$OURS_PORT/auth/realms/current
wait_for "$OURS_ISSUER/.well-known/openid-configuration" "$OURS_PID" ours
RSS_START=$(rss_kb "$OURS_PID" VmRSS)

# --- runs ----------------------------------------------------------------------------------
bench() { # TARGET SCENARIO OUTFILE [extra args...]
  local target=$1 scenario=$2 outfile=$3
  shift 3
  # Client credentials ask for a machine scope each provider knows: an eSign scope on ours, the
  # resource server's scope on oidc-provider.
  local issuer=$OURS_ISSUER pid=$OURS_PID cc_scope=esign/csc
  if [ "$target" = node ]; then issuer=$NODE_ISSUER; pid=$NODE_PID; cc_scope=api:read; fi
  "${PIN[@]}" "$BENCH" --scenario "$scenario" --target "$target" --issuer "$issuer" \
    --client-id "$CLIENT_ID" --client-secret "$CLIENT_SECRET" --redirect-uri "$REDIRECT_URI" \
    --nnin "$NNIN" --workers "$WORKERS" --warmup "$WARMUP" --threads "$(threads_for "$scenario")" \
    --cc-scope "$cc_scope" --server-pid "$pid" --json "$@" >"$RESULTS/$outfile"
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.error(`  ${r.scenario} ${r.target}: ${r.throughput.toFixed(1)}/s, p50 ${r.latency_ms.p50} ms, p99 ${r.latency_ms.p99} ms, errors ${r.errors} ${JSON.stringify(r.error_kinds)}`);
  ' "$RESULTS/$outfile"
  sleep 1
}

# Each scenario runs REPEAT times, the two providers in turn; the pair with the median ratio
# is the one reported (the machine's speed drifts between runs, its disk stalls now and then),
# and the report lists every pair's ratio.
for scenario in $SCENARIOS; do
  log "scenario $scenario"
  for rep in $(seq 1 "$REPEAT"); do
    for target in node ours; do
      bench "$target" "$scenario" "$scenario-$target-$rep.json" --duration "$DURATION"
    done
  done
  node -e '
    const fs = require("fs");
    const [dir, scenario, reps] = [process.argv[1], process.argv[2], +process.argv[3]];
    const read = (t, r) => JSON.parse(fs.readFileSync(`${dir}/${scenario}-${t}-${r}.json`));
    const pairs = [];
    for (let r = 1; r <= reps; r++) {
      const [ours, node] = [read("ours", r), read("node", r)];
      pairs.push({ r, ratio: node.throughput > 0 ? ours.throughput / node.throughput : 0 });
    }
    const sorted = [...pairs].sort((a, b) => a.ratio - b.ratio);
    const median = sorted[Math.floor((sorted.length - 1) / 2)];
    for (const t of ["ours", "node"]) {
      fs.copyFileSync(`${dir}/${scenario}-${t}-${median.r}.json`, `${dir}/${scenario}-${t}.json`);
    }
    fs.writeFileSync(`${dir}/${scenario}-ratios.json`, JSON.stringify(pairs.map((p) => p.ratio)));
  ' "$RESULTS" "$scenario" "$REPEAT"
done

throughput() { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).throughput)' "$1"; }
if [ "$HALF_LOAD" = 1 ] && [ -f "$RESULTS/code-flow-ours.json" ]; then
  log "code flow at half of each peak"
  for target in node ours; do
    peak=$(throughput "$RESULTS/code-flow-$target.json")
    rate=$(node -e 'console.log(Math.max(1, Math.round(process.argv[1] / 2)))' "$peak")
    bench "$target" code-flow "code-flow-half-$target.json" --duration "$DURATION" --rate "$rate"
  done
  if [ "$HALF_LOAD_TMPFS" = 1 ] && [ -d /dev/shm ]; then
    log "code flow at half of ours' peak, ours with its store on /dev/shm"
    SHM=$(mktemp -d /dev/shm/bankid-oidc-bench.XXXXXX)
    "$BIN" --data-dir "$SHM" clients add --client-id "$CLIENT_ID" --client-secret "$CLIENT_SECRET" \
      --redirect-uri "$REDIRECT_URI" --scope "openid profile esign/csc" --name "Benchmark" \
      --grant-type authorization_code --grant-type client_credentials >/dev/null
    "$BIN" --data-dir "$SHM" users add --nnin "$NNIN" --given-name Per --family-name Person \
      --birthdate 1985-01-01 >/dev/null
    SHM_PORT=$((OURS_PORT + 1))
    BANKID_OIDC_LOG=warn "${PIN[@]}" "$BIN" --data-dir "$SHM" serve --listen "127.0.0.1:$SHM_PORT" >"$WORK/ours-shm.log" 2>&1 &
    SHM_PID=$!
    SHM_ISSUER=http://127.0.0.1:$SHM_PORT/auth/realms/current
    wait_for "$SHM_ISSUER/.well-known/openid-configuration" "$SHM_PID" ours-shm
    peak=$(throughput "$RESULTS/code-flow-ours.json")
    rate=$(node -e 'console.log(Math.max(1, Math.round(process.argv[1] / 2)))' "$peak")
    "${PIN[@]}" "$BENCH" --scenario code-flow --target ours --issuer "$SHM_ISSUER" \
      --client-id "$CLIENT_ID" --client-secret "$CLIENT_SECRET" --redirect-uri "$REDIRECT_URI" \
      --nnin "$NNIN" --workers "$WORKERS" --warmup "$WARMUP" --threads "$FLOW_THREADS" \
      --server-pid "$SHM_PID" --json --duration "$DURATION" --rate "$rate" >"$RESULTS/code-flow-half-ours-tmpfs.json"
    kill "$SHM_PID" 2>/dev/null && wait "$SHM_PID" 2>/dev/null || true
    SHM_PID=
    rm -rf "$SHM"; SHM=
  fi
fi

if [ "$MEMORY_SECONDS" != 0 ]; then
  log "memory: code flows against bankid-oidc for $MEMORY_SECONDS s"
  RSS_BEFORE=$(rss_kb "$OURS_PID" VmRSS)
  bench ours code-flow memory-run.json --duration "$MEMORY_SECONDS" --warmup 0
  sleep 2
  node -e '
    const fs = require("fs");
    const [dir, rssStart, rssBefore, rssAfter, hwm, seconds, dbBytes] = process.argv.slice(1);
    const get = (f) => { try { return JSON.parse(fs.readFileSync(`${dir}/${f}`)); } catch { return undefined; } };
    const run = get("memory-run.json");
    const earlier = fs.readdirSync(dir).filter((f) => /^(code|par)-flow-(ours-\d+|half-ours)\.json$/.test(f))
      .map(get).filter(Boolean).reduce((n, r) => n + r.completed, 0);
    console.log(JSON.stringify({
      rss_start_kb: +rssStart, rss_before_kb: +rssBefore, rss_after_kb: +rssAfter, hwm_kb: +hwm,
      seconds: +seconds, flows_run: run.completed, flows_total: run.completed + earlier,
      db_bytes: +dbBytes,
    }));
  ' "$RESULTS" "$RSS_START" "$RSS_BEFORE" "$(rss_kb "$OURS_PID" VmRSS)" "$(rss_kb "$OURS_PID" VmHWM)" \
    "$MEMORY_SECONDS" "$(du -sb "$DATA" | cut -f1)" >"$RESULTS/memory.json"
fi

# --- bankid-oidc on PostgreSQL: one instance, then two on one database --------------------
if [ -n "$POSTGRES_URL" ] && command -v psql >/dev/null 2>&1 && psql "$POSTGRES_URL" -qc 'SELECT 1' >/dev/null 2>&1; then
  PG_DB="bankid_oidc_bench_$$"
  psql "$POSTGRES_URL" -qc "CREATE DATABASE $PG_DB"
  PG_URL="${POSTGRES_URL%/*}/$PG_DB"
  log "bankid-oidc on PostgreSQL ($PG_DB)"
  "$BIN" --database-url "$PG_URL" clients add --client-id "$CLIENT_ID" --client-secret "$CLIENT_SECRET" \
    --redirect-uri "$REDIRECT_URI" --scope "openid profile esign/csc" --name "Benchmark" \
    --grant-type authorization_code --grant-type client_credentials >/dev/null
  "$BIN" --database-url "$PG_URL" users add --nnin "$NNIN" --given-name Per --family-name Person \
    --birthdate 1985-01-01 >/dev/null
  PG_PIDS=()
  pg_instance() { # PORT
    BANKID_OIDC_LOG=warn "${PIN[@]}" "$BIN" --data-dir "$WORK/pg-$1" --database-url "$PG_URL" \
      serve --listen "127.0.0.1:$1" >"$WORK/ours-pg-$1.log" 2>&1 &
    PG_PIDS+=($!)
    wait_for "http://127.0.0.1:$1/auth/realms/current/.well-known/openid-configuration" "$!" "ours-pg-$1"
  }
  PG1_PORT=$((OURS_PORT + 10)); PG2_PORT=$((OURS_PORT + 11))
  pg_instance "$PG1_PORT"
  PG1=http://127.0.0.1:$PG1_PORT/auth/realms/current
  PG2=http://127.0.0.1:$PG2_PORT/auth/realms/current
  pg_bench() { # OUTFILE [extra args...]
    local outfile=$1
    shift
    "${PIN[@]}" "$BENCH" --scenario code-flow --target ours --client-id "$CLIENT_ID" \
      --client-secret "$CLIENT_SECRET" --redirect-uri "$REDIRECT_URI" --nnin "$NNIN" \
      --workers "$WORKERS" --warmup "$WARMUP" --threads "$FLOW_THREADS" --json \
      --duration "$DURATION" "$@" >"$RESULTS/$outfile"
    node -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      console.error(`  ${process.argv[2]}: ${r.throughput.toFixed(1)}/s, p50 ${r.latency_ms.p50} ms, p99 ${r.latency_ms.p99} ms, errors ${r.errors} ${JSON.stringify(r.error_kinds)}`);
    ' "$RESULTS/$outfile" "$outfile"
    sleep 1
  }
  pg_bench code-flow-pg1.json --issuer "$PG1" --server-pid "${PG_PIDS[0]}"
  # Two instances pinned to the one instance's CPUs would only share them: not run then.
  if [ -z "$INSTANCE_CPUS" ]; then
    pg_instance "$PG2_PORT"
    pg_bench code-flow-pg2.json --issuer "$PG1" --also-issuer "$PG2" \
      --server-pid "${PG_PIDS[0]}" --also-server-pid "${PG_PIDS[1]}"
  fi
  kill "${PG_PIDS[@]}" 2>/dev/null; wait "${PG_PIDS[@]}" 2>/dev/null || true
  psql "$POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" || true
else
  log "PostgreSQL runs skipped (POSTGRES_URL empty or unreachable)"
fi

# --- report --------------------------------------------------------------------------------
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
NPROC=$(nproc)
node -e '
  const [nproc, before, after, workers, duration, warmup, requestThreads, flowThreads, repeat, cpu, mem, rustc, nodeV, oidcV, commit, kernel, instanceCpus] = process.argv.slice(1);
  console.log(JSON.stringify({
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    nproc: +nproc, loadavg_before: before, loadavg_after: after,
    shared: parseFloat(before) > 0.5 * nproc,
    workers: +workers, duration: +duration, warmup: +warmup, generator_threads: { requests: +requestThreads, flows: +flowThreads }, repeat: +repeat,
    cpu_model: cpu, mem_total: mem, rustc, node_version: `node ${nodeV}`, oidc_provider: oidcV,
    commit, kernel, instance_cpus: instanceCpus || null,
  }));
' "$NPROC" "$LOAD_BEFORE" "$LOAD_AFTER" "$WORKERS" "$DURATION" "$WARMUP" "$REQUEST_THREADS" "$FLOW_THREADS" "$REPEAT" \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" \
  "$(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo)" \
  "$(rustc --version)" "$(node --version)" \
  "$(node -p 'require(process.argv[1]).version' "$WORK/node/node_modules/oidc-provider/package.json")" \
  "$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- crates Cargo.toml Cargo.lock benches || echo '+uncommitted')" \
  "$(uname -r)" "$INSTANCE_CPUS" >"$RESULTS/meta.json"

node "$ROOT/benches/report.mjs" "$RESULTS" | tee "$OUT"
log "report written to $OUT (JSON in $RESULTS)"
