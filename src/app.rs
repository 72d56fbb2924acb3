//! The triage domain façade: validates tickets, classifies them with the
//! running rule set, stores them, and drives the agent workflow, publishing
//! queue events. gRPC handlers call this; it knows nothing of gRPC.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;

use crate::clock::{SharedClock, UnixMicros};
use crate::error::Error;
use crate::events::{EventBus, QueueEvent, QueueEventKind};
use crate::labels::{self, LabelledTicket};
use crate::rules::{CustomerHistory, RuleSet};
use crate::shutdown::Shutdown;
use crate::store::{EscalationPolicy, Ingested, QueueCursor, QueueStats, Store, Transition};
use crate::ticket::{Classification, Priority, Relabel, Ticket, TicketId, TicketInput, TicketView};
use crate::validate::{self, Limits};

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
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            default_first_response_minutes: BTreeMap::new(),
            history_limit: 200,
            watch_buffer: 1024,
        }
    }
}

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

/// One page of a queue listing.
#[derive(Debug, Clone)]
pub struct TicketPage {
    /// Tickets in claim order.
    pub tickets: Vec<Ticket>,
    /// Where the next page starts, if there may be one.
    pub next: Option<QueueCursor>,
}

/// The running service's domain state. Share it as `Arc<App>`.
#[derive(Debug)]
pub struct App {
    rules: RwLock<Arc<RuleSet>>,
    store: Store,
    clock: SharedClock,
    events: EventBus,
    settings: AppSettings,
}

impl App {
    /// Assembles the domain from its parts.
    pub fn new(rules: RuleSet, store: Store, clock: SharedClock, settings: AppSettings) -> App {
        App {
            rules: RwLock::new(Arc::new(rules)),
            store,
            clock,
            events: EventBus::new(settings.watch_buffer),
            settings,
        }
    }

    /// The running rule set.
    pub fn rules(&self) -> Arc<RuleSet> {
        let guard = self.rules.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(&guard)
    }

    /// Swaps in a new rule set atomically; requests in flight finish with
    /// the old one. Refused, keeping the running rules, when the new set
    /// drops a queue that still holds waiting or claimed tickets.
    pub fn replace_rules(&self, rules: RuleSet) -> Result<(), Error> {
        let mut guard = self
            .rules
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for queue in guard.queues() {
            if rules.queue(&queue.name).is_some() {
                continue;
            }
            let stats = self.store.queue_stats(&queue.name, self.now())?;
            if stats.depth + stats.leased > 0 {
                return Err(Error::FailedPrecondition(format!(
                    "{}: drops queue {:?}, which still holds {} tickets; move them first",
                    rules.source(),
                    queue.name,
                    stats.depth + stats.leased
                )));
            }
        }
        *guard = Arc::new(rules);
        Ok(())
    }

    /// Loads a rule file and swaps it in; on any error the running rules
    /// stay and the error says what is wrong, where.
    pub fn reload_rules(&self, path: &std::path::Path) -> Result<Arc<RuleSet>, Error> {
        let rules = RuleSet::load(path)?;
        self.replace_rules(rules)?;
        Ok(self.rules())
    }

