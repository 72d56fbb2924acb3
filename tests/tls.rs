//! TLS and mutual TLS on the gRPC port, with certificates made here: a
//! client trusting the server's CA is served; under mTLS a client without a
//! certificate from the client CA is refused; replaced certificate files
//! are served to new connections after SIGHUP; unusable files stop the
//! start with the flag named.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{KillOnDrop, ServerProcess, TestServer, TEST_RULES};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};
use triage::pb;
use triage::pb::triage_service_client::TriageServiceClient;
use triage::tls::TlsFiles;

/// A certificate authority made for one test.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, PEM.
struct Leaf {
    cert: String,
    key: String,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("key");
        Ca {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA"),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    fn issue(&self, name: &str, purpose: ExtendedKeyUsagePurpose) -> Leaf {
        let mut params = CertificateParams::new(vec![name.to_string()]).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![purpose];
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("signed");
        Leaf {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    fn server(&self) -> Leaf {
        self.issue("localhost", ExtendedKeyUsagePurpose::ServerAuth)
    }

    fn client(&self, name: &str) -> Leaf {
        self.issue(name, ExtendedKeyUsagePurpose::ClientAuth)
    }
}

/// Writes the server's certificate and key (and client CA) into `dir`.
fn write_files(dir: &Path, server: &Leaf, client_ca: Option<&Ca>) -> TlsFiles {
    let cert = dir.join("server.crt");
    let key = dir.join("server.key");
    std::fs::write(&cert, &server.cert).expect("write cert");
    std::fs::write(&key, &server.key).expect("write key");
    let client_ca = client_ca.map(|ca| {
        let path = dir.join("clients.crt");
        std::fs::write(&path, ca.pem()).expect("write client CA");
        path
    });
    TlsFiles { cert, key, client_ca }
}

/// Connects over TLS trusting `ca`, presenting `identity` if given, and
/// pings; the error as text when any step fails.
async fn ping(address: std::net::SocketAddr, ca: &Ca, identity: Option<&Leaf>) -> Result<(), String> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca.pem()))
        .domain_name("localhost");
    if let Some(leaf) = identity {
        tls = tls.identity(Identity::from_pem(&leaf.cert, &leaf.key));
    }
    let endpoint = Endpoint::from_shared(format!("https://{address}"))
        .map_err(|err| err.to_string())?
        .tls_config(tls)
        .map_err(|err| err.to_string())?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(5));
    let channel = endpoint
        .connect()
        .await
        .map_err(|err| format!("connect: {err:?}"))?;
    TriageServiceClient::new(channel)
        .ping(pb::PingRequest {})
        .await
        .map(drop)
        .map_err(|status| format!("ping: {status:?}"))
}

async fn start_tls(files: TlsFiles) -> TestServer {
    TestServer::start_with(TEST_RULES, |config| config.tls = Some(files)).await
}

#[tokio::test]
async fn a_client_trusting_the_ca_is_served_over_tls() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = Ca::new("server CA");
    let server = start_tls(write_files(dir.path(), &ca.server(), None)).await;
    ping(server.address, &ca, None).await.expect("TLS ping");
    let stranger = Ca::new("another CA");
    assert!(
        ping(server.address, &stranger, None).await.is_err(),
        "an untrusted certificate is refused by the client"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_plaintext_client_gets_no_answer_from_a_tls_port() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = Ca::new("server CA");
    let server = start_tls(write_files(dir.path(), &ca.server(), None)).await;
    let endpoint = Endpoint::from_shared(format!("http://{}", server.address))
        .expect("uri")
        .timeout(Duration::from_secs(5));
    let answered = match endpoint.connect().await {
        Ok(channel) => TriageServiceClient::new(channel)
            .ping(pb::PingRequest {})
            .await
            .is_ok(),
        Err(_) => false,
    };
    assert!(!answered, "plaintext was served on the TLS port");
    server.shutdown().await;
}

#[tokio::test]
async fn under_mtls_a_client_with_a_certificate_from_the_client_ca_is_served() {
    let dir = tempfile::tempdir().expect("dir");
    let server_ca = Ca::new("server CA");
    let client_ca = Ca::new("client CA");
    let files = write_files(dir.path(), &server_ca.server(), Some(&client_ca));
    let server = start_tls(files).await;
    let agent = client_ca.client("agent-tool");
    ping(server.address, &server_ca, Some(&agent))
        .await
        .expect("mTLS ping");
    server.shutdown().await;
}

