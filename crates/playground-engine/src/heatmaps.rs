//! What the page draws while training, computed from the weights as plain
//! numbers (no graph, no tape): the decision boundary as a heat map and each
//! neuron's output over the plane, as TensorFlow Playground draws them.
//! Grids are bytes, rows from the top of the plane, so the page copies them
//! into an image as they come.

use crate::protocol::Grid;
use micrograd::nn::Weights;
use micrograd::train::Task;

/// Cells on a side of the decision boundary's heat map (and of an enlarged
/// neuron).
pub const BOUNDARY_SIDE: usize = 50;

/// The most cells all the neurons' small pictures have together: their
/// side shrinks as the network grows.
const NEURON_CELLS: usize = 32_768;

/// The part of the plane drawn: the data's box with a margin of 0.5 on each
/// side, as micrograd's demo plots it, made square so the pictures are not
/// stretched.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plane {
    pub x0: f64,
    pub x1: f64,
    pub y0: f64,
    pub y1: f64,
}

impl Plane {
    /// The plane around `points`, if they have two features each.
    pub fn of(points: &[Vec<f64>]) -> Option<Plane> {
        if points.is_empty() || points.iter().any(|p| p.len() != 2) {
            return None;
        }
        let (mut x0, mut x1, mut y0, mut y1) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        for p in points {
            (x0, x1, y0, y1) = (x0.min(p[0]), x1.max(p[0]), y0.min(p[1]), y1.max(p[1]));
        }
        let half = ((x1 - x0).max(y1 - y0) / 2.0 + 0.5).max(0.5);
        let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
        let plane = Plane {
            x0: cx - half,
            x1: cx + half,
            y0: cy - half,
            y1: cy + half,
        };
        [plane.x0, plane.x1, plane.y0, plane.y1]
            .iter()
            .all(|v| v.is_finite())
            .then_some(plane)
    }

    pub fn extent(&self) -> [f64; 4] {
        [self.x0, self.x1, self.y0, self.y1]
    }

    /// The centre of cell `(row, column)` of a `side` × `side` grid, row 0
    /// at the top.
    pub fn cell(&self, side: usize, row: usize, column: usize) -> [f64; 2] {
        let w = (self.x1 - self.x0) / side as f64;
        let h = (self.y1 - self.y0) / side as f64;
        [
            self.x0 + (column as f64 + 0.5) * w,
            self.y1 - (row as f64 + 0.5) * h,
        ]
    }
}

/// The decision boundary: two bytes a cell, the class the network predicts
/// there (its index among the task's classes) and how sure it is, 0 to 255.
/// Binary: the SVM's margin, `min(|score|, 1)`. Multiclass: the softmax's
/// winning probability, from `1/k` (0) to 1 (255). Regression: class 0 and
/// the output, from the targets' least (0) to their most (255).
/// With it, the enlarged neuron's picture, if there is one.
pub fn boundary(
    weights: &Weights,
    task: &Task,
    targets: (f64, f64),
    plane: &Plane,
    inputs: &dyn Fn(&[f64], &mut Vec<f64>),
    focus: Option<(usize, usize)>,
) -> (Grid, Option<Grid>) {
    let side = BOUNDARY_SIDE;
    let mut cells = Vec::with_capacity(side * side * 2);
    let mut focused = Vec::with_capacity(if focus.is_some() { side * side } else { 0 });
    let mut buffers = [Vec::new(), Vec::new()];
    let mut x = Vec::new();
    let last = weights.layers.len() - 1;
    let mut outputs = Vec::new();
    for row in 0..side {
        for column in 0..side {
            inputs(&plane.cell(side, row, column), &mut x);
            weights.each_layer(&x, &mut buffers, |layer, values| {
                if layer == last {
                    outputs.clear();
                    outputs.extend_from_slice(values);
                }
                if let Some((l, n)) = focus
                    && l == layer
                {
                    focused.push(values.get(n).copied().unwrap_or(0.0));
                }
            });
            cells.extend(cell(task, targets, &outputs));
        }
    }
    let focused = (focus.is_some() && focused.len() == side * side).then(|| Grid {
        side,
        cells: signed_bytes(&focused),
    });
    (Grid { side, cells }, focused)
}

/// A cell's two bytes.
fn cell(task: &Task, (lo, hi): (f64, f64), outputs: &[f64]) -> [u8; 2] {
    let byte = |t: f64| (t.clamp(0.0, 1.0) * 255.0).round() as u8;
    match task {
        Task::Binary { .. } => {
            let score = outputs[0];
            [u8::from(score > 0.0), byte(score.abs().min(1.0))]
        }
        Task::Multiclass { classes } => {
            let k = classes.len().min(outputs.len());
            let outputs = &outputs[..k];
            let (best, top) =
                outputs
                    .iter()
                    .copied()
                    .enumerate()
                    .fold(
                        (0, f64::NEG_INFINITY),
                        |b, (i, v)| if v > b.1 { (i, v) } else { b },
                    );
            // softmax(top) = 1 / Σ exp(o - top)
            let p = 1.0 / outputs.iter().map(|&o| (o - top).exp()).sum::<f64>();
            let chance = 1.0 / k as f64;
            [best as u8, byte((p - chance) / (1.0 - chance))]
        }
        Task::Regression => {
            let t = if hi > lo {
                (outputs[0] - lo) / (hi - lo)
            } else {
                0.5
            };
            [0, byte(t)]
        }
    }
}

