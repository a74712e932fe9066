//! One page's training: the file it uploaded last, and the network it
//! trains, with its trainer. A [`Page`] answers the page's requests; it
//! lives as long as the page's worker.

use micrograd::Scope;
use micrograd::data::{Dataset, Feature};
use micrograd::json::{Number, numbers};
use micrograd::nn::{Activation, Loss, MLP, ScheduleShape, parameter_count};
use micrograd::train::{DatasetName, Settings, StepRecord, Task, Trainer};
use self_cell::self_cell;

use crate::graphs;
use crate::heatmaps::{self, Plane};
use crate::limits::{self, Limits, Training};
use crate::protocol::{
    Answer, DataInfo, Frame, Info, LimitsInfo, NetworkInfo, Options, PageError, PointAnswer,
    Record, Request, Steps,
};

/// What a page trains: the network and its setup (the data among it),
/// which the trainer borrows.
struct Owner {
    model: MLP,
    training: Training,
}

/// A trainer, or why the data cannot be trained on.
type Trained<'a> = Result<Trainer<'a>, String>;

self_cell!(
    struct Run {
        owner: Owner,
        #[not_covariant]
        dependent: Trained,
    }
);

/// The network training now.
struct Session {
    /// Dropped before the scope its nodes live in.
    run: Run,
    /// The plane around the points, if they are in one.
    plane: Option<Plane>,
    /// The smallest and largest target.
    targets: (f64, f64),
    step: usize,
    stopped: Option<String>,
    /// The network's nodes on this thread's tape, freed with the session.
    _scope: Scope,
}

/// One page: what it uploaded, and what it trains.
pub struct Page {
    limits: Limits,
    upload: Option<(String, Dataset)>,
    session: Option<Session>,
}

impl Default for Page {
    fn default() -> Page {
        Page::new(Limits::default())
    }
}

impl Page {
    /// A page with nothing trained yet (its first request is usually
    /// `configure`).
    pub fn new(limits: Limits) -> Page {
        Page {
            limits,
            upload: None,
            session: None,
        }
    }

    /// Answers one request, given as JSON, with JSON.
    pub fn handle_json(&mut self, request: &str) -> String {
        let answer = match serde_json::from_str::<Request>(request) {
            Ok(request) => self.handle(request),
            Err(e) => Answer::Error(PageError::new(format!(
                "a request the engine cannot read: {e}"
            ))),
        };
        serde_json::to_string(&answer).expect("answers always serialize")
    }

    /// Answers one request.
    pub fn handle(&mut self, request: Request) -> Answer {
        let answer = match request {
            Request::Options => Ok(Answer::Options(self.options())),
            Request::Configure { settings } => self.configure(&settings).map(Answer::Info),
            Request::Reset => match &self.session {
                Some(session) => {
                    let settings = session.training().setup.settings.clone();
                    self.configure(&settings).map(Answer::Info)
                }
                None => Err(nothing_yet()),
            },
            Request::Step { steps } => self.step(steps).map(Answer::Steps),
            Request::Frame { focus, neurons } => self.frame(focus, neurons).map(Answer::Frame),
            Request::Expression { expr, values } => graphs::expression(
                &expr,
                &values,
                self.limits.expression_bytes,
                self.limits.graph_nodes,
            )
            .map(Answer::Expression),
            Request::Point { point } => self.point(point).map(Answer::Point),
        };
        answer.unwrap_or_else(Answer::Error)
    }

    /// Reads a file the page uploaded (CSV or JSON, as `micrograd train
    /// --data` reads it) and trains on it with its preset, keeping the
    /// other settings' defaults.
    pub fn upload(&mut self, name: &str, bytes: &[u8]) -> Answer {
        let answer = self.try_upload(name, bytes);
        answer.map(Answer::Info).unwrap_or_else(Answer::Error)
    }

    fn try_upload(&mut self, name: &str, bytes: &[u8]) -> Result<Box<Info>, PageError> {
        if bytes.len() > self.limits.upload_bytes {
            return Err(PageError::new(format!(
                "{name}: {} bytes; files of up to {} bytes are read",
                bytes.len(),
                self.limits.upload_bytes
            )));
        }
        let data = Dataset::from_bytes(bytes, name).map_err(|e| PageError::from_library(&e))?;
        limits::check_upload(&data, name, &self.limits)?;
        let settings = Settings {
            dataset: Some(DatasetName::Upload),
            ..Settings::default()
        };
        let training = limits::resolve(&settings, Some((name, &data)), &self.limits)?;
        self.upload = Some((name.to_owned(), data));
        Ok(self.start(training))
    }

