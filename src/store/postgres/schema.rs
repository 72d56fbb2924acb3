//! Schema migrations: SQL files versioned in the repository
//! (`migrations/NNNN_name.sql`, embedded at build time), applied at start-up
//! in order, each in its own transaction, and recorded in
//! `triage_schema_migrations`. On PostgreSQL a session advisory lock makes
//! replicas that start together take turns; every statement is also written
//! to be harmless when repeated (`IF NOT EXISTS`), for engines without
//! advisory locks. A database migrated by a newer build is refused.

use deadpool_postgres::Object;

use super::tx::{db_error, TxError};
use super::Flavor;
use crate::store::StoreError;

/// One migration: its version, SQL, and what must follow the SQL.
struct Migration {
    version: i32,
    name: &'static str,
    sql: &'static str,
    then: Backfill,
}

/// Work a migration does in Rust after its SQL, in the same transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backfill {
    Nothing,
    /// Count the tickets already stored into the new journey rollups (their
    /// touchpoint and sentiment are in encoded records SQL cannot read).
    JourneyRollups,
}

/// Every migration, oldest first. Add new files at the end; never edit one
/// that has shipped.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "tickets",
        sql: include_str!("migrations/0001_tickets.sql"),
        then: Backfill::Nothing,
    },
    Migration {
        version: 2,
        name: "journey",
        sql: include_str!("migrations/0002_journey.sql"),
        then: Backfill::JourneyRollups,
    },
];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i32 = 2;

/// The advisory-lock key migrations hold ("triage" in ASCII).
const MIGRATION_LOCK: i64 = 0x7472_6961_6765;

/// Brings the database's schema up to [`SCHEMA_VERSION`].
pub(super) async fn migrate(client: &mut Object, flavor: Flavor) -> Result<(), StoreError> {
    if flavor == Flavor::Postgres {
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(db_error)?;
    }
    let applied = apply_missing(client).await;
    if flavor == Flavor::Postgres {
        // Also released when the session ends, should this fail.
        let unlocked = client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
            .await;
        if let Err(err) = unlocked {
            tracing::warn!(error = %err, "could not release the migration lock");
        }
    }
    applied
}

async fn apply_missing(client: &mut Object) -> Result<(), StoreError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS triage_schema_migrations (
                version INT PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )",
        )
        .await
        .map_err(db_error)?;
    let rows = client
        .query("SELECT version FROM triage_schema_migrations", &[])
        .await
        .map_err(db_error)?;
    let applied: Vec<i32> = rows.iter().map(|row| row.get(0)).collect();
    if let Some(newest) = applied.iter().max().filter(|newest| **newest > SCHEMA_VERSION) {
        return Err(StoreError::Format(format!(
            "the database's schema is version {newest}, newer than this build's {SCHEMA_VERSION}"
        )));
    }
    for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        let tx = client.transaction().await.map_err(db_error)?;
        tx.batch_execute(migration.sql).await.map_err(db_error)?;
        if migration.then == Backfill::JourneyRollups {
            super::journey::rebuild_rollups(&tx)
                .await
                .map_err(TxError::into_store)?;
        }
        tx.execute(
            "INSERT INTO triage_schema_migrations (version, name) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING",
            &[&migration.version, &migration.name],
        )
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "store schema migrated"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_up_to_the_schema_version() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version, i32::try_from(index + 1).expect("small"));
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(SCHEMA_VERSION));
    }
}
