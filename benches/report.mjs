// Writes the Markdown report of benches/compare.sh from the JSON files it collected.
//
// node benches/report.mjs RESULTS_DIR > report.md
//
// RESULTS_DIR holds {scenario}-{ours,node}.json (bankid-oidc-bench --json), optionally
// code-flow-half-{ours,node}.json, es256.json ({sign_ns, verify_ns}), memory.json and meta.json
// (machine, versions, settings).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node benches/report.mjs RESULTS_DIR');
  process.exit(2);
}
const load = (name) => {
  const path = join(dir, name);
  return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : undefined;
};
const meta = load('meta.json');
const fsync = load('fsync.json');
const es256 = load('es256.json');
const memory = load('memory.json');

// Server-side ES256 signatures per operation (discovery documents and JWKS are cached).
const SIGNATURES = {
  discovery: { ours: 0, node: 0 },
  jwks: { ours: 0, node: 0 },
  'client-credentials': { ours: 1, node: 1 },
  // Ours signs the ID token and a JWT access token; oidc-provider signs the ID token and
  // issues an opaque access token (see benches/oidc-provider/provider.js).
  'code-flow': { ours: 2, node: 1 },
  'par-flow': { ours: 2, node: 1 },
};
const UNIT = { 'code-flow': 'flows/s', 'par-flow': 'flows/s' };

const num = (x, digits = 0) => (x === undefined || x === null || Number.isNaN(x) ? '–' : x.toFixed(digits));
const ms = (x) => (x === undefined ? '–' : x < 10 ? x.toFixed(2) : x.toFixed(1));

function supported(r) {
  return r && r.completed > 0;
}

function throughputCell(r) {
  if (!r) return 'not run';
  if (!supported(r)) {
    if (r.error_kinds?.unsupported_grant_type) return 'not yet supported';
    return 'failed (see errors)';
  }
  return num(r.throughput);
}

function errorsCell(r) {
  if (!r) return '–';
  if (!r.errors) return '0';
  return Object.entries(r.error_kinds).map(([k, n]) => `${n} ${k}`).join(', ');
}

const lines = [];
const out = (s = '') => lines.push(s);

// meta.generator_threads: a number (older runs) or { requests, flows }.
function generatorThreads(t) {
  const n = (k) => `${k} thread${k === 1 ? '' : 's'}`;
  if (typeof t === 'number') return n(t);
  if (t.requests === t.flows) return n(t.flows);
  return `${n(t.requests)} for the single requests and ${n(t.flows)} for the logins`;
}