    /// The model trained so far, as `micrograd train --save` writes it.
    pub fn model(&self) -> Result<Vec<u8>, PageError> {
        let session = self.session.as_ref().ok_or_else(nothing_yet)?;
        let owner = session.run.borrow_owner();
        let saved = micrograd::train::SavedModel {
            weights: owner.model.weights(),
            task: session.training().task.clone(),
            loss: Some(session.training().setup.preset.config.loss),
            features: session.training().setup.features.clone(),
        };
        Ok(saved.to_safetensors())
    }

    fn options(&self) -> Options {
        let names = |names: &[&str]| names.iter().map(|&n| n.to_owned()).collect();
        let limits = &self.limits;
        Options {
            datasets: DatasetName::ALL.iter().map(ToString::to_string).collect(),
            features: Feature::ALL.iter().map(|f| f.name().to_owned()).collect(),
            activations: Activation::ALL.iter().map(ToString::to_string).collect(),
            losses: Loss::ALL.iter().map(ToString::to_string).collect(),
            optimizers: names(&OPTIMIZERS),
            schedules: ScheduleShape::ALL.iter().map(ToString::to_string).collect(),
            limits: LimitsInfo {
                points: limits.points,
                hidden_layers: limits.hidden_layers,
                width: limits.width,
                parameters: limits.parameters,
                upload_bytes: limits.upload_bytes,
                graph_nodes: limits.graph_nodes,
            },
        }
    }

    fn configure(&mut self, settings: &Settings) -> Result<Box<Info>, PageError> {
        let upload = self
            .upload
            .as_ref()
            .map(|(name, data)| (name.as_str(), data));
        let training = limits::resolve(settings, upload, &self.limits)?;
        Ok(self.start(training))
    }

    /// Trains `training` from fresh weights, in place of what trained.
    fn start(&mut self, training: Training) -> Box<Info> {
        // The old network's scope ends before the new one's begins: scopes
        // nest, and ending an outer one would end the new one too.
        self.session = None;
        let scope = Scope::new();
        let setup = &training.setup;
        let every = setup.points();
        let targets = every
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p.y), hi.max(p.y))
            });
        let raw: Vec<Vec<f64>> = every.iter().map(|p| p.x.to_vec()).collect();
        let plane = Plane::of(&raw);
        let model = setup.model();
        // The page falls back to weights from the seed where the demo's do
        // not fit (a loss with other outputs); the program refuses.
        if let Some(weights) = setup.initial_weights()
            && model.nouts() == weights.nouts()
        {
            model
                .set_weights(&weights)
                .expect("weights of the model's shape fit it");
        }
        let run = Run::new(Owner { model, training }, |owner| {
            owner
                .training
                .setup
                .trainer(&owner.model)
                .map_err(|e| e.to_string())
        });
        let stopped = run.with_dependent(|_, trained| trained.as_ref().err().cloned());
        let session = Session {
            run,
            plane,
            targets,
            step: 0,
            stopped,
            _scope: scope,
        };
        let info = session.info();
        self.session = Some(session);
        Box::new(info)
    }

    fn step(&mut self, steps: usize) -> Result<Steps, PageError> {
        if steps > MOST_STEPS {
            return Err(PageError::new(format!(
                "at most {MOST_STEPS} steps a request (the worker asks for what fits in a few milliseconds)"
            )));
        }
        let session = self.session.as_mut().ok_or_else(nothing_yet)?;
        let mut records = Vec::with_capacity(steps.min(1_000));
        if session.stopped.is_none() {
            let outcome = session.run.with_dependent_mut(|_, trained| {
                let trainer = trained.as_mut().map_err(|e| e.clone())?;
                for _ in 0..steps {
                    let record = trainer.step().map_err(|e| e.to_string())?;
                    records.push(record_of(&record));
                }
                Ok::<(), String>(())
            });
            session.step += records.len();
            if let Err(why) = outcome {
                session.stopped = Some(why);
            }
        }
        Ok(Steps {
            step: session.step,
            records,
            stopped: session.stopped.clone(),
        })
    }

    fn frame(&self, focus: Option<(usize, usize)>, neurons: bool) -> Result<Frame, PageError> {
        let session = self.session.as_ref().ok_or_else(nothing_yet)?;
        let weights = session.run.borrow_owner().model.weights();
        let inputs = session.inputs();
        let (boundary, focus) = match &session.plane {
            Some(plane) => {
                let (grid, focus) = heatmaps::boundary(
                    &weights,
                    &session.training().task,
                    session.targets,
                    plane,
                    &inputs,
                    focus,
                );
                (Some(grid), focus)
            }
            None => (None, None),
        };
        let neurons = match &session.plane {
            Some(plane) if neurons => Some(heatmaps::neurons(&weights, plane, &inputs)),
            _ => None,
        };
        Ok(Frame {
            step: session.step,
            boundary,
            neurons,
            focus,
            weights: weights
                .layers
                .iter()
                .map(|l| l.w.iter().map(|w| numbers(w)).collect())
                .collect(),
            biases: weights.layers.iter().map(|l| numbers(&l.b)).collect(),
        })
    }

    fn point(&self, point: usize) -> Result<PointAnswer, PageError> {
        let session = self.session.as_ref().ok_or_else(nothing_yet)?;
        let points = session.training().setup.points();
        let count = points.len();
        let Some(chosen) = points.get(point) else {
            return Err(PageError::new(format!(
                "there is no point {point}: the data has {count} (0 to {})",
                count - 1
            )));
        };
        let weights = session.run.borrow_owner().model.weights();
        let mut x = Vec::new();
        session.inputs()(chosen.x, &mut x);
        let drawn = graphs::point(
            &weights,
            &session.training().task,
            session.training().setup.preset.config.loss,
            &x,
            chosen.y,
            self.limits.graph_nodes,
        )?;
        Ok(PointAnswer {
            point,
            loss: Number(drawn.loss),
            nodes: drawn.nodes,
            left_out: drawn.left_out,
            svg: drawn.svg,
        })
    }
}

