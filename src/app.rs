//! The triage domain façade: validates tickets, classifies them with the
//! running rule set, stores them, and drives the agent workflow, publishing
//! queue events. gRPC handlers call this; it knows nothing of gRPC.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::broadcast::error::RecvError;

use crate::backtest::{self, BacktestFilter, BacktestReport, Move, MoveTally, Placement, Progress};
use crate::clock::{SharedClock, UnixMicros};
use crate::error::Error;
use crate::events::{EventBus, QueueEvent, QueueEventKind};
use crate::insights::report::Windows;
use crate::insights::{self, CustomerJourney, JourneyReport, ReportRequest};
use crate::labels::{self, LabelledTicket};
use crate::metrics::Metrics;
use crate::pool::{BlockingPool, PoolError};
use crate::rules::{CustomerHistory, Explanation, RuleLimits, RuleSet, Validation};
use crate::shutdown::Shutdown;
use crate::store::{
    ClaimRequest, CustomerCursor, EscalationPolicies, EscalationPolicy, Ingested, QueueCursor, QueueStats,
    StoreObserver, TicketStore, Transition,
};
use crate::ticket::{
    Channel, Classification, CustomerKind, Priority, Relabel, Ticket, TicketId, TicketInput, TicketView,
    REPEAT_CONTACT_DAYS,
};
use crate::validate::{self, Limits};

/// Tickets with at most this many bytes of text are classified on the
/// calling task (tens of microseconds); longer ones on the blocking pool.
const INLINE_CLASSIFY_BYTES: usize = 8 * 1024;

/// How long completed tickets are kept unless configured otherwise (see
/// `--retention-days`).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(crate::config::DEFAULT_RETENTION_DAYS * 86_400);

/// Settings of the domain that come from configuration.
#[derive(Debug, Clone)]
pub struct AppSettings {
    /// Size limits on incoming tickets and agents' notes.
    pub limits: Limits,
    /// First-response minutes per priority, for tickets whose rules and
    /// queue set none.
    pub default_first_response_minutes: BTreeMap<Priority, u32>,
    /// How many earlier tickets of a customer history rules see.
    pub history_limit: usize,
    /// Events buffered per queue watcher before it lags.
    pub watch_buffer: usize,
    /// Completed tickets older than this are deleted; `None` keeps them.
    pub retention: Option<Duration>,
    /// Long tickets classified at once, on blocking threads.
    pub classify_threads: usize,
    /// How long a long ticket may wait for and take its classification
    /// before the call is refused (RESOURCE_EXHAUSTED); `None`: no limit.
    pub classify_budget: Option<Duration>,
    /// Bounds on rule files loaded, reloaded or validated while running.
    pub rule_limits: RuleLimits,
    /// E-mail domains (lower case) whose senders are internal customers.
    pub internal_domains: Vec<String>,
}

/// Default of `--classify-budget-ms`.
pub const DEFAULT_CLASSIFY_BUDGET: Duration = Duration::from_secs(5);

/// Default of `--classify-threads`: one per core.
pub fn default_classify_threads() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            default_first_response_minutes: BTreeMap::new(),
            history_limit: 200,
            watch_buffer: 1024,
            retention: Some(DEFAULT_RETENTION),
            classify_threads: default_classify_threads(),
            classify_budget: Some(DEFAULT_CLASSIFY_BUDGET),
            rule_limits: RuleLimits::default(),
            internal_domains: Vec::new(),
        }
    }
}

/// The running rule set and when it was loaded, swapped together.
#[derive(Debug, Clone)]
pub struct ActiveRules {
    /// The rule set.
    pub rules: Arc<RuleSet>,
    /// When it was loaded (by the domain's clock).
    pub loaded_at: UnixMicros,
}

/// What a reclassification of open tickets did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReclassifyReport {
    /// The rules applied.
    pub rules_version: String,
    /// Waiting tickets re-classified (those the running rules placed
    /// already are skipped).
    pub examined: u64,
    /// Of those, re-filed.
    pub moved: u64,
    /// Every move made, most tickets first.
    pub moves: Vec<Move>,
}

/// What a reload did.
#[derive(Debug, Clone)]
pub struct Reloaded {
    /// The rules now running.
    pub active: ActiveRules,
    /// Waiting tickets moved out of the queues the new rules dropped.
    pub moved: u64,
}

/// Tickets read per page while a reload empties a dropped queue, or a
/// reclassification walks a queue.
const MOVE_PAGE: usize = 256;

/// A queue with its figures.
#[derive(Debug, Clone)]
pub struct QueueOverview {
    /// Name.
    pub name: String,
    /// Description from the rule set.
    pub description: String,
    /// Figures.
    pub stats: QueueStats,
}