#[tokio::test]
async fn under_mtls_a_client_without_a_certificate_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let server_ca = Ca::new("server CA");
    let client_ca = Ca::new("client CA");
    let server = start_tls(write_files(dir.path(), &server_ca.server(), Some(&client_ca))).await;
    let refused = ping(server.address, &server_ca, None).await;
    assert!(refused.is_err(), "served without a client certificate");
    server.shutdown().await;
}

#[tokio::test]
async fn under_mtls_a_client_certificate_from_another_ca_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let server_ca = Ca::new("server CA");
    let client_ca = Ca::new("client CA");
    let server = start_tls(write_files(dir.path(), &server_ca.server(), Some(&client_ca))).await;
    let impostor = Ca::new("impostor CA").client("agent-tool");
    let refused = ping(server.address, &server_ca, Some(&impostor)).await;
    assert!(refused.is_err(), "served a certificate from another CA");
    server.shutdown().await;
}

fn args_for(files: &TlsFiles) -> Vec<String> {
    let path = |path: &PathBuf| path.display().to_string();
    vec![
        "--tls-cert".into(),
        path(&files.cert),
        "--tls-key".into(),
        path(&files.key),
    ]
}

#[tokio::test]
async fn replaced_certificates_are_served_to_new_connections_after_sighup() {
    let dir = tempfile::tempdir().expect("dir");
    let old_ca = Ca::new("old CA");
    let files = write_files(dir.path(), &old_ca.server(), None);
    let args = args_for(&files);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let process = KillOnDrop(Some(ServerProcess::start(&dir.path().join("data"), &args)));
    let address = process.server().address;
    ping(address, &old_ca, None)
        .await
        .expect("served with the old certificate");

    let new_ca = Ca::new("new CA");
    write_files(dir.path(), &new_ca.server(), None);
    let pid = process.server().child.id().to_string();
    let status = Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .expect("kill runs");
    assert!(status.success());

    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = ping(address, &new_ca, None).await;
    while last.is_err() && Instant::now() < deadline {
        tokio::task::yield_now().await;
        last = ping(address, &new_ca, None).await;
    }
    last.expect("new connections get the new certificate");
    assert!(
        ping(address, &old_ca, None).await.is_err(),
        "the old certificate is gone"
    );

    let mut process = process;
    let server = process.0.take().expect("running");
    assert!(server.terminate().success(), "SIGHUP did not end the server");
}

#[tokio::test]
async fn replaced_certificate_files_are_served_to_new_connections_without_a_signal() {
    let dir = tempfile::tempdir().expect("dir");
    let old_ca = Ca::new("old CA");
    let files = write_files(dir.path(), &old_ca.server(), None);
    let server = TestServer::start_with(TEST_RULES, |config| {
        config.tls = Some(files);
        config.file_check_interval = Duration::from_millis(10);
    })
    .await;
    ping(server.address, &old_ca, None)
        .await
        .expect("served with the old certificate");

    let new_ca = Ca::new("new CA");
    write_files(dir.path(), &new_ca.server(), None);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = ping(server.address, &new_ca, None).await;
    while last.is_err() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
        last = ping(server.address, &new_ca, None).await;
    }
    last.expect("new connections get the new certificate");
    assert!(
        ping(server.address, &old_ca, None).await.is_err(),
        "the old certificate is gone"
    );
    server.shutdown().await;
}

#[test]
fn a_key_that_does_not_match_the_certificate_stops_the_start_naming_the_flags() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = Ca::new("CA");
    let files = write_files(dir.path(), &ca.server(), None);
    std::fs::write(&files.key, ca.server().key).expect("another key");
    let output = Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(args_for(&files))
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--tls-cert/--tls-key"), "{stderr}");
}

#[test]
fn a_missing_certificate_file_stops_the_start_naming_the_flag() {
    let dir = tempfile::tempdir().expect("dir");
    let ca = Ca::new("CA");
    let mut files = write_files(dir.path(), &ca.server(), None);
    files.cert = dir.path().join("missing.crt");
    let output = Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(args_for(&files))
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--tls-cert") && stderr.contains("missing.crt"),
        "{stderr}"
    );
}

#[test]
fn a_key_without_a_certificate_is_refused_by_the_flag_parser() {
    let output = Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["--tls-key", "server.key", "--check-rules"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--tls-cert"), "{stderr}");
}
