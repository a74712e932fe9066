//! The features a network reads of a point in the plane (TensorFlow
//! Playground's inputs): how they are written and read, and what they make
//! of a point.

#![cfg(feature = "nn")]

use micrograd::data::{Dataset, Feature, Features};

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
