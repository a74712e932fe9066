//! A run's step records for its training curves, kept to a bound however
//! long the run: every step at first, then every second, fourth, ... as
//! the records fill up, evenly spaced over the whole run, with its latest
//! step always there.

use super::StepRecord;

/// Step records thinned to at most a given number: the steps kept are the
/// multiples of a stride that doubles each time the records fill up.
///
/// ```
/// use micrograd::train::{History, StepRecord};
/// let mut history = History::new(4);
/// for step in 0..10 {
///     history.push(StepRecord {
///         step, loss: 1.0, accuracy: None, test_loss: None, test_accuracy: None, lr: 0.1, nodes: 0,
///     });
/// }
/// // Full at steps 0-3: every other kept; full again at 0, 2, 4, 6: every
/// // fourth; and the latest.
/// let steps: Vec<usize> = history.records().iter().map(|r| r.step).collect();
/// assert_eq!(steps, [0, 4, 8, 9]);
/// ```
#[derive(Clone, Debug)]
pub struct History {
    kept: Vec<StepRecord>,
    every: usize,
    most: usize,
    last: Option<StepRecord>,
}

impl History {
    /// An empty history of at most `most` records (and the latest).
    ///
    /// # Panics
    ///
    /// If `most` is less than 2.
    pub fn new(most: usize) -> History {
        assert!(most >= 2, "micrograd: a history keeps 2 records or more");
        History {
            kept: Vec::new(),
            every: 1,
            most,
            last: None,
        }
    }

    /// Adds the record of the next step.
    pub fn push(&mut self, record: StepRecord) {
        self.last = Some(record);
        if record.step % self.every != 0 {
            return;
        }
        self.kept.push(record);
        if self.kept.len() >= self.most {
            self.every *= 2;
            let every = self.every;
            self.kept.retain(|r| r.step % every == 0);
        }
    }

    /// The records kept, in step order, the latest step's last.
    pub fn records(&self) -> Vec<StepRecord> {
        let mut records = self.kept.clone();
        if let Some(last) = self.last
            && records.last().map(|r| r.step) != Some(last.step)
        {
            records.push(last);
        }
        records
    }

    /// The latest step's record.
    pub fn last(&self) -> Option<StepRecord> {
        self.last
    }

    /// The stride between the steps kept.
    pub fn every(&self) -> usize {
        self.every
    }
}
