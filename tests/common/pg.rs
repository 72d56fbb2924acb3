//! The PostgreSQL side of the test harness: which backend the suites run
//! on (`TRIAGE_TEST_STORE=postgres`, default sled), and a fresh schema per
//! test, dropped when the test ends. The server is `TRIAGE_TEST_PG`
//! (default `postgres://postgres@127.0.0.1:5432/test`). When it cannot be
//! reached a PostgreSQL test fails under `CI=true` and is skipped, saying
//! so, elsewhere.

use std::sync::atomic::{AtomicU32, Ordering};

/// The database server the PostgreSQL tests use.
pub fn admin_url() -> String {
    std::env::var("TRIAGE_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// `HOST:PORT` of the database server (for tests that relay to it).
pub fn admin_address() -> String {
    let config: tokio_postgres::Config = admin_url().parse().expect("TRIAGE_TEST_PG is a URL");
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}")
}

/// True when the suites should run on PostgreSQL (`TRIAGE_TEST_STORE=postgres`).
pub fn postgres_selected() -> bool {
    std::env::var("TRIAGE_TEST_STORE").is_ok_and(|store| store == "postgres")
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|ci| ci == "true" || ci == "1")
}

/// A schema of its own for one test; dropped (with everything in it) on drop.
pub struct PgSchema {
    name: String,
}

impl PgSchema {
    /// A new, empty schema; `None` (with a message) when PostgreSQL cannot
    /// be reached outside CI. Panics in CI when it cannot be reached.
    pub async fn create() -> Option<PgSchema> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "t_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        match execute(&format!("CREATE SCHEMA {name}")).await {
            Ok(()) => Some(PgSchema { name }),
            Err(err) if in_ci() => panic!("PostgreSQL at {} is unreachable in CI: {err}", admin_url()),
            Err(err) => {
                eprintln!(
                    "SKIPPED: PostgreSQL at {} is unreachable ({err}); start it to run this test",
                    admin_url()
                );
                None
            }
        }
    }

    /// The store URL of this schema (`--store` value).
    pub fn url(&self) -> String {
        let admin = admin_url();
        let joiner = if admin.contains('?') { '&' } else { '?' };
        format!("{admin}{joiner}options=-c%20search_path%3D{}", self.name)
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        // A lock timeout: a transaction of a server still running on this
        // runtime (blocked while this waits) must not hang the test.
        let sql = format!(
            "SET lock_timeout = '5s'; DROP SCHEMA IF EXISTS {} CASCADE",
            self.name
        );
        // Drop may run inside a runtime: a thread of its own with its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            match runtime {
                Ok(runtime) => runtime.block_on(execute(&sql)),
                Err(err) => Err(err.to_string()),
            }
        })
        .join();
        if let Ok(Err(err)) = dropped {
            eprintln!("could not drop test schema {}: {err}", self.name);
        }
    }
}

/// Runs one statement on the admin connection.
pub async fn execute(sql: &str) -> Result<(), String> {
    let (client, connection) = tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls)
        .await
        .map_err(|err| err.to_string())?;
    let driver = tokio::spawn(connection);
    let done = client.batch_execute(sql).await.map_err(|err| err.to_string());
    drop(client);
    let _ = driver.await;
    done
}

/// Runs a query returning one BIGINT on the admin connection.
pub async fn query_i64(sql: &str) -> Result<i64, String> {
    let (client, connection) = tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls)
        .await
        .map_err(|err| err.to_string())?;
    let driver = tokio::spawn(connection);
    let value = client
        .query_one(sql, &[])
        .await
        .map(|row| row.get::<_, i64>(0))
        .map_err(|err| err.to_string());
    drop(client);
    let _ = driver.await;
    value
}
