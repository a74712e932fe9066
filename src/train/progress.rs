//! What a run prints while it trains: each step's line (micrograd's, or
//! JSON), the progress bar, and the watch for a loss that diverges.

use indicatif::{ProgressBar, ProgressStyle};
use micrograd::json::Number;
use micrograd::train::StepRecord;

/// A progress bar of `steps` steps, for a terminal.
pub fn bar(steps: usize) -> ProgressBar {
    let bar = ProgressBar::new(steps as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {msg}")
            .expect("a valid template")
            .progress_chars("━╸ "),
    );
    bar
}

/// Watches the losses for a run that diverged without overflowing: the
/// largest loss, if it passed a thousand times the first.
#[derive(Default)]
pub struct Divergence {
    first: Option<f64>,
    worst: Option<(usize, f64)>,
}

impl Divergence {
    pub fn watch(&mut self, record: &StepRecord) {
        let first = *self.first.get_or_insert(record.loss);
        let worst = self.worst.map_or(first, |(_, loss)| loss);
        if first > 0.0 && record.loss > 1000.0 * first && record.loss > worst {
            self.worst = Some((record.step, record.loss));
        }
    }

    pub fn warning(&self) -> Option<String> {
        let (first, (step, worst)) = (self.first?, self.worst?);
        Some(format!(
            "the loss grew from {first:.4} at step 0 to {worst:.4e} at step {step}: \
             the training diverged; try a smaller --lr"
        ))
    }
}

/// A number in a few characters for the progress bar: `0.012346`,
/// `1.2346e5`, `5.9459e255`, so that a loss that diverges does not wrap
/// the bar over lines.
pub fn short(x: f64) -> String {
    if x != 0.0 && x.is_finite() && !(1e-4..1e4).contains(&x.abs()) {
        format!("{x:.4e}")
    } else {
        format!("{x:.6}")
    }
}

/// micrograd's demo prints `step 0 loss 0.8958441028683222, accuracy 50.0%`
/// (the loss to the last digit, the accuracy to one decimal); then, with
/// held-out points, `, test loss 0.91, test accuracy 48.0%`.
pub fn micrograd_line(r: &StepRecord) -> String {
    let mut line = format!("step {} loss {:?}", r.step, r.loss);
    if let Some(a) = r.accuracy {
        line += &format!(", accuracy {:.1}%", a * 100.0);
    }
    if let Some(loss) = r.test_loss {
        line += &format!(", test loss {loss:?}");
    }
    if let Some(a) = r.test_accuracy {
        line += &format!(", test accuracy {:.1}%", a * 100.0);
    }
    line
}

/// `{"step": k, "loss": ..., "accuracy": ..., "test_loss": ...,
/// "test_accuracy": ..., "lr": ...}`, in that order.
pub fn json_line(r: &StepRecord) -> String {
    #[derive(serde::Serialize)]
    struct Line {
        step: usize,
        loss: Number,
        accuracy: Option<Number>,
        test_loss: Option<Number>,
        test_accuracy: Option<Number>,
        lr: Number,
    }
    let line = Line {
        step: r.step,
        loss: Number(r.loss),
        accuracy: r.accuracy.map(Number),
        test_loss: r.test_loss.map(Number),
        test_accuracy: r.test_accuracy.map(Number),
        lr: Number(r.lr),
    };
    serde_json::to_string(&line).expect("numbers always serialize")
}

#[cfg(test)]
mod tests {
    use super::short;

    #[test]
    fn the_progress_bars_numbers_are_short_at_any_size() {
        // A diverging loss printed with `{:.6}` took 262 characters.
        assert_eq!(short(5.945869932681609e255), "5.9459e255");
        assert_eq!(short(12_345.678), "1.2346e4");
        assert_eq!(short(0.012_345_678), "0.012346");
        assert_eq!(short(0.000_012_345), "1.2345e-5");
        assert_eq!(short(0.0), "0.000000");
        assert_eq!(short(f64::INFINITY), "inf");
    }
}
