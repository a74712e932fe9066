//! A trained model on disk: its weights as safetensors (one `weight` and
//! one `bias` tensor per layer, float64, PyTorch's `nn.Linear` layout), and
//! in the metadata the architecture, the activations, what the outputs
//! mean and the features its inputs are made of. PyTorch
//! (`safetensors.torch.load_file`) and candle read it as is.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use super::{Classes, Task};
use crate::data::Features;
use crate::error::{Error, Result};
use crate::nn::{Activation, LayerWeights, Loss, Weights};
use crate::whole_file::write_atomically;

const FORMAT: &str = "micrograd-mlp";
/// The layout of the metadata and tensors; bumped if it ever changes.
/// Files without the key (written before it existed) are version 1.
const FORMAT_VERSION: &str = "1";
/// Version 1 with `features`: the inputs are made from a point by them.
/// Written only by a model that has features, so that a reader of
/// version 1 alone refuses it rather than feed it the points as they are;
/// every other file stays version 1, byte for byte.
const FORMAT_VERSION_FEATURES: &str = "2";

/// A trained network and how to read its outputs.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedModel {
    /// The parameters and activations.
    pub weights: Weights,
    /// What the outputs predict.
    pub task: Task,
    /// The loss it was trained with, which says whether its outputs are
    /// probabilities (see [`probabilities`](SavedModel::probabilities));
    /// `None` for files saved before it was recorded.
    pub loss: Option<Loss>,
    /// The features its inputs are made of, from a point in the plane;
    /// `None` where it reads the points as they are (files saved before
    /// features were recorded included).
    pub features: Option<Features>,
}

impl SavedModel {
    /// The outputs for a point as given (its features made first, where
    /// there are some).
    ///
    /// # Panics
    ///
    /// If `x` does not have [`nin`](SavedModel::nin) numbers.
    pub fn predict(&self, x: &[f64]) -> Vec<f64> {
        match &self.features {
            Some(features) => self.weights.predict(&features.map(x)),
            None => self.weights.predict(x),
        }
    }

    /// The numbers a point has: 2 where there are features, else the
    /// network's inputs.
    pub fn nin(&self) -> usize {
        match self.features {
            Some(_) => 2,
            None => self.weights.nin(),
        }
    }

    /// The model as safetensors bytes: tensors `layers.{i}.weight`
    /// (`[nout, nin]`) and `layers.{i}.bias` (`[nout]`), float64, and the
    /// metadata `format`, `nin`, `nouts`, `activations`, `task`, `classes`,
    /// `loss` (empty if unknown), and where there are features `features`
    /// (`x1,x2,sin(x1)`; the file is then format version 2).
    pub fn to_safetensors(&self) -> Vec<u8> {
        let to_bytes =
            |xs: &mut dyn Iterator<Item = f64>| xs.flat_map(f64::to_le_bytes).collect::<Vec<u8>>();
        let buffers: Vec<(String, Vec<usize>, Vec<u8>)> = self
            .weights
            .layers
            .iter()
            .enumerate()
            .flat_map(|(i, l)| {
                [
                    (
                        format!("layers.{i}.weight"),
                        vec![l.nout(), l.nin()],
                        to_bytes(&mut l.w.iter().flatten().copied()),
                    ),
                    (
                        format!("layers.{i}.bias"),
                        vec![l.nout()],
                        to_bytes(&mut l.b.iter().copied()),
                    ),
                ]
            })
            .collect();
        let views = buffers.iter().map(|(name, shape, bytes)| {
            let view =
                TensorView::new(Dtype::F64, shape.clone(), bytes).expect("shape and bytes agree");
            (name.clone(), view)
        });
        let join = |xs: Vec<String>| xs.join(",");
        let task = match &self.task {
            Task::Binary { .. } => "binary",
            Task::Multiclass { .. } => "multiclass",
            Task::Regression => "regression",
        };
        let classes = self.task.classes().map_or(&[][..], |c| c.labels());
        let version = match self.features {
            Some(_) => FORMAT_VERSION_FEATURES,
            None => FORMAT_VERSION,
        };
        let mut metadata = HashMap::from([
            ("format".to_owned(), FORMAT.to_owned()),
            ("format_version".to_owned(), version.to_owned()),
            ("nin".to_owned(), self.weights.nin().to_string()),
            (
                "nouts".to_owned(),
                join(self.weights.nouts().iter().map(usize::to_string).collect()),
            ),
            (
                "activations".to_owned(),
                join(
                    self.weights
                        .layers
                        .iter()
                        .map(|l| l.activation.to_string())
                        .collect(),
                ),
            ),
            ("task".to_owned(), task.to_owned()),
            (
                "loss".to_owned(),
                self.loss.map_or(String::new(), |l| l.to_string()),
            ),
            (
                "classes".to_owned(),
                // The shortest digits that read back to the same bits.
                join(classes.iter().map(f64::to_string).collect()),
            ),
        ]);
        if let Some(features) = &self.features {
            metadata.insert("features".to_owned(), features.to_string());
        }
        let bytes = safetensors::tensor::serialize(views, Some(metadata))
            .expect("small float64 tensors always serialize");
        in_sorted_order(bytes)
    }

