//! Saved models: safetensors that PyTorch and candle read (float64 tensors
//! in nn.Linear's layout), written whole or not at all, and clear errors for
//! files that are truncated, corrupted or of another shape.

#![cfg(feature = "nn")]

use micrograd::data;
use micrograd::nn::{Activation, Loss, MLP};
use micrograd::train::{Classes, SavedModel, Task};
use safetensors::tensor::{Dtype, SafeTensors};

fn trained() -> SavedModel {
    let model = MLP::builder(2, &[5, 4, 3])
        .activation(Activation::Tanh)
        .seed(3)
        .build();
    SavedModel {
        weights: model.weights(),
        task: Task::Multiclass {
            classes: Classes::new(vec![0.0, 1.0, 2.0]).unwrap(),
        },
        loss: Some(Loss::SoftmaxCe),
        features: None,
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("micrograd-saved-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_model_round_trips_exactly() {
    let saved = trained();
    let dir = temp_dir("roundtrip");
    let path = dir.join("model.safetensors");
    saved.save(&path).unwrap();
    assert_eq!(SavedModel::load(&path).unwrap(), saved);
    // Nothing but the model is left in the directory.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("model.safetensors")]);
    std::fs::remove_dir_all(dir).unwrap();

    let binary = SavedModel {
        weights: MLP::new(2, &[3, 1]).weights(),
        task: Task::binary(-1.0, 1.0).unwrap(),
        loss: Some(Loss::Svm),
        features: None,
    };
    assert_eq!(
        SavedModel::from_safetensors(&binary.to_safetensors(), "m").unwrap(),
        binary
    );
    let regression = SavedModel {
        weights: MLP::new(1, &[1]).weights(),
        task: Task::Regression,
        loss: Some(Loss::Mse),
        features: None,
    };
    assert_eq!(
        SavedModel::from_safetensors(&regression.to_safetensors(), "m").unwrap(),
        regression
    );
}

#[test]
fn the_file_is_plain_safetensors_in_pytorch_layout() {
    let saved = trained();
    let bytes = saved.to_safetensors();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut names = file.names();
    names.sort();
    assert_eq!(
        names,
        vec![
            "layers.0.bias",
            "layers.0.weight",
            "layers.1.bias",
            "layers.1.weight",
            "layers.2.bias",
            "layers.2.weight"
        ]
    );
    // nn.Linear: weight is [out_features, in_features], row n = neuron n.
    let w = file.tensor("layers.1.weight").unwrap();
    assert_eq!((w.dtype(), w.shape()), (Dtype::F64, &[4usize, 5][..]));
    let first = f64::from_le_bytes(w.data()[..8].try_into().unwrap());
    assert_eq!(first, saved.weights.layers[1].w[0][0]);
    let second_row = f64::from_le_bytes(w.data()[5 * 8..6 * 8].try_into().unwrap());
    assert_eq!(second_row, saved.weights.layers[1].w[1][0]);
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap();
    assert_eq!(meta["activations"], "tanh,tanh,linear");
    assert_eq!(
        (meta["nin"].as_str(), meta["nouts"].as_str()),
        ("2", "5,4,3")
    );
    assert_eq!(
        (meta["task"].as_str(), meta["classes"].as_str()),
        ("multiclass", "0,1,2")
    );
}

#[test]
fn broken_files_are_clear_errors() {
    let bytes = trained().to_safetensors();
    let truncated = &bytes[..bytes.len() - 20];
    let message = SavedModel::from_safetensors(truncated, "m.safetensors")
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("m.safetensors: not a micrograd model (safetensors: "),
        "{message}"
    );

    let mut corrupted = bytes.clone();
    corrupted[9] = b'#'; // inside the JSON header
    let message = SavedModel::from_safetensors(&corrupted, "m.safetensors")
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("m.safetensors: not a micrograd model"),
        "{message}"
    );

    let message = SavedModel::from_safetensors(b"hello", "m.safetensors")
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("m.safetensors: not a micrograd model"),
        "{message}"
    );
}

#[test]
fn a_model_of_the_wrong_shape_names_the_layer() {
    // Re-label the architecture: the tensors of layer 2 no longer fit.
    let bytes = trained().to_safetensors();
    let mut tampered = bytes.clone();
    let at = bytes
        .windows(7)
        .position(|w| w == b"\"5,4,3\"")
        .expect("the architecture is in the header");
    tampered[at + 3] = b'6';
    let message = SavedModel::from_safetensors(&tampered, "m.safetensors")
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "m.safetensors: layer 2: `layers.1.weight` is F64 [4, 5], expected F64 (or F32) [6, 5]"
    );
}

#[test]
fn a_trained_model_predicts_what_it_predicted_before_saving() {
    let data = data::moons(30, 0.1, 2);
    let model = MLP::new(2, &[4, 1]);
    let saved = SavedModel {
        weights: model.weights(),
        task: Task::binary(-1.0, 1.0).unwrap(),
        loss: Some(Loss::Svm),
        features: None,
    };
    let loaded = SavedModel::from_safetensors(&saved.to_safetensors(), "m").unwrap();
    for x in &data.x {
        assert_eq!(
            loaded.weights.predict(x),
            model
                .forward(x)
                .iter()
                .map(|v| v.data())
                .collect::<Vec<_>>()
        );
    }
}

