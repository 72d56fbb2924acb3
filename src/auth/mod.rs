//! Bearer-token authentication and role-based authorisation of the
//! `triage.v1.TriageService` RPCs.
//!
//! - [`tokens`]: the token table (file or environment), kept as SHA-256
//!   hashes and compared in constant time;
//! - [`keyring`]: the table in force, read again from the file on SIGHUP
//!   or when it changes;
//! - [`layer`]: the tower service that checks every call before it
//!   reaches a handler;
//! - [`POLICY`]: which roles may call which RPC, in one table.
//!
//! Health and reflection are separate services and are never wrapped, so
//! they stay open to probes and tools without a token.

pub mod keyring;
pub mod layer;
pub mod tokens;

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

pub use keyring::{reload_on_change, Keyring};
pub use layer::{guard, Guarded};
pub use tokens::{TokenError, Tokens};

/// What a token may do. A token listed under several roles has them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Integrations that feed tickets in: ingest and classify.
    Ingest,
    /// Agent tools working the queues: claim, extend, release, complete,
    /// transfer, list, watch, read tickets.
    Agent,
    /// Operators: everything, including exporting labels.
    Admin,
}

impl Role {
    /// Every role, in the order they are documented.
    pub const ALL: [Role; 3] = [Role::Ingest, Role::Agent, Role::Admin];

    /// Parses a role name as written in a token file.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "ingest" => Some(Role::Ingest),
            "agent" => Some(Role::Agent),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The role's name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Ingest => "ingest",
            Role::Agent => "agent",
            Role::Admin => "admin",
        }
    }

    const fn bit(self) -> u8 {
        match self {
            Role::Ingest => 1,
            Role::Agent => 2,
            Role::Admin => 4,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of roles (the roles of one token, or the roles allowed one RPC).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Roles(u8);

impl Roles {
    /// The set holding `roles`.
    pub const fn of(roles: &[Role]) -> Roles {
        let mut bits = 0;
        let mut i = 0;
        while i < roles.len() {
            bits |= roles[i].bit();
            i += 1;
        }
        Roles(bits)
    }

    /// This set with `role` added.
    pub fn with(self, role: Role) -> Roles {
        Roles(self.0 | role.bit())
    }

    /// Whether the two sets share a role.
    pub fn intersects(self, other: Roles) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    fn bits(self) -> u8 {
        self.0
    }

    fn from_bits(bits: u8) -> Roles {
        Roles(bits & 0b111)
    }
}

impl fmt::Display for Roles {
    /// `ingest or admin`; `no role` when empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Role::ALL
            .iter()
            .filter(|role| self.intersects(Roles::of(&[**role])))
            .map(|role| role.name())
            .collect();
        match names.as_slice() {
            [] => f.write_str("no role"),
            names => f.write_str(&names.join(" or ")),
        }
    }
}

use Role::{Admin, Agent, Ingest};

/// Which roles may call each RPC of `triage.v1.TriageService`: the one
/// place that says so. `ClassifyTicket` is open to integrations (to preview
/// where a ticket would go) and to agents (to check a correction); `Ping`
/// to every role, so each client can check its token. A method missing
/// here is admin-only.
pub const POLICY: &[(&str, Roles)] = &[
    ("IngestTicket", Roles::of(&[Ingest, Admin])),
    ("ClassifyTicket", Roles::of(&[Ingest, Agent, Admin])),
    ("GetTicket", Roles::of(&[Agent, Admin])),
    ("ListQueues", Roles::of(&[Agent, Admin])),
    ("ListTickets", Roles::of(&[Agent, Admin])),
    ("ListCustomerTickets", Roles::of(&[Agent, Admin])),
    ("ClaimNext", Roles::of(&[Agent, Admin])),
    ("ExtendLease", Roles::of(&[Agent, Admin])),
    ("ReleaseTicket", Roles::of(&[Agent, Admin])),
    ("CompleteTicket", Roles::of(&[Agent, Admin])),
    ("TransferTicket", Roles::of(&[Agent, Admin])),
    ("WatchQueue", Roles::of(&[Agent, Admin])),
    ("ExportLabels", Roles::of(&[Admin])),
    ("Ping", Roles::of(&[Ingest, Agent, Admin])),
    ("ValidateRuleSet", Roles::of(&[Admin])),
    ("ExplainTicket", Roles::of(&[Admin])),
    ("GetRuleSet", Roles::of(&[Admin])),
    ("ReloadRules", Roles::of(&[Admin])),
    ("BacktestRuleSet", Roles::of(&[Admin])),
    ("ReclassifyOpen", Roles::of(&[Admin])),
];

/// The roles that may call `method` (the RPC's name, e.g. `ClaimNext`).
pub fn allowed(method: &str) -> Roles {
    POLICY
        .iter()
        .find(|(name, _)| *name == method)
        .map_or(Roles::of(&[Admin]), |(_, roles)| *roles)
}

/// Why a call was refused. Never carries the token itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// No `authorization` header.
    #[error("missing bearer token: send the header `authorization: Bearer <token>`")]
    Missing,
    /// An `authorization` header that is not `Bearer <token>`.
    #[error("malformed authorization header: expected `Bearer <token>`")]
    Malformed,
    /// A token that is not in the token table.
    #[error("unknown bearer token")]
    Unknown,
    /// A known token without a role the RPC allows.
    #[error("{method} needs role {allowed}; this token has {held}")]
    Forbidden {
        /// The RPC called.
        method: String,
        /// The roles it allows.
        allowed: Roles,
        /// The roles the token has.
        held: Roles,
    },
}

