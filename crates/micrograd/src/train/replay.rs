//! A training step recorded once and replayed: JAX's `jit` for the
//! trainer.
//!
//! Every step of a trainer builds the same graph: the same layers over a
//! batch of the same size, the same loss. A [`Program`] is that graph's
//! shape, taken once from the model's structure and the loss; a
//! [`Replay`] runs it on a thread's own buffers, chunk by chunk, with the
//! step's parameters and points: no nodes, no handles, no allocation after
//! the first step. Each layer is its kernels (`engine::kernels`) and its
//! activation, each loss its few lane operations, in the order the graph's
//! forward and backward sweep run them and through the same rules
//! (`engine::rules`), so every number (each lane's activations and loss
//! term, each chunk's sums and gradients) is the bits the built graph
//! gives. The tests compare them, step after step.
//!
//! The softmax cross-entropy's graph reads its logits while it is built
//! (each lane's largest logit, a constant of the graph); the program
//! computes that constant each step, as the graph's builder does. What is
//! not replayed falls back to building the graph every step: a model whose
//! neurons within a layer differ (in inputs or activation). See
//! [`Trainer::replays`](super::Trainer::replays).

use crate::engine::kernels::{self, Arith, Epilogue, GradsOut, Rows, Weights};
use crate::engine::rules::{self, Apply, Functions, Local, Unary};
use crate::nn::loss::{self, Sign, Targets};
use crate::nn::{Activation, Loss};

use super::batched_step::{Blueprint, Step};

/// Lanes per row, padded to a multiple of this, so that the kernels work
/// in whole vectors (four or eight lanes); padding lanes never reach a
/// real one. Eight rather than the lane slab's sixteen: a chunk of 100
/// points computes 104 lanes, not 112 (the demo's step 4% faster, measured
/// pinned at 100 points from 16 to 128 wide).
const PAD: usize = 8;

/// A step's shape: its layers and its loss.
#[derive(Clone, Debug)]
pub(crate) struct Program {
    layers: Vec<Plan>,
    loss: Loss,
    params: usize,
    /// How the layer products multiply and add.
    arith: Arith,
}

/// One layer: `j` neurons over `k` inputs, one activation.
#[derive(Clone, Copy, Debug)]
struct Plan {
    j: usize,
    k: usize,
    activation: Activation,
    /// Its first parameter, in `parameters()` order.
    first: usize,
}

impl Program {
    /// The program of a step of `blueprint`'s model under `loss`, or `None`
    /// where the step is built instead (see the module doc).
    pub(crate) fn of(blueprint: &Blueprint, loss: Loss, arith: Arith) -> Option<Program> {
        let mut layers = Vec::new();
        let mut first = 0;
        for neurons in blueprint.layers() {
            let &(k, activation) = neurons.first()?;
            if neurons.iter().any(|&n| n != (k, activation)) {
                return None;
            }
            let j = neurons.len();
            layers.push(Plan {
                j,
                k,
                activation,
                first,
            });
            first += j * (k + 1);
        }
        // Every loss but the softmax's scores one output.
        if loss != Loss::SoftmaxCe && layers.last()?.j != 1 {
            return None;
        }
        Some(Program {
            layers,
            loss,
            params: first,
            arith,
        })
    }

    /// How many parameters the model has.
    pub(crate) fn params(&self) -> usize {
        self.params
    }

    /// How the layer products multiply and add.
    pub(crate) fn arith(&self) -> Arith {
        self.arith
    }
}

/// A thread's buffers for replaying a program, kept from step to step.
#[derive(Default)]
pub(crate) struct Replay {
    /// The rows of each layer's inputs (`acts[0]`, the points) and outputs
    /// (`acts[l + 1]`), `stride` apart.
    acts: Vec<Vec<f64>>,
    /// Where each row of `acts[l]` starts.
    starts: Vec<Vec<usize>>,
    stride: usize,
    /// What a layer's outputs receive, and what its inputs do.
    g: Vec<f64>,
    dx: Vec<f64>,
    transposed: Vec<f64>,
    /// The chunk's targets, as the loss reads them.
    targets: Targets,
    y: Vec<f64>,
    /// Whose points `acts[0]` and `targets` hold: the data's and the
    /// targets' addresses (`None` when they hold none), and the batch, as a
    /// full batch's steps (or a held-out set's) give them every time. The
    /// batch's buffer is kept when the rows are laid out again: no
    /// allocation after the first step.
    gathered: Option<(usize, usize)>,
    gathered_batch: Vec<usize>,
    /// The loss `y` holds the targets' numbers for, if they are the
    /// gathered points'.
    y_of: Option<Loss>,
}

