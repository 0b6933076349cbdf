//! `bankid-oidc-bench`: drives an OpenID provider (ours, or node-oidc-provider for comparison)
//! with N concurrent workers for a fixed time or a fixed count, and reports throughput,
//! latency percentiles and errors per scenario. See BENCHMARKS.md.

mod cookies;
mod html;
mod origin;
mod scenario;
mod stats;
mod transport;

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use scenario::{Setup, Worker};
use serde::Serialize;
use stats::{Recorder, Summary};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScenarioName {
    /// GET the discovery document.
    Discovery,
    /// GET the JWKS.
    Jwks,
    /// A whole person login: authorize, login steps, code exchange with ID token validation by
    /// bankid-oidc-client, userinfo. One operation is one complete flow.
    CodeFlow,
    /// The code flow with the authorization request pushed first (PAR, RFC 9126): the browser
    /// gets only client_id and request_uri.
    ParFlow,
    /// A token request with grant_type=client_credentials (client_secret_basic) that must return
    /// a JWT access token.
    ClientCredentials,
}

impl ScenarioName {
    /// The steps an operation of this scenario records (see `scenario::Worker::code_flow`).
    fn steps(self) -> &'static [&'static str] {
        const PUSHED_LOGIN: &[&str] = &[
            "push",
            "authorize",
            "nnin",
            "otp",
            "password",
            "token + ID token",
            "userinfo",
        ];
        const LOGIN: &[&str] = PUSHED_LOGIN.split_at(1).1;
        match self {
            ScenarioName::CodeFlow => LOGIN,
            ScenarioName::ParFlow => PUSHED_LOGIN,
            _ => &[],
        }
    }
}

/// How the login is driven: our form steps, or oidc-provider's auto-completing interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// bankid-oidc: POST the NNIN, one-time code and password forms.
    Ours,
    /// node-oidc-provider with benches/oidc-provider/provider.js: follow redirects only.
    Node,
}

#[derive(Debug, Clone, Parser)]
#[command(
    name = "bankid-oidc-bench",
    about = "Load generator for OpenID providers: discovery, jwks, code-flow, client-credentials",
    args_override_self = true
)]
pub struct Args {
    #[arg(long, value_enum)]
    pub scenario: ScenarioName,
    /// The issuer, exactly as its discovery document names it.
    #[arg(long, env = "BENCH_ISSUER")]
    pub issuer: String,
    /// Another instance of the same provider (its own issuer URL; repeatable): the workers are
    /// spread over --issuer and these, worker i on instance i mod n, as a balancer that keeps a
    /// login on one instance would.
    #[arg(long = "also-issuer", value_name = "ISSUER")]
    pub also_issuers: Vec<String>,
    #[arg(long, value_enum, default_value = "ours")]
    pub target: Target,
    /// Concurrent workers; each has its own HTTP connection(s) and cookie jar.
    #[arg(long, short = 'c', default_value_t = 8)]
    pub workers: usize,
    /// Measured seconds (after the warm-up).
    #[arg(long, short = 'd', default_value_t = 10.0)]
    pub duration: f64,
    /// Stop after this many measured operations instead of after --duration.
    #[arg(long, short = 'n')]
    pub requests: Option<u64>,
    /// Seconds of load before measuring (connections, JWKS cache, allocator warm).
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,
    /// Total operations per second, paced across the workers; latency is then measured from
    /// each operation's scheduled start (no coordinated omission). Default: as fast as possible.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Runtime threads of the load generator (it shares the machine with the server).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    #[arg(long, env = "BENCH_CLIENT_ID", default_value = "bench-client")]
    pub client_id: String,
    #[arg(
        long,
        env = "BENCH_CLIENT_SECRET",
        default_value = "bench-secret",
        hide_env_values = true
    )]
    pub client_secret: String,
    #[arg(
        long,
        env = "BENCH_REDIRECT_URI",
        default_value = "http://127.0.0.1:9/callback"
    )]
    pub redirect_uri: String,
    /// Scopes besides openid for the code flow.
    #[arg(long, default_value = "profile")]
    pub scope: String,
    /// Scope of the client-credentials request (empty: none).
    #[arg(long, default_value = "api:read")]
    pub cc_scope: String,
    /// The test user's national identity number (ours).
    #[arg(long, env = "BENCH_NNIN", default_value = "")]
    pub nnin: String,
    #[arg(long, default_value = "otp")]
    pub otp: String,
    #[arg(long, default_value = "qwer1234")]
    pub password: String,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 30.0)]
    pub timeout: f64,
    /// The server's process id (same machine): its CPU time over the measured window is
    /// reported, so that providers compare in CPU per operation as well as in throughput.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// The process ids of the --also-issuer instances: their CPU time is added to the server's.
    #[arg(long = "also-server-pid", value_name = "PID")]
    pub also_server_pids: Vec<u32>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Report<'a> {
    scenario: ScenarioName,
    target: Target,
    issuer: &'a str,
    workers: usize,
    threads: usize,
    rate: Option<f64>,
    warmup_s: f64,
    /// CPU seconds the load generator used while measuring.
    generator_cpu_s: Option<f64>,
    /// CPU seconds the server used while measuring (with --server-pid).
    server_cpu_s: Option<f64>,
    #[serde(flatten)]
    summary: Summary,
}

