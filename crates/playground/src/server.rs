//! The HTTP server: the page's files, to GET and HEAD, for clients that
//! address it by a name it answers to; a few connections at a time, each
//! closed when its client stalls. Nothing a request says reaches the file
//! system: every answer is one of [`FILES`](crate::FILES), or an error.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Body, Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, oneshot};
use tokio::time::Sleep;

use super::{Limits, page};

/// Where the page may load anything from: this server only. Its worker
/// compiles `engine.wasm` (`'wasm-unsafe-eval'` allows WebAssembly, not
/// JavaScript's eval); pictures may also come from the page's own blobs.
/// A worker obeys the policy its script came with, so every answer
/// carries it.
const POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
                      worker-src 'self'; connect-src 'self'; img-src 'self' blob: data:; \
                      object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
                      form-action 'none'";

/// The longest request head (its line and headers) read: a longer one is
/// answered 431, and a connection's buffer holds no more.
const MAX_HEAD: usize = 64 << 10;

/// How long a stopping server waits for its connections to finish.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// A running playground server.
///
/// ```no_run
/// use micrograd_playground::{Limits, Playground};
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let server = Playground::start(listener, Limits::default())?;
/// println!("listening on {}", micrograd_playground::url(server.addr()));
/// server.wait()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Playground {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl Playground {
    /// Serves the page on `listener`, from a thread of its own; returns at
    /// once.
    ///
    /// # Errors
    ///
    /// If the listener's address cannot be read or the runtime cannot be
    /// started.
    pub fn start(listener: std::net::TcpListener, limits: Limits) -> io::Result<Playground> {
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let (shutdown, stop) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("playground".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    serve(listener, limits, stop).await;
                    Ok(())
                })
            })?;
        Ok(Playground {
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the server fails.
    ///
    /// # Errors
    ///
    /// What stopped the server.
    pub fn wait(mut self) -> io::Result<()> {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the server's thread panicked")),
            None => Ok(()),
        }
    }

    /// Stops the server.
    pub fn stop(mut self) {
        self.close();
    }

    fn close(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Playground {
    fn drop(&mut self) {
        self.close();
    }
}

/// Serves the page on `listener` until `stop`: at most
/// [`Limits::connections`] connections at once (the next waits in the
/// listener's backlog until one closes), each closed if a request's head
/// takes longer than [`Limits::read_timeout`] to arrive (hyper's timer
/// starts when the connection opens, and again after each answer), or an
/// answer waits longer than [`Limits::write_timeout`] for its client to
/// take any of it. On `stop` the connections finish what they are
/// answering, for at most [`SHUTDOWN_WAIT`].
async fn serve(listener: tokio::net::TcpListener, limits: Limits, mut stop: oneshot::Receiver<()>) {
    let most = limits.connections.clamp(1, Semaphore::MAX_PERMITS);
    let places = Arc::new(Semaphore::new(most));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.read_timeout)
        .max_header_size(MAX_HEAD)
        .max_buf_size(MAX_HEAD);
    let loopback = listener
        .local_addr()
        .is_ok_and(|addr| addr.ip().is_loopback());
    let allowed: Arc<[String]> = limits.allowed_hosts.into();
    let (closing, closed) = tokio::sync::watch::channel(false);
    loop {
        let place = tokio::select! {
            place = Arc::clone(&places).acquire_owned() => place.expect("never closed"),
            _ = &mut stop => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors: wait for some to close.
                    // A connection that failed before it was accepted: next.
                    if !matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::ConnectionReset
                            | io::ErrorKind::ConnectionRefused
                    ) {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let allowed = Arc::clone(&allowed);
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let body = !request.body().is_end_stream();
            let response = answer(
                request.method(),
                request.uri().path(),
                request.headers(),
                body,
                loopback,
                &allowed,
            );
            async move { Ok::<_, Infallible>(response) }
        });
        let stream = Patient::new(stream, limits.write_timeout);
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let mut closed = closed.clone();
        tokio::spawn(async move {
            let _place = place;
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = closed.wait_for(|&closing| closing) => {}
            }
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        });
    }
    let _ = closing.send(true);
    let all = u32::try_from(most).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(SHUTDOWN_WAIT, places.acquire_many(all)).await;
}

/// The answer to a request for `path`, sent with `method` and `headers`,
/// with a body or not; `loopback` and `allowed` as [`answers_to`] takes
/// them. A request with a body is answered without reading it, and its
/// connection closed.
fn answer(
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: bool,
    loopback: bool,
    allowed: &[String],
) -> Response<Full<Bytes>> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let mut response = if !answers_to(host, loopback, allowed) {
        let message = if loopback {
            "this server answers requests to localhost only (start it with --host to serve \
             others, or --allow-host NAME to answer to NAME)"
                .to_owned()
        } else {
            format!(
                "`{}` is not a name this server answers to: use its IP address, localhost, \
                 or a name given with --allow-host",
                host_name(host)
            )
        };
        error(StatusCode::FORBIDDEN, &message)
    } else if let Some(file) = page::at(path) {
        if method != Method::GET && method != Method::HEAD {
            let mut refused = error(
                StatusCode::METHOD_NOT_ALLOWED,
                "the page's files are only read: GET or HEAD",
            );
            refused
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            refused
        } else if body {
            error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "a request for a file has no body",
            )
        } else {
            respond(
                StatusCode::OK,
                file.content_type,
                Bytes::from_static(file.bytes),
            )
        }
    } else {
        error(
            StatusCode::NOT_FOUND,
            "no such file: the playground is at /",
        )
    };
    if body {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A one-line error, as plain text.
fn error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    respond(
        status,
        "text/plain; charset=utf-8",
        Bytes::from(format!("{message}\n")),
    )
}

