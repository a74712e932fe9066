//! One browser tab's training, on a thread of its own: the network lives on
//! that thread's tape, so the session owns the thread, and the server talks
//! to it through channels. Commands come in on a bounded channel, each with
//! a reply; frames go out on a bounded channel that the tab's event stream
//! reads. The thread ends, and frees everything, when the stream closes,
//! when the page never opens it, after an hour without a request, or when
//! told to.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::oneshot;

use super::Limits;
use super::api::{
    ApiError, DataInfo, FocusRequest, Frame, Info, NetworkInfo, Number, Record, SettingsRequest,
    Status, numbers,
};
use super::budget::Budget;
use super::heatmaps::{self, Plane};
use super::training::{self, Training, Upload};
use micrograd::Scope;
use micrograd::data::Dataset;
use micrograd::nn::parameter_count;
use micrograd::nn::{Loss, MLP, Weights};
use micrograd::train::{DatasetName, History, Settings, StepRecord, Task, Trainer};

/// Frames a second while playing: the page's animation.
const FRAMES_PER_SECOND: f64 = 12.0;

/// Entries in a frame's history: more steps than this between two frames
/// are thinned out.
const FRAME_HISTORY: usize = 256;

/// Records kept for the curves' download: beyond this, every other one is
/// dropped.
const KEPT_RECORDS: usize = 4_096;

/// How often an idle session looks at whether it should end.
const IDLE_TICK: Duration = Duration::from_millis(250);

/// The longest a session computes before it lets the next one in line
/// have the core.
const TURN: Duration = Duration::from_millis(20);

/// How a command is answered.
pub type Reply<T> = oneshot::Sender<T>;

/// What the server asks of a session.
pub enum Command {
    Info(Reply<Info>),
    Play(Reply<Result<Status, ApiError>>),
    Pause(Reply<Status>),
    Step(Reply<Result<Status, ApiError>>),
    Reset(Reply<Info>),
    Configure(Box<SettingsRequest>, Reply<Result<Info, ApiError>>),
    Upload {
        name: String,
        bytes: Vec<u8>,
        reply: Reply<Result<Info, ApiError>>,
    },
    Focus(Option<FocusRequest>, Reply<Result<(), ApiError>>),
    Snapshot(Reply<Snapshot>),
    Close,
}

/// The trained network as numbers, with what it was trained on: for
/// downloads and drawings made off the session's thread.
pub struct Snapshot {
    pub weights: Weights,
    pub task: Task,
    pub loss: Loss,
    pub data: Arc<Dataset>,
    pub name: String,
    pub records: Vec<StepRecord>,
}

/// A server-sent event: its name and its JSON.
pub struct Event {
    pub name: &'static str,
    pub data: String,
}

/// What the server and the session's thread both see.
pub struct Shared {
    /// Whether the page has opened the event stream.
    pub opened: AtomicBool,
    /// When the page last made a request.
    pub touched: Mutex<Instant>,
    pub created: Instant,
}

impl Shared {
    pub fn new() -> Shared {
        let now = Instant::now();
        Shared {
            opened: AtomicBool::new(false),
            touched: Mutex::new(now),
            created: now,
        }
    }