/// Why the server would run without a usable token table.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The tokens could not be read.
    #[error(transparent)]
    Tokens(#[from] TokenError),
    /// A non-loopback address with no tokens and no explicit opt-out.
    #[error(
        "--listen {0} is not a loopback address, and no tokens are configured: anyone on the network \
         could read and work tickets. Give --tokens-file or TRIAGE_TOKENS (see README, \"Auth and TLS\"), \
         or --insecure-no-auth to serve without authentication"
    )]
    NoTokens(SocketAddr),
    /// Tokens and `--insecure-no-auth` together.
    #[error("--insecure-no-auth: tokens are configured too; remove one or the other")]
    Contradiction,
}

/// The tokens the server should enforce, from `--tokens-file` and the
/// value of `TRIAGE_TOKENS` (both may be given; their tokens add up).
/// `None` means no authentication, allowed only on a loopback `listen`
/// address or with `insecure_no_auth`.
pub fn setup(
    listen: SocketAddr,
    tokens_file: Option<&Path>,
    tokens_env: Option<&str>,
    insecure_no_auth: bool,
) -> Result<Option<Arc<Keyring>>, SetupError> {
    let from_env = tokens_env
        .filter(|value| !value.trim().is_empty())
        .map(Tokens::parse_env)
        .transpose()?;
    let keyring = Keyring::load(tokens_file.map(Path::to_path_buf), from_env)?;
    match (keyring, insecure_no_auth) {
        (Some(_), true) => Err(SetupError::Contradiction),
        (Some(keyring), false) => Ok(Some(Arc::new(keyring))),
        (None, false) if !listen.ip().is_loopback() => Err(SetupError::NoTokens(listen)),
        (None, _) => Ok(None),
    }
}

/// Warns when bearer tokens would cross the network in clear text: tokens
/// required, no TLS, and a non-loopback `address`.
pub fn warn_if_clear_text(address: SocketAddr, tokens: bool, tls: bool) {
    if tokens && !tls && !address.ip().is_loopback() {
        tracing::warn!(
            %address,
            "bearer tokens travel in clear text on this address: serve TLS (--tls-cert, --tls-key) \
             unless every client shares the host or pod"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_lists_every_rpc_of_the_service_once() {
        let mut methods = crate::server::triage_methods();
        assert!(!methods.is_empty(), "the descriptor lists the service");
        let mut listed: Vec<String> = POLICY.iter().map(|(name, _)| name.to_string()).collect();
        methods.sort();
        listed.sort();
        assert_eq!(listed, methods);
    }

    #[test]
    fn a_network_address_needs_tokens_or_the_explicit_opt_out() {
        let network = SocketAddr::from(([0, 0, 0, 0], 50051));
        let loopback = SocketAddr::from(([127, 0, 0, 1], 50051));
        let token = Some("agent:agent-token-0123456789");
        let err = setup(network, None, None, false).expect_err("refused");
        assert!(err.to_string().contains("--tokens-file"), "{err}");
        assert!(setup(network, None, None, true).expect("opt-out").is_none());
        assert!(setup(network, None, token, false).expect("tokens").is_some());
        assert!(setup(loopback, None, None, false).expect("loopback").is_none());
        assert!(setup(loopback, None, Some(" "), false)
            .expect("blank is unset")
            .is_none());
        assert!(setup(loopback, None, token, true).is_err(), "contradiction");
    }

    #[test]
    fn admin_may_call_everything() {
        for (method, roles) in POLICY {
            assert!(roles.intersects(Roles::of(&[Admin])), "{method}");
        }
        assert_eq!(allowed("SomethingNew"), Roles::of(&[Admin]));
    }

    #[test]
    fn forbidden_names_the_method_and_roles() {
        let denied = Denied::Forbidden {
            method: "ExportLabels".into(),
            allowed: allowed("ExportLabels"),
            held: Roles::of(&[Agent]),
        };
        assert_eq!(
            denied.to_string(),
            "ExportLabels needs role admin; this token has agent"
        );
    }
}
