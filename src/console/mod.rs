//! The web console: server-rendered HTML pages for supervisors and CX
//! leads, served under `/console` on the operations HTTP port.
//!
//! It reads and acts through the domain ([`App`]) directly, never through
//! gRPC, behind the same bearer tokens as the API:
//!
//! - [`session`]: the login cookie (the token itself, HttpOnly,
//!   SameSite=Strict, Secure with TLS), the viewer's roles, and the CSRF
//!   token every POST form carries;
//! - [`form`]: `application/x-www-form-urlencoded` bodies and query strings;
//! - [`layout`]: the page shell, navigation, and small formatting helpers;
//! - [`queues`]: every queue's figures (live by a short poll), and one
//!   queue's waiting tickets in claim order, paged;
//! - [`rates`]: arrivals and completions per minute, sampled in the
//!   background;
//! - [`ticket`]: one ticket: input, classification and its explanation,
//!   history, follow-ups;
//! - [`rules`]: the running rules, the playground, validate, backtest and
//!   (admin) activate a candidate;
//! - [`journey`]: the friction map as a heat map, and a customer's journey.
//!
//! Pages work without JavaScript; `console.js` (hand-written, served from
//! `/console/static/`) only refreshes the queue table and the playground
//! as the person types. The Content-Security-Policy allows scripts and
//! styles from the console itself only, so no inline script can run even
//! if some text escaped the templates (maud escapes every interpolation).

pub mod form;
pub mod journey;
pub mod layout;
pub mod queues;
pub mod rates;
pub mod rules;
pub mod session;
pub mod ticket;

use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};

use crate::app::App;
use crate::auth::Keyring;
use crate::error::Error;
use form::Form;
use session::{Access, Action, Viewer};

/// Where the console is mounted on the operations port.
pub const PREFIX: &str = "/console";

/// Largest POST body read (a candidate rule file is the biggest form).
pub const MAX_FORM_BYTES: usize = 4 * 1024 * 1024;

/// The console's stylesheet, hand-written.
const CSS: &str = include_str!("assets/console.css");

/// The console's only script: live queue figures and the playground.
const JS: &str = include_str!("assets/console.js");

/// The console's icon (browsers ask for one; a 404 would log an error).
const ICON: &str = include_str!("assets/favicon.svg");

/// A response as the operations port sends it.
pub type Page = Response<Full<Bytes>>;

/// Who may use the console and how its cookie is set.
#[derive(Debug, Clone, Default)]
pub struct ConsoleSettings {
    /// The API's bearer tokens; `None`: authentication is off, and every
    /// visitor is an admin (as every gRPC caller is then).
    pub tokens: Option<Arc<Keyring>>,
    /// Whether the server runs with TLS: the session cookie is then marked
    /// `Secure`.
    pub tls: bool,
    /// The server's rule file, which an admin may have read again (as
    /// SIGHUP does); `None`: the embedded rules, nothing to reload.
    pub rules_path: Option<std::path::PathBuf>,
    /// Whether the HTTP port listens on a non-loopback address. Without
    /// tokens the console then stays off: it would make everyone on the
    /// network an admin (the gRPC port refuses that without
    /// `--insecure-no-auth`; a sidecar's metrics port is often on the
    /// network while its gRPC port is on loopback).
    pub on_network: bool,
}

/// The console: the domain, the access rules, and nothing else.
#[derive(Debug)]
pub struct Console {
    app: Arc<App>,
    access: Access,
    rates: Arc<rates::Rates>,
    rules_path: Option<std::path::PathBuf>,
    /// Why the console is off, when it is.
    off: Option<String>,
}

/// Why a console request failed; each maps to one status and a message
/// the person can act on.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No such page or object.
    #[error("{0}")]
    NotFound(String),
    /// A form or query value is missing or invalid.
    #[error("{0}")]
    BadRequest(String),
    /// The viewer's roles do not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// The domain refused or failed.
    #[error("{0}")]
    Domain(#[from] Error),
}

