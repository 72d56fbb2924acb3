//! A small HTTP/1.1 client for the console (hyper's), and the servers and
//! tickets the console tests share.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use triage::auth::{Keyring, Tokens};
use triage::console::form;
use triage::ticket::{Channel, Customer, TicketId, TicketInput};

use super::{TestServer, TEST_RULES};

/// An agent's token.
pub const AGENT: &str = "agent-token-0123456789abcdef";
/// An admin's token.
pub const ADMIN: &str = "admin-token-0123456789abcdef";
/// An ingest-only token (no console role).
pub const INGEST: &str = "ingest-token-0123456789abcdef";

/// A server with the test rules and the three tokens above.
pub async fn server_with_tokens() -> TestServer {
    let tokens = Tokens::parse_env(&format!("ingest:{INGEST},agent:{AGENT},admin:{ADMIN}")).expect("tokens");
    TestServer::start_with(TEST_RULES, |config| {
        config.tokens = Some(Arc::new(Keyring::fixed(tokens)));
    })
    .await
}

/// Ingests a ticket through the domain; its id.
pub async fn ingest(server: &TestServer, external_id: &str, subject: &str, body: &str) -> TicketId {
    let input = TicketInput {
        external_id: external_id.into(),
        source: "zendesk".into(),
        channel: Channel::Email,
        subject: subject.into(),
        body: body.into(),
        customer: Customer {
            id: format!("cust-{external_id}"),
            tier: "pro".into(),
            email: "someone@example.com".into(),
            ..Customer::default()
        },
        language: "en".into(),
        ..TicketInput::default()
    };
    server.app.ingest(input).await.expect("ingest").ticket.id
}

/// One answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Reply {
    /// The `Location` header.
    pub fn location(&self) -> &str {
        self.headers
            .get(http::header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
    }

    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok().map(str::to_string))
            .collect()
    }

    /// The CSRF token of the page's forms.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("the page has a CSRF field") + marker.len();
        let end = self.body[start..].find('"').expect("closing quote") + start;
        self.body[start..end].to_string()
    }
}

/// A console visitor: the port, and the cookie it holds (if any).
#[derive(Debug, Clone)]
pub struct Visitor {
    pub address: SocketAddr,
    pub cookie: Option<String>,
}

impl Visitor {
    /// A visitor without a cookie.
    pub fn new(address: SocketAddr) -> Visitor {
        Visitor {
            address,
            cookie: None,
        }
    }

    /// A visitor signed in with `token` through the login form.
    pub async fn signed_in(address: SocketAddr, token: &str) -> Visitor {
        let mut visitor = Visitor::new(address);
        let reply = visitor.post("/console/login", &[("token", token)]).await;
        assert_eq!(reply.status, 303, "login answers a redirect: {}", reply.body);
        visitor.keep_cookie(&reply);
        assert!(visitor.cookie.is_some(), "login sets the cookie");
        visitor
    }

    /// Keeps the session cookie `reply` sets, if it sets one.
    pub fn keep_cookie(&mut self, reply: &Reply) {
        for cookie in reply.set_cookies() {
            let pair = cookie.split(';').next().unwrap_or("");
            if let Some(value) = pair.strip_prefix("triage_console=") {
                self.cookie = (!value.is_empty()).then(|| value.to_string());
            }
        }
    }

    /// GET `path`.
    pub async fn get(&self, path: &str) -> Reply {
        self.send(http::Method::GET, path, &[], None).await
    }

    /// POST the form `fields` to `path`.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        self.post_with(path, fields, &[]).await
    }

    /// POST the form `fields` to `path` with extra `headers`.
    pub async fn post_with(&self, path: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Reply {
        let body = fields
            .iter()
            .map(|(name, value)| format!("{}={}", form::encode(name), form::encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        self.send(http::Method::POST, path, headers, Some(body)).await
    }

    async fn send(
        &self,
        method: http::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Reply {
        let stream = tokio::net::TcpStream::connect(self.address)
            .await
            .expect("connect");
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .expect("HTTP/1.1 handshake");
        tokio::spawn(connection);
        let mut request = http::Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, self.address.to_string());
        if let Some(cookie) = &self.cookie {
            request = request.header(http::header::COOKIE, format!("triage_console={cookie}"));
        }
        if body.is_some() {
            request = request.header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .expect("request");
        let response = sender.send_request(request).await.expect("response");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.expect("body").to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }
}
