//! Transactions: every verb is one transaction, retried with backoff when
//! the database reports a serialization failure (SQLSTATE 40001, which
//! CockroachDB reports routinely) or a deadlock (40P01). The work is a
//! closure that can run again from the start. Any other database failure,
//! a lost connection included, is [`StoreError::Storage`] (the service
//! answers UNAVAILABLE) and marks the store unhealthy until the next
//! successful round trip.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use deadpool_postgres::Transaction;
use rand::Rng;
use tokio_postgres::error::SqlState;

use super::Inner;
use crate::store::StoreError;

/// Attempts of one transaction before a serialization failure is reported.
const ATTEMPTS: u32 = 10;

/// Why a transaction's work stopped.
#[derive(Debug)]
pub(super) enum TxError {
    /// The database failed (retried when it is a serialization failure).
    Db(tokio_postgres::Error),
    /// The verb refused (stale lease, not found ...): rolled back, reported.
    Store(StoreError),
}

impl From<tokio_postgres::Error> for TxError {
    fn from(err: tokio_postgres::Error) -> Self {
        TxError::Db(err)
    }
}

impl From<StoreError> for TxError {
    fn from(err: StoreError) -> Self {
        TxError::Store(err)
    }
}

impl TxError {
    /// The error as the store reports it.
    pub(super) fn into_store(self) -> StoreError {
        match self {
            TxError::Db(err) => db_error(err),
            TxError::Store(err) => err,
        }
    }
}

/// A step of a transaction's work.
pub(super) type TxResult<T> = Result<T, TxError>;

/// A transaction's work, boxed so it can borrow the transaction.
pub(super) type Work<'a, T> = Pin<Box<dyn Future<Output = TxResult<T>> + Send + 'a>>;

/// A database error as the store reports it (never the connection string).
pub(super) fn db_error(err: tokio_postgres::Error) -> StoreError {
    let reason = match err.as_db_error() {
        Some(db) => format!("database: {} ({})", db.message(), db.code().code()),
        None => format!("database connection: {err}"),
    };
    StoreError::Storage(reason)
}

fn retryable(err: &tokio_postgres::Error) -> bool {
    matches!(
        err.code(),
        Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED
    )
}

/// Waits before attempt `attempt` (1-based): exponential with jitter, from
/// about 2 ms to about 0.5 s.
async fn backoff(attempt: u32) {
    let ceiling = 2u64 << attempt.min(8);
    let millis = rand::rng().random_range(ceiling / 2..=ceiling);
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

impl Inner {
    /// Runs `work` in a transaction with `context`, committing when it
    /// returns `Ok`; retries serialization failures from the start. The
    /// answer is `Ok` only once the commit is acknowledged.
    /// The commit of a write is reported to the observer, if any.
    pub(super) async fn transact<C: Sync + ?Sized, T>(
        &self,
        context: &C,
        work: impl for<'a> Fn(&'a Transaction<'a>, &'a C) -> Work<'a, T>,
    ) -> Result<T, StoreError> {
        self.run(context, work, true).await
    }

    /// Like [`transact`](Self::transact), for work that only reads.
    pub(super) async fn read<C: Sync + ?Sized, T>(
        &self,
        context: &C,
        work: impl for<'a> Fn(&'a Transaction<'a>, &'a C) -> Work<'a, T>,
    ) -> Result<T, StoreError> {
        self.run(context, work, false).await
    }

    async fn run<C: Sync + ?Sized, T>(
        &self,
        context: &C,
        work: impl for<'a> Fn(&'a Transaction<'a>, &'a C) -> Work<'a, T>,
        writes: bool,
    ) -> Result<T, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.attempt(context, &work, writes).await {
                Ok(value) => return Ok(value),
                Err(TxError::Store(err)) => return Err(err),
                Err(TxError::Db(err)) if retryable(&err) && attempt < ATTEMPTS => backoff(attempt).await,
                Err(TxError::Db(err)) => {
                    if err.as_db_error().is_none() {
                        self.health.failed(&err.to_string());
                    }
                    return Err(db_error(err));
                }
            }
        }
    }

    async fn attempt<C: Sync + ?Sized, T>(
        &self,
        context: &C,
        work: &impl for<'a> Fn(&'a Transaction<'a>, &'a C) -> Work<'a, T>,
        writes: bool,
    ) -> TxResult<T> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let value = work(&tx, context).await?;
        let committing = Instant::now();
        tx.commit().await?;
        if let Some(observer) = self.observer.get().filter(|_| writes) {
            observer.flushed(1, committing.elapsed());
        }
        Ok(value)
    }

    /// A pooled connection; a pool that cannot connect makes the store
    /// unhealthy.
    pub(super) async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(|err| {
            let reason = format!("no database connection: {err}");
            self.health.failed(&reason);
            StoreError::Storage(reason)
        })
    }
}