    /// Reads a model from safetensors bytes; `path` names the source in
    /// errors.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] if the bytes are not a safetensors file written by
    /// [`to_safetensors`](SavedModel::to_safetensors) (truncated, corrupted,
    /// another model's, or its loss cannot read its task's labels, see
    /// [`Task::check_loss`]), [`Error::Shape`] naming the first layer whose
    /// tensors do not fit the architecture in the metadata.
    pub fn from_safetensors(bytes: &[u8], path: impl AsRef<Path>) -> Result<SavedModel> {
        let path = path.as_ref().display();
        let not_a_model =
            |why: String| Error::Data(format!("{path}: not a micrograd model ({why})"));
        let file = SafeTensors::deserialize(bytes)
            .map_err(|e| not_a_model(format!("safetensors: {e}")))?;
        let (_, header) = SafeTensors::read_metadata(bytes)
            .map_err(|e| not_a_model(format!("safetensors: {e}")))?;
        let metadata = header.metadata().clone().unwrap_or_default();
        let field = |key: &str| {
            metadata
                .get(key)
                .map(String::as_str)
                .ok_or_else(|| not_a_model(format!("no `{key}` in its metadata")))
        };
        if field("format")? != FORMAT {
            return Err(not_a_model(format!("its format is `{}`", field("format")?)));
        }
        match metadata.get("format_version").map(String::as_str) {
            None | Some(FORMAT_VERSION | FORMAT_VERSION_FEATURES) => {}
            Some(version) => {
                return Err(not_a_model(format!(
                    "it is format version {version}; this micrograd reads versions \
                     {FORMAT_VERSION} and {FORMAT_VERSION_FEATURES}"
                )));
            }
        }
        let list = |key: &str| -> Result<Vec<String>> {
            let text = field(key)?;
            Ok(if text.is_empty() {
                Vec::new()
            } else {
                text.split(',').map(str::to_owned).collect()
            })
        };
        let bad = |key: &str| not_a_model(format!("its `{key}` cannot be read"));
        let nin: usize = field("nin")?.parse().map_err(|_| bad("nin"))?;
        let nouts: Vec<usize> = list("nouts")?
            .iter()
            .map(|n| n.parse())
            .collect::<Result<_, _>>()
            .map_err(|_| bad("nouts"))?;
        let activations: Vec<Activation> = list("activations")?
            .iter()
            .map(|a| a.parse())
            .collect::<Result<_, _>>()
            .map_err(|_| bad("activations"))?;
        let classes: Vec<f64> = list("classes")?
            .iter()
            .map(|c| c.parse())
            .collect::<Result<_, _>>()
            .map_err(|_| bad("classes"))?;
        if nouts.is_empty() {
            return Err(not_a_model("it has no layers".into()));
        }
        if activations.len() != nouts.len() {
            return Err(bad("activations"));
        }
        let checked = |classes: Vec<f64>| {
            Classes::new(classes).map_err(|e| not_a_model(format!("its `classes`: {e}")))
        };
        let task = match (field("task")?, classes.len()) {
            ("binary", 2) => Task::Binary {
                classes: checked(classes)?,
            },
            ("multiclass", 2..) => Task::Multiclass {
                classes: checked(classes)?,
            },
            ("regression", 0) => Task::Regression,
            _ => return Err(bad("task")),
        };

        // Files from before the loss was recorded have none.
        let loss = match metadata.get("loss").map(String::as_str) {
            None | Some("") => None,
            Some(name) => Some(name.parse::<Loss>().map_err(|_| bad("loss"))?),
        };
        // Files from before features were recorded read the points as they are.
        let features = match metadata.get("features").map(String::as_str) {
            None | Some("") => None,
            Some(names) => Some(
                names
                    .parse::<Features>()
                    .map_err(|e| not_a_model(format!("its `features`: {e}")))?,
            ),
        };
        if let Some(features) = &features
            && features.len() != nin
        {
            return Err(not_a_model(format!(
                "its {} features ({features}) are not its {nin} inputs",
                features.len()
            )));
        }
        // A loss that cannot read the task's labels did not train this model.
        if let Some(loss) = loss {
            task.check_loss(loss)
                .map_err(|e| not_a_model(format!("its `loss` does not fit its `task`: {e}")))?;
        }

        let mut layers = Vec::with_capacity(nouts.len());
        let mut inputs = nin;
        for (i, (&nout, &activation)) in nouts.iter().zip(&activations).enumerate() {
            let read = |name: &str, shape: Vec<usize>| -> Result<Vec<f64>> {
                let key = format!("layers.{i}.{name}");
                let tensor = file.tensor(&key).map_err(|_| {
                    Error::Shape(format!("{path}: layer {}: no `{key}` tensor", i + 1))
                })?;
                let float = matches!(tensor.dtype(), Dtype::F64 | Dtype::F32);
                if !float || tensor.shape() != shape.as_slice() {
                    return Err(Error::Shape(format!(
                        "{path}: layer {}: `{key}` is {:?} {:?}, expected F64 (or F32) {shape:?}",
                        i + 1,
                        tensor.dtype(),
                        tensor.shape()
                    )));
                }
                // float32 (PyTorch's default) widens to float64 exactly.
                let numbers: Vec<f64> = match tensor.dtype() {
                    Dtype::F32 => tensor
                        .data()
                        .chunks_exact(4)
                        .map(|b| f64::from(f32::from_le_bytes(b.try_into().expect("4 bytes"))))
                        .collect(),
                    _ => tensor
                        .data()
                        .chunks_exact(8)
                        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
                        .collect(),
                };
                if numbers.iter().any(|x| !x.is_finite()) {
                    return Err(Error::Shape(format!(
                        "{path}: layer {}: `{key}` holds NaN or infinite numbers",
                        i + 1
                    )));
                }
                Ok(numbers)
            };
            let w = read("weight", vec![nout, inputs])?;
            let b = read("bias", vec![nout])?;
            let w = if inputs == 0 {
                vec![Vec::new(); nout]
            } else {
                w.chunks_exact(inputs).map(<[f64]>::to_vec).collect()
            };
            layers.push(LayerWeights { w, b, activation });
            inputs = nout;
        }
        // Every tensor is a layer's: one more would be ignored, and is
        // likely another model's or a mistake.
        let expected: Vec<String> = (0..layers.len())
            .flat_map(|i| [format!("layers.{i}.weight"), format!("layers.{i}.bias")])
            .collect();
        let mut extra: Vec<&str> = file
            .names()
            .into_iter()
            .filter(|name| !expected.iter().any(|e| e == name))
            .collect();
        if !extra.is_empty() {
            extra.sort_unstable();
            let shown: Vec<String> = extra.iter().take(3).map(|n| format!("`{n}`")).collect();
            let more = if extra.len() > 3 { ", ..." } else { "" };
            return Err(not_a_model(format!(
                "it has tensors that are not its layers': {}{more}",
                shown.join(", ")
            )));
        }
        let weights = Weights { layers };
        weights
            .check()
            .map_err(|e| Error::Shape(format!("{path}: {e}")))?;
        if task.outputs() != weights.nouts().last().copied().unwrap_or(0) {
            return Err(bad("task"));
        }
        Ok(SavedModel {
            weights,
            task,
            loss,
            features,
        })
    }