    pub fn touch(&self) {
        *self.touched.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    fn idle(&self) -> Duration {
        self.touched
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .elapsed()
    }
}

/// The ends of a session's channels that its thread holds.
pub struct Channels {
    pub commands: Receiver<Command>,
    pub events: tokio::sync::mpsc::Sender<Event>,
    pub shared: Arc<Shared>,
    /// The turns to compute that all sessions share.
    pub budget: Arc<Budget>,
}

/// Runs a session on this thread until it ends; `training` is checked.
pub fn run(id: String, training: Training, limits: Limits, channels: Channels) {
    let data = Arc::new(data_of(&training));
    let mut session = Session {
        id,
        limits,
        channels,
        generation: 0,
        training,
        data,
        upload: None,
        playing: false,
        stopped: None,
        focus: None,
        last: None,
        kept: History::new(KEPT_RECORDS),
        pending: Vec::new(),
        rate: VecDeque::new(),
        frames: 0,
    };
    while session.train() == Next::Restart {}
}

/// The data trained on, shared with snapshots.
fn data_of(training: &Training) -> Dataset {
    training.setup.preset.data.clone()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    Continue,
    Restart,
    End,
}

struct Session {
    id: String,
    limits: Limits,
    channels: Channels,
    /// Counts the restarts.
    generation: u64,
    training: Training,
    data: Arc<Dataset>,
    upload: Option<Upload>,
    playing: bool,
    /// Why training stopped for good, if it did.
    stopped: Option<String>,
    focus: Option<(usize, usize)>,
    last: Option<StepRecord>,
    kept: History,
    /// `[step, loss, accuracy]` not yet sent in a frame.
    pending: Vec<(usize, f64, Option<f64>)>,
    /// `(when, steps taken)` over the last second.
    rate: VecDeque<(Instant, usize)>,
    frames: u64,
}

/// The network of one run, and its trainer.
struct Run<'a> {
    model: &'a MLP,
    trainer: Option<Trainer<'a>>,
    plane: Option<Plane>,
    targets: (f64, f64),
    /// Whether the page has not seen the latest state.
    dirty: bool,
    next_frame: Instant,
    /// Steps are paced from here: step k is due at `paced + k/speed`.
    paced: Instant,
    paced_steps: u64,
}