impl ConsoleError {
    fn status(&self) -> StatusCode {
        match self {
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::Forbidden(_) => StatusCode::FORBIDDEN,
            ConsoleError::Domain(err) => match err {
                Error::InvalidArgument { .. } | Error::Rules(_) => StatusCode::BAD_REQUEST,
                Error::UnknownQueue(_) | Error::TicketNotFound(_) => StatusCode::NOT_FOUND,
                Error::FailedPrecondition(_) => StatusCode::CONFLICT,
                Error::Overloaded(_) => StatusCode::SERVICE_UNAVAILABLE,
                Error::Internal(_) | Error::DeadlineExceeded | Error::Store(_) => {
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            },
        }
    }
}

/// What a handler answers: a page, or an error rendered as one.
pub type Answer = Result<Page, ConsoleError>;

impl Console {
    /// A console over `app` with `settings`.
    pub fn new(app: Arc<App>, settings: ConsoleSettings) -> Console {
        let rates = Arc::new(rates::Rates::default());
        // The baseline: rates count from the console's start.
        rates.sample(std::time::Instant::now(), app.queue_totals());
        let off = match (&settings.tokens, settings.on_network) {
            (None, true) => Some(
                "the console is off: no tokens are configured and this port is reachable from the \
                 network, so every visitor would be an admin. Configure tokens (--tokens-file or \
                 TRIAGE_TOKENS), or serve this port on loopback (--http-listen 127.0.0.1:9090)"
                    .to_string(),
            ),
            (Some(_), true) => {
                tracing::warn!(
                    "the console's sign-in form sends bearer tokens in clear text on the operations \
                     port: reach it over loopback, a port-forward or a TLS-terminating proxy"
                );
                None
            }
            (_, false) => None,
        };
        Console {
            app,
            access: Access::new(settings.tokens, settings.tls),
            rates,
            rules_path: settings.rules_path,
            off,
        }
    }

    /// Samples the queues' totals for their rates until `shutdown` (spawn
    /// it beside the server).
    pub fn sample_rates(&self, shutdown: crate::shutdown::Shutdown) -> impl std::future::Future<Output = ()> {
        Arc::clone(&self.rates).run(Arc::clone(&self.app), shutdown)
    }

    /// Whether `path` belongs to the console.
    pub fn serves(path: &str) -> bool {
        path == PREFIX || path.starts_with("/console/")
    }

    /// Answers one request under [`PREFIX`].
    pub async fn handle<B>(&self, request: Request<B>) -> Page
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if let Some(reason) = &self.off {
            return error_page(None, &ConsoleError::Forbidden(reason.clone()));
        }
        let (parts, body) = request.into_parts();
        let path = parts.uri.path().strip_prefix(PREFIX).unwrap_or("").to_string();
        let query = Form::parse(parts.uri.query().unwrap_or(""));
        // HEAD is answered as GET (hyper leaves the body out).
        let method = match parts.method {
            Method::HEAD => Method::GET,
            ref method => method.clone(),
        };
        let body = match read_form(&method, &parts.headers, &self.access, body).await {
            Ok(body) => body,
            Err(err) => return error_page(None, &err),
        };
        if let Some(page) = self.open_page(&method, &path, &body) {
            return page;
        }
        let viewer = match self.access.viewer(&parts.headers) {
            Ok(viewer) => viewer,
            Err(answer) => return *answer,
        };
        let answer = if method == Method::POST && !viewer.csrf_ok(&body) {
            Err(ConsoleError::Forbidden(
                "this form's CSRF token is missing or stale: reload the page and send it again".into(),
            ))
        } else {
            self.route(&viewer, &method, &path, &query, &body).await
        };
        let mut page = answer.unwrap_or_else(|err| error_page(Some(&viewer), &err));
        if let Some(cookie) = &viewer.set_cookie {
            page.headers_mut().append(header::SET_COOKIE, cookie.clone());
        }
        page
    }

    /// The pages anyone may see: the assets and the login form.
    fn open_page(&self, method: &Method, path: &str, body: &Form) -> Option<Page> {
        match (method, path) {
            (&Method::GET, "" | "/") => Some(redirect(&format!("{PREFIX}/queues"))),
            (&Method::GET, "/static/console.css") => Some(asset(CSS, "text/css; charset=utf-8")),
            (&Method::GET, "/static/console.js") => Some(asset(JS, "text/javascript; charset=utf-8")),
            (&Method::GET, "/static/favicon.svg") => Some(asset(ICON, "image/svg+xml")),
            (&Method::GET, "/login") => Some(self.access.login_page(None)),
            (&Method::POST, "/login") => Some(self.access.login(body)),
            _ => None,
        }
    }

