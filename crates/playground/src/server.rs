//! The HTTP server: routes, the sessions' registry, request bodies and
//! errors. Handlers parse and check; the sessions' threads train and the
//! drawing threads draw, so a handler never waits on the CPU and never
//! touches a tape.

use std::collections::HashMap;
use std::convert::Infallible;
use std::hash::{BuildHasher, RandomState};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::{Stream, StreamExt};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Semaphore, oneshot};

use super::api::{
    ApiError, ExpressionRequest, FocusRequest, Info, Number, SettingsRequest, Status,
};
use super::budget::Budget;
use super::drawings::{self, Format, Picture};
use super::session::{self, Channels, Command, Event, Reply, Shared, Snapshot};
use super::{Limits, assets, training};
use micrograd::nn::{Activation, Loss, ScheduleShape};
use micrograd::train::{BuiltIn, DatasetName, SavedModel};

/// Commands waiting for a session: more are refused as busy.
const QUEUED_COMMANDS: usize = 16;

/// Frames waiting for a page that reads slowly: more are dropped.
const QUEUED_FRAMES: usize = 4;

/// How long a request waits for its session's answer.
const ANSWER_TIME: Duration = Duration::from_secs(10);

/// How long a drawing waits for a free drawing thread.
const DRAWING_WAIT: Duration = Duration::from_secs(10);

