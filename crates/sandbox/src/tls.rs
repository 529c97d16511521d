//! HTTPS beside HTTP on the same port. kubectl sends a kubeconfig's token only over TLS
//! (client-go reads a user's credentials only for an https server), so the kubeconfig
//! points at `https://`, trusting a certificate made when the sandbox is; kube-rs clients
//! and raw HTTP tests keep using `http://` on the same port. The first byte of a connection
//! tells them apart: a TLS ClientHello starts with 0x16, an HTTP request with a letter.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

/// A TLS record's first byte when it carries a handshake (the ClientHello).
const TLS_HANDSHAKE: u8 = 0x16;
/// A connection that has not said hello by then is dropped, so it holds nothing.
const HELLO_LIMIT: Duration = Duration::from_secs(10);

/// The sandbox's certificate (self-signed, for 127.0.0.1, ::1 and localhost) and the TLS
/// configuration serving it.
pub struct ServerTls {
    certificate_pem: String,
    acceptor: TlsAcceptor,
}

impl ServerTls {
    pub fn generate() -> Self {
        let names = ["127.0.0.1", "::1", "localhost"].map(String::from).to_vec();
        // A P-256 key and its certificate fail to generate only if ring itself is broken.
        let certified = rcgen::generate_simple_self_signed(names)
            .expect("a self-signed certificate for loopback generates");
        let key = pki_types::PrivateKeyDer::Pkcs8(pki_types::PrivatePkcs8KeyDer::from(
            certified.signing_key.serialize_der(),
        ));
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .expect("the certificate matches its own key");
        // The server speaks HTTP/1 only; saying so keeps clients from trying h2.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Self {
            certificate_pem: certified.cert.pem(),
            acceptor: TlsAcceptor::from(Arc::new(config)),
        }
    }

    /// The certificate in PEM, for a kubeconfig's `certificate-authority-data`.
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }
}

/// A connection, plain or TLS.
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

/// Accepts on a TCP listener and hands axum each connection after its TLS handshake, if it
/// is TLS. Handshakes run in tasks of their own, so a slow client holds up no other.
pub struct PlainOrTls {
    accepted: mpsc::Receiver<(Conn, SocketAddr)>,
    addr: SocketAddr,
    accepting: JoinHandle<()>,
}

impl PlainOrTls {
    /// Serves `listener`, which is bound to `addr`.
    pub fn new(listener: TcpListener, addr: SocketAddr, tls: &ServerTls) -> Self {
        let acceptor = tls.acceptor.clone();
        let (tx, accepted) = mpsc::channel(64);
        let accepting = tokio::spawn(async move {
            loop {
                let (stream, peer) = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok(a) => a,
                        // Out of file descriptors and the like: wait, as axum's own listener does.
                        Err(_) => {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue;
                        }
                    },
                    // The server is gone: stop accepting, and free the port for a restart.
                    () = tx.closed() => return,
                };
                let tx = tx.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let opened = tokio::time::timeout(HELLO_LIMIT, open(stream, &acceptor));
                    if let Ok(Some(conn)) = opened.await {
                        let _ = tx.send((conn, peer)).await;
                    }
                });
            }
        });
        Self {
            accepted,
            addr,
            accepting,
        }
    }
}

impl Drop for PlainOrTls {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// The connection as HTTP will read it: the TLS handshake done if the client began one.
async fn open(stream: TcpStream, acceptor: &TlsAcceptor) -> Option<Conn> {
    // Small requests and streamed watch events go out at once, as from a Go server.
    let _ = stream.set_nodelay(true);
    let mut first = [0u8; 1];
    if stream.peek(&mut first).await.ok()? == 0 {
        return None;
    }
    if first[0] != TLS_HANDSHAKE {
        return Some(Conn::Plain(stream));
    }
    let tls = acceptor.accept(stream).await.ok()?;
    Some(Conn::Tls(Box::new(tls)))
}

impl axum::serve::Listener for PlainOrTls {
    type Io = Conn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Conn, SocketAddr) {
        match self.accepted.recv().await {
            Some(accepted) => accepted,
            // The accepting task ends only when this listener does; until then, wait.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.addr)
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Plain(s) => s.is_write_vectored(),
            Conn::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