    fn rules_page<'a>(&'a self, viewer: &'a Viewer) -> rules::RulesPage<'a> {
        rules::RulesPage {
            app: &self.app,
            viewer,
            rules_file: self.rules_path.as_deref(),
        }
    }

    async fn route(&self, viewer: &Viewer, method: &Method, path: &str, query: &Form, body: &Form) -> Answer {
        let app = self.app.as_ref();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (method, segments.as_slice()) {
            (&Method::POST, ["logout"]) => Ok(self.access.logout()),
            (&Method::GET, ["queues"]) => queues::overview(app, &self.rates, viewer).await,
            (&Method::GET, ["queues", "rows"]) => queues::rows(app, &self.rates).await,
            (&Method::GET, ["queues", name]) => {
                queues::queue(app, viewer, &form::decode_path(name), query).await
            }
            (&Method::GET, ["tickets", id]) => ticket::page(app, viewer, id).await,
            (&Method::GET, ["rules"]) => rules::page(&self.rules_page(viewer)).await,
            (&Method::GET, ["rules", "playground"]) => {
                rules::playground(&self.rules_page(viewer), query).await
            }
            (&Method::POST, ["rules", "validate"]) => rules::validate(&self.rules_page(viewer), body).await,
            (&Method::POST, ["rules", "backtest"]) => {
                viewer.require(Action::Backtest)?;
                rules::backtest(&self.rules_page(viewer), body).await
            }
            (&Method::POST, ["rules", "activate"]) => {
                viewer.require(Action::Activate)?;
                rules::activate(&self.rules_page(viewer), body).await
            }
            (&Method::POST, ["rules", "reload"]) => {
                viewer.require(Action::Activate)?;
                rules::reload(&self.rules_page(viewer)).await
            }
            (&Method::GET, ["journey"]) => journey::friction(app, viewer, query).await,
            (&Method::GET, ["journey", "customer"]) => journey::customer(app, viewer, query).await,
            (&Method::GET | &Method::POST, _) => Err(ConsoleError::NotFound(format!(
                "no console page at {PREFIX}{path}"
            ))),
            _ => Err(ConsoleError::BadRequest(format!("{method} is not served here"))),
        }
    }
}

/// The form a POST sends (empty for other methods); a POST from another
/// site, or too large, is refused.
async fn read_form<B>(
    method: &Method,
    headers: &http::HeaderMap,
    access: &Access,
    body: B,
) -> Result<Form, ConsoleError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if method != Method::POST {
        return Ok(Form::default());
    }
    if !access.same_origin(headers) {
        return Err(ConsoleError::Forbidden(
            "cross-origin form posts are refused".into(),
        ));
    }
    match Limited::new(body, MAX_FORM_BYTES).collect().await {
        Ok(collected) => Ok(Form::parse_bytes(&collected.to_bytes())),
        Err(err) => Err(ConsoleError::BadRequest(format!("cannot read the form: {err}"))),
    }
}

/// A 303 to `location` (after a form post, or to the login form).
pub fn redirect(location: &str) -> Page {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    secure_headers(&mut response);
    response
}

/// An HTML page with status 200 and the console's security headers.
pub fn html(markup: maud::Markup) -> Page {
    html_with(StatusCode::OK, markup)
}

/// An HTML page with `status`.
pub fn html_with(status: StatusCode, markup: maud::Markup) -> Page {
    let mut response = Response::new(Full::new(Bytes::from(markup.into_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure_headers(&mut response);
    response
}

fn asset(text: &'static str, content_type: &'static str) -> Page {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    secure_headers(&mut response);
    response
}

/// Scripts and styles from the console only; no framing; no caching of
/// pages that show tickets.
fn secure_headers(response: &mut Page) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
}

/// `err` as a page with its status.
fn error_page(viewer: Option<&Viewer>, err: &ConsoleError) -> Page {
    let status = err.status();
    let title = status.canonical_reason().unwrap_or("Error");
    html_with(
        status,
        layout::page(
            viewer,
            title,
            maud::html! {
                h1 { (title) }
                p.error role="alert" { (err.to_string()) }
                p { a href={ (PREFIX) "/queues" } { "Back to the queues" } }
            },
        ),
    )
}