    /// The probability of each class given the model's `outputs`, where
    /// its loss defines them: the softmax of a multiclass model's outputs
    /// (its loss is softmax cross-entropy), and for two classes trained
    /// with binary cross-entropy `[1 - σ(score), σ(score)]`. `None` for a
    /// score that is a margin (SVM), a squared error's, or a regression.
    ///
    /// ```
    /// use micrograd::nn::{Loss, MLP};
    /// use micrograd::train::{SavedModel, Task};
    /// let model = SavedModel {
    ///     weights: MLP::new(2, &[1]).weights(),
    ///     task: Task::binary(0.0, 1.0)?,
    ///     loss: Some(Loss::Bce),
    ///     features: None,
    /// };
    /// // σ(0) = 1/2: either class.
    /// assert_eq!(model.probabilities(&[0.0]), Some(vec![0.5, 0.5]));
    /// # Ok::<(), micrograd::Error>(())
    /// ```
    pub fn probabilities(&self, outputs: &[f64]) -> Option<Vec<f64>> {
        match (&self.task, self.loss) {
            (Task::Multiclass { .. }, _) => Some(softmax(outputs)),
            (Task::Binary { .. }, Some(Loss::Bce)) => {
                let p = crate::engine::math::sigmoid(*outputs.first()?);
                Some(vec![1.0 - p, p])
            }
            _ => None,
        }
    }