/// How long a stopping server waits for its connections to finish.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// A comment on an idle event stream this often: a closed tab is noticed
/// when writing to it fails.
const KEEP_ALIVE: Duration = Duration::from_secs(5);

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
    state: Arc<Server>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl Playground {
    /// Serves the playground on `listener`, from a thread of its own with
    /// a runtime of two threads; returns at once.
    ///
    /// # Errors
    ///
    /// If the listener's address cannot be read or the runtime cannot be
    /// started.
    pub fn start(listener: std::net::TcpListener, limits: Limits) -> io::Result<Playground> {
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let state = Arc::new(Server {
            limits: limits.clone(),
            sessions: Mutex::new(HashMap::new()),
            drawings: Arc::new(Semaphore::new(limits.drawings.max(1))),
            drawing: Arc::new(AtomicUsize::new(0)),
            budget: Arc::new(Budget::new(limits.training_threads)),
            loopback: addr.ip().is_loopback(),
            ids: RandomState::new(),
            next: AtomicU64::new(0),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("playground-server")
            .enable_io()
            .enable_time()
            .build()?;
        let (shutdown, stop) = oneshot::channel::<()>();
        let app = router(Arc::clone(&state));
        let thread = std::thread::Builder::new()
            .name("playground".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    serve(listener, app, &limits, stop).await;
                    Ok(())
                })
            })?;
        Ok(Playground {
            addr,
            state,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many sessions are running.
    pub fn sessions(&self) -> usize {
        self.state.lock().len()
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

    /// Ends every session and stops the server.
    pub fn stop(mut self) {
        self.close();
    }

    fn close(&mut self) {
        for handle in self.state.lock().values() {
            let _ = handle.commands.try_send(Command::Close);
        }
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

/// Serves `app` on `listener` until `stop`: at most
/// [`Limits::connections`] connections at once (the next waits in the
/// listener's backlog until one closes), each closed if a request's head
/// takes longer than [`Limits::read_timeout`] to arrive (hyper's timer
/// starts when the connection opens, and again after each answer). On
/// `stop` the connections finish what they are answering, for at most
/// [`SHUTDOWN_WAIT`].
async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: &Limits,
    mut stop: oneshot::Receiver<()>,
) {
    let most = limits.connections.clamp(1, Semaphore::MAX_PERMITS);
    let places = Arc::new(Semaphore::new(most));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.read_timeout);
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
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
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

/// What the handlers share.
struct Server {
    limits: Limits,
    sessions: Mutex<HashMap<String, Arc<Handle>>>,
    /// Places for drawings, each held by a drawing thread while it runs.
    drawings: Arc<Semaphore>,
    /// The drawing threads running now.
    drawing: Arc<AtomicUsize>,
    budget: Arc<Budget>,
    /// Whether the server listens on a loopback address (then a `Host`
    /// that is an address must be a loopback one).
    loopback: bool,
    ids: RandomState,
    next: AtomicU64,
}

/// The server's ends of a session's channels.
struct Handle {
    commands: SyncSender<Command>,
    /// Taken by the page's one event stream.
    events: Mutex<Option<tokio::sync::mpsc::Receiver<Event>>>,
    shared: Arc<Shared>,
}

impl Server {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Handle>>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh id no one can guess: 64 bits from the process's random
    /// hasher keys.
    fn new_id(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{:016x}", self.ids.hash_one(n))
    }

    fn session(&self, id: &str) -> Result<Arc<Handle>, ApiError> {
        self.lock()
            .get(id)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("no session `{id}` (it may have ended)")))
    }
}

/// Removes a session from the registry when its thread ends, however it
/// ends.
struct Deregister {
    state: Arc<Server>,
    id: String,
}

impl Drop for Deregister {
    fn drop(&mut self) {
        self.state.lock().remove(&self.id);
    }
}

fn router(state: Arc<Server>) -> Router {
    Router::new()
        .route("/", get(|| async { assets::index() }))
        .route("/app.js", get(|| async { assets::script() }))
        .route("/style.css", get(|| async { assets::style() }))
        .route("/api/options", get(options))
        .route("/api/status", get(status))
        .route("/api/sessions", post(create))
        .route("/api/sessions/{id}", get(info).delete(close))
        .route("/api/sessions/{id}/events", get(events))
        .route("/api/sessions/{id}/settings", post(configure))
        .route("/api/sessions/{id}/play", post(play))
        .route("/api/sessions/{id}/pause", post(pause))
        .route("/api/sessions/{id}/step", post(step))
        .route("/api/sessions/{id}/reset", post(reset))
        .route("/api/sessions/{id}/focus", post(focus))
        .route("/api/sessions/{id}/data", post(upload))
        .route("/api/sessions/{id}/model", get(model))
        .route("/api/sessions/{id}/boundary.svg", get(boundary_svg))
        .route("/api/sessions/{id}/curves.svg", get(curves_svg))
        .route("/api/sessions/{id}/graph", get(point_graph))
        .route("/api/graph", post(expression_graph))
        .fallback(|| async { ApiError::not_found("no such page or endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(405, "this endpoint does not take that method")
        })
        .layer(middleware::from_fn_with_state(Arc::clone(&state), guard))
        .with_state(state)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        json(status, &self)
    }
}

fn json(status: StatusCode, value: &impl Serialize) -> Response {
    let body = serde_json::to_string(value).expect("API values always serialize");
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Refuses requests addressed to a name the server does not answer to (a
/// page elsewhere that rebinds its name to this server's address: DNS
/// rebinding), and requests sent by a page of another origin.
async fn guard(State(state): State<Arc<Server>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !answers_to(host, state.loopback, &state.limits.allowed_hosts) {
        let error = if state.loopback {
            "this server answers requests to localhost only (start it with --host to serve others, \
             or --allow-host NAME to answer to NAME)"
                .to_owned()
        } else {
            format!(
                "`{}` is not a name this server answers to: use its IP address, localhost, \
                 or a name given with --allow-host",
                host_name(host)
            )
        };
        return ApiError::new(403, error).into_response();
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        let authority = origin.split_once("://").map_or(origin, |(_, a)| a);
        if !authority.eq_ignore_ascii_case(host) {
            return ApiError::new(403, "requests from another site's pages are refused")
                .into_response();
        }
    }
    next.run(request).await
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

/// The body, at most `limit` bytes, within [`Limits::read_timeout`]. A body
/// past the limit is a 413; one that breaks off (the client hangs up) or is
/// badly framed is a 400; one that does not arrive in time is a 408.
async fn read_body(
    state: &Server,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let wait = state.limits.read_timeout;
    tokio::time::timeout(wait, read_body_whole(headers, body, limit))
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::new(
                408,
                format!(
                    "the request's body did not arrive within {} s",
                    wait.as_secs_f64()
                ),
            ))
        })
}

async fn read_body_whole(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let too_large = || ApiError::too_large(format!("the request is larger than {limit} bytes"));
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut chunks = body.into_data_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::bad_request(format!("the request's body is cut short or malformed: {e}"))
        })?;
        if bytes.len() + chunk.len() > limit {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(bytes))
}

