//! Builds the running service from a [`Config`]: opens the store, loads the
//! rules, and serves gRPC (triage, health, reflection v1 and v1alpha) until
//! shutdown, with the maintenance loop (lease expiry, escalation) and the
//! operations HTTP port (metrics, probes) alongside.
//!
//! Every call passes, outermost first: its request-id span
//! ([`logging`](crate::logging)), its timing ([`metrics::rpc`]), the gRPC
//! status conventions ([`service`]), and the load-shedding limit and the
//! time limit per call ([`overload`](crate::overload)).
//!
//! The triage service sits behind the token check ([`crate::auth`]);
//! health and reflection stay open. With TLS files, connections are TLS
//! ([`crate::tls`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::app::App;
use crate::auth::{self, Keyring};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::console::{Console, ConsoleSettings};
use crate::logging::RequestIdLayer;
use crate::metrics::rpc::{KnownMethods, RpcMetricsLayer};
use crate::overload::{OverloadSettings, ShedLayer, TimeoutLayer};
use crate::pb::triage_service_server::TriageServiceServer;
use crate::rule_watch;
use crate::rules::RuleError;
use crate::service::{GrpcConventionsLayer, TriageApi};
use crate::shutdown::{self, Shutdown};
use crate::store::{self, StoreError};
use crate::tls::{self, Acceptor, TlsError, TlsFiles};

/// The API's file descriptor set, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/triage_descriptor.bin"));

/// The names of the triage service's RPCs (`IngestTicket` ...), read from
/// [`FILE_DESCRIPTOR_SET`]: what the auth policy and its tests must cover.
pub fn triage_methods() -> Vec<String> {
    use prost::Message;
    let Ok(set) = prost_types::FileDescriptorSet::decode(FILE_DESCRIPTOR_SET) else {
        return Vec::new();
    };
    set.file
        .iter()
        .flat_map(|file| &file.service)
        .filter(|service| service.name() == "TriageService")
        .flat_map(|service| &service.method)
        .map(|method| method.name().to_string())
        .collect()
}

/// Why the server could not start or keep running.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The rule set was rejected.
    #[error("cannot load rules: {0}")]
    Rules(#[from] RuleError),
    /// The store could not be opened.
    #[error("cannot open store: {0}")]
    Store(#[from] StoreError),
    /// gRPC transport failure.
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// Reflection service could not be built.
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The TLS certificate or key could not be loaded.
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
}

/// Opens the store and loads the rules named by `config`.
pub async fn build_app(config: &Config, clock: SharedClock) -> Result<Arc<App>, ServerError> {
    let rules = config.load_rules()?;
    let store = store::open(&config.location, config.store, config.pg).await?;
    tracing::info!(
        rules = rules.source(),
        version = rules.version(),
        rule_count = rules.rule_count(),
        store = %config.location,
        "triage ready"
    );
    Ok(Arc::new(App::with_store(rules, store, clock, config.app.clone())))
}

/// How the server paces its background work and its shutdown, and who
/// may call it over what.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// How often leases are expired and deadlines escalated.
    pub maintenance_interval: Duration,
    /// How long a shutdown waits for open connections to finish before it
    /// closes them: an idle connection or an unread stream must not keep
    /// the process alive until its supervisor kills it.
    pub drain_timeout: Duration,
    /// Concurrency and HTTP/2 limits.
    pub overload: OverloadSettings,
    /// Bearer tokens every triage RPC must present; `None` serves without
    /// authentication.
    pub tokens: Option<Arc<Keyring>>,
    /// Certificate files to serve TLS with; `None` serves plain HTTP/2.
    pub tls: Option<TlsFiles>,
    /// How often the token and certificate files are checked for changes.
    pub file_check_interval: Duration,
    /// The rule file to poll for changes, and how often; `None`: reload
    /// only on SIGHUP or `ReloadRules`.
    pub rule_watch: Option<(std::path::PathBuf, Duration)>,
    /// The rule file the server was started with (the console's admin
    /// "reload the rule file" reads it again); `None`: the embedded rules.
    pub rules_path: Option<std::path::PathBuf>,
}