/// An answer with the headers every answer has: the page is fetched
/// afresh each time (it is in memory: a new program serves a new page),
/// taken for what its type says, and held to [`POLICY`].
fn respond(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, content_type),
        (header::CACHE_CONTROL, "no-cache"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CONTENT_SECURITY_POLICY, POLICY),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Whether a request whose `Host` is `host` is answered. A page's `Host` is
/// what its address bar shows. A name can be rebound by whoever owns it, so
/// names are answered only if they are `localhost` or in `allowed`. An
/// address cannot: loopback addresses are always answered, and any address
/// when the server listens beyond the loopback (`!loopback`).
fn answers_to(host: &str, loopback: bool, allowed: &[String]) -> bool {
    let name = host_name(host);
    match name.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback() || !loopback,
        Err(_) => {
            name.eq_ignore_ascii_case("localhost")
                || allowed.iter().any(|a| a.eq_ignore_ascii_case(name))
        }
    }
}

/// The name or address of a `Host`, without its port and brackets.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        rest.split_once(']').map_or(rest, |(name, _)| name)
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    }
}

/// A connection that fails a write its client has taken nothing of for
/// `timeout`: a client that stops reading (its window full, the socket's
/// buffer full) would otherwise hold its place for ever.
struct Patient {
    stream: TcpStream,
    timeout: Duration,
    /// Running while a write waits.
    waiting: Option<Pin<Box<Sleep>>>,
}

impl Patient {
    fn new(stream: TcpStream, timeout: Duration) -> Patient {
        Patient {
            stream,
            timeout,
            waiting: None,
        }
    }

    /// `poll` (a write or a flush), with the clock: started when it first
    /// waits, stopped when it is done.
    fn write<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if let Poll::Ready(done) = poll(Pin::new(&mut self.stream), cx) {
            self.waiting = None;
            return Poll::Ready(done);
        }
        let timeout = self.timeout;
        let waiting = self
            .waiting
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match waiting.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for Patient {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Patient {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .write(cx, |stream, cx| stream.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .write(cx, |stream, cx| stream.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().write(cx, AsyncWrite::poll_flush)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().write(cx, AsyncWrite::poll_shutdown)
    }
}

#[cfg(test)]
mod tests {
    use super::{HeaderMap, HeaderValue, Method, StatusCode, answer, answers_to, header};

    /// What a server on the loopback answers with no names allowed:
    /// `localhost`, `127.0.0.1:8000`, `[::1]:8000`.
    fn is_loopback_host(host: &str) -> bool {
        answers_to(host, true, &[])
    }

    #[test]
    fn loopback_hosts_are_localhost_and_loopback_addresses() {
        for host in [
            "localhost",
            "localhost:8000",
            "127.0.0.1:80",
            "127.1.2.3",
            "[::1]:8000",
            "[::1]",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "",
            "example.com",
            "example.com:8000",
            "10.0.0.1:8000",
            "[::2]:80",
            "localhost.example.com",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn beyond_the_loopback_addresses_and_allowed_names_are_answered() {
        let allowed = ["playground.lan".to_owned()];
        for host in [
            "localhost:8000",
            "10.0.0.1:8000",
            "192.0.2.7",
            "[2001:db8::1]:80",
            "playground.lan",
            "PLAYGROUND.LAN:8000",
        ] {
            assert!(answers_to(host, false, &allowed), "{host}");
        }
        for host in [
            "",
            "attacker.example",
            "attacker.example:8000",
            "playground.lan.attacker.example",
            "lan",
        ] {
            assert!(!answers_to(host, false, &allowed), "{host}");
        }
        // On the loopback, only loopback addresses; allowed names still.
        assert!(!answers_to("10.0.0.1:8000", true, &allowed));
        assert!(answers_to("playground.lan:8000", true, &allowed));
    }

    #[test]
    fn the_host_is_checked_first_then_the_path_then_the_method_then_the_body() {
        let to = |host: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, HeaderValue::from_static(host));
            headers
        };
        let (ours, theirs) = (to("127.0.0.1:8000"), to("attacker.example"));
        let status = |method: Method, path: &str, headers: &HeaderMap, body: bool| {
            let response = answer(&method, path, headers, body, true, &[]);
            let close = response.headers().get(header::CONNECTION).cloned();
            // A body is never read: its connection is closed after the answer.
            assert_eq!(close.is_some(), body, "{method} {path}");
            response.status()
        };
        assert_eq!(status(Method::GET, "/", &ours, false), StatusCode::OK);
        assert_eq!(
            status(Method::HEAD, "/app.js", &ours, false),
            StatusCode::OK
        );
        assert_eq!(
            status(Method::POST, "/nope", &theirs, true),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            status(Method::POST, "/nope", &ours, true),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status(Method::POST, "/", &ours, true),
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            status(Method::DELETE, "/", &ours, false),
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            status(Method::GET, "/", &ours, true),
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }
}