impl Replay {
    /// One chunk: the points `batch` of `step` through the program with
    /// the parameters `params` (`parameters()` order, read where they lie).
    /// Returns the sum of their loss terms and how many of them the outputs
    /// classify right, and writes d(loss)/d(parameter) from them (the
    /// batch's scale included) to `grads`: the bits of the chunk's built
    /// graph.
    pub(crate) fn chunk(
        &mut self,
        program: &Program,
        params: &[f64],
        step: &Step<'_>,
        batch: &[usize],
        grads: &mut [f64],
    ) -> (f64, usize) {
        let n = batch.len();
        self.lay_out(program, n);
        self.gather(step, batch);
        self.forward(program, params, n);
        let sum = self.loss(program, step, n);
        let right = self.right(step, n);
        self.backward(program, params, n, grads);
        (sum, right)
    }

    /// The chunk's loss and how many points it classifies right, forward
    /// only: [`chunk`](Replay::chunk) without the gradients.
    pub(crate) fn measure(
        &mut self,
        program: &Program,
        params: &[f64],
        step: &Step<'_>,
        batch: &[usize],
    ) -> (f64, usize) {
        let n = batch.len();
        self.lay_out(program, n);
        self.gather(step, batch);
        self.forward(program, params, n);
        (self.loss(program, step, n), self.right(step, n))
    }

    /// Sizes the rows for `n` lanes.
    fn lay_out(&mut self, program: &Program, n: usize) {
        let stride = n.next_multiple_of(PAD).max(PAD);
        let layers = program.layers.len();
        self.acts.resize_with(layers + 1, Vec::new);
        self.starts.resize_with(layers, Vec::new);
        if stride == self.stride && self.starts.iter().all(|s| !s.is_empty()) {
            return;
        }
        self.stride = stride;
        self.gathered = None;
        for (l, plan) in program.layers.iter().enumerate() {
            // Zeros in the padding: its lanes stay finite, and never reach a
            // real lane.
            self.acts[l].clear();
            self.acts[l].resize(plan.k * stride, 0.0);
            self.starts[l].clear();
            self.starts[l].extend((0..plan.k).map(|k| k * stride));
        }
        let last = program.layers.last().map_or(0, |p| p.j);
        self.acts[layers].clear();
        self.acts[layers].resize(last * stride, 0.0);
    }

    /// The points `batch` of `step`: their inputs into the rows of
    /// `acts[0]`, their targets as the loss reads them. A full batch's
    /// points (and a held-out set's) are the same every step (a dataset is
    /// not changed while a trainer borrows it): then they are already
    /// there.
    fn gather(&mut self, step: &Step<'_>, batch: &[usize]) {
        // Whose: the data's and the targets' addresses.
        let whose = (
            std::ptr::from_ref(step.data) as usize,
            std::ptr::from_ref(step.targets) as usize,
        );
        if self.gathered == Some(whose) && self.gathered_batch == batch {
            return;
        }
        for (k, row) in self.acts[0].chunks_exact_mut(self.stride).enumerate() {
            for (lane, &i) in row.iter_mut().zip(batch) {
                *lane = step.data.x[i][k];
            }
        }
        step.targets.gather_into(batch, &mut self.targets);
        self.y_of = None;
        self.gathered = Some(whose);
        self.gathered_batch.clear();
        self.gathered_batch.extend_from_slice(batch);
    }

    /// Each layer's outputs, lane by lane: `Dense`'s kernel, then the
    /// activation's rule.
    fn forward(&mut self, program: &Program, params: &[f64], n: usize) {
        let stride = self.stride;
        for (l, plan) in program.layers.iter().enumerate() {
            let (below, above) = self.acts.split_at_mut(l + 1);
            let x = Rows {
                slab: &below[l],
                starts: &self.starts[l],
                width: stride,
            };
            let out = &mut above[0][..plan.j * stride];
            // A ReLU in the product's epilogue: the layer's output is
            // written once.
            let (epilogue, op) = match unary(plan.activation) {
                Some(Unary::Relu) => (Epilogue::Relu, None),
                op => (Epilogue::None, op),
            };
            let weights = Weights::interleaved(&params[plan.first..], plan.j, plan.k);
            kernels::dense_forward(weights, x, out, epilogue, program.arith);
            if let Some(op) = op {
                for row in out.chunks_exact_mut(stride) {
                    for z in &mut row[..n] {
                        *z = z.apply(op);
                    }
                }
            }
        }
    }