// The generator shares the machine with the server it measures: mimalloc spends less of it on
// the many small allocations of a login than glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.workers == 0 {
        bail!("--workers must be at least 1");
    }
    if matches!(
        args.scenario,
        ScenarioName::CodeFlow | ScenarioName::ParFlow
    ) && args.target == Target::Ours
        && args.nnin.is_empty()
    {
        bail!("the code flow against our provider needs --nnin (a test user's NNIN)");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?;
    let measured = runtime.block_on(run(&args))?;
    let report = Report {
        scenario: args.scenario,
        target: args.target,
        issuer: &args.issuer,
        workers: args.workers,
        threads: args.threads,
        rate: args.rate,
        warmup_s: args.warmup,
        generator_cpu_s: measured.generator_cpu_s,
        server_cpu_s: measured.server_cpu_s,
        summary: measured.summary,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_text(&report);
    }
    Ok(())
}

async fn run(args: &Args) -> anyhow::Result<Measured> {
    let mut setups = Vec::new();
    for issuer in std::iter::once(&args.issuer).chain(&args.also_issuers) {
        let instance = Args {
            issuer: issuer.clone(),
            ..args.clone()
        };
        setups.push(Arc::new(
            Setup::new(&instance)
                .await
                .with_context(|| format!("setting up against {issuer}"))?,
        ));
    }
    // Every worker gets ready (its connection, its client's discovery) before the clock starts.
    let mut workers = Vec::with_capacity(args.workers);
    for i in 0..args.workers {
        workers.push(Worker::new(setups[i % setups.len()].clone()).await?);
    }
    // Each worker's recorders, made before the clock starts: the measured one, and one for the
    // warm-up operations, which are recorded and dropped.
    let steps = args.scenario.steps();
    let recorders: Vec<_> = (0..args.workers)
        .map(|_| (Recorder::with_steps(steps), Recorder::with_steps(steps)))
        .collect();
    let start = Instant::now() + Duration::from_millis(50);
    let measure_from = start + Duration::from_secs_f64(args.warmup);
    let stop_at = measure_from + Duration::from_secs_f64(args.duration);
    let tickets = Arc::new(AtomicU64::new(args.requests.unwrap_or(u64::MAX)));
    let counted = args.requests.is_some();
    let interval = args
        .rate
        .map(|rate| Duration::from_secs_f64(args.workers as f64 / rate));

    let mut tasks = Vec::with_capacity(args.workers);
    for (i, (mut worker, (mut rec, mut scratch))) in workers.into_iter().zip(recorders).enumerate()
    {
        let tickets = tickets.clone();
        let n = args.workers as u32;
        tasks.push(tokio::spawn(async move {
            // Paced workers start staggered across one interval.
            let mut next = match interval {
                Some(iv) => start + iv * i as u32 / n,
                None => start,
            };
            loop {
                // Only a start in the future touches the timer: a sleep until now would still
                // wait for the timer's next millisecond tick.
                if next > Instant::now() {
                    tokio::time::sleep_until(next).await;
                }
                let began = Instant::now();
                // With pacing, latency counts from the scheduled start.
                let scheduled = if interval.is_some() { next } else { began };
                let measuring = scheduled >= measure_from;
                if measuring {
                    if counted {
                        if tickets
                            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                                t.checked_sub(1)
                            })
                            .is_err()
                        {
                            break;
                        }
                    } else if scheduled >= stop_at {
                        break;
                    }
                }
                let target = if measuring { &mut rec } else { &mut scratch };
                worker.run_once(target, scheduled).await;
                next = match interval {
                    Some(iv) => next + iv,
                    None => Instant::now(),
                };
            }
            (rec, Instant::now())
        }));
    }
    // CPU time of the load generator and of the server (all its instances) over the measured
    // window.
    let servers: Vec<String> = args
        .server_pid
        .into_iter()
        .chain(args.also_server_pids.iter().copied())
        .map(|pid| pid.to_string())
        .collect();
    let cpu_pids: Vec<String> = std::iter::once("self".to_owned())
        .chain(servers.iter().cloned())
        .collect();
    let cpu_at_start = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from).await;
        cpu_pids
            .iter()
            .map(|pid| process_cpu_seconds(pid))
            .collect::<Vec<_>>()
    });
    let mut total = Recorder::default();
    let mut finished = measure_from;
    for task in tasks {
        let (rec, at) = task.await?;
        total.merge(&rec);
        finished = finished.max(at);
    }
    let before = cpu_at_start.await?;
    let used =
        |before: Option<Option<f64>>, pid: &str| match (before.flatten(), process_cpu_seconds(pid))
        {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        };
    let server_cpu_s = if servers.is_empty() {
        None
    } else {
        servers
            .iter()
            .enumerate()
            .map(|(i, pid)| used(before.get(i + 1).copied(), pid))
            .sum::<Option<f64>>()
    };
    Ok(Measured {
        summary: total.summary(finished.saturating_duration_since(measure_from)),
        generator_cpu_s: used(before.first().copied(), "self"),
        server_cpu_s,
    })
}

