//! TLS end to end, with a certificate authority and a relay certificate made in the test
//! (rcgen): the relay loads them from PEM files, the tunnel client and the sender trust the CA.

use std::sync::Arc;
use std::time::{Duration, Instant};

use deskbridge_relay::client::{TunnelClient, TunnelState};
use deskbridge_relay::config::TlsFiles;
use deskbridge_relay::tls::Trust;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, ServerName};
use tempfile::TempDir;
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::support::*;

/// A test CA and a relay certificate for 127.0.0.1 and localhost, written as PEM files.
struct Pki {
    _dir: TempDir,
    ca: CertificateDer<'static>,
    files: TlsFiles,
}

fn pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Deskbridge test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let dir = TempDir::new().unwrap();
    let files = TlsFiles {
        cert: dir.path().join("fullchain.pem"),
        key: dir.path().join("privkey.pem"),
    };
    std::fs::write(&files.cert, format!("{}{}", leaf.pem(), ca.pem())).unwrap();
    std::fs::write(&files.key, key.serialize_pem()).unwrap();
    Pki {
        _dir: dir,
        ca: ca.der().clone(),
        files,
    }
}

async fn tls_relay(pki: &Pki) -> TestRelay {
    let files = pki.files.clone();
    TestRelay::start_with(move |config| {
        config.plain_http = false;
        config.tls = Some(files);
        config.limits.tls_handshake_timeout_ms = 300;
    })
    .await
}

fn secure_url(relay: &TestRelay) -> String {
    format!("wss://{}/tunnel/{}", relay.addr, relay.endpoint)
}

/// A sender that trusts the test CA, as Zocdoc trusts the relay's public certificate.
async fn exchange_tls(pki: &Pki, relay: &TestRelay, request: &[u8]) -> Vec<u8> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = TcpStream::connect(relay.addr).await.unwrap();
    let stream = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .unwrap();
    exchange_on(stream, request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_over_tls_through_a_tls_tunnel_is_stored_and_answered_200() {
    let pki = pki();
    let relay = tls_relay(&pki).await;
    let desk = Desk::new();
    let mut config = app_config(secure_url(&relay), relay.token.clone());
    config.trust = Trust::Only(vec![pki.ca.clone()]);
    let app = connect(config, &desk, |_| {}).await;

    let answer = exchange_tls(
        &pki,
        &relay,
        &webhook(&relay.hook_path(), &desk.key, "appt-tls"),
    )
    .await;
    assert_eq!(
        status(&answer),
        Some(200),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert!(desk.received_for("appt-tls").is_some());

    let forged = exchange_tls(&pki, &relay, &forged(&relay.hook_path(), "appt-tls-forged")).await;
    assert_eq!(status(&forged), Some(401));

    app.stop().await;
    // Without the app: the TLS connection ends without one byte of HTTP.
    for i in 0..20 {
        let answer = exchange_tls(
            &pki,
            &relay,
            &webhook(&relay.hook_path(), &desk.key, &format!("appt-tls-{i}")),
        )
        .await;
        assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_trust_the_relay_certificate_never_connects() {
    let pki = pki();
    let relay = tls_relay(&pki).await;
    let desk = Desk::new();
    // Public roots only: the test CA is not among them.
    let config = app_config(secure_url(&relay), relay.token.clone());
    let app = TunnelClient::start(config, desk.ingest.clone(), |_| {}).unwrap();
    let state = wait_for_state(
        &mut app.state(),
        |state| matches!(state, TunnelState::Reconnecting { attempt, .. } if *attempt >= 2),
    )
    .await;
    assert!(
        matches!(&state, TunnelState::Reconnecting { error, .. } if error.contains("TLS")),
        "{state:?}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_plain_text_clients_are_cut_off_at_the_handshake() {
    let pki = pki();
    let relay = tls_relay(&pki).await;
    // Says nothing: cut after the handshake timeout (300 ms here).
    let started = Instant::now();
    let mut silent = TcpStream::connect(relay.addr).await.unwrap();
    let mut buffer = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buffer))
        .await
        .expect("cut off");
    assert!(matches!(read, Ok(0) | Err(_)));
    assert!(started.elapsed() < Duration::from_secs(2));
    // Plain HTTP on the TLS port: no HTTP answer.
    let answer = exchange(relay.addr, &request("GET", "/health", &[], b"")).await;
    assert!(status(&answer).is_none());
    // And the relay is still serving.
    let health = exchange_tls(&pki, &relay, &request("GET", "/health", &[], b"")).await;
    assert_eq!(status(&health), Some(200));
}