out(`### Results${meta?.date ? ` (${meta.date})` : ''}`);
out();
if (meta) {
  out(`${meta.workers} workers per run, ${meta.duration} s measured after ${meta.warmup} s of warm-up, `
    + `load generator on ${generatorThreads(meta.generator_threads)}; both servers on 127.0.0.1, one after the other`
    + (meta.repeat > 1 ? `; each scenario run ${meta.repeat} times in turn, the pair with the median ratio shown.` : '.'));
  if (meta.instance_cpus) {
    out();
    out(`Both providers and the load generator pinned to CPU ${meta.instance_cpus} (\`INSTANCE_CPUS\`); `
      + 'PostgreSQL, not pinned, runs on the others, as a database on a machine of its own would.');
  }
  out();
}
out('| scenario | bankid-oidc | oidc-provider | ratio | latency p50 / p99 ms (ours) | latency p50 / p99 ms (node) | server CPU ms per op (ours / node) | errors (ours / node) |');
out('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
for (const scenario of ['discovery', 'jwks', 'client-credentials', 'code-flow', 'par-flow']) {
  const ours = load(`${scenario}-ours.json`);
  const node = load(`${scenario}-node.json`);
  if (!ours && !node) continue;
  const ratios = load(`${scenario}-ratios.json`);
  let ratio = supported(ours) && supported(node) ? `${(ours.throughput / node.throughput).toFixed(2)}×` : '–';
  if (ratios && ratios.length > 1) {
    ratio += ` (runs: ${[...ratios].sort((a, b) => a - b).map((r) => r.toFixed(2)).join(', ')})`;
  }
  const lat = (r) => (supported(r) ? `${ms(r.latency_ms.p50)} / ${ms(r.latency_ms.p99)}` : '–');
  const cpu = (r) => (supported(r) && r.server_cpu_s != null ? (1000 * r.server_cpu_s / r.completed).toFixed(3) : '–');
  out(`| ${scenario} (${UNIT[scenario] ?? 'req/s'}) | ${throughputCell(ours)} | ${throughputCell(node)} | ${ratio} | ${lat(ours)} | ${lat(node)} | ${cpu(ours)} / ${cpu(node)} | ${errorsCell(ours)} / ${errorsCell(node)} |`);
}
out();

const halfOurs = load('code-flow-half-ours.json');
const halfNode = load('code-flow-half-node.json');
const halfTmpfs = load('code-flow-half-ours-tmpfs.json');
if (halfOurs || halfNode) {
  out('Code flow at half of each provider\'s peak (paced; latency from the scheduled start):');
  out();
  out('| provider | paced at | achieved flows/s | p50 ms | p90 ms | p99 ms | errors |');
  out('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const [name, r] of [['bankid-oidc', halfOurs], ['bankid-oidc, store on tmpfs', halfTmpfs], ['oidc-provider', halfNode]]) {
    if (!r) continue;
    out(`| ${name} | ${num(r.rate)} /s | ${num(r.throughput, 1)} | ${ms(r.latency_ms.p50)} | ${ms(r.latency_ms.p90)} | ${ms(r.latency_ms.p99)} | ${errorsCell(r)} |`);
  }
  out();
}

const pg1 = load('code-flow-pg1.json');
const pg2 = load('code-flow-pg2.json');
if (pg1 || pg2) {
  out('Code flow on PostgreSQL (bankid-oidc on one database; two instances: the workers spread over both, each login on one):');
  out();
  out('| store | flows/s | against SQLite | p50 / p99 ms | server CPU ms per flow | errors |');
  out('| --- | ---: | ---: | ---: | ---: | --- |');
  const sqlite = load('code-flow-ours.json');
  const row = (name, r) => {
    if (!r) return;
    const vs = supported(r) && supported(sqlite) ? `${(r.throughput / sqlite.throughput).toFixed(2)}×` : '–';
    const cpu = supported(r) && r.server_cpu_s != null ? (1000 * r.server_cpu_s / r.completed).toFixed(3) : '–';
    out(`| ${name} | ${throughputCell(r)} | ${vs} | ${supported(r) ? `${ms(r.latency_ms.p50)} / ${ms(r.latency_ms.p99)}` : '–'} | ${cpu} | ${errorsCell(r)} |`);
  };
  row('SQLite, one instance', sqlite);
  row('PostgreSQL, one instance', pg1);
  row('PostgreSQL, two instances', pg2);
  if (supported(pg1) && supported(pg2)) {
    out();
    out(`Two instances against one: ${(pg2.throughput / pg1.throughput).toFixed(2)}×.`);
  }
  out();
}

const flow = load('code-flow-ours.json');
const flowNode = load('code-flow-node.json');
if (supported(flow) || supported(flowNode)) {
  out('Code flow, time per step (p50 / p99 ms, at peak load):');
  out();
  out('| step | bankid-oidc | oidc-provider |');
  out('| --- | ---: | ---: |');
  const names = new Set([...Object.keys(flow?.steps ?? {}), ...Object.keys(flowNode?.steps ?? {})]);
  const order = ['authorize', 'nnin', 'otp', 'password', 'token + ID token', 'userinfo'];
  for (const step of [...names].sort((a, b) => order.indexOf(a) - order.indexOf(b))) {
    const cell = (r) => (r?.steps?.[step] ? `${ms(r.steps[step].p50)} / ${ms(r.steps[step].p99)}` : '–');
    out(`| ${step} | ${cell(flow)} | ${cell(flowNode)} |`);
  }
  out();
  out('For oidc-provider, `authorize` includes its whole auto-completing interaction (the person\'s part).');
  out();
}

if (es256) {
  const signs = 1e9 / es256.sign_ns;
  const verifies = 1e9 / es256.verify_ns;
  out(`Crypto limit (criterion, aws-lc-rs, one core): ES256 sign ${num(es256.sign_ns / 1000, 1)} µs = **${num(signs)} signatures/s**, `
    + `verify ${num(es256.verify_ns / 1000, 1)} µs = ${num(verifies)} verifications/s.`);
  out();
  out('| scenario | provider | signatures per op | signatures/s | fraction of one core\'s signing limit |');
  out('| --- | --- | ---: | ---: | ---: |');
  for (const scenario of ['client-credentials', 'code-flow']) {
    for (const [who, name] of [['ours', 'bankid-oidc'], ['node', 'oidc-provider']]) {
      const r = load(`${scenario}-${who}.json`);
      const per = SIGNATURES[scenario][who];
      if (!supported(r)) {
        out(`| ${scenario} | ${name} | ${per} | ${r ? throughputCell(r) : 'not run'} | – |`);
        continue;
      }
      const rate = r.throughput * per;
      out(`| ${scenario} | ${name} | ${per} | ${num(rate)} | ${(100 * rate / signs).toFixed(1)} % |`);
    }
  }
  out();
}

if (memory) {
  out(`Resident memory of bankid-oidc (VmRSS): ${memory.rss_start_kb ? `${(memory.rss_start_kb / 1024).toFixed(1)} MB after start, ` : ''}`
    + `${(memory.rss_before_kb / 1024).toFixed(1)} MB before the memory run, `
    + `**${(memory.rss_after_kb / 1024).toFixed(1)} MB after ${memory.flows_total} code flows** in total `
    + `(${memory.flows_run} in the ${memory.seconds} s memory run), peak VmHWM ${(memory.hwm_kb / 1024).toFixed(1)} MB; `
    + `SQLite files ${(memory.db_bytes / 1048576).toFixed(1)} MB.`);
  out();
}

if (meta) {
  out('Machine and versions:');
  out();
  out(`- CPU: ${meta.cpu_model}, ${meta.nproc} cores (nproc); memory ${meta.mem_total}`);
  out(`- load average before the run: ${meta.loadavg_before}; after: ${meta.loadavg_after ?? '–'}`);
  if (fsync) {
    out(`- data disk: 4 KB write + fdatasync p50 ${ms(fsync.p50_ms)} ms, p99 ${ms(fsync.p99_ms)} ms, `
      + `max ${ms(fsync.max_ms)} ms; ${fsync.over_20ms} of ${fsync.count} over 20 ms in ${fsync.seconds} s`);
  }
  if (meta.shared) out(`- **shared machine**: the load average before the run was high (other work was running), so the figures are noisy`);
  out(`- ${meta.rustc}; ${meta.node_version}; oidc-provider ${meta.oidc_provider}; bankid-oidc at ${meta.commit}`);
  out(`- kernel ${meta.kernel}`);
  out();
}

process.stdout.write(`${lines.join('\n')}\n`);
