//! Losses: values and gradients worked out by hand, and against PyTorch
//! (float64; tools/reference/torch_losses_optim.py printed the numbers).

#![cfg(feature = "nn")]

mod common;

use common::assert_close;
use micrograd::Value;
use micrograd::nn::loss;

fn leaves(xs: &[f64]) -> Vec<Value> {
    xs.iter().map(|&x| Value::new(x)).collect()
}

fn grads(vs: &[Value]) -> Vec<f64> {
    vs.iter().map(|v| v.grad()).collect()
}

#[track_caller]
fn assert_all_close(actual: &[f64], expected: &[f64], rel: f64) {
    assert_eq!(actual.len(), expected.len());
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        if e == 0.0 {
            assert!(a.abs() <= 1e-300, "entry {i}: {a} is not 0");
        } else {
            assert_close(a, e, rel, &format!("entry {i}"));
        }
    }
}

#[test]
fn svm_by_hand() {
    let s = leaves(&[2.0, -0.5, 0.3]);
    let l = loss::svm(&s, &[1.0, 1.0, -1.0]);
    // relu(1 - 2) + relu(1 + 0.5) + relu(1 + 0.3), over 3
    assert_close(l.data(), 2.8 / 3.0, 1e-15, "loss");
    l.backward();
    // d/ds = -y/3 where the margin is positive, else 0.
    assert_eq!(grads(&s), vec![0.0, -1.0 / 3.0, 1.0 / 3.0]);
}

#[test]
fn sum_squares_and_mse_by_hand_and_against_pytorch() {
    let p = leaves(&[0.3, -1.2, 2.0]);
    let y = [1.0, 0.5, -1.0];
    let l = loss::sum_squares(&p, &y);
    // 0.49 + 2.89 + 9
    assert_close(l.data(), 12.38, 1e-15, "sum of squares");
    l.backward();
    assert_all_close(&grads(&p), &[2.0 * -0.7, 2.0 * -1.7, 2.0 * 3.0], 1e-15);

    let p = leaves(&[0.3, -1.2, 2.0]);
    let l = loss::mse(&p, &y);
    l.backward();
    assert_close(l.data(), 4.126666666666666, 1e-15, "mse");
    assert_all_close(
        &grads(&p),
        &[-0.4666666666666666, -1.1333333333333333, 2.0],
        1e-15,
    );
}

#[test]
fn bce_with_logits_against_pytorch() {
    let z = leaves(&[2.5, -0.3, 0.0, 40.0, -40.0]);
    let l = loss::bce_with_logits(&z, &[1.0, 0.0, 1.0, 0.0, 1.0]);
    l.backward();
    assert_close(l.data(), 16.265278431864203, 1e-15, "bce");
    let torch = [-0.01517163600424869, 0.0851114966376682, -0.1, 0.2, -0.2];
    assert_all_close(&grads(&z), &torch, 1e-12);
}

#[test]
fn bce_with_huge_logits_does_not_overflow() {
    // softplus(1000) = 1000 exactly in f64; d/dz = (σ(z) - y)/n.
    let z = leaves(&[1000.0, -1000.0]);
    let l = loss::bce_with_logits(&z, &[0.0, 1.0]);
    l.backward();
    assert_eq!(l.data(), 1000.0);
    assert_eq!(grads(&z), vec![0.5, -0.5]);
}

#[test]
fn softmax_cross_entropy_against_pytorch() {
    let z = leaves(&[
        1.0, 2.0, 0.5, -1.0, 0.0, -3.0, 2.0, 1.0, 1000.0, 0.0, -1000.0, 5.0,
    ]);
    let l = loss::softmax_cross_entropy(&z, &[2, 0, 3], 4);
    l.backward();
    assert_close(l.data(), 333.13575340166085, 1e-15, "cross-entropy");
    let torch = [
        0.07473593934940037,
        0.20315334586629236,
        -0.28800369473549814,
        0.010114409519805408,
        -0.303457058445306,
        0.0014874521404273124,
        0.2207574711747068,
        0.08121213513017192,
        0.3333333333333333,
        0.0,
        0.0,
        -0.3333333333333333,
    ];
    // Entries PyTorch gives as 0 are e^-995/3 here: far below any tolerance.
    let ours = grads(&z);
    for (i, (&a, &e)) in ours.iter().zip(&torch).enumerate() {
        assert!(
            (a - e).abs() <= 1e-15 * e.abs().max(1e-3),
            "entry {i}: {a} vs {e}"
        );
    }
}

