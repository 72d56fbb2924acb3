//! The web console's handlers, against the real server's HTTP port with a
//! real HTTP client: every page's status, sign-in and roles, CSRF, and
//! escaping of ticket text.

mod common;

use common::console::{ingest, server_with_tokens, Visitor, ADMIN, AGENT, INGEST};
use common::TestServer;

/// A candidate that sends billing words to the inbox instead.
fn candidate_without_billing() -> String {
    common::TEST_RULES
        .replace("version = \"test-1\"", "version = \"test-2\"")
        .replace(
            "queue = \"billing\", priority = \"high\"",
            "queue = \"inbox\", priority = \"high\"",
        )
}

#[tokio::test]
async fn every_page_answers_for_an_agent() {
    let server = server_with_tokens().await;
    let id = ingest(&server, "e-1", "Site is down", "The checkout is down since noon").await;
    let agent = Visitor::signed_in(server.http_address, AGENT).await;
    let pages = [
        "/console/queues".to_string(),
        "/console/queues/rows".to_string(),
        "/console/queues/incidents".to_string(),
        format!("/console/tickets/{id}"),
        "/console/rules".to_string(),
        "/console/rules/playground?subject=refund&body=charged+twice".to_string(),
        "/console/journey".to_string(),
        "/console/journey?window=24&group=side&colour=change".to_string(),
        "/console/journey/customer?id=cust-e-1".to_string(),
        "/console/static/console.css".to_string(),
        "/console/static/console.js".to_string(),
    ];
    for page in &pages {
        let reply = agent.get(page).await;
        assert_eq!(reply.status, 200, "{page}: {}", reply.body);
        let policy = reply.headers.get("content-security-policy").expect("CSP");
        assert!(
            policy.to_str().expect("ascii").contains("script-src 'self'"),
            "{page}"
        );
    }
    assert_eq!(agent.get("/console").await.location(), "/console/queues");
    assert_eq!(agent.get("/console/nope").await.status, 404);
    assert_eq!(agent.get("/console/tickets/tkt_999999").await.status, 404);
    assert_eq!(agent.get("/console/tickets/not-an-id").await.status, 404);
    assert_eq!(agent.get("/console/queues/no-such-queue").await.status, 404);
    assert_eq!(agent.get("/console/journey?window=0").await.status, 400);
    server.shutdown().await;
}