/// One page of a listing: a queue's tickets (`C` = [`QueueCursor`]) or a
/// customer's ([`CustomerCursor`]).
#[derive(Debug, Clone)]
pub struct TicketPage<C = QueueCursor> {
    /// Tickets in listing order.
    pub tickets: Vec<Ticket>,
    /// Where the next page starts, if there may be one.
    pub next: Option<C>,
}

/// The running service's domain state. Share it as `Arc<App>`.
#[derive(Debug)]
pub struct App {
    rules: RwLock<ActiveRules>,
    /// Held for the whole of a reload, so two reloads do not interleave
    /// their checks and swaps.
    reloading: tokio::sync::Mutex<()>,
    /// Held shared by every write that files a ticket into a queue the
    /// running rules name (ingest, transfer, escalation, reclassification)
    /// or takes one out of it (a claim), from reading the rules to the
    /// store's answer; held exclusively by a
    /// reload while it empties the queues it drops and swaps. So no write
    /// can file a ticket into a queue a reload has just dropped.
    placing: tokio::sync::RwLock<()>,
    store: Arc<dyn TicketStore>,
    clock: SharedClock,
    events: EventBus,
    /// True when the store publishes the events of committed changes
    /// itself (a store shared by replicas); `App` then publishes none.
    store_publishes: bool,
    settings: AppSettings,
    metrics: Arc<Metrics>,
    classify_pool: BlockingPool,
}

impl App {
    /// Assembles the domain from its parts.
    pub fn new(
        rules: RuleSet,
        store: impl TicketStore + 'static,
        clock: SharedClock,
        settings: AppSettings,
    ) -> App {
        App::with_store(rules, Arc::new(store), clock, settings)
    }

    /// Assembles the domain around a store chosen at run time.
    pub fn with_store(
        rules: RuleSet,
        store: Arc<dyn TicketStore>,
        clock: SharedClock,
        settings: AppSettings,
    ) -> App {
        let metrics = Arc::new(Metrics::new());
        metrics.rules_loaded(rules.version(), rules.source());
        let observer: Arc<dyn StoreObserver> = Arc::clone(&metrics) as _;
        store.observe(observer);
        let events = EventBus::new(settings.watch_buffer);
        let store_publishes = store.publish_to(&events);
        App {
            rules: RwLock::new(ActiveRules {
                rules: Arc::new(rules),
                loaded_at: clock.now(),
            }),
            reloading: tokio::sync::Mutex::new(()),
            placing: tokio::sync::RwLock::new(()),
            store,
            clock,
            events,
            store_publishes,
            classify_pool: BlockingPool::new(settings.classify_threads, settings.classify_budget),
            settings,
            metrics,
        }
    }

    /// The service's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The running rule set.
    pub fn rules(&self) -> Arc<RuleSet> {
        self.active_rules().rules
    }

    /// The running rule set and when it was loaded.
    pub fn active_rules(&self) -> ActiveRules {
        let guard = self.rules.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        guard.clone()
    }

    /// Swaps in a new rule set atomically; requests in flight finish with
    /// the old one. Refused, keeping the running rules, when the new set
    /// drops a queue that still holds waiting or claimed tickets.
    pub async fn replace_rules(&self, rules: RuleSet) -> Result<ActiveRules, Error> {
        self.swap_rules(rules, None).await.map(|reloaded| reloaded.active)
    }

    /// Swaps in a new rule set atomically. The waiting tickets of queues it
    /// drops move to `move_dropped_to` (a queue of the new set) in the same
    /// operation; without it, or while agents hold tickets of a dropped
    /// queue, the swap is refused and the running rules stay. Writes that
    /// file tickets wait meanwhile, so none lands in a dropped queue.
    pub async fn swap_rules(&self, rules: RuleSet, move_dropped_to: Option<&str>) -> Result<Reloaded, Error> {
        let _reloading = self.reloading.lock().await;
        if let Some(to) = move_dropped_to {
            if rules.queue(to).is_none() {
                return Err(Error::invalid(
                    "move_dropped_to",
                    format!("queue {to:?} is not declared in {}", rules.source()),
                ));
            }
        }
        let _placing = self.placing.write().await;
        let dropped: Vec<String> = self
            .rules()
            .queues()
            .iter()
            .filter(|queue| rules.queue(&queue.name).is_none())
            .map(|queue| queue.name.clone())
            .collect();
        let stats = self.store.queues_stats(&dropped, self.now()).await?;
        for (queue, stats) in dropped.iter().zip(&stats) {
            let refusal = match move_dropped_to {
                _ if stats.leased > 0 => format!(
                    "{} tickets of it are claimed; let agents complete or transfer them first",
                    stats.leased
                ),
                None if stats.depth > 0 => format!(
                    "it holds {} waiting tickets; name a queue to move them to (move_dropped_to)",
                    stats.depth
                ),
                _ => continue,
            };
            return Err(Error::FailedPrecondition(format!(
                "{}: drops queue {queue:?}, and {refusal}",
                rules.source()
            )));
        }
        let mut moved = 0;
        if let Some(to) = move_dropped_to {
            let reason = format!("queue dropped by rules {}", rules.version());
            for queue in &dropped {
                moved += self.empty_queue_into(queue, to, &reason).await?;
            }
        }
        self.metrics.rules_loaded(rules.version(), rules.source());
        let active = ActiveRules {
            rules: Arc::new(rules),
            loaded_at: self.now(),
        };
        let mut guard = self
            .rules
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *guard = active.clone();
        Ok(Reloaded { active, moved })
    }