impl Session {
    /// One run of the training, from fresh weights, until a command restarts it
    /// or the session ends. Everything the run puts on the tape goes with
    /// it.
    fn train(&mut self) -> Next {
        let _run = Scope::new();
        let data = Arc::clone(&self.data);
        let model = self.training.setup.model();
        let trainer = match Trainer::new(&model, &data, &self.training.setup.preset.config) {
            Ok(trainer) => Some(trainer),
            Err(e) => {
                self.stopped = Some(e.to_string());
                None
            }
        };
        let targets = data
            .y
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &y| {
                (lo.min(y), hi.max(y))
            });
        let now = Instant::now();
        let mut run = Run {
            model: &model,
            trainer,
            plane: Plane::of(&data),
            targets,
            dirty: true,
            next_frame: now,
            paced: now,
            paced_steps: 0,
        };
        loop {
            if self.should_end() {
                return Next::End;
            }
            let now = Instant::now();
            let wait = if run.dirty {
                Duration::ZERO
            } else if self.playing {
                let next_step = run.paced
                    + Duration::from_secs_f64((run.paced_steps + 1) as f64 / self.training.speed);
                next_step
                    .min(run.next_frame)
                    .saturating_duration_since(now)
                    .min(IDLE_TICK)
            } else {
                IDLE_TICK
            };
            match self.channels.commands.recv_timeout(wait) {
                Ok(command) => match self.handle(command, &mut run) {
                    Next::Continue => {}
                    next => return next,
                },
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Next::End,
            }
            let now = Instant::now();
            let frame_due = run.dirty || (self.playing && now >= run.next_frame);
            let work = frame_due || (self.playing && self.step_due(&run, now));
            if !work {
                continue;
            }
            let budget = Arc::clone(&self.channels.budget);
            let _turn = budget.take();
            if self.playing {
                self.steps_due(&mut run, Instant::now() + TURN);
            }
            let now = Instant::now();
            if run.dirty || (self.playing && now >= run.next_frame) {
                if self.send_frame(&mut run) == Next::End {
                    return Next::End;
                }
                run.next_frame = now + Duration::from_secs_f64(1.0 / FRAMES_PER_SECOND);
            }
        }
    }

    /// Whether a step is due by `now` at the session's speed.
    fn step_due(&self, run: &Run<'_>, now: Instant) -> bool {
        (now.duration_since(run.paced).as_secs_f64() * self.training.speed) as u64 > run.paced_steps
    }

    /// Whether the page is gone: its stream closed, never opened, or no
    /// request for too long.
    fn should_end(&self) -> bool {
        let shared = &self.channels.shared;
        self.channels.events.is_closed()
            || (!shared.opened.load(Ordering::Acquire)
                && shared.created.elapsed() > self.limits.connect_timeout)
            || shared.idle() > self.limits.idle_timeout
    }

    /// Takes the steps that are due by now at the session's speed, until a
    /// frame is due or the turn ends, and always the first: a turn that
    /// comes after the frame's time (many sessions share the cores, the
    /// network is big) would otherwise only draw, and the session would
    /// never step. A session that falls behind does not race to catch up:
    /// it starts pacing anew.
    fn steps_due(&mut self, run: &mut Run<'_>, turn_ends: Instant) {
        let speed = self.training.speed;
        let mut first = true;
        loop {
            let now = Instant::now();
            let due = (now.duration_since(run.paced).as_secs_f64() * speed) as u64;
            let stop = !first && (now >= run.next_frame || now >= turn_ends);
            if due <= run.paced_steps || stop || !self.playing {
                return;
            }
            first = false;
            if due - run.paced_steps > (speed / 2.0).ceil() as u64 {
                run.paced = now;
                run.paced_steps = 0;
            }
            run.paced_steps += 1;
            self.step(run);
        }
    }

    /// One training step; a loss that diverges stops the session's training
    /// with a message for the page.
    fn step(&mut self, run: &mut Run<'_>) {
        let Some(trainer) = run.trainer.as_mut() else {
            self.playing = false;
            return;
        };
        match trainer.step() {
            Ok(record) => {
                self.last = Some(record);
                self.kept.push(record);
                if self.pending.len() >= FRAME_HISTORY {
                    thin(&mut self.pending);
                }
                self.pending
                    .push((record.step, record.loss, record.accuracy));
            }
            Err(e) => {
                self.playing = false;
                run.dirty = true;
                let message = e.to_string();
                self.stopped = Some(message.clone());
                let event = serde_json::json!({
                    "generation": self.generation,
                    "step": trainer.steps_taken(),
                    "message": message,
                });
                let _ = self.channels.events.try_send(Event {
                    name: "stopped",
                    data: event.to_string(),
                });
            }
        }
    }

    fn handle(&mut self, command: Command, run: &mut Run<'_>) -> Next {
        match command {
            Command::Info(reply) => {
                let _ = reply.send(self.info(run));
            }
            Command::Play(reply) => {
                let answer = match &self.stopped {
                    Some(why) => Err(ApiError::conflict(format!(
                        "training has stopped: {why}; reset or change the settings"
                    ))),
                    None => {
                        if !self.playing {
                            self.playing = true;
                            run.paced = Instant::now();
                            run.paced_steps = 0;
                            self.rate.clear();
                        }
                        run.dirty = true;
                        Ok(self.status(run))
                    }
                };
                let _ = reply.send(answer);
            }
            Command::Pause(reply) => {
                self.playing = false;
                run.dirty = true;
                let _ = reply.send(self.status(run));
            }
            Command::Step(reply) => {
                let answer = match &self.stopped {
                    Some(why) => Err(ApiError::conflict(format!(
                        "training has stopped: {why}; reset or change the settings"
                    ))),
                    None => {
                        self.playing = false;
                        self.step(run);
                        run.dirty = true;
                        Ok(self.status(run))
                    }
                };
                let _ = reply.send(answer);
            }
            Command::Reset(reply) => {
                self.restart();
                let _ = reply.send(self.info_at_start());
                return Next::Restart;
            }
            Command::Configure(request, reply) => {
                match training::resolve(&request, self.upload.as_ref(), &self.limits) {
                    Ok(training) => {
                        self.data = Arc::new(data_of(&training));
                        self.training = training;
                        self.restart();
                        let _ = reply.send(Ok(self.info_at_start()));
                        return Next::Restart;
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Command::Upload { name, bytes, reply } => match self.upload(&name, &bytes) {
                Ok(()) => {
                    self.restart();
                    let _ = reply.send(Ok(self.info_at_start()));
                    return Next::Restart;
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            Command::Focus(request, reply) => {
                let nouts = run.model.nouts();
                let answer = match request {
                    None => {
                        self.focus = None;
                        run.dirty = true;
                        Ok(())
                    }
                    Some(FocusRequest { layer, neuron })
                        if nouts.get(layer).is_some_and(|&n| neuron < n) =>
                    {
                        self.focus = Some((layer, neuron));
                        run.dirty = true;
                        Ok(())
                    }
                    Some(FocusRequest { layer, neuron }) => Err(ApiError::unprocessable(format!(
                        "the network has no neuron {neuron} in layer {layer} (its layers have {nouts:?} neurons)"
                    ))),
                };
                let _ = reply.send(answer);
            }
            Command::Snapshot(reply) => {
                let records = self.kept.records();
                let _ = reply.send(Snapshot {
                    weights: run.model.weights(),
                    task: self.training.task.clone(),
                    loss: self.training.setup.preset.config.loss,
                    data: Arc::clone(&self.data),
                    name: self.training.setup.name.clone(),
                    records,
                });
            }
            Command::Close => return Next::End,
        }
        Next::Continue
    }

    /// Parses an uploaded file in memory and makes it the session's data,
    /// with the settings that suit it.
    fn upload(&mut self, name: &str, bytes: &[u8]) -> Result<(), ApiError> {
        let data = Dataset::from_bytes(bytes, name).map_err(|e| ApiError::from_library(&e))?;
        training::check_upload(&data, name, &self.limits)?;
        let upload = Upload {
            name: name.to_owned(),
            data: Arc::new(data),
        };
        let request = SettingsRequest {
            settings: Settings {
                dataset: Some(DatasetName::Upload),
                ..Settings::default()
            },
            speed: Some(self.training.speed),
        };
        let training = training::resolve(&request, Some(&upload), &self.limits)?;
        self.data = Arc::clone(&upload.data);
        self.upload = Some(upload);
        self.training = training;
        Ok(())
    }

    /// Forgets the run's training: the next one starts from step 0.
    fn restart(&mut self) {
        self.generation += 1;
        self.stopped = None;
        self.last = None;
        self.kept = History::new(KEPT_RECORDS);
        self.pending.clear();
        self.rate.clear();
        let nouts = &self.training.widths[1..];
        if self
            .focus
            .is_some_and(|(l, n)| nouts.get(l).is_none_or(|&w| n >= w))
        {
            self.focus = None;
        }
    }

    fn status(&self, run: &Run<'_>) -> Status {
        Status {
            generation: self.generation,
            playing: self.playing,
            step: run.trainer.as_ref().map_or(0, Trainer::steps_taken),
            loss: self.last.map(|r| Number(r.loss)),
            accuracy: self.last.and_then(|r| r.accuracy).map(Number),
            stopped: self.stopped.clone(),
        }
    }

    fn info(&self, run: &Run<'_>) -> Info {
        let mut info = self.info_at_start();
        info.status = self.status(run);
        info
    }

    /// The session as a new run of its training starts.
    fn info_at_start(&self) -> Info {
        let training = &self.training;
        let data = &self.data;
        let task = match &training.task {
            Task::Binary { .. } => "binary",
            Task::Multiclass { .. } => "multiclass",
            Task::Regression => "regression",
        };
        let classes = training
            .task
            .classes()
            .map_or_else(Vec::new, |classes| classes.labels().to_vec());
        let plane = Plane::of(data);
        let layers = training.widths.len() - 1;
        Info {
            id: self.id.clone(),
            generation: self.generation,
            settings: training.settings(),
            data: DataInfo {
                name: training.setup.name.clone(),
                points: data.len(),
                features: data.dim(),
                task,
                classes: numbers(&classes),
                x: plane.map(|_| {
                    data.x
                        .iter()
                        .map(|p| [Number(p[0]), Number(p[1])])
                        .collect()
                }),
                y: numbers(&data.y),
                extent: plane.map(|p| p.extent().map(Number)),
            },
            network: NetworkInfo {
                widths: training.widths.clone(),
                parameters: parameter_count(&training.widths),
                activations: (0..layers)
                    .map(|i| {
                        if i + 1 == layers {
                            "linear".to_owned()
                        } else {
                            training.setup.preset.activation.to_string()
                        }
                    })
                    .collect(),
            },
            status: Status {
                generation: self.generation,
                playing: self.playing,
                step: 0,
                loss: None,
                accuracy: None,
                stopped: self.stopped.clone(),
            },
        }
    }

    /// Sends the page the latest numbers and pictures. A page that reads
    /// slowly misses frames, not steps: the steps' history waits for the
    /// next frame that goes through.
    fn send_frame(&mut self, run: &mut Run<'_>) -> Next {
        let now = Instant::now();
        let step = run.trainer.as_ref().map_or(0, Trainer::steps_taken);
        if self.playing {
            self.rate.push_back((now, step));
            while self.rate.len() > 2
                && now.duration_since(self.rate[1].0) >= Duration::from_secs(1)
            {
                self.rate.pop_front();
            }
        }
        let steps_per_second = match (self.playing, self.rate.front()) {
            (true, Some(&(then, first))) if now > then => {
                (step - first) as f64 / now.duration_since(then).as_secs_f64()
            }
            _ => 0.0,
        };
        let weights = run.model.weights();
        let (boundary, focus) = match &run.plane {
            Some(plane) => {
                let (grid, focus) = heatmaps::boundary(
                    &weights,
                    &self.training.task,
                    run.targets,
                    plane,
                    self.focus,
                );
                (Some(grid), focus)
            }
            None => (None, None),
        };
        // The neurons' pictures at half the rate while playing.
        let neurons = match &run.plane {
            Some(plane) if !self.playing || self.frames % 2 == 0 => {
                Some(heatmaps::neurons(&weights, plane))
            }
            _ => None,
        };
        let frame = Frame {
            generation: self.generation,
            playing: self.playing,
            step,
            last: self.last.map(|r| Record {
                step: r.step,
                loss: Number(r.loss),
                accuracy: r.accuracy.map(Number),
                lr: Number(r.lr),
            }),
            steps_per_second: Number(steps_per_second),
            history: self
                .pending
                .iter()
                .map(|&(step, loss, accuracy)| (step, Number(loss), accuracy.map(Number)))
                .collect(),
            boundary,
            neurons,
            focus: focus.map(|grid| {
                let (layer, neuron) = self.focus.expect("a focused grid has a focus");
                super::api::Focus {
                    layer,
                    neuron,
                    grid,
                }
            }),
        };
        let data = serde_json::to_string(&frame).expect("frames always serialize");
        self.frames += 1;
        match self.channels.events.try_send(Event {
            name: "frame",
            data,
        }) {
            Ok(()) => {
                self.pending.clear();
                run.dirty = false;
                Next::Continue
            }
            // The page will have the next one.
            Err(TrySendError::Full(_)) => {
                run.dirty = false;
                Next::Continue
            }
            Err(TrySendError::Closed(_)) => Next::End,
        }
    }
}

/// Every other entry dropped, the first kept.
fn thin<T>(items: &mut Vec<T>) {
    let mut i = 0;
    items.retain(|_| {
        i += 1;
        i % 2 == 1
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_the_first_and_every_other() {
        let mut items = vec![0, 1, 2, 3, 4];
        thin(&mut items);
        assert_eq!(items, vec![0, 2, 4]);
    }
}