impl From<&Config> for ServeSettings {
    fn from(config: &Config) -> Self {
        ServeSettings {
            maintenance_interval: config.maintenance_interval,
            drain_timeout: config.drain_timeout,
            overload: config.overload,
            tokens: config.tokens.clone(),
            tls: config.tls.clone(),
            file_check_interval: config.file_check_interval,
            rule_watch: config.rules_path.clone().zip(config.watch_rules),
            rules_path: config.rules_path.clone(),
        }
    }
}

/// Serves `app` on `listener` until `stop` resolves, then drains: stops
/// accepting, ends watch streams, lets requests in flight finish for up to
/// the drain timeout, closes what is still open, and makes every write
/// durable.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    settings: ServeSettings,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    serve_with_http(app, listener, None, settings, stop).await
}

/// The encoded file descriptor sets of every service served: what
/// reflection describes and what metrics label.
fn descriptor_sets() -> [&'static [u8]; 4] {
    [
        FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ]
}

/// A reflection builder that knows the triage API and gRPC health (the
/// reflection services describe themselves).
fn reflection() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

/// Like [`serve`], and serves the operations HTTP port (`/metrics`,
/// `/healthz`, `/readyz`, and the web console under `/console`) on `http`
/// until the same shutdown.
pub async fn serve_with_http(
    app: Arc<App>,
    listener: TcpListener,
    http: Option<TcpListener>,
    settings: ServeSettings,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let (trigger, shutdown) = shutdown::channel();
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<TriageServiceServer<TriageApi>>().await;
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;
    let max_message = app.limits().max_body_bytes.saturating_add(1024 * 1024);
    let api =
        TriageApi::new(Arc::clone(&app), shutdown.clone()).with_max_watchers(settings.overload.max_watchers);
    let api = TriageServiceServer::new(api).max_decoding_message_size(max_message);
    let api = auth::guard(settings.tokens.clone(), api);
    let layers = tower::ServiceBuilder::new()
        .layer(RequestIdLayer)
        .layer(RpcMetricsLayer::new(
            Arc::clone(app.metrics()),
            KnownMethods::from_descriptor_sets(&descriptor_sets()),
        ))
        .layer(GrpcConventionsLayer)
        .layer(ShedLayer::new(settings.overload.max_concurrent_rpcs))
        .layer(TimeoutLayer::new(settings.overload.rpc_timeout))
        .into_inner();
    let console = Arc::new(Console::new(
        Arc::clone(&app),
        ConsoleSettings {
            tokens: settings.tokens.clone(),
            tls: settings.tls.is_some(),
            rules_path: settings.rules_path.clone(),
            on_network: http
                .as_ref()
                .and_then(|listener| listener.local_addr().ok())
                .is_some_and(|address| !address.ip().is_loopback()),
        },
    ));
    let probes = http.map(|listener| {
        tokio::spawn(console.sample_rates(shutdown.clone()));
        tokio::spawn(crate::metrics::http::serve(
            Arc::clone(&app),
            console,
            listener,
            shutdown.clone(),
        ))
    });
    if let Some(keyring) = &settings.tokens {
        let every = settings.file_check_interval;
        tokio::spawn(auth::reload_on_change(
            Arc::clone(keyring),
            every,
            shutdown.clone(),
        ));
    }
    if let Some((rule_file, every)) = &settings.rule_watch {
        let watch =
            rule_watch::watch_rule_file(Arc::clone(&app), rule_file.clone(), *every, shutdown.clone());
        tokio::spawn(watch);
    }
    let acceptor = settings.tls.clone().map(Acceptor::new).transpose()?;
    if let Some(acceptor) = &acceptor {
        let every = settings.file_check_interval;
        tokio::spawn(tls::reload_on_change(
            Arc::clone(acceptor),
            every,
            shutdown.clone(),
        ));
    }
    if let Ok(address) = listener.local_addr() {
        auth::warn_if_clear_text(address, settings.tokens.is_some(), acceptor.is_some());
    }
    let drain_timeout = settings.drain_timeout;
    let maintenance = tokio::spawn(maintain(
        Arc::clone(&app),
        settings.maintenance_interval,
        health.clone(),
        shutdown,
    ));
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let drain = async move {
        stop.await;
        tracing::info!("shutting down: draining requests");
        health.set_not_serving::<TriageServiceServer<TriageApi>>().await;
        trigger.fire();
        let _ = stopping.send(());
    };
    let server = settings
        .overload
        .http2_limits(tonic::transport::Server::builder())
        .layer(layers)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(api)
        .serve_with_incoming_shutdown(tls::incoming(listener, acceptor), drain);
    let drain_deadline = async move {
        if stopped.await.is_ok() {
            tokio::time::sleep(drain_timeout).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let served = tokio::select! {
        served = server => served,
        () = drain_deadline => {
            tracing::warn!(
                timeout = ?drain_timeout,
                "connections still open after the drain timeout; closing them"
            );
            Ok(())
        }
    };
    if let Err(err) = maintenance.await {
        tracing::error!(error = %err, "maintenance task failed");
    }
    if let Some(probes) = probes {
        if let Err(err) = probes.await {
            tracing::error!(error = %err, "operations port task failed");
        }
    }
    app.store().sync().await?;
    served?;
    tracing::info!("stopped");
    Ok(())
}

/// Expires leases, escalates breached deadlines and purges expired
/// tickets every `interval`; reports NOT_SERVING while the store cannot
/// make writes durable, and asks it to recover on every tick meanwhile
/// (sled reopens its database once the disk has room; PostgreSQL's pool
/// reconnects by itself), SERVING again after.
async fn maintain(
    app: Arc<App>,
    interval: Duration,
    health: tonic_health::server::HealthReporter,
    mut shutdown: Shutdown,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut serving = true;
    loop {
        tokio::select! {
            () = shutdown.wait() => return,
            _ = ticks.tick() => {}
        }
        let healthy = match app.store().health() {
            Ok(()) => Ok(()),
            // A reopen may take a while; shutdown does not wait for it.
            Err(_) => tokio::select! {
                () = shutdown.wait() => return,
                recovered = app.store().recover() => recovered,
            },
        };
        if healthy.is_ok() != serving {
            serving = healthy.is_ok();
            match &healthy {
                Err(reason) => {
                    tracing::error!(reason = %reason, "store cannot make writes durable; reporting NOT_SERVING")
                }
                Ok(()) => tracing::info!("store healthy again; reporting SERVING"),
            }
            report_serving(&health, serving).await;
        }
        if healthy.is_err() {
            continue;
        }
        match app.run_maintenance().await {
            Ok(0) => {}
            Ok(changed) => tracing::debug!(changed, "maintenance changed tickets"),
            Err(err) => tracing::error!(error = %err, "maintenance failed"),
        }
    }
}

/// Sets the triage service's and the server's health status.
async fn report_serving(health: &tonic_health::server::HealthReporter, serving: bool) {
    let status = if serving {
        health.set_serving::<TriageServiceServer<TriageApi>>().await;
        tonic_health::ServingStatus::Serving
    } else {
        health.set_not_serving::<TriageServiceServer<TriageApi>>().await;
        tonic_health::ServingStatus::NotServing
    };
    health.set_service_status("", status).await;
}

/// Handles SIGHUP: reloads the rule file at `path` on every one. A bad
/// file is logged with file, line and reason, and the running rules stay.
/// A server without a rule file (`path` is `None`, the embedded rules) logs
/// "no rule file; SIGHUP ignored" and carries on: SIGHUP's default action
/// would end the process.
///
/// The handler is installed when this is called, so a SIGHUP that arrives
/// before the returned future is first polled is not lost (nor fatal).
#[cfg(unix)]
pub fn reload_rules_on_sighup(
    app: Arc<App>,
    path: Option<std::path::PathBuf>,
) -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let hangups = signal(SignalKind::hangup());
    async move {
        let mut hangups = match hangups {
            Ok(hangups) => hangups,
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGHUP; rule reload disabled");
                return;
            }
        };
        while hangups.recv().await.is_some() {
            let Some(path) = &path else {
                tracing::warn!("no rule file; SIGHUP ignored");
                continue;
            };
            match app.reload_rules(path).await {
                Ok(rules) => tracing::info!(
                    version = rules.version(),
                    rule_count = rules.rule_count(),
                    "rules reloaded"
                ),
                Err(err) => tracing::error!(error = %err, "rules rejected; keeping the running rules"),
            }
        }
    }
}
