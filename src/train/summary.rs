//! The run's last JSON line, with `--json`: how it ended, the settings
//! that repeat it, and how its final model scores.

use std::time::Instant;

use micrograd::json::Number;
use micrograd::train::{Settings, Trainer};

/// How a run ended: `"done"`, or `"diverged"` (exit code 3).
#[derive(Clone, Copy, Debug, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Done,
    Diverged,
}

/// The lowest held-out loss seen, and the updates taken before it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Best(Option<(f64, usize)>);

impl Best {
    /// Keeps `loss` after `step` updates if it is lower than the best so
    /// far (the first of equal ones; NaN never).
    pub fn watch(&mut self, loss: Option<f64>, step: usize) {
        if let Some(loss) = loss
            && self.0.is_none_or(|(best, _)| loss < best)
            && !loss.is_nan()
        {
            self.0 = Some((loss, step));
        }
    }
}

/// `{"final": true, "status", "params", "loss", "accuracy", "test_loss",
/// "test_accuracy", "best_test_loss", "best_test_step", "steps",
/// "steps_per_second", "seconds"}`, in that order: the trainer's model
/// scored as it stands, `best` with the final model's held-out loss in
/// it, the steps timed over `training` seconds, and the run since
/// `started`.
pub fn summary_line(
    trainer: &mut Trainer<'_>,
    params: &Settings,
    status: Status,
    mut best: Best,
    training: f64,
    started: Instant,
) -> String {
    #[derive(serde::Serialize)]
    struct Line<'a> {
        r#final: bool,
        status: Status,
        params: &'a Settings,
        loss: Number,
        accuracy: Option<Number>,
        test_loss: Option<Number>,
        test_accuracy: Option<Number>,
        best_test_loss: Option<Number>,
        best_test_step: Option<usize>,
        steps: usize,
        steps_per_second: Number,
        seconds: Number,
    }
    let scores = trainer.scores();
    let steps = trainer.steps_taken();
    best.watch(scores.test_loss, steps);
    let line = Line {
        r#final: true,
        status,
        params,
        loss: Number(scores.loss),
        accuracy: scores.accuracy.map(Number),
        test_loss: scores.test_loss.map(Number),
        test_accuracy: scores.test_accuracy.map(Number),
        best_test_loss: best.0.map(|(loss, _)| Number(loss)),
        best_test_step: best.0.map(|(_, step)| step),
        steps,
        steps_per_second: Number(steps as f64 / training.max(1e-9)),
        seconds: Number(started.elapsed().as_secs_f64()),
    };
    serde_json::to_string(&line).expect("numbers always serialize")
}

#[cfg(test)]
mod tests {
    use super::Best;

    #[test]
    fn the_best_held_out_loss_is_the_first_of_the_lowest() {
        let mut best = Best::default();
        for (step, loss) in [(0, 0.9), (1, f64::NAN), (2, 0.5), (3, 0.5), (4, 0.7)] {
            best.watch(Some(loss), step);
        }
        best.watch(None, 5);
        assert_eq!(best.0, Some((0.5, 2)));
        let mut nan_first = Best::default();
        nan_first.watch(Some(f64::NAN), 0);
        nan_first.watch(Some(2.0), 1);
        assert_eq!(nan_first.0, Some((2.0, 1)));
    }
}
