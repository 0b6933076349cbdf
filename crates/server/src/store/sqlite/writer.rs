//! The one writer: a SQLite connection on its own thread that runs the writes waiting for it as
//! one transaction and answers each of them after that transaction's commit (group commit).
//!
//! Its transactions commit with `synchronous = FULL`, which returns once the write-ahead log is
//! on disk, so an answer means the write survives a power loss. One fsync serves every write
//! that queued while the previous one ran, instead of one fsync per write (BENCHMARKS.md: that
//! fsync chain bound the code flow).
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
use std::time::Instant;
use tokio::sync::oneshot;

/// The most writes one transaction takes; more wait for the next one.
const MAX_BATCH: usize = 256;

/// A write waiting for the writer.
trait Job: Send {
    /// Runs the write inside the batch's transaction; false if it failed.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Sends the write's result; `failed` if its batch did not commit.
    fn answer(self: Box<Self>, failed: Option<&StoreError>);
}

struct Pending<F, R> {
    work: Option<F>,
    result: Option<rusqlite::Result<R>>,
    reply: oneshot::Sender<StoreResult<R>>,
}

impl<F, R> Job for Pending<F, R>
where
    F: FnOnce(&Connection) -> rusqlite::Result<R> + Send,
    R: Send,
{
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
    /// Writes handed to the writer (queued, running or done).
    pub submitted: u64,
    /// Writes the writer has taken from its queue into a transaction.
    pub taken: u64,
    pub writes: u64,
    /// Transactions committed (or rolled back); each carries one or more writes.
    pub transactions: u64,
    /// Time spent running and committing transactions, in microseconds: against the time
    /// since start, how close the one writer is to being the limit.
    pub busy_us: u64,
}

#[derive(Default)]
struct Counters {
    submitted: AtomicU64,
    taken: AtomicU64,
    writes: AtomicU64,
    transactions: AtomicU64,
    busy_us: AtomicU64,
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
            submitted: self.counters.submitted.load(Ordering::SeqCst),
            taken: self.counters.taken.load(Ordering::SeqCst),
            writes: self.counters.writes.load(Ordering::Relaxed),
            transactions: self.counters.transactions.load(Ordering::Relaxed),
            busy_us: self.counters.busy_us.load(Ordering::Relaxed),
        }
    }

    /// Runs `work` in the writer's next transaction; the answer comes after the commit.
    pub async fn write<R, F>(&self, work: F) -> StoreResult<R>
    where
        F: FnOnce(&Connection) -> rusqlite::Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Pending {
            work: Some(work),
            result: None,
            reply,
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::new("the store's writer has stopped"))?;
        self.counters.submitted.fetch_add(1, Ordering::SeqCst);
        answer
            .await
            .map_err(|_| StoreError::new("the store's writer has stopped"))?
    }
}

fn run_batches(conn: &Connection, queue: &mpsc::Receiver<Box<dyn Job>>, counters: &Counters) {
    while let Ok(first) = queue.recv() {
        // Let the threads that are ready to run go first: under load they are the ones about to
        // queue more writes, which then share this transaction's commit. On an idle machine
        // there is no one to yield to and this returns at once.
        std::thread::yield_now();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        counters
            .taken
            .fetch_add(batch.len() as u64, Ordering::SeqCst);
        let started = Instant::now();
        let outcome = run_batch(conn, &mut batch);
        let busy = started.elapsed().as_micros() as u64;
        if let Err(e) = &outcome {
            tracing::error!(error = %e, writes = batch.len(), "store: a write transaction failed");
        }
        counters
            .writes
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        counters.transactions.fetch_add(1, Ordering::Relaxed);
        counters.busy_us.fetch_add(busy, Ordering::Relaxed);
        for job in batch {
            job.answer(outcome.as_ref().err());
        }
    }
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