#[tokio::test]
async fn pages_without_a_session_send_the_visitor_to_the_login_form() {
    let server = server_with_tokens().await;
    let stranger = Visitor::new(server.http_address);
    for page in [
        "/console/queues",
        "/console/rules",
        "/console/tickets/tkt_1",
        "/console/journey",
    ] {
        let reply = stranger.get(page).await;
        assert_eq!(reply.status, 303, "{page}");
        assert_eq!(reply.location(), "/console/login", "{page}");
    }
    let login = stranger.get("/console/login").await;
    assert_eq!(login.status, 200);
    assert!(login.body.contains("<label for=\"token\""), "{}", login.body);
    let forged = Visitor {
        cookie: Some("not-a-token-at-all-0123".into()),
        ..stranger.clone()
    };
    let reply = forged.get("/console/queues").await;
    assert_eq!(reply.location(), "/console/login");
    assert!(
        reply
            .set_cookies()
            .iter()
            .any(|cookie| cookie.contains("Max-Age=0")),
        "an unknown token's cookie is cleared"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn login_keeps_the_token_in_an_http_only_strict_cookie() {
    let server = server_with_tokens().await;
    let reply = Visitor::new(server.http_address)
        .post("/console/login", &[("token", AGENT)])
        .await;
    assert_eq!(reply.status, 303);
    assert_eq!(reply.location(), "/console/queues");
    let cookies = reply.set_cookies();
    let cookie = cookies.first().expect("a cookie");
    assert!(
        cookie.starts_with(&format!("triage_console={AGENT};")),
        "{cookie}"
    );
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/console"), "{cookie}");
    assert!(!cookie.contains("Secure"), "no TLS here: {cookie}");
    server.shutdown().await;
}

#[tokio::test]
async fn login_refuses_unknown_tokens_and_tokens_without_a_console_role() {
    let server = server_with_tokens().await;
    let visitor = Visitor::new(server.http_address);
    let unknown = visitor
        .post("/console/login", &[("token", "wrong-token-0123456789")])
        .await;
    assert_eq!(unknown.status, 401);
    assert!(unknown.body.contains("unknown token"));
    assert!(unknown.set_cookies().is_empty());
    let ingest_only = visitor.post("/console/login", &[("token", INGEST)]).await;
    assert_eq!(ingest_only.status, 403);
    assert!(
        ingest_only.body.contains("needs role agent or admin"),
        "{}",
        ingest_only.body
    );
    assert!(ingest_only.set_cookies().is_empty());
    let with_ingest_cookie = Visitor {
        cookie: Some(INGEST.into()),
        ..visitor.clone()
    };
    assert_eq!(with_ingest_cookie.get("/console/queues").await.status, 403);
    server.shutdown().await;
}

#[tokio::test]
async fn sign_out_clears_the_cookie_and_needs_the_csrf_token() {
    let server = server_with_tokens().await;
    let agent = Visitor::signed_in(server.http_address, AGENT).await;
    assert_eq!(agent.post("/console/logout", &[]).await.status, 403);
    let csrf = agent.get("/console/queues").await.csrf();
    let reply = agent.post("/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!(reply.status, 303);
    assert_eq!(reply.location(), "/console/login");
    assert!(reply
        .set_cookies()
        .iter()
        .any(|cookie| cookie.contains("Max-Age=0")));
    server.shutdown().await;
}

#[tokio::test]
async fn agents_may_validate_but_not_backtest_or_activate() {
    let server = server_with_tokens().await;
    let agent = Visitor::signed_in(server.http_address, AGENT).await;
    let page = agent.get("/console/rules").await;
    assert!(
        !page.body.contains("id=\"activate\""),
        "no activate button for agents"
    );
    assert!(
        !page.body.contains("id=\"backtest\""),
        "no backtest button for agents"
    );
    let csrf = page.csrf();
    let candidate = candidate_without_billing();
    let fields = [("csrf", csrf.as_str()), ("candidate", candidate.as_str())];
    assert_eq!(agent.post("/console/rules/validate", &fields).await.status, 200);
    let backtest = agent.post("/console/rules/backtest", &fields).await;
    assert_eq!(backtest.status, 403);
    assert!(backtest.body.contains("needs role admin"), "{}", backtest.body);
    assert_eq!(agent.post("/console/rules/activate", &fields).await.status, 403);
    assert_eq!(server.app.rules().version(), "test-1", "the rules did not change");
    server.shutdown().await;
}

#[tokio::test]
async fn posts_without_the_sessions_csrf_token_change_nothing() {
    let server = server_with_tokens().await;
    let admin = Visitor::signed_in(server.http_address, ADMIN).await;
    let candidate = candidate_without_billing();
    let missing = admin
        .post("/console/rules/activate", &[("candidate", &candidate)])
        .await;
    assert_eq!(missing.status, 403);
    assert!(missing.body.contains("CSRF"), "{}", missing.body);
    let agents_token = Visitor::signed_in(server.http_address, AGENT)
        .await
        .get("/console/rules")
        .await
        .csrf();
    let someone_elses = admin
        .post(
            "/console/rules/activate",
            &[("csrf", &agents_token), ("candidate", &candidate)],
        )
        .await;
    assert_eq!(someone_elses.status, 403, "another session's token");
    let csrf = admin.get("/console/rules").await.csrf();
    let cross_site = admin
        .post_with(
            "/console/rules/activate",
            &[("csrf", &csrf), ("candidate", &candidate)],
            &[("origin", "http://evil.example")],
        )
        .await;
    assert_eq!(cross_site.status, 403, "a post from another origin");
    assert_eq!(server.app.rules().version(), "test-1", "nothing was activated");
    server.shutdown().await;
}

#[tokio::test]
async fn admins_backtest_a_candidate_and_see_the_move_matrix() {
    let server = server_with_tokens().await;
    let billing = ingest(&server, "b-1", "Invoice", "I was charged twice").await;
    ingest(&server, "o-1", "Outage", "everything is down").await;
    let admin = Visitor::signed_in(server.http_address, ADMIN).await;
    let csrf = admin.get("/console/rules").await.csrf();
    let candidate = candidate_without_billing();
    let reply = admin
        .post(
            "/console/rules/backtest",
            &[("csrf", &csrf), ("candidate", &candidate)],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply.body.contains("2 tickets re-classified, 1 would move"),
        "{}",
        reply.body
    );
    assert!(reply.body.contains("reactive / billing / billing"), "from");
    assert!(reply.body.contains("reactive / billing / inbox"), "to");
    assert!(reply.body.contains("id=\"move-matrix\""), "the queue matrix");
    assert!(
        reply
            .body
            .contains(&format!("href=\"/console/tickets/{billing}\"")),
        "sample"
    );
    assert_eq!(
        server.app.rules().version(),
        "test-1",
        "a backtest changes nothing"
    );
    let incidents_only = admin
        .post(
            "/console/rules/backtest",
            &[
                ("csrf", &csrf),
                ("candidate", &candidate),
                ("bt_queue", "incidents"),
                ("bt_days", "7"),
            ],
        )
        .await;
    assert!(
        incidents_only
            .body
            .contains("1 tickets re-classified, 0 would move"),
        "{}",
        incidents_only.body
    );
    assert!(
        incidents_only
            .body
            .contains("<option value=\"incidents\" selected>"),
        "the filter stays"
    );
    let bad_side = admin
        .post(
            "/console/rules/backtest",
            &[
                ("csrf", &csrf),
                ("candidate", &candidate),
                ("bt_side", "sideways"),
            ],
        )
        .await;
    assert_eq!(bad_side.status, 400);
    server.shutdown().await;
}

#[tokio::test]
async fn admins_activate_a_candidate_and_a_broken_one_is_refused() {
    let server = server_with_tokens().await;
    let admin = Visitor::signed_in(server.http_address, ADMIN).await;
    let csrf = admin.get("/console/rules").await.csrf();
    let broken = admin
        .post(
            "/console/rules/activate",
            &[("csrf", &csrf), ("candidate", "version = \"x\"\n[[rule]\n")],
        )
        .await;
    assert!(
        broken.body.contains("Refused; the running rules stay"),
        "{}",
        broken.body
    );
    assert_eq!(server.app.rules().version(), "test-1");
    let reply = admin
        .post(
            "/console/rules/activate",
            &[("csrf", &csrf), ("candidate", &candidate_without_billing())],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply.body.contains("Activated version <strong>test-2</strong>"),
        "{}",
        reply.body
    );
    assert_eq!(server.app.rules().version(), "test-2");
    server.shutdown().await;
}

#[tokio::test]
async fn validation_points_each_error_at_its_line() {
    let server = server_with_tokens().await;
    let agent = Visitor::signed_in(server.http_address, AGENT).await;
    let csrf = agent.get("/console/rules").await.csrf();
    let candidate = "version = \"v\"\ndefault_queue = \"inbox\"\n\n[[queue]]\nname = \"inbox\"\n\n[[rule]]\nid = \"r\"\nwhen = { field = \"text\", regex = \"(\" }\nthen = { queue = \"inbox\" }\n";
    let reply = agent
        .post(
            "/console/rules/validate",
            &[("csrf", &csrf), ("candidate", candidate)],
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    assert!(reply.body.contains("id=\"errors\""), "{}", reply.body);
    let error_line = (1..=10)
        .find(|line| {
            reply
                .body
                .contains(&format!("<li id=\"line-{line}\" class=\"bad\">"))
        })
        .unwrap_or_else(|| panic!("the listing marks the error's line: {}", reply.body));
    assert!(
        reply.body.contains(&format!("href=\"#line-{error_line}\"")),
        "the error links to its line: {}",
        reply.body
    );
    assert!(
        (7..=9).contains(&error_line),
        "the broken rule's lines: {error_line}"
    );
    let good = agent
        .post(
            "/console/rules/validate",
            &[("csrf", &csrf), ("candidate", common::TEST_RULES)],
        )
        .await;
    assert_eq!(good.status, 200);
    assert!(good.body.contains("The candidate compiles"), "{}", good.body);
    server.shutdown().await;
}

#[tokio::test]
async fn ticket_text_renders_as_text_not_markup() {
    let server = server_with_tokens().await;
    let id = ingest(
        &server,
        "x-1",
        "<img src=x onerror=alert(2)>",
        "<script>alert(1)</script>",
    )
    .await;
    let agent = Visitor::signed_in(server.http_address, AGENT).await;
    let ticket = agent.get(&format!("/console/tickets/{id}")).await;
    assert_eq!(ticket.status, 200);
    assert!(
        ticket.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        ticket.body
    );
    assert!(!ticket.body.contains("<script>alert(1)"));
    assert!(!ticket.body.contains("<img src=x"));
    let queue = agent.get("/console/queues/inbox").await;
    assert!(
        queue.body.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "{}",
        queue.body
    );
    assert!(!queue.body.contains("<img src=x"));
    let playground = agent
        .get("/console/rules/playground?subject=%3Cb%3Ehi%3C%2Fb%3E&body=%3Cscript%3Ex%3C%2Fscript%3E")
        .await;
    assert!(!playground.body.contains("<script>x"), "{}", playground.body);
    assert!(playground.body.contains("&lt;script&gt;x&lt;/script&gt;"));
    server.shutdown().await;
}

#[tokio::test]
async fn the_ticket_page_explains_the_classification_with_the_matched_text() {
    let server = server_with_tokens().await;
    let id = ingest(&server, "o-2", "Help", "Our site is down and customers are angry").await;
    let agent = Visitor::signed_in(server.http_address, AGENT).await;
    let page = agent.get(&format!("/console/tickets/{id}")).await.body;
    assert!(page.contains("<dd data-field=\"side\">reactive</dd>"), "{page}");
    assert!(page.contains("<dd data-field=\"queue\">incidents</dd>"), "{page}");
    assert!(page.contains("data-rule=\"outage\""), "{page}");
    assert!(
        page.contains("<mark>is down</mark>"),
        "matched text highlighted: {page}"
    );
    assert!(page.contains("id=\"sentiment-words\""), "sentiment words: {page}");
    assert!(page.contains("angry"), "{page}");
    assert!(page.contains("id=\"history\""), "{page}");
    assert!(page.contains("ingested") || page.contains("queued"), "{page}");
    server.shutdown().await;
}

#[tokio::test]
async fn the_playground_shows_side_category_and_queue() {
    let server = server_with_tokens().await;
    let agent = Visitor::signed_in(server.http_address, AGENT).await;
    let page = agent
        .get("/console/rules/playground?subject=Invoice&body=I+was+charged+twice")
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<dd data-field=\"side\">reactive</dd>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<dd data-field=\"category\">billing</dd>"));
    assert!(page.body.contains("<dd data-field=\"queue\">billing</dd>"));
    let fragment = agent
        .get("/console/rules/playground?fragment=1&body=please+add+dark+mode")
        .await;
    assert!(!fragment.body.contains("<html"), "the fragment alone");
    assert!(
        fragment.body.contains("<dd data-field=\"side\">proactive</dd>"),
        "{}",
        fragment.body
    );
    server.shutdown().await;
}

#[tokio::test]
async fn queue_figures_follow_an_ingest() {
    let server = server_with_tokens().await;
    let agent = Visitor::signed_in(server.http_address, AGENT).await;
    let depth = |body: &str| {
        let row = body.find("data-queue=\"billing\"").expect("billing row");
        let cell = body[row..].find("data-field=\"depth\">").expect("depth cell") + row + 19;
        body[cell..body[cell..].find('<').expect("end") + cell].to_string()
    };
    assert_eq!(depth(&agent.get("/console/queues/rows").await.body), "0");
    ingest(&server, "b-2", "Refund", "please refund me").await;
    assert_eq!(depth(&agent.get("/console/queues/rows").await.body), "1");
    server.shutdown().await;
}

#[tokio::test]
async fn a_queue_pages_its_waiting_tickets_in_claim_order() {
    let server = server_with_tokens().await;
    for n in 0..51 {
        ingest(&server, &format!("p-{n}"), "Refund", "please refund me").await;
    }
    let agent = Visitor::signed_in(server.http_address, AGENT).await;
    let first = agent.get("/console/queues/billing").await;
    assert_eq!(first.body.matches("href=\"/console/tickets/").count(), 50);
    let marker = "rel=\"next\" href=\"";
    let start = first.body.find(marker).expect("a next page") + marker.len();
    let next = &first.body[start..first.body[start..].find('"').expect("end") + start];
    let second = agent.get(&next.replace("&amp;", "&")).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.body.matches("href=\"/console/tickets/").count(), 1);
    assert!(!second.body.contains("rel=\"next\""));
    server.shutdown().await;
}

#[tokio::test]
async fn the_journey_pages_show_the_heat_map_and_a_customers_contacts() {
    let server = server_with_tokens().await;
    let id = ingest(&server, "j-1", "Outage", "the app is down").await;
    let agent = Visitor::signed_in(server.http_address, AGENT).await;
    let map = agent.get("/console/journey").await;
    assert_eq!(map.status, 200);
    assert!(map.body.contains("id=\"heat-map\""), "{}", map.body);
    let hottest = "class=\"heat-5\"";
    assert!(
        map.body.contains(hottest),
        "the busiest cell is hottest: {}",
        map.body
    );
    ingest(
        &server,
        "j-2",
        "Invoice",
        "I love how fast the refund was, great service",
    )
    .await;
    let by_sentiment = agent.get("/console/journey?colour=sentiment").await.body;
    let cell = |group: &str| {
        let at = by_sentiment
            .find(&format!("data-group=\"{group}\""))
            .unwrap_or_else(|| panic!("a {group} cell: {by_sentiment}"));
        let start = by_sentiment[..at].rfind("class=\"").expect("class") + 7;
        by_sentiment[start..start + 6].to_string()
    };
    assert!(
        cell("billing").starts_with("cool-"),
        "positive is cool: {by_sentiment}"
    );
    assert_ne!(cell("billing"), "cool-0", "{by_sentiment}");
    let journey = agent.get("/console/journey/customer?id=cust-j-1").await;
    assert!(
        journey.body.contains(&format!("href=\"/console/tickets/{id}\"")),
        "{}",
        journey.body
    );
    server.shutdown().await;
}

#[tokio::test]
async fn with_auth_off_every_visitor_is_an_admin_whose_posts_need_the_csrf_token() {
    let server = TestServer::start().await;
    let mut visitor = Visitor::new(server.http_address);
    assert_eq!(visitor.get("/console/login").await.location(), "/console/queues");
    let page = visitor.get("/console/rules").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Authentication is off"), "{}", page.body);
    assert!(page.body.contains("id=\"activate\""), "admin buttons");
    visitor.keep_cookie(&page);
    assert!(visitor.cookie.is_some(), "an anonymous session cookie");
    let csrf = page.csrf();
    let candidate = candidate_without_billing();
    let without = Visitor::new(server.http_address)
        .post(
            "/console/rules/activate",
            &[("csrf", &csrf), ("candidate", &candidate)],
        )
        .await;
    assert_eq!(without.status, 403, "the token belongs to the cookie");
    let reply = visitor
        .post(
            "/console/rules/activate",
            &[("csrf", &csrf), ("candidate", &candidate)],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(server.app.rules().version(), "test-2");
    server.shutdown().await;
}

/// The number in the `field` cell of `queue`'s row, if it shows one.
fn queue_cell(body: &str, queue: &str, field: &str) -> Option<f64> {
    let row = body.find(&format!("data-queue=\"{queue}\""))?;
    let marker = format!("data-field=\"{field}\">");
    let cell = body[row..].find(&marker)? + row + marker.len();
    let end = body[cell..].find('<')? + cell;
    body[cell..end].parse().ok()
}

#[tokio::test]
async fn queue_rates_count_arrivals_and_completions() {
    let mut server = TestServer::start().await;
    let visitor = Visitor::new(server.http_address);
    ingest(&server, "r-1", "Refund", "please refund me").await;
    ingest(&server, "r-2", "Refund", "please refund me too").await;
    let claimed = common::claim(&mut server.client, "billing", "agent-1", 60)
        .await
        .expect("a ticket to claim");
    common::complete(&mut server.client, &claimed, "refunded")
        .await
        .expect("complete");
    // Rates need a second of history after the first sample: poll.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let (arrivals, completions) = loop {
        let rows = visitor.get("/console/queues/rows").await.body;
        let arrivals = queue_cell(&rows, "billing", "arrivals").unwrap_or(0.0);
        let completions = queue_cell(&rows, "billing", "completions").unwrap_or(0.0);
        if (arrivals > 0.0 && completions > 0.0) || tokio::time::Instant::now() > deadline {
            break (arrivals, completions);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(arrivals > 0.0, "arrivals per minute: {arrivals}");
    assert!(completions > 0.0, "completions per minute: {completions}");
    assert!(
        (arrivals / completions - 2.0).abs() < 0.05,
        "two in, one done (rates shown to one decimal): {arrivals} vs {completions}"
    );
    let rows = visitor.get("/console/queues/rows").await.body;
    assert_eq!(queue_cell(&rows, "incidents", "arrivals"), Some(0.0), "{rows}");
    server.shutdown().await;
}

#[tokio::test]
async fn with_tls_the_session_cookie_is_secure() {
    let dir = tempfile::tempdir().expect("temp dir");
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let cert = dir.path().join("server.crt");
    let key = dir.path().join("server.key");
    std::fs::write(&cert, certified.cert.pem()).expect("write cert");
    std::fs::write(&key, certified.signing_key.serialize_pem()).expect("write key");
    let tokens = triage::auth::Tokens::parse_env(&format!("agent:{AGENT}")).expect("tokens");
    let server = TestServer::start_with(common::TEST_RULES, |config| {
        config.tls = Some(triage::tls::TlsFiles {
            cert,
            key,
            client_ca: None,
        });
        config.tokens = Some(std::sync::Arc::new(triage::auth::Keyring::fixed(tokens)));
    })
    .await;
    let reply = Visitor::new(server.http_address)
        .post("/console/login", &[("token", AGENT)])
        .await;
    assert_eq!(reply.status, 303);
    let cookies = reply.set_cookies();
    let cookie = cookies.first().expect("a cookie");
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn admins_reload_the_rule_file_from_disk_and_agents_may_not() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("rules.toml");
    std::fs::write(&file, candidate_without_billing()).expect("write rules");
    let tokens = triage::auth::Tokens::parse_env(&format!("agent:{AGENT},admin:{ADMIN}")).expect("tokens");
    let server = TestServer::start_with(common::TEST_RULES, |config| {
        config.rules_path = Some(file.clone());
        config.tokens = Some(std::sync::Arc::new(triage::auth::Keyring::fixed(tokens)));
    })
    .await;
    let agent = Visitor::signed_in(server.http_address, AGENT).await;
    let page = agent.get("/console/rules").await;
    assert!(
        !page.body.contains("id=\"reload\""),
        "no reload button for agents"
    );
    let refused = agent
        .post("/console/rules/reload", &[("csrf", &page.csrf())])
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(server.app.rules().version(), "test-1");
    let admin = Visitor::signed_in(server.http_address, ADMIN).await;
    let page = admin.get("/console/rules").await;
    assert!(page.body.contains("id=\"reload\""), "{}", page.body);
    let reply = admin
        .post("/console/rules/reload", &[("csrf", &page.csrf())])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains("id=\"reloaded\""), "{}", reply.body);
    assert_eq!(server.app.rules().version(), "test-2");
    std::fs::write(&file, "not = [toml").expect("break the file");
    let broken = admin
        .post("/console/rules/reload", &[("csrf", &page.csrf())])
        .await;
    assert!(
        broken.body.contains("Refused; the running rules stay"),
        "{}",
        broken.body
    );
    assert_eq!(server.app.rules().version(), "test-2");
    server.shutdown().await;
}

#[tokio::test]
async fn without_a_rule_file_there_is_nothing_to_reload() {
    let server = server_with_tokens().await;
    let admin = Visitor::signed_in(server.http_address, ADMIN).await;
    let page = admin.get("/console/rules").await;
    assert!(!page.body.contains("id=\"reload\""), "no reload button");
    let reply = admin
        .post("/console/rules/reload", &[("csrf", &page.csrf())])
        .await;
    assert_eq!(reply.status, 400);
    assert!(reply.body.contains("embedded rules"), "{}", reply.body);
    server.shutdown().await;
}

/// GET `path` from `console` directly (no socket): the status and body.
async fn ask(console: &triage::console::Console, path: &str) -> (u16, String) {
    use http_body_util::BodyExt;
    let request = http::Request::get(path)
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .expect("request");
    let page = console.handle(request).await;
    let status = page.status().as_u16();
    let body = page.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn without_tokens_on_a_network_address_the_console_stays_off() {
    use triage::console::{Console, ConsoleSettings};
    let server = TestServer::start().await;
    let on_network = Console::new(
        server.app.clone(),
        ConsoleSettings {
            on_network: true,
            ..ConsoleSettings::default()
        },
    );
    for page in ["/console/queues", "/console/login", "/console/rules"] {
        let (status, body) = ask(&on_network, page).await;
        assert_eq!(status, 403, "{page}");
        assert!(body.contains("the console is off"), "{body}");
    }
    let tokens = triage::auth::Tokens::parse_env(&format!("agent:{AGENT}")).expect("tokens");
    let with_tokens = Console::new(
        server.app.clone(),
        ConsoleSettings {
            on_network: true,
            tokens: Some(std::sync::Arc::new(triage::auth::Keyring::fixed(tokens))),
            ..ConsoleSettings::default()
        },
    );
    assert_eq!(
        ask(&with_tokens, "/console/login").await.0,
        200,
        "sign-in is offered"
    );
    let on_loopback = Console::new(server.app.clone(), ConsoleSettings::default());
    assert_eq!(
        ask(&on_loopback, "/console/queues").await.0,
        200,
        "loopback, no tokens: open"
    );
    server.shutdown().await;
}
