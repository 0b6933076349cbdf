//! Wrong secrets whose verdict is on its way to the store, per user, in this process.
//!
//! A secret's verdict takes effect through the store's conditional writes, in the writer's
//! order (`UserStore::count_login_failure`). A right secret need not wait for a write of its
//! own when nothing could come before it: the store has no failure for the user and no wrong
//! secret of theirs is between its comparison and its write here. A wrong one is marked here
//! before its write is sent, so a right one compared after it takes the ordered path. This
//! keeps a login to the writes it had: accepting every right secret with a write of its own cost
//! two writes per netcentric login, and the one-time code and password steps took 3.83 and 6.70
//! ms p50 under load against 1.76 and 5.17 ms without (BENCHMARKS.md).
//!
//! The password, when the login ends with it, needs not even a read: the end's own write checks
//! that the store has no failure and no lock for the user (`flow::password_at_end`), again only
//! when no wrong secret of theirs is marked here.
//!
//! Per process: instances sharing a database see each other's failures once they are stored.

use std::collections::HashMap;
use std::sync::Mutex;

const SHARDS: usize = 16;

pub struct PendingFailures {
    shards: [Mutex<HashMap<String, u32>>; SHARDS],
}

impl Default for PendingFailures {
    fn default() -> Self {
        PendingFailures {
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
        }
    }
}

impl PendingFailures {
    fn shard(&self, user_id: &str) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        let index = user_id.bytes().fold(0usize, |h, b| {
            h.wrapping_mul(31).wrapping_add(usize::from(b))
        });
        self.shards[index % SHARDS]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Marks a wrong secret of `user_id` until the returned guard is dropped (after its write).
    pub fn mark(&self, user_id: &str) -> Pending<'_> {
        *self.shard(user_id).entry(user_id.to_owned()).or_default() += 1;
        Pending {
            failures: self,
            user_id: user_id.to_owned(),
        }
    }

    /// Whether a wrong secret of `user_id` is on its way to the store.
    pub fn any(&self, user_id: &str) -> bool {
        self.shard(user_id).contains_key(user_id)
    }
}

/// A marked wrong secret; unmarked when dropped, whatever happened to its write.
pub struct Pending<'a> {
    failures: &'a PendingFailures,
    user_id: String,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        let mut shard = self.failures.shard(&self.user_id);
        if let Some(n) = shard.get_mut(&self.user_id) {
            *n -= 1;
            if *n == 0 {
                shard.remove(&self.user_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_secret_is_pending_until_its_guard_goes() {
        let failures = PendingFailures::default();
        assert!(!failures.any("kari"));
        let first = failures.mark("kari");
        let second = failures.mark("kari");
        assert!(failures.any("kari") && !failures.any("ola"));
        drop(first);
        assert!(failures.any("kari"), "one is still on its way");
        drop(second);
        assert!(!failures.any("kari"));
    }
}
