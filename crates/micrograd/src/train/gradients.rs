//! A step's loss and gradients, two ways: micrograd's graph, point by
//! point, on this thread; or the batch in lanes, chunk by chunk, over the
//! team of threads, the chunks' sums added in chunk order.

use crate::engine::kernels::Arith;
use crate::engine::{self, Scope, Value, tape_len};
use crate::error::{Error, Result};

use super::batched_step;
use super::penalty;
use super::team::Team;
use super::{Scratch, Threads, Trainer};

impl Trainer<'_> {
    /// micrograd's graph of the batch `order[start..]`'s total loss, point
    /// by point; its outputs are left in the scratch's `outputs`, the
    /// targets in its `targets`.
    fn per_point_loss(&mut self, start: usize) -> Value {
        let batch = &self.order[start..];
        self.scratch.outputs.clear();
        for &i in batch {
            let Scratch {
                inputs,
                outputs,
                workspace,
                ..
            } = &mut self.scratch;
            inputs.clear();
            inputs.extend(self.data.x[i].iter().map(|&x| Value::new(x)));
            outputs.extend_from_slice(self.model.forward_with(inputs, workspace));
        }
        let Scratch {
            outputs, targets, ..
        } = &mut self.scratch;
        self.targets.gather_into(batch, targets);
        let data_loss = self.config.loss.of(outputs, targets);
        self.with_penalties(data_loss)
    }

    /// micrograd's step, point by point: the batch `order[start..]`'s
    /// graph, its loss, and the parameters' gradients. Returns the loss,
    /// the accuracy and the graph's size.
    pub(super) fn per_point_gradients(
        &mut self,
        start: usize,
    ) -> Result<(f64, Option<f64>, usize)> {
        let _graph = Scope::new();
        let first_node = tape_len();
        let total = self.per_point_loss(start);
        let loss = self.check(total, start)?;
        let points = self.order.len() - start;
        let accuracy = self.scratch.targets.classes().map(|classes| {
            let width = self.task.outputs();
            let correct = self
                .scratch
                .outputs
                .chunks_exact(width)
                .zip(classes)
                .filter(|&(out, &class)| self.task.is_right(out.iter().map(|v| v.data()), class))
                .count();
            correct as f64 / points as f64
        });
        engine::zero_grads(&self.params);
        total.backward();
        Ok((loss, accuracy, tape_len() - first_node))
    }

    /// The same step over the batch `order[start..]` in lanes, chunk by
    /// chunk, on up to [`thread_count`](super::TrainConfig::thread_count) threads.
    pub(super) fn lanes_gradients(&mut self, start: usize) -> Result<(f64, Option<f64>, usize)> {
        let batch = &self.order[start..];
        let count = batched_step::chunk_count(batch.len());
        let p = self.params.len();
        let threads = &mut self.threads;
        let shares = threads.for_step(batch.len(), count);
        if shares > 1 && threads.team.is_none() {
            let team = Team::new(
                threads.count - 1,
                self.data,
                &self.targets,
                &self.task,
                self.config.loss,
                &threads.blueprint,
                threads.program.clone(),
            )?;
            threads.team = Some(team);
        }
        let Trainer {
            model,
            data,
            targets,
            task,
            config,
            params,
            run,
            threads: Threads { team, program, .. },
            scratch:
                Scratch {
                    lanes,
                    snapshot,
                    fresh,
                    sums,
                    ..
                },
            ..
        } = self;
        // The parameters' numbers, for the helpers' copies of the model and
        // for a replay.
        let replayed = program.is_some();
        if !*fresh && (replayed || (team.is_some() && shares > 1)) {
            super::read_params(params, *run, snapshot);
            *fresh = true;
        }
        let step = batched_step::Step {
            data,
            batch,
            targets,
            loss: config.loss,
            task,
        };
        let sums = sums.sized(count, p);
        let graph = match program {
            Some(program) => batched_step::Graph::Replay {
                program,
                params: snapshot,
            },
            None => batched_step::Graph::Build {
                model,
                params,
                run: *run,
            },
        };
        let mut own = |chunks: std::ops::Range<usize>, sums: batched_step::Sums<'_>| {
            batched_step::run_chunks(&step, graph, lanes, chunks, count, sums);
        };
        match team {
            Some(team) if shares > 1 => team.step(batch, snapshot, (count, shares), own, sums),
            _ => own(0..count, sums),
        }

        // The chunks' sums, in chunk order; then the batch's mean, as
        // micrograd's `sum(losses) * (1.0 / len(losses))`.
        let sum = self
            .scratch
            .sums
            .losses
            .iter()
            .copied()
            .reduce(|a, b| a + b)
            .unwrap_or(0.0);
        let data_loss = match self.config.loss.scale(batch.len()) {
            Some(scale) => sum * scale,
            None => sum,
        };
        let points = batch.len();
        let without_graph = self.penalty_without_graph();
        let sums = &mut self.scratch.sums;
        // The chunks' gradients, added in chunk order.
        let (first, rest) = sums.grads.split_at_mut(p);
        for chunk in rest.chunks_exact(p) {
            for (g, &c) in first.iter_mut().zip(chunk) {
                *g += c;
            }
        }
        let (loss, penalty_nodes) = match without_graph {
            // A replayed step's L2 penalty, without its graph, in one pass
            // over the parameters' numbers read for the replay.
            Some(arith) => {
                let (l2, params) = (self.config.l2, &self.scratch.snapshot);
                let loss = penalty::l2_into(data_loss, l2, params, first, arith);
                if !loss.is_finite() {
                    return Err(self.penalty_diverged(loss, data_loss, start));
                }
                (loss, 0)
            }
            // The penalties' graph; what it gives the parameters, after
            // what the data gave them, into the same row when they are one
            // run of nodes.
            None => {
                let run = self.run;
                let _graph = Scope::new();
                let first_node = tape_len();
                let total = self.with_penalties(Value::new(data_loss));
                let loss = self.check(total, start)?;
                let penalised = self.penalised();
                let first = &mut self.scratch.sums.grads[..p];
                match (run, penalised) {
                    (Some(run), true) => engine::backward_into(total, run, first),
                    (None, true) => {
                        engine::set_grads(&self.params, first);
                        total.backward();
                        engine::read_grads(&self.params, first);
                    }
                    (_, false) => {}
                }
                (loss, tape_len() - first_node)
            }
        };
        let sums = &self.scratch.sums;
        let accuracy = self
            .task
            .is_classification()
            .then(|| sums.right.iter().sum::<usize>() as f64 / points as f64);
        let nodes = sums.nodes.iter().sum::<usize>() + penalty_nodes;
        Ok((loss, accuracy, nodes))
    }

    /// How the step's penalty is added without its graph, if it is: a
    /// replayed step (whose parameters' numbers were read) of parameters
    /// that are one run of nodes, with no L1 penalty.
    pub(super) fn penalty_without_graph(&self) -> Option<Arith> {
        let program = self.threads.program.as_ref()?;
        (self.run.is_some() && self.config.l1 == 0.0).then(|| program.arith())
    }

    /// The total loss with the penalties of `data_loss`, as a step with the
    /// parameters as they stand records it (their numbers in the scratch's
    /// `snapshot` where the penalty goes without its graph).
    pub(super) fn total_loss(&mut self, data_loss: f64) -> f64 {
        match self.penalty_without_graph() {
            Some(arith) => {
                penalty::l2_loss(data_loss, self.config.l2, &self.scratch.snapshot, arith)
            }
            None => {
                let _graph = Scope::new();
                self.with_penalties(Value::new(data_loss)).data()
            }
        }
    }

    /// The error of a step whose total `loss`, worked out without the
    /// penalty's graph, is not a number: where the graph says it stopped
    /// being one, else (the fused sum overflowed where the graph's did not)
    /// the penalty.
    fn penalty_diverged(&mut self, loss: f64, data_loss: f64, start: usize) -> Error {
        // The graph and the search read the model: in a loop, it is written
        // first (the only failure of a loop step that reads it).
        self.settle();
        let _graph = Scope::new();
        let total = self.with_penalties(Value::new(data_loss));
        match self.check(total, start) {
            Err(error) => error,
            Ok(_) => self.diverged(format!(
                "the loss is {loss:?} (first made by the L2 penalty's sum of squares: {})",
                self.likely_cause()
            )),
        }
    }
}
