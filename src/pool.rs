//! A bounded pool for CPU-heavy work (classifying long tickets), with a
//! time budget per job.
//!
//! Jobs run on tokio's blocking threads, but at most `threads` at once: a
//! burst of long tickets cannot take every core from the async workers that
//! answer health checks and pings. A job that has not finished within its
//! budget (waiting for a thread included) is answered with
//! [`PoolError::OverBudget`]; a running job cannot be interrupted, so it
//! finishes on its thread and keeps its slot until then, and the pool never
//! runs more than `threads` jobs.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

/// Why a job gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The job did not finish within its budget.
    #[error("did not finish within its budget of {} ms (the server is busy or the input is too large)", .0.as_millis())]
    OverBudget(Duration),
    /// The job panicked or the pool is closed.
    #[error("the job failed: {0}")]
    Failed(String),
}

/// A bounded pool of blocking threads. Cheap to clone; clones share slots.
#[derive(Debug, Clone)]
pub struct BlockingPool {
    slots: Arc<Semaphore>,
    budget: Option<Duration>,
}

impl BlockingPool {
    /// A pool running at most `threads` jobs at once (at least one), each
    /// answered within `budget` when one is given.
    pub fn new(threads: usize, budget: Option<Duration>) -> BlockingPool {
        BlockingPool {
            slots: Arc::new(Semaphore::new(threads.max(1))),
            budget,
        }
    }

    /// Runs `job` on a pool thread and returns its result.
    pub async fn run<T, F>(&self, job: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let slots = Arc::clone(&self.slots);
        let queued_and_run = async move {
            let slot = slots
                .acquire_owned()
                .await
                .map_err(|err| PoolError::Failed(err.to_string()))?;
            tokio::task::spawn_blocking(move || {
                let answer = job();
                drop(slot);
                answer
            })
            .await
            .map_err(|err| PoolError::Failed(err.to_string()))
        };
        match self.budget {
            None => queued_and_run.await,
            Some(budget) => tokio::time::timeout(budget, queued_and_run)
                .await
                .map_err(|_| PoolError::OverBudget(budget))?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_job_answers_with_its_result() {
        let pool = BlockingPool::new(1, None);
        assert_eq!(pool.run(|| 6 * 7).await, Ok(42));
    }

    #[tokio::test]
    async fn a_job_waiting_past_its_budget_is_refused() {
        let pool = BlockingPool::new(1, Some(Duration::from_millis(50)));
        let _busy = Arc::clone(&pool.slots).try_acquire_owned().expect("the one slot");
        // The only slot is taken, so the job can only wait until its budget
        // runs out.
        let refused = pool.run(|| ()).await;
        assert_eq!(refused, Err(PoolError::OverBudget(Duration::from_millis(50))));
    }
}