#[test]
fn softmax_gradient_is_softmax_minus_one_hot() {
    // Independent of PyTorch: for one sample, d/dz_j = p_j - [j == c].
    let logits = [0.2, -1.3, 0.7];
    let z = leaves(&logits);
    loss::softmax_cross_entropy(&z, &[1], 3).backward();
    let e: Vec<f64> = logits.iter().map(|x| f64::exp(*x)).collect();
    let total: f64 = e.iter().sum();
    let expected: Vec<f64> = e
        .iter()
        .enumerate()
        .map(|(j, ej)| ej / total - f64::from(u8::from(j == 1)))
        .collect();
    assert_all_close(&grads(&z), &expected, 1e-14);
}

#[test]
fn l2_by_hand() {
    let p = leaves(&[3.0, -4.0]);
    let l = loss::l2(&p);
    l.backward();
    assert_eq!((l.data(), grads(&p)), (25.0, vec![6.0, -8.0]));
}

#[test]
#[should_panic(expected = "one target per output")]
fn mismatched_lengths_panic() {
    loss::svm(&leaves(&[1.0]), &[1.0, -1.0]);
}

#[test]
fn losses_parse_from_their_names() {
    use micrograd::nn::Loss;
    for (name, l) in [
        ("svm", Loss::Svm),
        ("MSE", Loss::Mse),
        ("sum-squares", Loss::SumSquares),
        ("bce", Loss::Bce),
        ("softmax", Loss::SoftmaxCe),
    ] {
        assert_eq!(name.parse::<Loss>(), Ok(l));
        assert_eq!(l.to_string().parse::<Loss>(), Ok(l));
    }
    assert!("l1".parse::<Loss>().is_err());
}

#[test]
fn a_class_is_read_as_each_loss_reads_it() {
    use micrograd::nn::{Loss, loss::Targets};
    // SVM: classes 1, 1, 0 are micrograd's labels 1, 1, -1, svm_by_hand's.
    let s = leaves(&[2.0, -0.5, 0.3]);
    let l = Loss::Svm.of(&s, &Targets::Classes(vec![1, 1, 0]));
    assert_close(l.data(), 2.8 / 3.0, 1e-15, "svm");
    l.backward();
    assert_eq!(grads(&s), vec![0.0, -1.0 / 3.0, 1.0 / 3.0]);
    // The same scores as one batch, a lane each (one batch size a graph).
    {
        let _graph = micrograd::Scope::new();
        let batch = Value::batch(&[2.0, -0.5, 0.3]);
        let l = Loss::Svm.of(&[batch], &Targets::Classes(vec![1, 1, 0]));
        assert_close(l.data(), 2.8 / 3.0, 1e-15, "svm over lanes");
    }
    // Squared errors: classes 0 and 1 are -1 and 1: (0.5 + 1)² + (0.5 - 1)²
    // = 2.25 + 0.25, exact in binary.
    let p = leaves(&[0.5, 0.5]);
    let two = Targets::Classes(vec![0, 1]);
    assert_eq!(Loss::SumSquares.of(&p, &two).data(), 2.5);
    assert_eq!(Loss::Mse.of(&p, &two).data(), 1.25);
    // BCE: classes 0 and 1 are 0 and 1: softplus(0) - y·0 = ln 2 each.
    let z = leaves(&[0.0, 0.0]);
    assert_close(Loss::Bce.of(&z, &two).data(), 2f64.ln(), 1e-15, "bce");
    // Softmax: logits (0, ln 3), class 1: -ln(3/4); and over lanes.
    let z = leaves(&[0.0, 3f64.ln()]);
    let one = Targets::Classes(vec![1]);
    let expected = (4.0f64 / 3.0).ln();
    assert_close(
        Loss::SoftmaxCe.of(&z, &one).data(),
        expected,
        1e-15,
        "softmax",
    );
    {
        let _graph = micrograd::Scope::new();
        let lanes = [Value::batch(&[0.0]), Value::batch(&[3f64.ln()])];
        let l = Loss::SoftmaxCe.of(&lanes, &one);
        assert_close(l.data(), expected, 1e-15, "softmax over lanes");
    }
    // Values are read as they are: sum_squares_and_mse_by_hand's 12.38.
    let p = leaves(&[0.3, -1.2, 2.0]);
    let y = Targets::Values(vec![1.0, 0.5, -1.0]);
    assert_close(Loss::SumSquares.of(&p, &y).data(), 12.38, 1e-15, "values");
}

#[test]
#[should_panic(expected = "the svm loss scores two classes, 0 and 1, with one output; not class 2")]
fn a_one_output_loss_refuses_a_third_class() {
    use micrograd::nn::{Loss, loss::Targets};
    Loss::Svm.of(&leaves(&[1.0]), &Targets::Classes(vec![2]));
}

#[test]
#[should_panic(expected = "the softmax loss reads each sample's class, not a number")]
fn softmax_refuses_values() {
    use micrograd::nn::{Loss, loss::Targets};
    Loss::SoftmaxCe.of(&leaves(&[1.0, 2.0]), &Targets::Values(vec![1.0]));
}