impl Session {
    fn training(&self) -> &Training {
        &self.run.borrow_owner().training
    }

    /// The network's inputs at a point: its features, or the point as it
    /// is.
    fn inputs(&self) -> impl Fn(&[f64], &mut Vec<f64>) + '_ {
        |p: &[f64], x: &mut Vec<f64>| match &self.training().setup.features {
            Some(features) => features.map_into(p, x),
            None => {
                x.clear();
                x.extend_from_slice(p);
            }
        }
    }

    fn info(&self) -> Info {
        let training = self.training();
        let setup = &training.setup;
        let task = match &training.task {
            Task::Binary { .. } => "binary",
            Task::Multiclass { .. } => "multiclass",
            Task::Regression => "regression",
        };
        let classes = training
            .task
            .classes()
            .map_or_else(Vec::new, |classes| classes.labels().to_vec());
        let layers = training.widths.len() - 1;
        let nin = training.widths[0];
        let neurons: usize = training.widths[1..].iter().sum();
        let inputs = self.inputs();
        let points = setup.points();
        Info {
            settings: setup.settings.clone(),
            data: DataInfo {
                name: setup.name.clone(),
                points: points.len(),
                features: points.first().map_or(0, |p| p.x.len()),
                task,
                classes: numbers(&classes),
                x: self.plane.map(|_| {
                    points
                        .iter()
                        .map(|p| [Number(p.x[0]), Number(p.x[1])])
                        .collect()
                }),
                y: points.iter().map(|p| Number(p.y)).collect(),
                test: points.iter().map(|p| p.held_out).collect(),
                extent: self.plane.map(|p| p.extent().map(Number)),
                targets: [Number(self.targets.0), Number(self.targets.1)],
            },
            network: NetworkInfo {
                widths: training.widths.clone(),
                parameters: parameter_count(&training.widths),
                activations: (0..layers)
                    .map(|i| {
                        if i + 1 == layers {
                            "linear".to_owned()
                        } else {
                            setup.preset.activation.to_string()
                        }
                    })
                    .collect(),
                inputs: match &setup.features {
                    Some(features) => features
                        .as_slice()
                        .iter()
                        .map(|f| f.name().to_owned())
                        .collect(),
                    None => (1..=nin).map(|i| format!("x{i}")).collect(),
                },
                input_grids: self
                    .plane
                    .map(|plane| heatmaps::inputs(nin, neurons, &plane, &inputs)),
            },
            stopped: self.stopped.clone(),
        }
    }
}

fn record_of(record: &StepRecord) -> Record {
    Record {
        step: record.step,
        loss: Number(record.loss),
        accuracy: record.accuracy.map(Number),
        test_loss: record.test_loss.map(Number),
        test_accuracy: record.test_accuracy.map(Number),
        lr: Number(record.lr),
    }
}

fn nothing_yet() -> PageError {
    PageError::new("nothing is training yet: configure first")
}

/// The most steps one request takes: a request is answered whole, and the
/// page must stay responsive.
const MOST_STEPS: usize = 1_000;

/// The optimizers by the names the settings read.
const OPTIMIZERS: [&str; 3] = ["sgd", "momentum", "adam"];