/// `saved`'s file with metadata `key` set to `value` (or removed), and
/// its tensors as `dtype` (float64, or float32 rounded from it).
fn rewritten(saved: &SavedModel, changes: &[(&str, Option<&str>)], dtype: Dtype) -> Vec<u8> {
    let bytes = saved.to_safetensors();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let mut metadata = header.metadata().clone().unwrap();
    for (key, value) in changes {
        match value {
            Some(v) => metadata.insert((*key).to_owned(), (*v).to_owned()),
            None => metadata.remove(*key),
        };
    }
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let tensors: Vec<(String, Vec<usize>, Vec<u8>)> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            let numbers = view
                .data()
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().unwrap()));
            let data = match dtype {
                Dtype::F32 => numbers.flat_map(|x| (x as f32).to_le_bytes()).collect(),
                _ => numbers.flat_map(f64::to_le_bytes).collect(),
            };
            (name, view.shape().to_vec(), data)
        })
        .collect();
    let views = tensors.iter().map(|(name, shape, data)| {
        let view = safetensors::tensor::TensorView::new(dtype, shape.clone(), data).unwrap();
        (name.clone(), view)
    });
    safetensors::tensor::serialize(views, Some(metadata)).unwrap()
}

#[test]
fn one_model_always_gives_the_same_bytes() {
    // The metadata is a map; its order must not depend on the run.
    let first = trained().to_safetensors();
    for _ in 0..20 {
        assert_eq!(trained().to_safetensors(), first);
    }
    // The header lists its keys in sorted order.
    let size = u64::from_le_bytes(first[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&first[8..8 + size]).unwrap();
    let keys = [
        "\"__metadata__\"",
        "\"layers.0.bias\"",
        "\"layers.0.weight\"",
        "\"layers.2.weight\"",
    ];
    let at: Vec<usize> = keys.iter().map(|k| header.find(k).unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{header}");
    let meta = [
        "\"activations\"",
        "\"classes\"",
        "\"format\"",
        "\"format_version\"",
        "\"nin\"",
        "\"nouts\"",
        "\"task\"",
    ];
    let at: Vec<usize> = meta.iter().map(|k| header.find(k).unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{header}");
}

#[test]
fn float32_tensors_are_read_as_float64() {
    // PyTorch saves float32 by default. Every float32 is a float64, so the
    // weights read back as the float32 values, widened exactly.
    let saved = trained();
    let bytes = rewritten(&saved, &[], Dtype::F32);
    let loaded = SavedModel::from_safetensors(&bytes, "m32").unwrap();
    assert_eq!(loaded.task, saved.task);
    for (a, b) in loaded.weights.layers.iter().zip(&saved.weights.layers) {
        for (wa, wb) in a.w.iter().flatten().zip(b.w.iter().flatten()) {
            assert_eq!(*wa, f64::from(*wb as f32));
        }
        assert_eq!(
            a.b,
            b.b.iter().map(|&x| f64::from(x as f32)).collect::<Vec<_>>()
        );
    }
}

#[test]
fn crafted_metadata_is_refused_with_the_reason() {
    let binary = SavedModel {
        weights: MLP::new(2, &[3, 1]).weights(),
        task: Task::binary(-1.0, 1.0).unwrap(),
        loss: Some(Loss::Svm),
        features: None,
    };
    let refused = |changes: &[(&str, Option<&str>)], saved: &SavedModel| {
        SavedModel::from_safetensors(&rewritten(saved, changes, Dtype::F64), "m.st")
            .unwrap_err()
            .to_string()
    };
    for (classes, why) in [
        ("NaN,1", "must be a finite number"),
        ("-inf,inf", "must be a finite number"),
        ("1,1", "distinct and in increasing order"),
        // Inverted labels would flip every prediction.
        ("1,-1", "distinct and in increasing order"),
    ] {
        let error = refused(&[("classes", Some(classes))], &binary);
        assert!(
            error.starts_with("m.st: not a micrograd model (its `classes`: "),
            "{classes}: {error}"
        );
        assert!(error.contains(why), "{classes}: {error}");
    }
    let error = refused(&[("format_version", Some("3"))], &binary);
    assert_eq!(
        error,
        "m.st: not a micrograd model (it is format version 3; this micrograd reads versions 1 and 2)"
    );
    // Files from before the version key are version 1.
    let old = rewritten(&binary, &[("format_version", None)], Dtype::F64);
    assert_eq!(SavedModel::from_safetensors(&old, "m").unwrap(), binary);
}

#[test]
fn weights_that_are_not_numbers_are_refused() {
    let mut saved = trained();
    saved.weights.layers[1].b[2] = f64::NAN;
    let error = SavedModel::from_safetensors(&saved.to_safetensors(), "m.st")
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "m.st: layer 2: `layers.1.bias` holds NaN or infinite numbers"
    );
}

/// `saved`'s file with one more tensor, `name`, of two float64 zeros.
fn with_tensor(saved: &SavedModel, name: &str) -> Vec<u8> {
    let bytes = saved.to_safetensors();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = header.metadata().clone().unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let zeros = [0u8; 16];
    let mut views: Vec<(String, safetensors::tensor::TensorView<'_>)> = file.tensors();
    views.push((
        name.to_owned(),
        safetensors::tensor::TensorView::new(Dtype::F64, vec![2], &zeros).unwrap(),
    ));
    safetensors::tensor::serialize(views, Some(metadata)).unwrap()
}

#[test]
fn a_tensor_that_is_no_layer_of_the_model_is_refused() {
    // Loading it silently would drop it: it is likely another model's.
    let saved = trained();
    for name in [
        "layers.3.weight",
        "layers.0.scale",
        "embedding",
        "layers.01.bias",
    ] {
        let error = SavedModel::from_safetensors(&with_tensor(&saved, name), "m.st")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            format!(
                "m.st: not a micrograd model (it has tensors that are not its layers': `{name}`)"
            )
        );
    }
}

#[test]
fn a_model_with_no_layers_says_so() {
    let saved = trained();
    let bytes = rewritten(
        &saved,
        &[("nouts", Some("")), ("activations", Some(""))],
        Dtype::F64,
    );
    let error = SavedModel::from_safetensors(&bytes, "m.st")
        .unwrap_err()
        .to_string();
    assert_eq!(error, "m.st: not a micrograd model (it has no layers)");
}

#[test]
fn the_loss_is_saved_and_files_without_it_still_load() {
    let saved = trained();
    let loaded = SavedModel::from_safetensors(&saved.to_safetensors(), "m").unwrap();
    assert_eq!(loaded.loss, Some(Loss::SoftmaxCe));
    let old = rewritten(&saved, &[("loss", None)], Dtype::F64);
    let loaded = SavedModel::from_safetensors(&old, "m").unwrap();
    assert_eq!((loaded.loss, &loaded.weights), (None, &saved.weights));
    let error = SavedModel::from_safetensors(
        &rewritten(&saved, &[("loss", Some("hinge2"))], Dtype::F64),
        "m",
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        error,
        "m: not a micrograd model (its `loss` cannot be read)"
    );
}

#[test]
fn probabilities_are_given_where_the_loss_defines_them() {
    // Softmax of (0, ln 2, ln 5): e^x is 1, 2, 5, so 1/8, 2/8, 5/8.
    let multiclass = trained();
    let p = multiclass
        .probabilities(&[0.0, 2f64.ln(), 5f64.ln()])
        .unwrap();
    for (p, expected) in p.iter().zip([0.125, 0.25, 0.625]) {
        assert!((p - expected).abs() < 1e-15, "{p} vs {expected}");
    }
    // Shifted by the largest: outputs of 1000 do not overflow.
    let p = multiclass
        .probabilities(&[1000.0, 1000.0, -1000.0])
        .unwrap();
    assert_eq!(p, vec![0.5, 0.5, 0.0]);
    // Binary cross-entropy: σ(ln 3) = 3/4 for the second class.
    let bce = SavedModel {
        weights: MLP::new(2, &[1]).weights(),
        task: Task::binary(0.0, 1.0).unwrap(),
        loss: Some(Loss::Bce),
        features: None,
    };
    let p = bce.probabilities(&[3f64.ln()]).unwrap();
    assert!(
        (p[1] - 0.75).abs() < 1e-15 && (p[0] - 0.25).abs() < 1e-15,
        "{p:?}"
    );
    // An SVM's score is a margin, not a probability; nor is an unknown loss's.
    for loss in [Some(Loss::Svm), Some(Loss::Mse), None] {
        let model = SavedModel {
            loss,
            ..bce.clone()
        };
        assert_eq!(model.probabilities(&[0.3]), None, "{loss:?}");
    }
}

#[test]
fn a_loss_that_cannot_read_the_task_did_not_train_the_model() {
    // Three classes scored by an output each, said to be trained with a
    // loss that reads one output, or a binary -1/1 model's ±1 score with
    // squared errors (which it can be).
    let saved = trained();
    let error = SavedModel::from_safetensors(
        &rewritten(&saved, &[("loss", Some("svm"))], Dtype::F64),
        "m",
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        error,
        "m: not a micrograd model (its `loss` does not fit its `task`: the svm loss cannot read \
         3 classes (0, 1, 2) scored by an output each: it reads one output; use the softmax loss)"
    );
    let binary = SavedModel {
        weights: MLP::new(2, &[1]).weights(),
        task: Task::binary(-1.0, 1.0).unwrap(),
        loss: Some(Loss::Mse),
        features: None,
    };
    let loaded = SavedModel::from_safetensors(&binary.to_safetensors(), "m").unwrap();
    assert_eq!(loaded, binary);
    let zero_one = SavedModel {
        task: Task::binary(0.0, 1.0).unwrap(),
        ..binary
    };
    let error = SavedModel::from_safetensors(&zero_one.to_safetensors(), "m").unwrap_err();
    assert!(
        error
            .to_string()
            .contains("the mse loss cannot read two classes (0, 1)"),
        "{error}"
    );
}