    /// The loss terms of the chunk's lanes, summed in lane order from 0;
    /// leaves in `g` what the output's lanes receive from the loss (times
    /// the batch's scale, as the root's `sum * scale` gives it).
    fn loss(&mut self, program: &Program, step: &Step<'_>, n: usize) -> f64 {
        if program.loss == Loss::SoftmaxCe {
            return self.softmax_loss(program, step, n);
        }
        let scores = &self.acts[program.layers.len()][..n];
        let sign = match program.loss {
            Loss::Bce => Sign::Kept,
            _ => Sign::Negated,
        };
        // The targets' numbers, once for the points gathered.
        if self.y_of != Some(program.loss) {
            loss::target_numbers(program.loss, self.targets.read(), sign, &mut self.y);
            self.y_of = Some(program.loss);
        }
        let y = &self.y[..n];
        // `root = sum * scale`: the sum receives `scale · 1` (the `*` rule).
        let g_sum = match program.loss.scale(step.batch.len()) {
            Some(scale) => rules::times(scale, 1.0),
            None => 1.0,
        };
        // The padding's lanes receive 0; the loss writes every real one.
        let g = room(&mut self.g, self.stride);
        g[n..].fill(0.0);
        let g = &mut g[..n];
        let mut sum = 0.0;
        match program.loss {
            // `(score * -y + 1).relu()`
            Loss::Svm => {
                for ((&s, &neg_y), g) in scores.iter().zip(y).zip(g) {
                    let t = s * neg_y;
                    let u = t + 1.0;
                    let h = u.apply(Unary::Relu);
                    sum += h;
                    let g_u = grad(Unary::Relu, u, h, g_sum);
                    // `+` passes it on; `*` gives the score the other factor.
                    *g = rules::times(neg_y, g_u);
                }
            }
            // `(pred + -y) ** 2`
            Loss::Mse | Loss::SumSquares => {
                for ((&s, &neg_y), g) in scores.iter().zip(y).zip(g) {
                    let d = s + neg_y;
                    let e = rules::powf::<f64, _>(2.0, Value(d));
                    sum += e;
                    *g = rules::powf(
                        2.0,
                        Local {
                            x: d,
                            out: e,
                            g: g_sum,
                        },
                    );
                }
            }
            // `z.softplus() - z * y`, i.e. `softplus(z) + (z * y) * -1`.
            Loss::Bce => {
                for ((&z, &y), g) in scores.iter().zip(y).zip(g) {
                    let sp = z.apply(Unary::Softplus);
                    let zy = z * y;
                    // The graph's `* -1` node, as it computes it.
                    #[allow(clippy::neg_multiply)]
                    let neg = zy * -1.0;
                    sum += sp + neg;
                    // Backward from the last node: `+` gives both terms
                    // `g_sum`; `* -1`, then `* y`, reach z first, then the
                    // softplus adds its share.
                    let g_zy = rules::times(-1.0, g_sum);
                    let from_product = rules::times(y, g_zy);
                    *g = from_product + grad(Unary::Softplus, z, sp, g_sum);
                }
            }
            Loss::SoftmaxCe => unreachable!("the softmax cross-entropy has its own lanes"),
        }
        sum
    }

    /// [`loss`](Replay::loss) for the softmax cross-entropy over `k`
    /// outputs: `ln Σⱼ e^(zⱼ - max) + max - z[class]` lane by lane, with the
    /// graph's nodes: `max` and `-max` constants, `z[class]` as `Σⱼ zⱼ·[j =
    /// class]` from 0, `Σⱼ e^(zⱼ + -max)` from 0, then `(ln + max) + picked
    /// · -1`. Backward from the last node, each logit receives first from
    /// its `exp` (made after the class's pick), then from the pick.
    fn softmax_loss(&mut self, program: &Program, step: &Step<'_>, n: usize) -> f64 {
        let stride = self.stride;
        let k = program.layers.last().map_or(0, |p| p.j);
        let logits = &self.acts[program.layers.len()][..k * stride];
        let classes = match self.targets.read() {
            loss::Read::Classes(classes) => classes,
            loss::Read::Values(_) => unreachable!("a softmax's targets are classes"),
        };
        let g_sum = match program.loss.scale(step.batch.len()) {
            Some(scale) => rules::times(scale, 1.0),
            None => 1.0,
        };
        // The padding's lanes receive 0; the loop below writes every real
        // one.
        for row in room(&mut self.g, k * stride).chunks_exact_mut(stride) {
            row[n..].fill(0.0);
        }
        let mut sum = 0.0;
        for (lane, &class) in classes.iter().enumerate().take(n) {
            let z = |j: usize| logits[j * stride + lane];
            let max = (0..k).fold(f64::NEG_INFINITY, |m, j| m.max(z(j)));
            let neg_max = -max;
            let hot = |j: usize| f64::from(u8::from(class == j));
            let picked = (0..k).fold(0.0, |p, j| p + z(j) * hot(j));
            let sum_exp = (0..k).fold(0.0, |s, j| s + (z(j) + neg_max).apply(Unary::Exp));
            let ln = sum_exp.apply(Unary::Ln);
            #[allow(clippy::neg_multiply)]
            let term = (ln + max) + picked * -1.0;
            sum += term;
            // `+` passes g_sum to `ln + max` and to `picked · -1`.
            let g_picked = rules::times(-1.0, g_sum);
            let g_sum_exp = grad(Unary::Ln, sum_exp, ln, g_sum);
            for j in 0..k {
                let shifted = z(j) + neg_max;
                let e = shifted.apply(Unary::Exp);
                let from_exp = grad(Unary::Exp, shifted, e, g_sum_exp);
                self.g[j * stride + lane] = from_exp + rules::times(hot(j), g_picked);
            }
        }
        sum
    }