    /// The store (for tools and tests that need the domain verbs directly).
    pub fn store(&self) -> &Store {
        &self.store
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
    pub fn classify(&self, input: &TicketInput) -> Result<Classification, Error> {
        validate::ticket_input(input, &self.settings.limits)?;
        self.classify_valid(input, self.now())
    }

    fn classify_valid(&self, input: &TicketInput, now: UnixMicros) -> Result<Classification, Error> {
        let rules = self.rules();
        let history = if rules.reads_history() {
            self.store
                .customer_history(&input.customer.id, self.settings.history_limit)?
        } else {
            CustomerHistory::default()
        };
        let mut classification = rules.classify(input, &history, now);
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
    /// external id).
    pub async fn ingest(&self, input: TicketInput) -> Result<Ingested, Error> {
        validate::ticket_input(&input, &self.settings.limits)?;
        let now = self.now();
        let classification = self.classify_valid(&input, now)?;
        let ingested = self.store.ingest(input, classification, now).await?;
        if ingested.created {
            let ticket = &ingested.ticket;
            self.events.publish([QueueEvent {
                kind: QueueEventKind::Added,
                ticket_id: ticket.id,
                queue: ticket.classification.queue.clone(),
                at: now,
            }]);
        }
        Ok(ingested)
    }

    /// One ticket.
    pub fn ticket(&self, id: TicketId) -> Result<Ticket, Error> {
        Ok(self.store.get(id)?)
    }

    /// Every declared queue with its figures.
    pub fn queues(&self) -> Result<Vec<QueueOverview>, Error> {
        let rules = self.rules();
        let names: Vec<&str> = rules.queues().iter().map(|queue| queue.name.as_str()).collect();
        let stats = self.store.queues_stats(&names, self.now())?;
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
    pub fn list_queue(
        &self,
        queue: &str,
        page_size: usize,
        cursor: Option<&QueueCursor>,
        view: TicketView,
    ) -> Result<TicketPage, Error> {
        self.known_queue(queue)?;
        let (tickets, next) = self.store.list_queue(queue, page_size, cursor)?;
        let tickets = in_view(tickets, view);
        Ok(TicketPage { tickets, next })
    }

    /// A customer's tickets, newest first, as `view` shows them.
    pub fn customer_tickets(
        &self,
        customer_id: &str,
        limit: usize,
        view: TicketView,
    ) -> Result<Vec<Ticket>, Error> {
        let tickets = self.store.customer_tickets(customer_id, limit)?;
        Ok(in_view(tickets, view))
    }

    fn known_queue(&self, queue: &str) -> Result<(), Error> {
        match self.rules().queue(queue) {
            Some(_) => Ok(()),
            None => Err(Error::UnknownQueue(queue.to_string())),
        }
    }

    fn announce(&self, transition: Transition) -> Ticket {
        self.events.publish(transition.events);
        transition.ticket
    }

    /// Claims the next ticket of `queue`, waiting up to `wait` for one to
    /// arrive (woken by queue events, not by polling). The wait, never a
    /// claim in progress, ends early when `shutdown` fires.
    pub async fn claim_next(
        &self,
        queue: &str,
        agent_id: &str,
        lease_seconds: u32,
        wait: Duration,
        mut shutdown: Shutdown,
    ) -> Result<Option<Ticket>, Error> {
        validate::agent_id(agent_id, &self.settings.limits)?;
        self.known_queue(queue)?;
        let deadline = tokio::time::Instant::now() + wait;
        let mut arrivals = self.events.subscribe();
        loop {
            if let Some(claimed) = self
                .store
                .claim_next(queue, agent_id, lease_seconds, self.now())
                .await?
            {
                return Ok(Some(self.announce(claimed)));
            }
            let arrived = tokio::select! {
                arrived = wait_for_arrival(&mut arrivals, queue, deadline) => arrived,
                () = shutdown.wait() => false,
            };
            if !arrived {
                return Ok(None);
            }
        }
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
    /// side and category (an empty `relabel` corrects nothing).
    pub async fn complete(
        &self,
        id: TicketId,
        token: &str,
        resolution: &str,
        relabel: &Relabel,
    ) -> Result<Ticket, Error> {
        validate::resolution(resolution, &self.settings.limits)?;
        let transition = self
            .store
            .complete(id, token, resolution, relabel, self.now())
            .await?;
        Ok(self.announce(transition))
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
        self.known_queue(queue)?;
        let transition = self
            .store
            .transfer(id, token, queue, reason, relabel, self.now())
            .await?;
        Ok(self.announce(transition))
    }

    /// Every corrected ticket (and with `include_uncorrected` every completed
    /// one) as a labelled example, in ticket id order, read lazily from the
    /// store: run it off the async runtime.
    pub fn labelled_tickets(
        &self,
        include_uncorrected: bool,
    ) -> impl Iterator<Item = Result<LabelledTicket, Error>> + Send + 'static {
        labels::labelled_tickets(&self.store, include_uncorrected).map(|labelled| Ok(labelled?))
    }

    /// How many event watchers (watch streams and waiting claims) exist.
    pub fn watchers(&self) -> usize {
        self.events.watchers()
    }

    /// Watches queue events from now on.
    pub fn watch(&self, queue: &str) -> Result<tokio::sync::broadcast::Receiver<QueueEvent>, Error> {
        self.known_queue(queue)?;
        Ok(self.events.subscribe())
    }

    /// Expires leases and escalates breached deadlines as of the clock's
    /// now. Returns how many tickets changed.
    pub async fn run_maintenance(&self) -> Result<usize, Error> {
        let now = self.now();
        let expired = self.store.expire_leases(now).await?;
        let rules = self.rules();
        let escalated = self
            .store
            .escalate_breaches(now, |queue| {
                let spec = rules.queue(queue);
                EscalationPolicy {
                    move_to: spec.and_then(|spec| spec.escalate_to.clone()),
                    priority: spec.and_then(|spec| spec.escalate_priority),
                }
            })
            .await?;
        let changed = expired.len() + escalated.len();
        for transition in expired.into_iter().chain(escalated) {
            self.announce(transition);
        }
        Ok(changed)
    }
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
