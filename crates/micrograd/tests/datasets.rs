//! Built-in datasets (their geometry, checked without noise) and users'
//! files (including every way a file can be wrong).

#![cfg(feature = "nn")]

use micrograd::Error;
use micrograd::data::{self, Dataset};

#[test]
fn moons_lie_on_two_half_circles() {
    let d = data::moons(100, 0.0, 7);
    assert_eq!((d.len(), d.dim()), (100, 2));
    assert_eq!(d.classes(), vec![-1.0, 1.0]);
    assert_eq!(d.y.iter().filter(|&&y| y > 0.0).count(), 50);
    for (x, &y) in d.x.iter().zip(&d.y) {
        // outer: unit circle, upper half; inner: centred at (1, 0.5), lower half
        let (cx, cy) = if y < 0.0 { (0.0, 0.0) } else { (1.0, 0.5) };
        let r = ((x[0] - cx).powi(2) + (x[1] - cy).powi(2)).sqrt();
        assert!((r - 1.0).abs() < 1e-12, "{x:?} is off its moon");
        assert!(if y < 0.0 {
            x[1] >= -1e-12
        } else {
            x[1] <= 0.5 + 1e-12
        });
    }
}

#[test]
fn generators_are_deterministic_in_their_seed() {
    assert_eq!(data::moons(50, 0.1, 3), data::moons(50, 0.1, 3));
    assert_ne!(data::moons(50, 0.1, 3), data::moons(50, 0.1, 4));
    assert_eq!(data::spiral(20, 3, 0.2, 1), data::spiral(20, 3, 0.2, 1));
    // Gaussian noise of standard deviation 0.1 per coordinate moves a point
    // off its circle by |N(0, 0.1²)| radially: 0.1·√(2/π) ≈ 0.08 on average.
    let noisy = data::moons(2000, 0.1, 5);
    let off: f64 = noisy
        .x
        .iter()
        .zip(&noisy.y)
        .map(|(x, &y)| {
            let (cx, cy) = if y < 0.0 { (0.0, 0.0) } else { (1.0, 0.5) };
            ((x[0] - cx).hypot(x[1] - cy) - 1.0).abs()
        })
        .sum::<f64>()
        / 2000.0;
    assert!(
        (0.06..0.10).contains(&off),
        "mean distance off the moons: {off}"
    );
}

#[test]
fn circles_have_the_requested_radii() {
    let d = data::circles(60, 0.0, 0.5, 2);
    for (x, &y) in d.x.iter().zip(&d.y) {
        let r = (x[0] * x[0] + x[1] * x[1]).sqrt();
        assert!((r - if y > 0.0 { 0.5 } else { 1.0 }).abs() < 1e-12);
    }
}

#[test]
fn blobs_and_spirals_have_their_classes() {
    let b = data::blobs(150, 3, 1.0, 0);
    assert_eq!(b.classes(), vec![0.0, 1.0, 2.0]);
    assert!(
        b.classes()
            .iter()
            .all(|&c| b.y.iter().filter(|&&y| y == c).count() == 50)
    );
    let s = data::spiral(100, 3, 0.0, 0);
    assert_eq!((s.len(), s.classes()), (300, vec![0.0, 1.0, 2.0]));
    // CS231n's spiral: radius from 0 to 1.
    let radii: Vec<f64> = s.x.iter().map(|x| x[0].hypot(x[1])).collect();
    assert!(radii.iter().all(|&r| r <= 1.0 + 1e-12));
    assert!(radii.contains(&0.0) && radii.iter().any(|&r| (r - 1.0).abs() < 1e-12));
}

#[test]
fn a_built_in_dataset_has_exactly_the_points_asked_for() {
    use micrograd::train::BuiltIn;
    // 10,000 is not a multiple of 3: spiral's arms take 3,334, 3,333, 3,333.
    for builtin in BuiltIn::ALL {
        for n in [3, 4, 5, 100, 101, 10_000] {
            let d = builtin.data_sized(n, 0);
            assert_eq!(d.len(), n, "{builtin} with {n} points");
        }
    }
    let s = data::spiral_sized(10_000, 3, 0.2, 0);
    let counts: Vec<usize> = (0..3)
        .map(|c| s.y.iter().filter(|&&y| y == f64::from(c)).count())
        .collect();
    assert_eq!(counts, vec![3_334, 3_333, 3_333]);
    // Equal arms: the same points as CS231n's per-class form.
    assert_eq!(
        data::spiral_sized(300, 3, 0.2, 7),
        data::spiral(100, 3, 0.2, 7)
    );
}

