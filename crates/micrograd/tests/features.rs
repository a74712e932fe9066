//! The features a network reads of a point in the plane (TensorFlow
//! Playground's inputs): how they are written and read, what they make of
//! a point, how settings resolve them, and a saved model that keeps them.

#![cfg(feature = "nn")]

use micrograd::data::{Dataset, Feature, Features};
use micrograd::nn::{Loss, MLP};
use micrograd::train::{BuiltIn, DatasetName, SavedModel, Settings, Task};
use safetensors::tensor::SafeTensors;

fn features(text: &str) -> Features {
    text.parse().unwrap()
}

#[test]
fn features_read_from_text_or_a_list_and_are_kept_in_the_playgrounds_order() {
    let all = "x1,x2,x1^2,x2^2,x1*x2,sin(x1),sin(x2)";
    assert_eq!(features(all).as_slice(), Feature::ALL);
    assert_eq!(features(all).to_string(), all);
    // Any order, any case, spaces around the names: a set, in ALL's order.
    assert_eq!(
        features(" SIN(X2) , x1 ").as_slice(),
        [Feature::X1, Feature::SinX2]
    );
    assert_eq!(features("x2,x1"), Features::default());
    assert!(features("x2,x1").is_identity());
    assert!(!features("x1").is_identity());
    let read = |json: &str| serde_json::from_str::<Features>(json).map_err(|e| e.to_string());
    assert_eq!(read(r#"["x1*x2", "x1"]"#), Ok(features("x1,x1*x2")));
    assert_eq!(read(r#""x1,x1*x2""#), Ok(features("x1,x1*x2")));
    // Written as a list of names.
    assert_eq!(
        serde_json::to_value(features("sin(x1),x2^2")).unwrap(),
        serde_json::json!(["x2^2", "sin(x1)"])
    );
    let error = |json: &str| read(json).unwrap_err();
    assert!(
        error(r#""x1,x3""#).contains(
            "unknown feature `x3` (expected x1, x2, x1^2, x2^2, x1*x2, sin(x1), sin(x2))"
        )
    );
    assert!(error(r#"["cos(x1)"]"#).contains("unknown feature `cos(x1)`"));
    assert!(error(r#""""#).contains("expected one or more features"));
    assert!(error("[]").contains("expected one or more features"));
    assert!(error(r#""x1,,x2""#).contains("an empty feature between commas"));
    assert!(error(r#"["x1", "X1"]"#).contains("the feature `x1` is given twice"));
    assert!(error("[1]").contains("invalid type"));
    assert!(Features::new(&[]).is_err());
    assert_eq!(
        Features::new(&[Feature::SinX1, Feature::X1Squared]).unwrap(),
        features("x1^2,sin(x1)")
    );
}

#[test]
fn each_feature_is_its_formula_at_the_point() {
    let (x1, x2) = (2.0, -0.5);
    let all = features("x1,x2,x1^2,x2^2,x1*x2,sin(x1),sin(x2)");
    assert_eq!(
        all.map(&[x1, x2]),
        [2.0, -0.5, 4.0, 0.25, -1.0, 2.0f64.sin(), (-0.5f64).sin()]
    );
    let mut buffer = vec![9.0; 10];
    features("x1*x2,x2").map_into(&[3.0, 4.0], &mut buffer);
    assert_eq!(buffer, [4.0, 12.0]);
    let data = Dataset {
        x: vec![vec![1.0, 2.0], vec![-3.0, 0.0]],
        y: vec![1.0, -1.0],
    };
    let mapped = features("x1^2,x2^2").apply(&data).unwrap();
    assert_eq!(mapped.x, [[1.0, 4.0], [9.0, 0.0]]);
    assert_eq!(mapped.y, data.y);
    let three = Dataset {
        x: vec![vec![1.0, 2.0, 3.0]],
        y: vec![1.0],
    };
    let error = features("x1").apply(&three).unwrap_err().to_string();
    assert!(error.contains("points in the plane"), "{error}");
}

#[test]
#[should_panic(expected = "a point in the plane (2 numbers), not 3")]
fn a_point_not_in_the_plane_has_no_features() {
    features("x1").map(&[1.0, 2.0, 3.0]);
}

#[test]
fn settings_give_the_network_the_features_of_each_point() {
    let settings = Settings {
        dataset: Some(DatasetName::BuiltIn(BuiltIn::Xor)),
        points: Some(60),
        test: Some(0.25),
        features: Some(features("x1^2,sin(x2),x1*x2")),
        seed: Some(4),
        ..Settings::default()
    };
    let setup = settings.resolve(None).unwrap();
    // Three inputs, in ALL's order: x1^2, x1*x2, sin(x2).
    assert_eq!(setup.widths(), [3, 16, 16, 1]);
    assert_eq!(setup.features, Some(features("x1^2,x1*x2,sin(x2)")));
    let drawn = BuiltIn::Xor.data_with(60, 0.0, 4);
    let points = setup.points();
    assert_eq!(points.len(), 60);
    let (mut train, mut test) = (
        setup.preset.data.x.iter(),
        setup.test.as_ref().unwrap().x.iter(),
    );
    for (i, point) in points.iter().enumerate() {
        // The points are the ones drawn, as they were drawn.
        assert_eq!((point.x, point.y), (&drawn.x[i][..], drawn.y[i]));
        let [x1, x2] = [drawn.x[i][0], drawn.x[i][1]];
        let inputs = if point.held_out {
            test.next()
        } else {
            train.next()
        }
        .unwrap();
        assert_eq!(inputs, &[x1 * x1, x1 * x2, x2.sin()], "point {i}");
        assert_eq!(setup.inputs(point.x), *inputs);
    }
    assert_eq!((train.next(), test.next()), (None, None));
    // Written back in ALL's order, and read back to the same run.
    assert_eq!(setup.settings.features, setup.features);
    let again = setup.settings.resolve(None).unwrap();
    assert_eq!(again.preset.data, setup.preset.data);
    assert_eq!(again.test, setup.test);
}

#[test]
fn x1_x2_is_the_data_as_it_is_and_other_features_need_the_plane() {
    let moons = Settings::default().resolve(None).unwrap();
    assert_eq!(moons.features, None);
    assert_eq!(moons.settings.features, Some(Features::default()));
    assert_eq!(moons.preset.data, BuiltIn::Moons.data(0));
    assert_eq!(moons.inputs(&[0.5, -1.0]), [0.5, -1.0]);
    let given = Settings {
        features: Some(features("x2,x1")),
        ..Settings::default()
    };
    assert_eq!(given.resolve(None).unwrap().preset.data, moons.preset.data);

    // The lecture's points have three features: x1,x2 takes them as they
    // are; any other choice is refused, saying why.
    let lecture = |features: Option<Features>| Settings {
        dataset: Some(DatasetName::Lecture),
        features,
        ..Settings::default()
    };
    let setup = lecture(Some(Features::default())).resolve(None).unwrap();
    assert_eq!(setup.widths()[0], 3);
    assert_eq!((setup.features, setup.settings.features), (None, None));
    let error = lecture(Some(features("x1,x1^2")))
        .resolve(None)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("the features x1,x1^2 are made from points in the plane; the lecture points have 3 features each"),
        "{error}"
    );
}

#[test]
fn a_saved_model_keeps_its_features_and_applies_them_to_a_point() {
    let network = MLP::new(3, &[4, 1]).weights();
    let saved = SavedModel {
        weights: network.clone(),
        task: Task::binary(-1.0, 1.0).unwrap(),
        loss: Some(Loss::Svm),
        features: Some(features("x1,x1*x2,sin(x2)")),
    };
    let bytes = saved.to_safetensors();
    let loaded = SavedModel::from_safetensors(&bytes, "m").unwrap();
    assert_eq!(loaded, saved);
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = header.metadata().clone().unwrap();
    assert_eq!(metadata["features"], "x1,x1*x2,sin(x2)");
    // Version 2: a reader of version 1 alone refuses it rather than feed
    // the network the point itself.
    assert_eq!(metadata["format_version"], "2");
    // A point is given as it is, and made into the network's inputs.
    assert_eq!(loaded.nin(), 2);
    let (x1, x2) = (0.75, -2.0);
    assert_eq!(
        loaded.predict(&[x1, x2]),
        network.predict(&[x1, x1 * x2, x2.sin()])
    );

    // Without features: version 1 and no key, as before they existed.
    let plain = SavedModel {
        features: None,
        weights: MLP::new(2, &[1]).weights(),
        ..saved.clone()
    };
    let bytes = plain.to_safetensors();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = header.metadata().clone().unwrap();
    assert_eq!(metadata["format_version"], "1");
    assert!(!metadata.contains_key("features"));
    let loaded = SavedModel::from_safetensors(&bytes, "m").unwrap();
    assert_eq!((&loaded.features, loaded.nin()), (&None, 2));

    // Features that are not the network's inputs are refused.
    let wrong = SavedModel {
        features: Some(features("x1,x2")),
        ..saved
    };
    let error = SavedModel::from_safetensors(&wrong.to_safetensors(), "m")
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "m: not a micrograd model (its 2 features (x1,x2) are not its 3 inputs)"
    );
}

#[test]
fn a_model_trained_on_features_predicts_points_as_they_are() {
    let settings = Settings {
        dataset: Some(DatasetName::BuiltIn(BuiltIn::Xor)),
        points: Some(200),
        features: Some(features("x1*x2")),
        ..Settings::default()
    };
    let setup = settings.resolve(None).unwrap();
    let model = setup.model();
    let mut trainer = setup.trainer(&model).unwrap();
    let last = trainer.run(setup.preset.steps, |_| {}).unwrap();
    let saved = SavedModel {
        weights: model.weights(),
        task: trainer.task().clone(),
        loss: Some(setup.preset.config.loss),
        features: setup.features.clone(),
    };
    let loaded = SavedModel::from_safetensors(&saved.to_safetensors(), "m").unwrap();
    // xor's label is the sign of x1·x2: one input that says it all.
    assert_eq!(last.accuracy, Some(1.0));
    let right = setup
        .points()
        .iter()
        .filter(|p| loaded.task.predict(loaded.predict(p.x)) == p.y)
        .count();
    assert_eq!(right, 200);
}
