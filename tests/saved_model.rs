//! Saved models: safetensors that PyTorch and candle read (float64 tensors
//! in nn.Linear's layout), written whole or not at all, and clear errors for
//! files that are truncated, corrupted or of another shape.

#![cfg(feature = "nn")]

use micrograd::data;
use micrograd::nn::{Activation, MLP};
use micrograd::train::{SavedModel, Task};
use safetensors::tensor::{Dtype, SafeTensors};

fn trained() -> SavedModel {
    let model = MLP::builder(2, &[5, 4, 3])
        .activation(Activation::Tanh)
        .seed(3)
        .build();
    SavedModel {
        weights: model.weights(),
        task: Task::Multiclass {
            classes: vec![0.0, 1.0, 2.0],
        },
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
        task: Task::Binary {
            classes: [-1.0, 1.0],
        },
    };
    assert_eq!(
        SavedModel::from_safetensors(&binary.to_safetensors(), "m").unwrap(),
        binary
    );
    let regression = SavedModel {
        weights: MLP::new(1, &[1]).weights(),
        task: Task::Regression,
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
        "m.safetensors: layer 2: `layers.1.weight` is F64 [4, 5], expected F64 [6, 5]"
    );
}

#[test]
fn a_trained_model_predicts_what_it_predicted_before_saving() {
    let data = data::moons(30, 0.1, 2);
    let model = MLP::new(2, &[4, 1]);
    let saved = SavedModel {
        weights: model.weights(),
        task: Task::Binary {
            classes: [-1.0, 1.0],
        },
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