#[test]
fn the_lectures_examples() {
    let d = data::lecture_examples();
    assert_eq!(
        d.x,
        vec![
            vec![2.0, 3.0, -1.0],
            vec![3.0, -1.0, 0.5],
            vec![0.5, 1.0, 1.0],
            vec![1.0, 1.0, -1.0]
        ]
    );
    assert_eq!(d.y, vec![1.0, -1.0, -1.0, 1.0]);
}

fn csv(text: &str) -> Result<Dataset, Error> {
    Dataset::from_csv(text.as_bytes(), "points.csv")
}

#[test]
fn csv_with_and_without_header() {
    let plain = csv("1.5,2,1\n-0.5, 3e-1 ,-1\n\n").unwrap();
    assert_eq!(plain.x, vec![vec![1.5, 2.0], vec![-0.5, 0.3]]);
    assert_eq!(plain.y, vec![1.0, -1.0]);
    let headed = csv("x1,x2,label\n1.5,2,1\n-0.5,0.3,-1\n").unwrap();
    assert_eq!(headed, plain);
}

#[test]
fn csv_errors_name_line_and_column() {
    let cases = [
        (
            "1,2,1\n3,oops,0\n",
            "points.csv:2:2: `oops` is not a number",
        ),
        (
            "x,y,label\n1,2,1\n3,4\n",
            "points.csv:3:3: expected 3 fields, found 2",
        ),
        (
            "1,2,1\n3,4,5,6\n",
            "points.csv:2:4: expected 3 fields, found 4",
        ),
        (
            "1\n2\n",
            "points.csv:1:1: each row needs at least one feature and a label",
        ),
        ("1,inf,1\n", "points.csv:1:2: inf is not finite"),
        ("", "points.csv: no data rows"),
        ("x,y,label\n", "points.csv: no data rows"),
    ];
    for (text, message) in cases {
        assert_eq!(csv(text).unwrap_err().to_string(), message, "for {text:?}");
    }
}

#[test]
fn json_datasets_and_their_errors() {
    let d = Dataset::from_json(
        br#"{"X": [[1, 2], [3, 4.5]], "y": [-1, 1], "other": "ignored"}"#,
        "d.json",
    )
    .unwrap();
    assert_eq!(
        (d.x, d.y),
        (vec![vec![1.0, 2.0], vec![3.0, 4.5]], vec![-1.0, 1.0])
    );

    let cases: [(&[u8], &str); 4] = [
        (
            b"{\"X\": [[1, 2]],\n \"y\": [1, ]}",
            "d.json:2:11: trailing comma",
        ),
        (b"{\"X\": [[1, 2]]}", "d.json:1:15: missing field `y`"),
        (
            br#"{"X": [[1, 2], [3]], "y": [1, 2]}"#,
            "d.json: sample 2 has 1 features, sample 1 has 2",
        ),
        (
            br#"{"X": [[1, 2]], "y": [1, 2]}"#,
            "d.json: the dataset has 1 rows of features but 2 targets",
        ),
    ];
    for (text, message) in cases {
        assert_eq!(
            Dataset::from_json(text, "d.json").unwrap_err().to_string(),
            message
        );
    }
}