/// The body as JSON of type `T`; an empty body is `empty`, if given.
async fn read_json<T: DeserializeOwned>(
    state: &Server,
    headers: &HeaderMap,
    body: Body,
    empty: Option<T>,
) -> Result<T, ApiError> {
    let bytes = read_body(state, headers, body, state.limits.body_bytes).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        if let Some(value) = empty {
            return Ok(value);
        }
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    {
        return Err(ApiError::new(
            415,
            "the body must be JSON, sent as Content-Type: application/json",
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        let message = format!("the JSON body: {e}");
        match e.classify() {
            serde_json::error::Category::Data => ApiError::unprocessable(message),
            _ => ApiError::bad_request(message),
        }
    })
}

type Params = Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>;

/// The query's parameters, each known to the endpoint.
fn params(query: Params, known: &[&str]) -> Result<HashMap<String, String>, ApiError> {
    let Query(params) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if let Some(unknown) = params.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "unknown parameter `{unknown}` (expected {})",
            known.join(", ")
        )));
    }
    Ok(params)
}

/// Asks session `id` something and waits for its answer.
async fn ask<T>(
    state: &Server,
    id: &str,
    command: impl FnOnce(Reply<T>) -> Command,
) -> Result<T, ApiError> {
    let handle = state.session(id)?;
    handle.shared.touch();
    let (reply, answer) = oneshot::channel();
    handle
        .commands
        .try_send(command(reply))
        .map_err(|e| match e {
            TrySendError::Full(_) => {
                ApiError::unavailable("the session is busy with earlier requests; try again")
            }
            TrySendError::Disconnected(_) => ApiError::not_found("the session has ended"),
        })?;
    match tokio::time::timeout(ANSWER_TIME, answer).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(_)) => Err(ApiError::not_found("the session has ended")),
        Err(_) => Err(ApiError::unavailable("the session did not answer in time")),
    }
}

/// Runs `draw` on a thread of its own, at most [`Limits::drawings`] at once.
async fn on_drawing_thread<T: Send + 'static>(
    state: &Server,
    draw: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let busy = || ApiError::unavailable("the server is busy drawing; try again");
    let acquire = Arc::clone(&state.drawings).acquire_owned();
    let permit = tokio::time::timeout(DRAWING_WAIT, acquire)
        .await
        .map_err(|_| busy())?
        .map_err(|_| busy())?;
    let (done, drawn) = oneshot::channel();
    let running = Running::count(&state.drawing);
    std::thread::Builder::new()
        .name("playground-drawing".into())
        .spawn(move || {
            // The place is the drawing's, not the request's: a client that
            // hangs up drops the request, while its graph is still drawn.
            let _permit = permit;
            let _running = running;
            let _ = done.send(draw());
        })
        .map_err(|_| busy())?;
    drawn
        .await
        .map_err(|_| ApiError::new(500, "drawing failed"))?
}

/// One more in a count while it lives.
struct Running(Arc<AtomicUsize>);

impl Running {
    fn count(counter: &Arc<AtomicUsize>) -> Running {
        counter.fetch_add(1, Ordering::SeqCst);
        Running(Arc::clone(counter))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Serialize)]
struct Options {
    datasets: Vec<DatasetOption>,
    activations: Vec<String>,
    losses: Vec<String>,
    optimizers: Vec<&'static str>,
    schedules: Vec<String>,
    limits: LimitsInfo,
}

#[derive(Serialize)]
struct DatasetOption {
    name: String,
    /// `None` where the points are not drawn at random.
    points: Option<usize>,
    noise: Option<Number>,
}

#[derive(Serialize)]
struct LimitsInfo {
    sessions: usize,
    points: usize,
    features: usize,
    hidden_layers: usize,
    width: usize,
    parameters: usize,
    upload_bytes: usize,
    steps_per_second: Number,
    graph_nodes: usize,
    expression_bytes: usize,
}

async fn options(State(state): State<Arc<Server>>) -> Response {
    let limits = &state.limits;
    let datasets = training::DATASETS
        .iter()
        .map(|dataset| {
            let builtin = match dataset {
                DatasetName::BuiltIn(b) => Some(*b),
                _ => None,
            };
            DatasetOption {
                name: dataset.to_string(),
                points: builtin.map(BuiltIn::points),
                noise: builtin.map(|b| Number(b.noise())),
            }
        })
        .collect();
    let options = Options {
        datasets,
        activations: Activation::ALL.iter().map(ToString::to_string).collect(),
        losses: Loss::ALL.iter().map(ToString::to_string).collect(),
        optimizers: training::OPTIMIZERS.to_vec(),
        schedules: ScheduleShape::ALL.iter().map(ToString::to_string).collect(),
        limits: LimitsInfo {
            sessions: limits.sessions,
            points: limits.points,
            features: limits.features,
            hidden_layers: limits.hidden_layers,
            width: limits.width,
            parameters: limits.parameters,
            upload_bytes: limits.upload_bytes,
            steps_per_second: Number(limits.steps_per_second),
            graph_nodes: limits.graph_nodes,
            expression_bytes: drawings::MAX_EXPRESSION,
        },
    };
    json(StatusCode::OK, &options)
}