struct Measured {
    summary: Summary,
    generator_cpu_s: Option<f64>,
    server_cpu_s: Option<f64>,
}

/// User plus system CPU seconds of a process, from /proc (Linux; `None` elsewhere). Assumes
/// the usual USER_HZ of 100.
fn process_cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it are space-separated.
    let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split(' ').collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn print_text(r: &Report) {
    let s = &r.summary;
    println!(
        "{:?} against {} ({:?}): {} workers, {} thread(s){}",
        r.scenario,
        r.issuer,
        r.target,
        r.workers,
        r.threads,
        r.rate
            .map_or(String::new(), |rate| format!(", paced at {rate}/s"))
    );
    println!(
        "  completed {} in {:.2} s: {:.1}/s, errors {}",
        s.completed, s.elapsed_s, s.throughput, s.errors
    );
    let l = &s.latency_ms;
    println!(
        "  latency ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}  mean {:.3}",
        l.p50, l.p90, l.p99, l.max, l.mean
    );
    for (name, p) in &s.steps {
        println!(
            "    {name:<18} p50 {:.3}  p90 {:.3}  p99 {:.3}  mean {:.3}  (n={})",
            p.p50, p.p90, p.p99, p.mean, p.count
        );
    }
    if let Some(cpu) = r.generator_cpu_s {
        println!(
            "  load generator CPU: {cpu:.2} s ({:.0}% of one core)",
            100.0 * cpu / s.elapsed_s.max(1e-9)
        );
    }
    if let Some(cpu) = r.server_cpu_s {
        println!(
            "  server CPU: {cpu:.2} s ({:.0}% of one core, {:.3} ms per operation)",
            100.0 * cpu / s.elapsed_s.max(1e-9),
            1000.0 * cpu / (s.completed.max(1) as f64)
        );
    }
    for (kind, n) in &s.error_kinds {
        println!("  error {kind}: {n}");
    }
    for sample in &s.error_samples {
        println!("  e.g. {sample}");
    }
}