    /// Writes the model to `path`: to a temporary file first, renamed over
    /// `path` once complete, so an interrupted save never leaves a broken
    /// model.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomically(path.as_ref(), &self.to_safetensors())
    }

    /// Reads a model saved by [`save`](SavedModel::save).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file cannot be read, then as
    /// [`from_safetensors`](SavedModel::from_safetensors).
    pub fn load(path: impl AsRef<Path>) -> Result<SavedModel> {
        let path = path.as_ref();
        SavedModel::from_safetensors(&crate::whole_file::read(path)?, path)
    }
}

/// `e^(x_j - max) / Σ e^(x_k - max)`: the softmax, shifted by the largest
/// so that no exponential overflows.
fn softmax(xs: &[f64]) -> Vec<f64> {
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = xs.iter().map(|&x| (x - max).exp()).collect();
    let total: f64 = exps.iter().sum();
    exps.iter().map(|e| e / total).collect()
}

/// The same safetensors file with its JSON header's keys in sorted order,
/// so that one model always gives the same bytes: `safetensors` writes the
/// metadata from a `HashMap`, in an order that changes from run to run.
/// Sorting keys changes no length, so every offset stays valid.
fn in_sorted_order(mut bytes: Vec<u8>) -> Vec<u8> {
    let Some(size) = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
    else {
        return bytes;
    };
    let Some(header) = bytes.get(8..8 + size) else {
        return bytes;
    };
    // serde_json's maps are sorted (no `preserve_order`); the header's
    // padding is trailing spaces, which the JSON reader skips.
    let Ok(parsed) = serde_json::from_slice::<serde_json::Value>(header) else {
        return bytes;
    };
    let sorted = serde_json::to_string(&parsed).expect("JSON values serialize");
    if sorted.len() <= size {
        let padded = format!("{sorted:<size$}");
        bytes[8..8 + size].copy_from_slice(padded.as_bytes());
    }
    bytes
}
