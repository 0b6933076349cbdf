//! The one writer: a SQLite connection on its own thread that runs the writes waiting for it as
//! one transaction and answers each of them after that transaction's commit (group commit).
//!
//! A write is [`Durability::Disk`] unless it says otherwise: its transaction commits with
//! `synchronous = FULL`, which returns once the write-ahead log is on disk, so its answer means
//! it survives a power loss. One fsync serves every write that queued while the previous one
//! ran, instead of one fsync per write (BENCHMARKS.md: that fsync chain bound the code flow).
//! A [`Durability::Process`] write (a login's progress between two of its pages) commits with
//! `synchronous = NORMAL` when nothing durable shares its transaction: it is in the log, and so
//! survives a crash of the provider, before it is answered, and on disk at the next durable
//! commit, which syncs the whole log up to itself.
//!
//! Each write runs inside its own savepoint, so one that fails is rolled back alone and the
//! others in its batch still commit. No write ever runs on the async runtime's threads: a
//! commit waits for the disk, and a write may wait for another process's lock.

use super::err;
use crate::store::{StoreError, StoreResult};
use rusqlite::Connection;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use tokio::sync::oneshot;

/// The most writes one transaction takes; more wait for the next one.
const MAX_BATCH: usize = 256;

/// What a write's answer promises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// On disk: survives a power loss.
    Disk,
    /// Handed to the operating system: survives a crash of the provider, and reaches the disk
    /// with the next durable write (within milliseconds under load) or the next checkpoint.
    Process,
}

/// A write waiting for the writer.
trait Job: Send {
    fn durability(&self) -> Durability;
    /// Runs the write inside the batch's transaction; false if it failed.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Sends the write's result; `failed` if its batch did not commit.
    fn answer(self: Box<Self>, failed: Option<&StoreError>);
}

struct Pending<F, R> {
    durability: Durability,
    work: Option<F>,
    result: Option<rusqlite::Result<R>>,
    reply: oneshot::Sender<StoreResult<R>>,
}

impl<F, R> Job for Pending<F, R>
where
    F: FnOnce(&Connection) -> rusqlite::Result<R> + Send,
    R: Send,
{
    fn durability(&self) -> Durability {
        self.durability
    }

    fn run(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        match catch_unwind(AssertUnwindSafe(|| work(conn))) {
            Ok(result) => {
                let ok = result.is_ok();
                self.result = Some(result);
                ok
            }
            Err(_) => false,
        }
    }

    fn answer(self: Box<Self>, failed: Option<&StoreError>) {
        let outcome = match (failed, self.result) {
            (Some(e), _) => Err(e.clone()),
            (None, Some(result)) => result.map_err(err),
            (None, None) => Err(StoreError::new("the write panicked; it was rolled back")),
        };
        // The caller may have gone away (its request was cancelled); the write stands.
        let _ = self.reply.send(outcome);
    }
}

/// What the writer has done since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    pub writes: u64,
    /// Transactions committed (or rolled back); each carries one or more writes.
    pub transactions: u64,
    /// Transactions that waited for the disk.
    pub synced: u64,
}

#[derive(Default)]
struct Counters {
    writes: AtomicU64,
    transactions: AtomicU64,
    synced: AtomicU64,
}

/// The handle to the writer thread. Dropping it ends the thread once the queue is empty.
pub struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
    counters: Arc<Counters>,
}

impl Writer {
    pub fn start(conn: Connection, name: &str) -> std::io::Result<Writer> {
        let (jobs, queue) = mpsc::channel();
        let counters = Arc::new(Counters::default());
        let counting = counters.clone();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || run_batches(&conn, &queue, &counting))?;
        Ok(Writer { jobs, counters })
    }

    pub fn stats(&self) -> WriteStats {
        WriteStats {
            writes: self.counters.writes.load(Ordering::Relaxed),
            transactions: self.counters.transactions.load(Ordering::Relaxed),
            synced: self.counters.synced.load(Ordering::Relaxed),
        }
    }

    /// Runs `work` in the writer's next transaction; the answer comes after the commit.
    pub async fn write<R, F>(&self, durability: Durability, work: F) -> StoreResult<R>
    where
        F: FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Pending {
            durability,
            work: Some(work),
            result: None,
            reply,
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::new("the store's writer has stopped"))?;
        answer
            .await
            .map_err(|_| StoreError::new("the store's writer has stopped"))?
    }
}

fn run_batches(conn: &Connection, queue: &mpsc::Receiver<Box<dyn Job>>, counters: &Counters) {
    // The connection starts at FULL (see `open_writer`).
    let mut synced = true;
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let sync = batch.iter().any(|j| j.durability() == Durability::Disk);
        let outcome = match set_sync(conn, &mut synced, sync) {
            Ok(()) => run_batch(conn, &mut batch),
            Err(e) => Err(err(e)),
        };
        if let Err(e) = &outcome {
            tracing::error!(error = %e, writes = batch.len(), "store: a write transaction failed");
        }
        counters
            .writes
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        counters.transactions.fetch_add(1, Ordering::Relaxed);
        if sync {
            counters.synced.fetch_add(1, Ordering::Relaxed);
        }
        for job in batch {
            job.answer(outcome.as_ref().err());
        }
    }
}

/// Whether the next commit waits for the disk.
fn set_sync(conn: &Connection, synced: &mut bool, sync: bool) -> rusqlite::Result<()> {
    if *synced != sync {
        exec(
            conn,
            if sync {
                "PRAGMA synchronous = FULL"
            } else {
                "PRAGMA synchronous = NORMAL"
            },
        )?;
        *synced = sync;
    }
    Ok(())
}

fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// One transaction for the whole batch; each write in its own savepoint unless it is alone.
fn run_batch(conn: &Connection, batch: &mut [Box<dyn Job>]) -> Result<(), StoreError> {
    exec(conn, "BEGIN IMMEDIATE").map_err(err)?;
    let result = (|| -> rusqlite::Result<bool> {
        if let [only] = batch {
            if !only.run(conn) {
                // Nothing else to keep: undo it all. Its own error is its answer.
                exec(conn, "ROLLBACK")?;
                return Ok(false);
            }
            return Ok(true);
        }
        for job in batch.iter_mut() {
            exec(conn, "SAVEPOINT job")?;
            if !job.run(conn) {
                exec(conn, "ROLLBACK TO job")?;
            }
            exec(conn, "RELEASE job")?;
        }
        Ok(true)
    })();
    match result {
        Ok(false) => Ok(()),
        Ok(true) => match exec(conn, "COMMIT") {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = exec(conn, "ROLLBACK");
                Err(err(e))
            }
        },
        Err(e) => {
            let _ = exec(conn, "ROLLBACK");
            Err(err(e))
        }
    }
}