async fn status(State(state): State<Arc<Server>>) -> Response {
    let sessions = state.lock().len();
    json(
        StatusCode::OK,
        &serde_json::json!({
            "sessions": sessions,
            "limit": state.limits.sessions,
            "drawings": state.drawing.load(Ordering::SeqCst),
        }),
    )
}

async fn create(
    State(state): State<Arc<Server>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let request: SettingsRequest =
        read_json(&state, &headers, body, Some(SettingsRequest::default())).await?;
    let training = training::resolve(&request, None, &state.limits)?;
    let id = state.new_id();
    let (commands, commands_in) = std::sync::mpsc::sync_channel(QUEUED_COMMANDS);
    let (events_out, events) = tokio::sync::mpsc::channel(QUEUED_FRAMES);
    let shared = Arc::new(Shared::new());
    let handle = Arc::new(Handle {
        commands,
        events: Mutex::new(Some(events)),
        shared: Arc::clone(&shared),
    });
    {
        let mut sessions = state.lock();
        if sessions.len() >= state.limits.sessions {
            return Err(ApiError::unavailable(format!(
                "the server is running its limit of {} sessions; close a tab or try later",
                state.limits.sessions
            )));
        }
        sessions.insert(id.clone(), handle);
    }
    // From here the thread owns the registry entry: it removes it when it
    // ends, and so does a thread that cannot start.
    let deregister = Deregister {
        state: Arc::clone(&state),
        id: id.clone(),
    };
    let channels = Channels {
        commands: commands_in,
        events: events_out,
        shared,
        budget: Arc::clone(&state.budget),
    };
    let (thread_id, limits) = (id.clone(), state.limits.clone());
    std::thread::Builder::new()
        .name("playground-session".into())
        .spawn(move || {
            let _deregister = deregister;
            session::run(thread_id, training, limits, channels);
        })
        .map_err(|_| ApiError::unavailable("cannot start a session now; try later"))?;
    let info: Info = ask(&state, &id, Command::Info).await?;
    Ok(json(StatusCode::CREATED, &info))
}

async fn info(
    State(state): State<Arc<Server>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let info: Info = ask(&state, &id, Command::Info).await?;
    Ok(json(StatusCode::OK, &info))
}