    /// Moves every waiting ticket of `from` to queue `to`, keeping the
    /// rest of its classification. Returns how many moved.
    async fn empty_queue_into(&self, from: &str, to: &str, reason: &str) -> Result<u64, Error> {
        let mut moved = 0;
        loop {
            let (waiting, _) = self.store.list_queue(from, MOVE_PAGE, None).await?;
            if waiting.is_empty() {
                return Ok(moved);
            }
            for ticket in waiting {
                let mut classification = ticket.classification;
                classification.queue = to.to_string();
                let now = self.now();
                if let Some(transition) = self
                    .store
                    .requeue(ticket.id, &classification, reason, now)
                    .await?
                {
                    self.announce(transition);
                    moved += 1;
                }
            }
        }
    }

    /// Loads a rule file and swaps it in; on any error the running rules
    /// stay and the error says what is wrong, where.
    pub async fn reload_rules(&self, path: &std::path::Path) -> Result<Arc<RuleSet>, Error> {
        self.reload_rules_path(path, None)
            .await
            .map(|reloaded| reloaded.active.rules)
    }

    /// Compiles rule-file `text` (named `name` in messages) and swaps it
    /// in; on any error the running rules stay. Its `lexicon_files` may
    /// only name files beside the running rule file.
    pub async fn reload_rules_text(
        &self,
        name: &str,
        text: String,
        move_dropped_to: Option<&str>,
    ) -> Result<Reloaded, Error> {
        let compiled = self.compile_candidate(name, text).await;
        self.activate(compiled, move_dropped_to).await
    }

    /// Like [`reload_rules`](Self::reload_rules), answering with the
    /// rules now running and when they were loaded.
    pub async fn reload_rules_path(
        &self,
        path: &std::path::Path,
        move_dropped_to: Option<&str>,
    ) -> Result<Reloaded, Error> {
        let path = path.to_path_buf();
        let limits = self.settings.rule_limits;
        let compiled = compile_off_workers(move || RuleSet::load_within(&path, &limits)).await;
        self.activate(compiled, move_dropped_to).await
    }

    async fn activate(
        &self,
        compiled: Result<RuleSet, Error>,
        move_dropped_to: Option<&str>,
    ) -> Result<Reloaded, Error> {
        let activated = match compiled {
            Ok(rules) => self.swap_rules(rules, move_dropped_to).await,
            Err(err) => Err(err),
        };
        self.metrics.rule_reload(activated.is_ok());
        activated
    }

    /// Compiles candidate rule-file `text` (named `name` in messages)
    /// without activating it, on a blocking thread. Its `lexicon_files` may
    /// only name files beside the running rule file.
    pub async fn compile_candidate(&self, name: &str, text: String) -> Result<RuleSet, Error> {
        let name = name.to_string();
        let limits = self.settings.rule_limits;
        let lexicon_files = self.rules().lexicon_files().confined();
        compile_off_workers(move || RuleSet::compile_text(&name, &text, &lexicon_files, &limits)).await
    }