    /// How many of the chunk's `n` points the outputs classify right; 0
    /// for a regression.
    fn right(&self, step: &Step<'_>, n: usize) -> usize {
        let Some(classes) = self.targets.classes() else {
            return 0;
        };
        let outputs = &self.acts[self.acts.len() - 1];
        let k = outputs.len() / self.stride;
        (0..n)
            .filter(|&lane| {
                let point = (0..k).map(|j| outputs[j * self.stride + lane]);
                step.task.is_right(point, classes[lane])
            })
            .count()
    }

    /// The sweep back from the loss: each layer's activation's rule, then
    /// its kernels; the weights' and biases' gradients into `grads`. A
    /// ReLU below a layer is that layer's input gradients' mask, applied
    /// as they are stored.
    fn backward(&mut self, program: &Program, params: &[f64], n: usize, grads: &mut [f64]) {
        let stride = self.stride;
        let arith = program.arith;
        // Whether `g` already went through the layer's activation.
        let mut masked = false;
        for (l, plan) in program.layers.iter().enumerate().rev() {
            let out = &self.acts[l + 1][..plan.j * stride];
            if let Some(op) = unary(plan.activation).filter(|_| !masked) {
                for (g_row, out_row) in self
                    .g
                    .chunks_exact_mut(stride)
                    .zip(out.chunks_exact(stride))
                {
                    for (g, &out) in g_row[..n].iter_mut().zip(&out_row[..n]) {
                        // The activations read their output only.
                        *g = grad(op, out, out, *g);
                    }
                }
            }
            let x = Rows {
                slab: &self.acts[l],
                starts: &self.starts[l],
                width: stride,
            };
            let g = &self.g[..plan.j * stride];
            // Straight into the gradient row, neuron by neuron.
            let out = GradsOut::interleaved(&mut grads[plan.first..], plan.j, plan.k);
            kernels::dense_weight_grads(g, x, n, out, &mut self.transposed, arith);
            if l > 0 {
                let dx = room(&mut self.dx, plan.k * stride);
                let below = program.layers[l - 1].activation;
                masked = below == Activation::Relu;
                let mask = masked.then_some(x);
                let weights = Weights::interleaved(&params[plan.first..], plan.j, plan.k);
                kernels::dense_input_grads(weights, g, stride, dx, mask, arith);
                std::mem::swap(&mut self.g, &mut self.dx);
            }
        }
    }
}

/// The first `len` numbers of `buffer`, grown to hold them: the kernels
/// (and the losses) write every one, so a buffer kept from layer to layer
/// (of other sizes) is not cleared, only grown; and never shrunk, so that
/// buffers that trade places (`g` and `dx`) stop growing after the first
/// step.
fn room(buffer: &mut Vec<f64>, len: usize) -> &mut [f64] {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    &mut buffer[..len]
}

/// The elementwise op of an activation; `None` for none.
fn unary(activation: Activation) -> Option<Unary> {
    match activation {
        Activation::Linear => None,
        Activation::Relu => Some(Unary::Relu),
        Activation::Tanh => Some(Unary::Tanh),
        Activation::Sigmoid => Some(Unary::Sigmoid),
    }
}

/// What `op`'s operand `x` receives, given its output and gradient.
fn grad(op: Unary, x: f64, out: f64, g: f64) -> f64 {
    rules::unary(op, Local { x, out, g })
}

/// A rule's value of one number.
struct Value(f64);

impl Apply<f64> for Value {
    type Out = f64;
    #[inline(always)]
    fn rule(self, value: impl Fn(f64) -> f64, _: impl Fn(f64, f64, f64) -> f64) -> f64 {
        value(self.0)
    }
}
