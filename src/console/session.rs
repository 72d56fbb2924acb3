//! Who is looking: the console's login cookie, roles and CSRF tokens.
//!
//! - The login form takes a bearer token of the API; the cookie
//!   `triage_console` holds it (HttpOnly, so page scripts cannot read it;
//!   SameSite=Strict, so other sites' pages cannot send it; Secure when the
//!   server runs TLS). Every request looks the token up again, so a token
//!   removed from the token file is logged out on its next click.
//! - Reading needs `agent` or `admin`; backtests and activating rules
//!   need `admin` (as `BacktestRuleSet` and `ReloadRules` do over gRPC).
//! - Every POST form carries a CSRF token: a keyed hash of the cookie under
//!   a secret drawn when the process starts, compared in constant time. A
//!   POST whose `Origin` names another host is refused before that.
//! - With authentication off (no tokens configured), there is no login:
//!   every visitor is an admin, as every gRPC caller is then, and gets a
//!   random session cookie that the CSRF token is keyed on. That holds
//!   only on a loopback HTTP port: on a network address without tokens the
//!   console stays off (see [`ConsoleSettings::on_network`](super::ConsoleSettings::on_network)).

use std::sync::Arc;

use http::{header, HeaderMap, HeaderValue, StatusCode};
use maud::html;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::form::Form;
use super::{html_with, layout, redirect, ConsoleError, Page, PREFIX};
use crate::auth::{Keyring, Role, Roles};

/// The session cookie's name.
pub const COOKIE: &str = "triage_console";

/// The hidden form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// What a console action needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Every page, the playground and validation: agent or admin.
    Read,
    /// Backtesting a candidate over the stored tickets: admin.
    Backtest,
    /// Activating a candidate rule set: admin.
    Activate,
}

impl Action {
    /// The roles allowed to do it.
    pub fn allowed(self) -> Roles {
        match self {
            Action::Read => Roles::of(&[Role::Agent, Role::Admin]),
            Action::Backtest | Action::Activate => Roles::of(&[Role::Admin]),
        }
    }
}

/// The token table, the cookie's flags and the CSRF key.
#[derive(Debug)]
pub struct Access {
    tokens: Option<Arc<Keyring>>,
    secure: bool,
    secret: [u8; 32],
}

/// The person behind one request.
#[derive(Debug, Clone)]
pub struct Viewer {
    roles: Roles,
    csrf: String,
    /// True when authentication is off (everyone is an admin).
    pub auth_off: bool,
    /// A cookie to set with the answer (a new anonymous session).
    pub set_cookie: Option<HeaderValue>,
}

impl Viewer {
    /// Whether the viewer may do `action`.
    pub fn can(&self, action: Action) -> bool {
        self.roles.intersects(action.allowed())
    }

    /// `Ok` when the viewer may do `action`, else why not.
    pub fn require(&self, action: Action) -> Result<(), ConsoleError> {
        if self.can(action) {
            return Ok(());
        }
        Err(ConsoleError::Forbidden(format!(
            "this needs role {}; you are signed in with {}",
            action.allowed(),
            self.roles
        )))
    }

    /// The CSRF token this viewer's forms carry.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// The roles, for the page header.
    pub fn roles(&self) -> Roles {
        self.roles
    }

    /// Whether `form` carries this viewer's CSRF token.
    pub fn csrf_ok(&self, form: &Form) -> bool {
        let sent = form.get(CSRF_FIELD).unwrap_or("");
        !sent.is_empty() && bool::from(sent.as_bytes().ct_eq(self.csrf.as_bytes()))
    }
}

impl Access {
    /// Access with `tokens` (`None`: authentication off); cookies are
    /// `Secure` when `tls`.
    pub fn new(tokens: Option<Arc<Keyring>>, tls: bool) -> Access {
        Access {
            tokens,
            secure: tls,
            secret: rand::random(),
        }
    }

    /// The viewer of a request, or the answer to give instead: the login
    /// form for a visitor without a valid token, 403 for a token without a
    /// console role.
    pub fn viewer(&self, headers: &HeaderMap) -> Result<Viewer, Box<Page>> {
        let presented = cookie(headers, COOKIE);
        let Some(keyring) = &self.tokens else {
            let (session, set_cookie) = match presented {
                Some(session) => (session, None),
                None => {
                    let session = hex(&rand::random::<[u8; 16]>());
                    let set = self.cookie_header(&session);
                    (session, set)
                }
            };
            return Ok(Viewer {
                roles: Roles::of(&[Role::Admin]),
                csrf: self.csrf_for(&session),
                auth_off: true,
                set_cookie,
            });
        };
        let Some(token) = presented else {
            return Err(Box::new(redirect(&format!("{PREFIX}/login"))));
        };
        let roles = keyring.roles(&token);
        if roles.is_empty() {
            let mut answer = redirect(&format!("{PREFIX}/login"));
            answer
                .headers_mut()
                .insert(header::SET_COOKIE, self.clear_cookie());
            return Err(Box::new(answer));
        }
        let viewer = Viewer {
            roles,
            csrf: self.csrf_for(&token),
            auth_off: false,
            set_cookie: None,
        };
        if !viewer.can(Action::Read) {
            let err = ConsoleError::Forbidden(format!(
                "the console needs role {}; this token has {roles}",
                Action::Read.allowed()
            ));
            return Err(Box::new(super::error_page(None, &err)));
        }
        Ok(viewer)
    }