    /// Re-classifies the stored tickets `filter` admits with `candidate`,
    /// changing nothing (see [`crate::backtest`]). Runs on a blocking
    /// thread; `progress` is called as it goes, and a `false` from it stops
    /// the scan (the answer is then `None`).
    pub async fn backtest(
        &self,
        candidate: RuleSet,
        filter: BacktestFilter,
        samples_per_move: usize,
        progress: impl FnMut(Progress) -> bool + Send + 'static,
    ) -> Result<Option<BacktestReport>, Error> {
        let store = Arc::clone(&self.store);
        let history_limit = self.settings.history_limit;
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let mut progress = progress;
            let history = |ticket: &Ticket| {
                let customer = &ticket.input.customer.id;
                let mut history = runtime.block_on(store.customer_history(customer, history_limit))?;
                history
                    .tickets
                    .retain(|prior| prior.ingested_at < ticket.ingested_at);
                Ok(history)
            };
            backtest::backtest(
                store.as_ref(),
                &candidate,
                &filter,
                samples_per_move,
                &history,
                &mut progress,
            )
        })
        .await
        .map_err(|err| Error::Internal(format!("backtest failed: {err}")))?
    }

    /// How many tickets the store holds.
    pub fn ticket_count(&self) -> usize {
        self.store.ticket_count()
    }

    /// Compiles and checks a candidate rule file without activating it.
    /// Its `lexicon_files` may only name files beside the running rule file.
    pub async fn validate_rules(&self, name: &str, text: String) -> Result<Validation, Error> {
        let name = name.to_string();
        let limits = self.settings.rule_limits;
        let lexicon_files = self.rules().lexicon_files().confined();
        tokio::task::spawn_blocking(move || crate::rules::validate(&name, &text, &lexicon_files, &limits))
            .await
            .map_err(|err| Error::Internal(format!("rule validation failed: {err}")))
    }

    /// Explains how the running rules classify `input` now.
    pub async fn explain(&self, mut input: TicketInput) -> Result<Explanation, Error> {
        validate::ticket_input(&input, &self.settings.limits)?;
        self.place_customer(&mut input)?;
        let rules = self.rules();
        let history = self.history_for(&rules, &input.customer.id, None).await?;
        let now = self.now();
        explain_off_workers(move || rules.explain(&input, &history, now)).await
    }

    /// Explains how the running rules classify a stored ticket, as of its
    /// ingest: the customer's tickets ingested before it count as history.
    pub async fn explain_ticket(&self, id: TicketId) -> Result<Explanation, Error> {
        let ticket = self.store.get(id).await?;
        let rules = self.rules();
        let at = ticket.ingested_at;
        let history = self
            .history_for(&rules, &ticket.input.customer.id, Some(at))
            .await?;
        let input = ticket.input;
        explain_off_workers(move || rules.explain(&input, &history, at)).await
    }

    /// The customer's history when `rules` read it, limited to tickets
    /// ingested before `before` when given.
    async fn history_for(
        &self,
        rules: &RuleSet,
        customer_id: &str,
        before: Option<UnixMicros>,
    ) -> Result<CustomerHistory, Error> {
        if !rules.reads_history() {
            return Ok(CustomerHistory::default());
        }
        let mut history = self
            .store
            .customer_history(customer_id, self.settings.history_limit)
            .await?;
        if let Some(before) = before {
            history.tickets.retain(|ticket| ticket.ingested_at < before);
        }
        Ok(history)
    }

    /// The store (for tools and tests that need the domain verbs directly).
    pub fn store(&self) -> &dyn TicketStore {
        self.store.as_ref()
    }

    /// The clock the domain reads.
    pub fn now(&self) -> UnixMicros {
        self.clock.now()
    }

    /// Size limits for incoming tickets and agents' notes.
    pub fn limits(&self) -> &Limits {
        &self.settings.limits
    }

    /// Classifies a ticket without storing it.
    pub async fn classify(&self, input: &TicketInput) -> Result<Classification, Error> {
        validate::ticket_input(input, &self.settings.limits)?;
        let now = self.now();
        validate::created_at(input.created_at, now)?;
        let mut input = input.clone();
        self.place_customer(&mut input)?;
        self.classify_valid(&input, now).await
    }

    /// Checks the touchpoint the integration sent against the running rule
    /// set's, and makes the customer internal when the channel or the
    /// e-mail domain says so.
    fn place_customer(&self, input: &mut TicketInput) -> Result<(), Error> {
        let rules = self.rules();
        if !input.touchpoint.is_empty() && !rules.is_touchpoint(&input.touchpoint) {
            let reason = format!(
                "{:?} is not a touchpoint of the running rule set (expected one of: {})",
                input.touchpoint,
                rules.touchpoints().join(", ")
            );
            return Err(Error::invalid("ticket.touchpoint", reason));
        }
        let domain = input.customer.email_domain();
        let internal_domain = !domain.is_empty() && self.settings.internal_domains.contains(&domain);
        if input.channel == Channel::Internal || internal_domain {
            input.customer.kind = CustomerKind::Internal;
        }
        Ok(())
    }

    async fn classify_valid(&self, input: &TicketInput, now: UnixMicros) -> Result<Classification, Error> {
        let rules = self.rules();
        let limit = if rules.reads_history() {
            self.settings.history_limit
        } else {
            1 // enough to tell a repeat contact
        };
        let history = self.store.customer_history(&input.customer.id, limit).await?;
        let repeat_since = UnixMicros(
            now.0
                .saturating_sub(i64::try_from(REPEAT_CONTACT_DAYS * 86_400 * 1_000_000).unwrap_or(i64::MAX)),
        );
        let repeat_contact = history
            .tickets
            .iter()
            .any(|prior| prior.ingested_at >= repeat_since && prior.ingested_at <= now);
        let history = if rules.reads_history() {
            history
        } else {
            CustomerHistory::default()
        };
        let mut classification = self.classify_by(rules, input, history, now).await?;
        classification.repeat_contact = repeat_contact;
        Ok(classification)
    }

    /// Classifies `input` with `rules` as of `now`, long texts on the
    /// classification pool, and fills in the default response deadline.
    async fn classify_by(
        &self,
        rules: Arc<RuleSet>,
        input: &TicketInput,
        history: CustomerHistory,
        now: UnixMicros,
    ) -> Result<Classification, Error> {
        let (mut classification, took) = if input.body.len() + input.subject.len() <= INLINE_CLASSIFY_BYTES {
            timed(|| rules.classify(input, &history, now))
        } else {
            // Long texts take milliseconds to scan: off the async workers,
            // so health checks and other calls are not held up.
            let input = input.clone();
            self.classify_pool
                .run(move || timed(|| rules.classify(&input, &history, now)))
                .await
                .map_err(|err| match err {
                    PoolError::OverBudget(_) => Error::Overloaded(format!("classification {err}")),
                    PoolError::Failed(reason) => {
                        Error::Internal(format!("classification task failed: {reason}"))
                    }
                })?
        };
        self.metrics.classified(took);
        if classification.first_response_seconds.is_none() {
            classification.first_response_seconds = self
                .settings
                .default_first_response_minutes
                .get(&classification.priority)
                .map(|minutes| minutes.saturating_mul(60));
        }
        Ok(classification)
    }

    /// Classifies and durably stores a ticket (idempotent on source and
    /// external id); an unset `created_at` becomes the time of ingest.
    pub async fn ingest(&self, mut input: TicketInput) -> Result<Ingested, Error> {
        validate::ticket_input(&input, &self.settings.limits)?;
        let now = self.now();
        input.created_at = Some(validate::created_at(input.created_at, now)?);
        self.place_customer(&mut input)?;
        let placing = self.placing.read().await;
        let classification = self.classify_valid(&input, now).await?;
        let ingested = self.store.ingest(input, classification, now).await?;
        drop(placing);
        let ticket = &ingested.ticket;
        if ingested.created {
            self.metrics.ticket_ingested(&ticket.classification);
            self.publish(vec![QueueEvent {
                kind: QueueEventKind::Added,
                ticket_id: ticket.id,
                queue: ticket.classification.queue.clone(),
                at: now,
            }]);
        } else {
            self.metrics.duplicate_ingest();
        }
        Ok(ingested)
    }

    /// One ticket.
    pub async fn ticket(&self, id: TicketId) -> Result<Ticket, Error> {
        Ok(self.store.get(id).await?)
    }

    /// Every declared queue with its figures.
    pub async fn queues(&self) -> Result<Vec<QueueOverview>, Error> {
        let rules = self.rules();
        let names: Vec<String> = rules.queues().iter().map(|queue| queue.name.clone()).collect();
        let stats = self.store.queues_stats(&names, self.now()).await?;
        Ok(rules
            .queues()
            .iter()
            .zip(stats)
            .map(|(queue, stats)| QueueOverview {
                name: queue.name.clone(),
                description: queue.description.clone(),
                stats,
            })
            .collect())
    }

    /// One page of a queue's waiting tickets, as `view` shows them.
    pub async fn list_queue(
        &self,
        queue: &str,
        page_size: usize,
        cursor: Option<QueueCursor>,
        view: TicketView,
    ) -> Result<TicketPage, Error> {
        self.known_queue(queue)?;
        let (tickets, next) = self.store.list_queue(queue, page_size, cursor).await?;
        let tickets = in_view(tickets, view);
        Ok(TicketPage { tickets, next })
    }

    /// One page of a customer's tickets, newest first, as `view` shows them.
    pub async fn customer_tickets(
        &self,
        customer_id: &str,
        limit: usize,
        cursor: Option<CustomerCursor>,
        view: TicketView,
    ) -> Result<TicketPage<CustomerCursor>, Error> {
        let (tickets, next) = self.store.customer_tickets(customer_id, limit, cursor).await?;
        Ok(TicketPage {
            tickets: in_view(tickets, view),
            next,
        })
    }

    fn known_queue(&self, queue: &str) -> Result<(), Error> {
        match self.rules().queue(queue) {
            Some(_) => Ok(()),
            None => Err(Error::UnknownQueue(queue.to_string())),
        }
    }

    fn announce(&self, transition: Transition) -> Ticket {
        self.publish(transition.events);
        transition.ticket
    }

    /// Publishes the events of a change this process made, unless the
    /// store publishes every committed change itself.
    fn publish(&self, events: Vec<QueueEvent>) {
        if !self.store_publishes {
            self.events.publish(events);
        }
    }

    /// Claims the next ticket of `queue`, waiting up to `wait` for one to
    /// arrive (woken by queue events, not by polling). The wait, never a
    /// claim in progress, ends early when `shutdown` fires. A retry with the
    /// same `request_id` returns the lease the first call got. A lease made
    /// after `answer_by` (the caller's deadline) is given back at once and
    /// the call fails with `DeadlineExceeded`: the caller has stopped
    /// listening, so nobody would ever hear of it.
    pub async fn claim_next(
        &self,
        claim: ClaimRequest,
        wait: Duration,
        answer_by: Option<tokio::time::Instant>,
        mut shutdown: Shutdown,
    ) -> Result<Option<Ticket>, Error> {
        validate::agent_id(&claim.agent_id, &self.settings.limits)?;
        self.known_queue(&claim.queue)?;
        let waited = tokio::time::Instant::now() + wait;
        let deadline = answer_by.map_or(waited, |by| by.min(waited));
        let mut arrivals = self.events.subscribe();
        loop {
            // Shared with the writers that file tickets: a reload that
            // drops a queue must not see a claim land in it while it
            // checks, moves and swaps.
            let placing = self.placing.read().await;
            let claimed = self.claim_once(&claim, answer_by).await?;
            drop(placing);
            if let Some(claimed) = claimed {
                return Ok(Some(self.announce(claimed)));
            }
            let arrived = tokio::select! {
                arrived = wait_for_arrival(&mut arrivals, &claim.queue, deadline) => arrived,
                () = shutdown.wait() => false,
            };
            if !arrived {
                return Ok(None);
            }
        }
    }

    /// One claim attempt, run as its own task so that it finishes even if
    /// the caller goes away: a lease whose caller has gone (past its
    /// deadline, or the call dropped) is released at once instead of
    /// stranding the ticket until the lease runs out.
    async fn claim_once(
        &self,
        claim: &ClaimRequest,
        answer_by: Option<tokio::time::Instant>,
    ) -> Result<Option<Transition>, Error> {
        let store = Arc::clone(&self.store);
        let claim = claim.clone();
        let now = self.now();
        let (answer, answered) = tokio::sync::oneshot::channel();
        // A claim with a request id is never given back: a retry with that
        // id picks the lease up (and another call with it may already have).
        let give_back_unheard = claim.request_id.is_none();
        tokio::spawn(async move {
            let outcome = store.claim_next(&claim, now).await.map_err(Error::from);
            let late = answer_by.is_some_and(|by| tokio::time::Instant::now() >= by);
            match outcome {
                Ok(Some(unheard)) if late => {
                    if give_back_unheard {
                        give_back(store.as_ref(), unheard, now).await;
                    }
                    let _ = answer.send(Err(Error::DeadlineExceeded));
                }
                outcome => {
                    if let Err(Ok(Some(unheard))) = answer.send(outcome) {
                        if give_back_unheard {
                            give_back(store.as_ref(), unheard, now).await;
                        }
                    }
                }
            }
        });
        answered.await.unwrap_or(Err(Error::DeadlineExceeded))
    }

    /// Extends a lease.
    pub async fn extend_lease(&self, id: TicketId, token: &str, lease_seconds: u32) -> Result<Ticket, Error> {
        let transition = self
            .store
            .extend_lease(id, token, lease_seconds, self.now())
            .await?;
        Ok(self.announce(transition))
    }

    /// Releases a claimed ticket back to its queue.
    pub async fn release(&self, id: TicketId, token: &str, reason: &str) -> Result<Ticket, Error> {
        validate::reason(reason, &self.settings.limits)?;
        let transition = self.store.release(id, token, reason, self.now()).await?;
        Ok(self.announce(transition))
    }

    /// Completes a claimed ticket, recording the agent's correction of its
    /// side and category (an empty `relabel` corrects nothing) and, when a
    /// `[[recovery]]` block of the running rules applies, scheduling its
    /// follow-up in the same atomic write.
    pub async fn complete(
        &self,
        id: TicketId,
        token: &str,
        resolution: &str,
        relabel: &Relabel,
    ) -> Result<Ticket, Error> {
        validate::resolution(resolution, &self.settings.limits)?;
        let now = self.now();
        let rules = self.rules();
        let plan = if rules.recoveries().is_empty() {
            None
        } else {
            let ticket = self.store.get(id).await?;
            insights::follow_up_plan(&rules, &ticket, relabel, now)
        };
        let transition = self
            .store
            .complete(id, token, resolution, relabel, plan.as_ref(), now)
            .await?;
        Ok(self.announce(transition))
    }

    /// The friction map at the clock's now, from the store's rollups.
    pub async fn journey_report(&self, request: ReportRequest) -> Result<JourneyReport, Error> {
        let windows = Windows::at(self.now(), request.window_hours);
        let current = self.store.rollup(windows.start, windows.end).await?;
        let previous = self.store.rollup(windows.previous_start, windows.start).await?;
        Ok(JourneyReport::build(&request, windows, &current, &previous))
    }

    /// A customer's journey: their latest contacts (at most
    /// [`MAX_JOURNEY_CONTACTS`](insights::customer::MAX_JOURNEY_CONTACTS))
    /// in time order, with a summary.
    pub async fn customer_journey(&self, customer_id: &str) -> Result<CustomerJourney, Error> {
        let most = insights::customer::MAX_JOURNEY_CONTACTS;
        let mut tickets = Vec::new();
        let mut cursor = None;
        let truncated = loop {
            let page = most.saturating_sub(tickets.len()).min(200);
            let (found, next) = self.store.customer_tickets(customer_id, page, cursor).await?;
            tickets.extend(found.into_iter().map(|ticket| ticket.in_view(TicketView::Basic)));
            match next {
                Some(next) if tickets.len() < most => cursor = Some(next),
                Some(_) => break true,
                None => break false,
            }
        };
        Ok(CustomerJourney::build(
            customer_id,
            tickets,
            truncated,
            self.now(),
        ))
    }

    /// Transfers a claimed ticket to another declared queue, recording the
    /// agent's correction of its side and category (an empty `relabel`
    /// corrects nothing).
    pub async fn transfer(
        &self,
        id: TicketId,
        token: &str,
        queue: &str,
        reason: &str,
        relabel: &Relabel,
    ) -> Result<Ticket, Error> {
        validate::reason(reason, &self.settings.limits)?;
        let _placing = self.placing.read().await;
        self.known_queue(queue)?;
        let transition = self
            .store
            .transfer(id, token, queue, reason, relabel, self.now())
            .await?;
        Ok(self.announce(transition))
    }

    /// Applies the running rules to every waiting, unclaimed ticket (of
    /// `queue`, or of every queue), as of each ticket's ingest, and re-files
    /// those they now place differently (side, category, queue or
    /// priority), recording each move in the ticket's history. Tickets the
    /// running rules placed already are skipped. An escalated
    /// ticket keeps its raised priority when the new one is lower. Claimed
    /// tickets are left to their agents.
    pub async fn reclassify_open(
        &self,
        queue: Option<&str>,
        samples_per_move: usize,
    ) -> Result<ReclassifyReport, Error> {
        if let Some(queue) = queue {
            self.known_queue(queue)?;
        }
        let queues: Vec<String> = self
            .rules()
            .queues()
            .iter()
            .map(|spec| spec.name.clone())
            .filter(|name| queue.is_none_or(|only| only == name))
            .collect();
        let mut report = ReclassifyReport {
            rules_version: self.rules().version().to_string(),
            examined: 0,
            moved: 0,
            moves: Vec::new(),
        };
        let mut tally = MoveTally::new(samples_per_move);
        for queue in &queues {
            let mut cursor = None;
            loop {
                let (waiting, next) = self.store.list_queue(queue, MOVE_PAGE, cursor).await?;
                for ticket in waiting {
                    if ticket.classification.rules_version == report.rules_version {
                        continue; // placed by these rules already (or just moved here)
                    }
                    report.examined += 1;
                    if let Some((from, to, id)) = self.reclassify_one(ticket).await? {
                        report.moved += 1;
                        tally.add(from, to, id);
                    }
                }
                match next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        report.moves = tally.into_moves();
        Ok(report)
    }

    /// Re-files one waiting ticket if the running rules place it
    /// differently now; the move made, if any.
    async fn reclassify_one(
        &self,
        ticket: Ticket,
    ) -> Result<Option<(Placement, Placement, TicketId)>, Error> {
        let _placing = self.placing.read().await;
        let rules = self.rules();
        let at = ticket.ingested_at;
        let history = self
            .history_for(&rules, &ticket.input.customer.id, Some(at))
            .await?;
        let version = rules.version().to_string();
        let mut fresh = self.classify_by(rules, &ticket.input, history, at).await?;
        let old = &ticket.classification;
        fresh.repeat_contact = old.repeat_contact;
        if ticket.escalated {
            fresh.priority = fresh.priority.min(old.priority);
        }
        let (from, to) = (Placement::of(old), Placement::of(&fresh));
        if from == to && fresh.priority == old.priority {
            return Ok(None);
        }
        let reason = format!("reclassified by rules {version}");
        let moved = self.store.requeue(ticket.id, &fresh, &reason, self.now()).await?;
        Ok(moved.map(|transition| {
            self.announce(transition);
            (from, to, ticket.id)
        }))
    }

    /// Every corrected ticket (and with `include_uncorrected` every completed
    /// one) as a labelled example, in ticket id order, read lazily from the
    /// store: run it off the async runtime.
    pub fn labelled_tickets(
        &self,
        include_uncorrected: bool,
    ) -> impl Iterator<Item = Result<LabelledTicket, Error>> + Send + 'static {
        labels::labelled_tickets(self.store.as_ref(), include_uncorrected).map(|labelled| Ok(labelled?))
    }

    /// How many event watchers (watch streams and waiting claims) exist.
    pub fn watchers(&self) -> usize {
        self.events.watchers()
    }

    /// How many tickets entered and were completed in each queue since
    /// the process started (events this process made or, with a shared
    /// store, heard of).
    pub fn queue_totals(&self) -> std::collections::HashMap<String, crate::events::QueueTotals> {
        self.events.totals()
    }

    /// Watches queue events from now on.
    pub fn watch(&self, queue: &str) -> Result<tokio::sync::broadcast::Receiver<QueueEvent>, Error> {
        self.known_queue(queue)?;
        Ok(self.events.subscribe())
    }

    /// Expires leases, escalates breached deadlines, creates the
    /// follow-ups due and purges old completed tickets, as of the clock's
    /// now. Returns how many tickets changed.
    pub async fn run_maintenance(&self) -> Result<usize, Error> {
        let now = self.now();
        let expired = self.store.expire_leases(now).await?;
        let placing = self.placing.read().await;
        let policies: EscalationPolicies = self
            .rules()
            .queues()
            .iter()
            .map(|spec| {
                let policy = EscalationPolicy {
                    move_to: spec.escalate_to.clone(),
                    priority: spec.escalate_priority,
                };
                (spec.name.clone(), policy)
            })
            .collect();
        let escalated = self.store.escalate_breaches(now, &policies).await?;
        drop(placing);
        let followed_up = self.store.materialise_follow_ups(now).await?;
        let mut changed = expired.len() + escalated.len() + followed_up.len();
        for transition in expired.into_iter().chain(escalated).chain(followed_up) {
            self.announce(transition);
        }
        if let Some(retention) = self.settings.retention {
            let micros = i64::try_from(retention.as_micros()).unwrap_or(i64::MAX);
            changed += self
                .store
                .purge_completed(UnixMicros(now.0.saturating_sub(micros)))
                .await?;
        }
        // A change whose caller left before its durable round (a cancelled
        // call) is announced by the next round: this one, at the latest.
        self.store.sync().await?;
        Ok(changed)
    }
}