async fn close(
    State(state): State<Arc<Server>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let handle = state.session(&id)?;
    // A full queue still ends the session: its page can no longer be heard.
    let _ = handle.commands.try_send(Command::Close);
    state.lock().remove(&id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn events(
    State(state): State<Arc<Server>>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let handle = state.session(&id)?;
    let receiver = handle
        .events
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
        .ok_or_else(|| ApiError::conflict("this session's events are already being read"))?;
    handle.shared.opened.store(true, Ordering::Release);
    handle.shared.touch();
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let event = receiver.recv().await?;
        let sse = SseEvent::default().event(event.name).data(event.data);
        Some((Ok(sse), receiver))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

async fn configure(
    State(state): State<Arc<Server>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    state.session(&id)?;
    let request: SettingsRequest = read_json(&state, &headers, body, None).await?;
    let info = ask(&state, &id, |reply| {
        Command::Configure(Box::new(request), reply)
    })
    .await??;
    Ok(json(StatusCode::OK, &info))
}

async fn play(
    State(state): State<Arc<Server>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let status: Status = ask(&state, &id, Command::Play).await??;
    Ok(json(StatusCode::OK, &status))
}

async fn pause(
    State(state): State<Arc<Server>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let status: Status = ask(&state, &id, Command::Pause).await?;
    Ok(json(StatusCode::OK, &status))
}

async fn step(
    State(state): State<Arc<Server>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let status: Status = ask(&state, &id, Command::Step).await??;
    Ok(json(StatusCode::OK, &status))
}

async fn reset(
    State(state): State<Arc<Server>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let info: Info = ask(&state, &id, Command::Reset).await?;
    Ok(json(StatusCode::OK, &info))
}

async fn focus(
    State(state): State<Arc<Server>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    state.session(&id)?;
    let request: Option<FocusRequest> = read_json(&state, &headers, body, None).await?;
    ask(&state, &id, |reply| Command::Focus(request, reply)).await??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn upload(
    State(state): State<Arc<Server>>,
    Path(id): Path<String>,
    query: Params,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    state.session(&id)?;
    let params = params(query, &["name"])?;
    let name = params
        .get("name")
        .map_or("upload.csv", String::as_str)
        .to_owned();
    if name.is_empty() || name.len() > 200 {
        return Err(ApiError::bad_request("a file name has 1 to 200 characters"));
    }
    let bytes = read_body(&state, &headers, body, state.limits.upload_bytes).await?;
    let bytes = bytes.to_vec();
    let info = ask(&state, &id, |reply| Command::Upload { name, bytes, reply }).await??;
    Ok(json(StatusCode::OK, &info))
}

/// `name` with only the characters a file name can safely have.
fn file_name(name: &str, extension: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(60)
        .collect();
    format!("micrograd-{stem}.{extension}")
}

fn download(content_type: &'static str, name: &str, body: impl Into<Body>) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    let mut response = (StatusCode::OK, body.into()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

async fn model(
    State(state): State<Arc<Server>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let snapshot: Snapshot = ask(&state, &id, Command::Snapshot).await?;
    let name = file_name(&snapshot.name, "safetensors");
    let saved = SavedModel {
        weights: snapshot.weights,
        task: snapshot.task,
        loss: Some(snapshot.loss),
    };
    Ok(download(
        "application/octet-stream",
        &name,
        saved.to_safetensors(),
    ))
}

async fn boundary_svg(
    State(state): State<Arc<Server>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let snapshot: Snapshot = ask(&state, &id, Command::Snapshot).await?;
    let name = file_name(&format!("{}-boundary", snapshot.name), "svg");
    let svg = on_drawing_thread(&state, move || {
        let step = snapshot.records.last().map_or(0, |r| r.step + 1);
        let title = format!("{} after {step} steps", snapshot.name);
        drawings::boundary_svg(&snapshot.weights, &snapshot.data, &snapshot.task, &title)
    })
    .await?;
    Ok(download("image/svg+xml", &name, svg))
}

async fn curves_svg(
    State(state): State<Arc<Server>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let snapshot: Snapshot = ask(&state, &id, Command::Snapshot).await?;
    let name = file_name(&format!("{}-training", snapshot.name), "svg");
    let svg = on_drawing_thread(&state, move || drawings::curves_svg(&snapshot.records)).await?;
    Ok(download("image/svg+xml", &name, svg))
}

fn picture(picture: Picture, name: &str) -> Response {
    match picture {
        Picture::Svg(svg) => download("image/svg+xml", &format!("{name}.svg"), svg),
        Picture::Png(png) => download("image/png", &format!("{name}.png"), png),
    }
}

async fn point_graph(
    State(state): State<Arc<Server>>,
    Path(id): Path<String>,
    query: Params,
) -> Result<Response, ApiError> {
    let params = params(query, &["point", "format"])?;
    let format = Format::parse(params.get("format").map(String::as_str))?;
    let point: usize = params
        .get("point")
        .ok_or_else(|| ApiError::bad_request("which point? add ?point=N"))?
        .parse()
        .map_err(|_| ApiError::bad_request("the point is a number from 0"))?;
    let snapshot: Snapshot = ask(&state, &id, Command::Snapshot).await?;
    if point >= snapshot.data.len() {
        return Err(ApiError::unprocessable(format!(
            "the data has {} points, numbered from 0",
            snapshot.data.len()
        )));
    }
    let most = state.limits.graph_nodes;
    let drawn = on_drawing_thread(&state, move || {
        let Snapshot {
            weights,
            task,
            loss,
            data,
            ..
        } = &snapshot;
        drawings::point(
            weights,
            task,
            *loss,
            &data.x[point],
            data.y[point],
            most,
            format,
        )
    })
    .await?;
    Ok(picture(drawn, &format!("micrograd-point-{point}")))
}

async fn expression_graph(
    State(state): State<Arc<Server>>,
    query: Params,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let params = params(query, &["format"])?;
    let format = Format::parse(params.get("format").map(String::as_str))?;
    let request: ExpressionRequest = read_json(&state, &headers, body, None).await?;
    let most = state.limits.graph_nodes;
    let (answer, drawn) =
        on_drawing_thread(&state, move || drawings::expression(&request, most, format)).await?;
    Ok(match drawn {
        Picture::Svg(_) => json(StatusCode::OK, &answer),
        png => picture(png, "micrograd-graph"),
    })
}

#[cfg(test)]
mod tests {
    use super::answers_to;

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
}