/// Every neuron's output over a coarser grid of the plane: per layer, one
/// grid per neuron, one byte a cell (128 is 0; 255 and 1 the neuron's
/// largest output over the plane, positive and negative).
pub fn neurons(
    weights: &Weights,
    plane: &Plane,
    inputs: &dyn Fn(&[f64], &mut Vec<f64>),
) -> Vec<Vec<Grid>> {
    let side = neuron_side(weights.nouts().iter().sum());
    let mut values: Vec<Vec<Vec<f64>>> = weights
        .nouts()
        .iter()
        .map(|&n| vec![Vec::with_capacity(side * side); n])
        .collect();
    let mut buffers = [Vec::new(), Vec::new()];
    let mut x = Vec::new();
    for row in 0..side {
        for column in 0..side {
            inputs(&plane.cell(side, row, column), &mut x);
            weights.each_layer(&x, &mut buffers, |layer, outputs| {
                for (neuron, &v) in values[layer].iter_mut().zip(outputs) {
                    neuron.push(v);
                }
            });
        }
    }
    values
        .iter()
        .map(|layer| {
            layer
                .iter()
                .map(|v| Grid {
                    side,
                    cells: signed_bytes(v),
                })
                .collect()
        })
        .collect()
}

/// Each of the network's inputs (the features) over the plane, as the
/// neurons' pictures: `count` grids.
pub fn inputs(
    count: usize,
    neurons: usize,
    plane: &Plane,
    inputs: &dyn Fn(&[f64], &mut Vec<f64>),
) -> Vec<Grid> {
    let side = neuron_side(neurons + count);
    let mut values = vec![Vec::with_capacity(side * side); count];
    let mut x = Vec::new();
    for row in 0..side {
        for column in 0..side {
            inputs(&plane.cell(side, row, column), &mut x);
            for (input, &v) in values.iter_mut().zip(&x) {
                input.push(v);
            }
        }
    }
    values
        .iter()
        .map(|v| Grid {
            side,
            cells: signed_bytes(v),
        })
        .collect()
}

/// The side of a small picture when there are `count` of them.
fn neuron_side(count: usize) -> usize {
    let side = ((NEURON_CELLS / count.max(1)) as f64).sqrt().floor() as usize;
    side.clamp(6, 24)
}

fn signed_bytes(values: &[f64]) -> Vec<u8> {
    let most = values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0_f64, |m, v| m.max(v.abs()));
    values
        .iter()
        .map(|&v| {
            if most > 0.0 && v.is_finite() {
                (128.0 + 127.0 * v / most).round() as u8
            } else {
                128
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use micrograd::nn::{Activation, LayerWeights};
    use micrograd::train::Classes;

    /// One linear neuron `x - y`: its boundary is the diagonal.
    fn diagonal() -> Weights {
        Weights {
            layers: vec![LayerWeights {
                w: vec![vec![1.0, -1.0]],
                b: vec![0.0],
                activation: Activation::Linear,
            }],
        }
    }

    fn as_is(p: &[f64], x: &mut Vec<f64>) {
        x.clear();
        x.extend_from_slice(p);
    }

    #[test]
    fn the_plane_is_the_datas_square_box_with_half_a_unit_around() {
        let points = [vec![0.0, 0.0], vec![2.0, 1.0]];
        // x spans 2, y spans 1: a square of side 2 + 1 around (1, 0.5).
        let plane = Plane::of(&points).unwrap();
        assert_eq!(plane.extent(), [-0.5, 2.5, -1.0, 2.0]);
        assert_eq!(plane.cell(3, 0, 0), [0.0, 1.5]);
        assert_eq!(plane.cell(3, 2, 2), [2.0, -0.5]);
    }

    #[test]
    fn a_binary_boundary_splits_the_plane_where_the_score_changes_sign() {
        let plane = Plane::of(&[vec![-1.0, -1.0], vec![1.0, 1.0]]).unwrap();
        let task = Task::binary(-1.0, 1.0).unwrap();
        let (grid, focus) = boundary(
            &diagonal(),
            &task,
            (-1.0, 1.0),
            &plane,
            &as_is,
            Some((0, 0)),
        );
        assert_eq!(grid.side, BOUNDARY_SIDE);
        assert!(focus.is_some());
        // Top left (x < y): score x - y < 0, class 0; bottom right, class 1.
        // Both corners are more than 1 from the line: fully sure, 255.
        assert_eq!(cell(&task, (-1.0, 1.0), &[-2.4]), [0, 255]);
        assert_eq!(cell(&task, (-1.0, 1.0), &[0.5]), [1, 128]);
        assert_eq!(grid.cells[..4], [0, 255, 0, 255]);
        // Bottom right: x - y = 2.4 > 0, class 1, sure.
        assert_eq!(grid.cells[grid.cells.len() - 2..], [1, 255]);
    }

    #[test]
    fn a_multiclass_cell_gives_the_winner_and_its_softmax_above_chance() {
        let task = Task::Multiclass {
            classes: Classes::new(vec![0.0, 1.0]).unwrap(),
        };
        // Equal logits: p = 1/2 = chance, 0. Logits (0, ln 4): p = 4/5,
        // 0.6 of the way from 1/2 to 1: 0.6 · 255 = 153.
        assert_eq!(cell(&task, (0.0, 1.0), &[1.0, 1.0]), [0, 0]);
        assert_eq!(cell(&task, (0.0, 1.0), &[0.0, 4f64.ln()]), [1, 153]);
    }

    #[test]
    fn neuron_bytes_scale_by_the_largest_magnitude() {
        assert_eq!(signed_bytes(&[-2.0, 0.0, 1.0, 2.0]), vec![1, 128, 192, 255]);
        assert_eq!(signed_bytes(&[0.0, 0.0]), vec![128, 128]);
    }
}
