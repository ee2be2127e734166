//! `https` mode: a development CA and a server certificate generated at start-up, and a
//! listener that serves TLS with rustls.
//!
//! Clients trust the CA certificate written to [`CA_FILE`] (its path is among the sandbox's
//! exports as `AZCOPS_SANDBOX_CA_CERT`). A CA plus a leaf, rather than one self-signed leaf,
//! because webpki (the Rust SDK's rustls) refuses a CA certificate used as a server certificate
//! and OpenSSL's strict mode wants a real CA as trust anchor; both then accept the chain.
//! Keys live only in memory and die with the process.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::server::TlsStream;

use super::SandboxError;

/// File name of the CA certificate (PEM) clients trust.
pub const CA_FILE: &str = "sandbox-ca.pem";

/// How long a client may take to finish the TLS handshake before it is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections whose handshake is done but that the server has not taken yet.
const PENDING: usize = 64;

fn tls_error(e: impl std::fmt::Display) -> SandboxError {
    SandboxError::Serve(format!("cannot set up https: {e}"))
}

/// Generates the CA and a server certificate for `localhost` and `127.0.0.1`, writes the CA
/// certificate to `dir/`[`CA_FILE`] and returns the server configuration and that path.
///
/// # Errors
/// Key generation, signing or writing the file failed.
pub fn generate(dir: &Path) -> Result<(ServerConfig, PathBuf), SandboxError> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(tls_error)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    ca_params.distinguished_name.push(DnType::CommonName, "AzCops sandbox development CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(tls_error)?)
        .map_err(tls_error)?;
    let mut leaf_params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).map_err(tls_error)?;
    leaf_params.distinguished_name.push(DnType::CommonName, "localhost");
    leaf_params.use_authority_key_identifier_extension = true;
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().map_err(tls_error)?;
    let leaf = leaf_params.signed_by(&leaf_key, &ca).map_err(tls_error)?;

    std::fs::create_dir_all(dir)
        .map_err(|source| SandboxError::Write { path: dir.display().to_string(), source })?;
    let path = dir.join(CA_FILE);
    std::fs::write(&path, ca.pem())
        .map_err(|source| SandboxError::Write { path: path.display().to_string(), source })?;

    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone(), ca.der().clone()], key)
        .map_err(tls_error)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((config, path))
}

/// A TLS listener for `axum::serve`: a background task accepts TCP connections and runs each
/// handshake on its own task (bounded by [`HANDSHAKE_TIMEOUT`]), so a slow client cannot stall
/// the others; finished handshakes queue for the server.
#[derive(Debug)]
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    addr: SocketAddr,
    acceptor_task: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Serves TLS with `config` on an already bound listener.
    ///
    /// # Errors
    /// The listener has no local address.
    pub fn new(listener: TcpListener, config: ServerConfig) -> std::io::Result<Self> {
        Self::with_handshake_timeout(listener, config, HANDSHAKE_TIMEOUT)
    }

    /// [`TlsListener::new`] with another handshake bound (tests shorten it).
    ///
    /// # Errors
    /// The listener has no local address.
    pub fn with_handshake_timeout(
        listener: TcpListener,
        config: ServerConfig,
        handshake_timeout: Duration,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let (tx, ready) = mpsc::channel(PENDING);
        let acceptor_task = tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::debug!(error = %e, "sandbox https accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                if tx.is_closed() {
                    return;
                }
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let _ = tx.send((stream, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, "sandbox https handshake failed"),
                        Err(_) => tracing::debug!("sandbox https handshake timed out"),
                    }
                });
            }
        });
        Ok(Self { ready, addr, acceptor_task })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        // The accept loop owns the socket: stopping it releases the port.
        self.acceptor_task.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop only ends when this listener is dropped; until then, wait.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_file_is_a_pem_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let (config, path) = generate(dir.path()).unwrap();
        assert_eq!(path, dir.path().join(CA_FILE));
        let pem = std::fs::read_to_string(&path).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[tokio::test]
    async fn a_silent_client_neither_stalls_others_nor_stays_past_the_handshake_bound() {
        use tokio::io::AsyncReadExt;
        let dir = tempfile::tempdir().unwrap();
        let (config, ca) = generate(dir.path()).unwrap();
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let listener = TlsListener::with_handshake_timeout(tcp, config, Duration::from_millis(200)).unwrap();
        let addr = axum::serve::Listener::local_addr(&listener).unwrap();
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        let server = tokio::spawn(async move { axum::serve(listener, app).await });

        // Connects and never says hello.
        let mut silent = TcpStream::connect(addr).await.unwrap();
        let pem = std::fs::read(&ca).unwrap();
        let client = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
            .build()
            .unwrap();
        let body = client.get(format!("https://127.0.0.1:{}/", addr.port())).send().await.unwrap();
        assert_eq!(body.text().await.unwrap(), "ok", "served while the silent client waits");
        let mut buf = [0u8; 1];
        assert_eq!(silent.read(&mut buf).await.unwrap(), 0, "dropped once the handshake bound passed");
        server.abort();
    }
}