    /// The login form (straight to the queues when authentication is off).
    pub fn login_page(&self, problem: Option<(StatusCode, String)>) -> Page {
        if self.tokens.is_none() {
            return redirect(&format!("{PREFIX}/queues"));
        }
        let (status, message) = problem.map_or((StatusCode::OK, None), |(status, text)| (status, Some(text)));
        html_with(
            status,
            layout::page(
                None,
                "Sign in",
                html! {
                    h1 { "Sign in to the triage console" }
                    @if let Some(message) = message {
                        p.error role="alert" id="login-error" { (message) }
                    }
                    form.login method="post" action={ (PREFIX) "/login" } {
                        label for="token" { "Bearer token (role agent or admin)" }
                        input #token type="password" name="token" autocomplete="current-password" required autofocus;
                        button type="submit" { "Sign in" }
                    }
                    p.hint { "The token is kept in a session cookie this page's scripts cannot read; it is \
                        checked again on every request." }
                },
            ),
        )
    }

    /// Checks the token of a login form: the cookie and the queues on
    /// success, the form again with the reason otherwise.
    pub fn login(&self, form: &Form) -> Page {
        let Some(keyring) = &self.tokens else {
            return redirect(&format!("{PREFIX}/queues"));
        };
        let token = form.get("token").unwrap_or("").trim();
        let roles = keyring.roles(token);
        let refused = |status: StatusCode, text: String| self.login_page(Some((status, text)));
        if roles.is_empty() {
            return refused(StatusCode::UNAUTHORIZED, "unknown token".into());
        }
        if !roles.intersects(Action::Read.allowed()) {
            return refused(
                StatusCode::FORBIDDEN,
                format!(
                    "the console needs role {}; this token has {roles}",
                    Action::Read.allowed()
                ),
            );
        }
        let Some(cookie) = self.cookie_header(token) else {
            return refused(
                StatusCode::BAD_REQUEST,
                "this token has characters a cookie cannot hold".into(),
            );
        };
        let mut answer = redirect(&format!("{PREFIX}/queues"));
        answer.headers_mut().insert(header::SET_COOKIE, cookie);
        answer
    }

    /// Ends the session: clears the cookie and shows the login form.
    pub fn logout(&self) -> Page {
        let mut answer = redirect(&format!("{PREFIX}/login"));
        answer
            .headers_mut()
            .insert(header::SET_COOKIE, self.clear_cookie());
        answer
    }

    /// False for a POST a browser sent from another site: its `Origin`
    /// names a host other than `Host`, or `Sec-Fetch-Site` says
    /// cross-site. Clients that send neither are judged by the CSRF token.
    pub fn same_origin(&self, headers: &HeaderMap) -> bool {
        if headers
            .get("sec-fetch-site")
            .is_some_and(|site| site.as_bytes() == b"cross-site")
        {
            return false;
        }
        let Some(origin) = headers.get(header::ORIGIN).and_then(|value| value.to_str().ok()) else {
            return true;
        };
        let host = headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let origin_host = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .unwrap_or("");
        !host.is_empty() && origin_host == host
    }

    fn csrf_for(&self, session: &str) -> String {
        let mut hash = Sha256::new();
        hash.update(self.secret);
        hash.update(b"console-csrf\0");
        hash.update(session.as_bytes());
        hex(&hash.finalize()[..16])
    }

    /// `Set-Cookie` for a session holding `value`; `None` when `value`
    /// has characters a cookie value cannot hold.
    fn cookie_header(&self, value: &str) -> Option<HeaderValue> {
        let allowed = |byte: u8| byte.is_ascii_graphic() && !matches!(byte, b'"' | b',' | b';' | b'\\');
        if value.is_empty() || !value.bytes().all(allowed) {
            return None;
        }
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{COOKIE}={value}; Path={PREFIX}; HttpOnly; SameSite=Strict{secure}"
        ))
        .ok()
    }

    fn clear_cookie(&self) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{COOKIE}=; Path={PREFIX}; Max-Age=0; HttpOnly; SameSite=Strict{secure}"
        ))
        .unwrap_or(HeaderValue::from_static("triage_console=; Max-Age=0"))
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, value)| *key == name && !value.is_empty())
        .map(|(_, value)| value.to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_with_tls() {
        let plain = Access::new(None, false).cookie_header("abc").expect("cookie");
        let plain = plain.to_str().expect("ascii");
        assert!(
            plain.contains("HttpOnly") && plain.contains("SameSite=Strict"),
            "{plain}"
        );
        assert!(!plain.contains("Secure"), "{plain}");
        let tls = Access::new(None, true).cookie_header("abc").expect("cookie");
        assert!(tls.to_str().expect("ascii").ends_with("; Secure"));
    }

    #[test]
    fn a_cookie_value_cannot_smuggle_attributes() {
        let access = Access::new(None, false);
        assert!(access.cookie_header("a; Domain=evil").is_none());
        assert!(access.cookie_header("a b").is_none());
    }

    #[test]
    fn cross_origin_posts_are_refused() {
        let access = Access::new(None, false);
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:9090"));
        assert!(access.same_origin(&headers), "no Origin: the CSRF token decides");
        headers.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:9090"));
        assert!(access.same_origin(&headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("http://evil.example"));
        assert!(!access.same_origin(&headers));
    }
}