#[test]
fn loading_files_checks_what_they_are() {
    let dir = std::env::temp_dir().join(format!("micrograd-datasets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let csv_file = write("a.csv", b"1,2,1\n3,4,-1\n");
    assert_eq!(Dataset::load(&csv_file).unwrap().len(), 2);
    let json_file = write("b.txt", b"  {\"X\": [[1]], \"y\": [0]}");
    assert_eq!(Dataset::load(&json_file).unwrap().len(), 1);
    let binary = write("c.csv", &[0x89, b'P', b'N', b'G', 0, 1, 2]);
    assert!(
        Dataset::load(&binary)
            .unwrap_err()
            .to_string()
            .ends_with("c.csv: not a text file")
    );
    let missing = dir.join("missing.csv");
    let err = Dataset::load(&missing).unwrap_err();
    assert!(matches!(err, Error::Io { .. }) && err.to_string().contains("missing.csv"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bytes_read_as_their_file_would_be_without_touching_it() {
    // Names of files that do not exist: only the bytes are read.
    let data = Dataset::from_bytes(b"a,b,label\n1,2,1\n3,4,-1\n", "nowhere/a.csv").unwrap();
    assert_eq!(data.x, vec![vec![1.0, 2.0], vec![3.0, 4.0]]);
    assert_eq!(data.y, vec![1.0, -1.0]);
    // JSON by its name, or by a first `{`.
    let json = br#"{"X": [[1, 2]], "y": [0]}"#;
    assert_eq!(Dataset::from_bytes(json, "d.json").unwrap().len(), 1);
    assert_eq!(Dataset::from_bytes(json, "d.txt").unwrap().len(), 1);
    // The file's errors, with its name, line and column.
    let err = Dataset::from_bytes(b"1,2,1\n3,x,-1\n", "up.csv").unwrap_err();
    assert_eq!(err.to_string(), "up.csv:2:2: `x` is not a number");
    assert!(matches!(
        err,
        Error::Parse {
            line: 2,
            column: 2,
            ..
        }
    ));
    let err = Dataset::from_bytes(&[0x89, b'P', 0, 1], "p.csv").unwrap_err();
    assert_eq!(err.to_string(), "p.csv: not a text file");
    assert!(!std::path::Path::new("nowhere").exists());
}

#[test]
fn built_in_data_with_its_own_noise_is_the_default() {
    use micrograd::train::BuiltIn;
    for builtin in BuiltIn::ALL {
        assert_eq!(
            builtin.data_with(120, builtin.noise(), 5),
            builtin.data_sized(120, 5)
        );
    }
    assert_eq!(
        BuiltIn::Moons.data_with(60, 0.3, 1),
        data::moons(60, 0.3, 1)
    );
    assert_eq!(
        BuiltIn::Blobs.data_with(60, 0.5, 1),
        data::blobs(60, 3, 0.5, 1)
    );
    assert_eq!(BuiltIn::Spiral.noise(), 0.2); // CS231n's
    assert_eq!(BuiltIn::Moons.noise(), 0.1); // micrograd's demo
}

#[test]
fn datasets_are_checked_when_built() {
    assert!(Dataset::new(vec![], vec![]).is_err());
    assert!(Dataset::new(vec![vec![]], vec![1.0]).is_err());
    assert!(Dataset::new(vec![vec![f64::NAN]], vec![1.0]).is_err());
    assert!(Dataset::new(vec![vec![1.0]], vec![1.0]).is_ok());
}

/// TensorFlow Playground's label of xor: +1 where `x1·x2 >= 0`.
fn xor_label(x1: f64, x2: f64) -> f64 {
    if x1 * x2 >= 0.0 { 1.0 } else { -1.0 }
}

#[test]
fn xor_labels_are_the_sign_of_x1_times_x2() {
    let d = data::xor(1000, 0.0, 3);
    assert_eq!((d.len(), d.dim()), (1000, 2));
    for (x, &y) in d.x.iter().zip(&d.y) {
        // uniform(-5, 5) pushed 0.3 away from 0: 0.3 <= |x| < 5.3.
        assert!(x.iter().all(|v| (0.3..5.3).contains(&v.abs())), "{x:?}");
        assert_eq!(y, xor_label(x[0], x[1]), "{x:?}");
    }
    // Each quadrant a quarter of the points, to within 5 standard
    // deviations of a binomial(1000, 1/4) count (13.7 each).
    for (s1, s2) in [(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)] {
        let count =
            d.x.iter()
                .filter(|x| x[0] * s1 > 0.0 && x[1] * s2 > 0.0)
                .count();
        assert!((250 - 69..=250 + 69).contains(&count), "{count}");
    }
    // Noise moves the point the label is read at by less than 5·noise on
    // each coordinate: a point farther than that from both axes keeps its
    // label; nearer ones may not.
    let noise = 0.2;
    let d = data::xor(4000, noise, 4);
    let mut flipped = 0;
    for (x, &y) in d.x.iter().zip(&d.y) {
        if x[0].abs() > 5.0 * noise && x[1].abs() > 5.0 * noise {
            assert_eq!(y, xor_label(x[0], x[1]), "{x:?}");
        }
        flipped += usize::from(y != xor_label(x[0], x[1]));
    }
    assert!(flipped > 0, "noise {noise} flipped no label");
}

#[test]
fn two_gaussians_centre_on_plus_and_minus_two_with_the_variance_of_the_noise() {
    // Variance 0.5 + 7·noise: the page's noise 0 to 0.5 onto 0.5 to 4.
    for (noise, variance) in [(0.0, 0.5), (0.25, 2.25), (0.5, 4.0)] {
        let d = data::two_gaussians(4001, noise, 5);
        for (label, centre, count) in [(1.0, 2.0, 2001), (-1.0, -2.0, 2000)] {
            let points: Vec<&Vec<f64>> =
                d.x.iter()
                    .zip(&d.y)
                    .filter(|&(_, &y)| y == label)
                    .map(|(x, _)| x)
                    .collect();
            assert_eq!(points.len(), count);
            let n = count as f64;
            for k in 0..2 {
                let mean = points.iter().map(|x| x[k]).sum::<f64>() / n;
                let var = points.iter().map(|x| (x[k] - mean).powi(2)).sum::<f64>() / (n - 1.0);
                // 5 standard errors: √(variance/n) for the mean, and
                // √(2/(n-1))·variance for a normal sample's variance.
                assert!(
                    (mean - centre).abs() < 5.0 * (variance / n).sqrt(),
                    "noise {noise}, label {label}: mean {mean}"
                );
                assert!(
                    (var - variance).abs() < 5.0 * (2.0 / (n - 1.0)).sqrt() * variance,
                    "noise {noise}, label {label}: variance {var}"
                );
            }
        }
    }
    // Shuffled: the labels are not in two blocks.
    let d = data::two_gaussians(100, 0.0, 1);
    assert!(d.y[..50].contains(&-1.0) && d.y[50..].contains(&1.0));
}

#[test]
fn the_planes_targets_are_x1_plus_x2_over_ten() {
    let d = data::plane(1000, 0.0, 6);
    for (x, &y) in d.x.iter().zip(&d.y) {
        assert!(x.iter().all(|v| (-6.0..6.0).contains(v)), "{x:?}");
        assert!((y - (x[0] + x[1]) / 10.0).abs() < 1e-15, "{x:?}: {y}");
    }
    // Noise reads the target at the point moved by less than 6·noise on
    // each coordinate: less than 2·6·noise/10 from the plane.
    let noise = 0.5;
    let d = data::plane(1000, noise, 6);
    let off: Vec<f64> =
        d.x.iter()
            .zip(&d.y)
            .map(|(x, &y)| (y - (x[0] + x[1]) / 10.0).abs())
            .collect();
    assert!(off.iter().all(|&e| e < 1.2 * noise), "{off:?}");
    assert!(off.iter().any(|&e| e > 0.1), "noise moved no target");
}

#[test]
fn multi_gaussians_targets_are_the_nearest_bump() {
    // Centres 4 apart across and 5 apart up and down; a bump reaches 2,
    // so only the nearest centre's can be nonzero: sign·(1 - d/2).
    let centres = [
        (-4.0, 2.5, 1.0),
        (0.0, 2.5, -1.0),
        (4.0, 2.5, 1.0),
        (-4.0, -2.5, -1.0),
        (0.0, -2.5, 1.0),
        (4.0, -2.5, -1.0),
    ];
    let d = data::multi_gaussian(2000, 0.0, 7);
    let (mut zeros, mut positive, mut negative) = (0, 0, 0);
    for (x, &y) in d.x.iter().zip(&d.y) {
        let (distance, sign) = centres
            .iter()
            .map(|&(cx, cy, sign)| ((x[0] - cx).hypot(x[1] - cy), sign))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .unwrap();
        let expected = if distance < 2.0 {
            sign * (1.0 - distance / 2.0)
        } else {
            0.0
        };
        assert!((y - expected).abs() < 1e-12, "{x:?}: {y} vs {expected}");
        match y {
            0.0 => zeros += 1,
            y if y > 0.0 => positive += 1,
            _ => negative += 1,
        }
    }
    // Six discs of radius 2 cover 6·4π/144 ≈ 52% of the square.
    assert!(
        zeros > 700 && positive > 300 && negative > 300,
        "{zeros} {positive} {negative}"
    );
}

#[test]
fn tensorflow_playgrounds_datasets_follow_their_seed() {
    let generators: [fn(usize, f64, u64) -> Dataset; 4] = [
        data::xor,
        data::two_gaussians,
        data::plane,
        data::multi_gaussian,
    ];
    for generate in generators {
        assert_eq!(generate(50, 0.1, 3), generate(50, 0.1, 3));
        assert_ne!(generate(50, 0.1, 3).x, generate(50, 0.1, 4).x);
    }
    use micrograd::train::{BuiltIn, DatasetName};
    for (name, builtin, points, noise) in [
        ("xor", BuiltIn::Xor, 500, 0.0),
        ("gaussian", BuiltIn::Gaussian, 500, 0.0),
        ("plane", BuiltIn::Plane, 1200, 0.0),
        ("multi-gaussian", BuiltIn::MultiGaussian, 1200, 0.0),
    ] {
        assert_eq!(name.parse::<BuiltIn>(), Ok(builtin));
        assert_eq!(builtin.to_string(), name);
        assert!(DatasetName::ALL.contains(&DatasetName::BuiltIn(builtin)));
        assert_eq!((builtin.points(), builtin.noise()), (points, noise));
    }
    assert_eq!(BuiltIn::Xor.data(2), data::xor(500, 0.0, 2));
    assert_eq!(
        BuiltIn::MultiGaussian.data_with(30, 0.3, 2),
        data::multi_gaussian(30, 0.3, 2)
    );
}