/// Releases a lease nobody heard about (its caller went away).
async fn give_back(store: &dyn TicketStore, unheard: Transition, now: UnixMicros) {
    let ticket = unheard.ticket;
    let Some(lease) = ticket.lease() else {
        return;
    };
    match store
        .release(
            ticket.id,
            &lease.token,
            "the claimant went away before the answer",
            now,
        )
        .await
    {
        Ok(_) => {
            tracing::info!(ticket = %ticket.id, agent = %lease.agent_id, "claim released: its caller went away")
        }
        Err(err) => {
            tracing::error!(ticket = %ticket.id, error = %err, "could not release a claim whose caller went away")
        }
    }
}

/// Explains a classification on a blocking thread (every rule and every
/// condition is evaluated: far more work than a classification).
async fn explain_off_workers(
    explain: impl FnOnce() -> Explanation + Send + 'static,
) -> Result<Explanation, Error> {
    tokio::task::spawn_blocking(explain)
        .await
        .map_err(|err| Error::Internal(format!("explanation failed: {err}")))
}

/// Compiles a rule set on a blocking thread: a large file takes seconds to
/// compile, and on an async worker it would hold up every call on it.
pub async fn compile_off_workers(
    compile: impl FnOnce() -> Result<RuleSet, crate::rules::RuleError> + Send + 'static,
) -> Result<RuleSet, Error> {
    tokio::task::spawn_blocking(compile)
        .await
        .map_err(|err| Error::Internal(format!("rule compilation failed: {err}")))?
        .map_err(Error::from)
}

/// `work`'s result and how long it took.
fn timed<T>(work: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let result = work();
    (result, started.elapsed())
}

fn in_view(tickets: Vec<Ticket>, view: TicketView) -> Vec<Ticket> {
    tickets.into_iter().map(|ticket| ticket.in_view(view)).collect()
}

/// Waits until a ticket may have become claimable in `queue`; false on timeout.
async fn wait_for_arrival(
    arrivals: &mut tokio::sync::broadcast::Receiver<QueueEvent>,
    queue: &str,
    deadline: tokio::time::Instant,
) -> bool {
    loop {
        let event = match tokio::time::timeout_at(deadline, arrivals.recv()).await {
            Err(_elapsed) => return false,
            Ok(Err(RecvError::Closed)) => return false,
            Ok(Err(RecvError::Lagged(_))) => return true,
            Ok(Ok(event)) => event,
        };
        let frees_a_ticket = matches!(
            event.kind,
            QueueEventKind::Added
                | QueueEventKind::Released
                | QueueEventKind::LeaseExpired
                | QueueEventKind::Escalated
        );
        if frees_a_ticket && event.queue == queue {
            return true;
        }
    }
}
