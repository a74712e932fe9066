//! The baseline the engine is measured against: a flat tape of `Vec<f64>`
//! with `u32` operand indices, no handles, no checks, no thread-local, as
//! small as a compiled tape gets. It builds the same graph as the engine's
//! unfused workload, so their times per node compare directly.

#[derive(Clone, Copy)]
pub enum Op {
    Leaf,
    Add(u32, u32),
    Mul(u32, u32),
    Relu(u32),
}

#[derive(Default)]
pub struct FlatTape {
    pub data: Vec<f64>,
    pub grad: Vec<f64>,
    pub ops: Vec<Op>,
}

impl FlatTape {
    #[inline]
    fn push(&mut self, data: f64, op: Op) -> u32 {
        self.data.push(data);
        self.grad.push(0.0);
        self.ops.push(op);
        (self.data.len() - 1) as u32
    }

    pub fn leaf(&mut self, x: f64) -> u32 {
        self.push(x, Op::Leaf)
    }

    pub fn add(&mut self, a: u32, b: u32) -> u32 {
        let x = self.data[a as usize] + self.data[b as usize];
        self.push(x, Op::Add(a, b))
    }

    pub fn mul(&mut self, a: u32, b: u32) -> u32 {
        let x = self.data[a as usize] * self.data[b as usize];
        self.push(x, Op::Mul(a, b))
    }

    pub fn relu(&mut self, a: u32) -> u32 {
        let x = self.data[a as usize].max(0.0);
        self.push(x, Op::Relu(a))
    }

    /// Zeroes every gradient above the leaves at `from`, seeds `root`, and
    /// sweeps back down.
    pub fn backward(&mut self, from: usize, root: u32) {
        self.grad[from..].iter_mut().for_each(|g| *g = 0.0);
        self.grad[root as usize] = 1.0;
        for i in (from..=root as usize).rev() {
            let g = self.grad[i];
            match self.ops[i] {
                Op::Leaf => {}
                Op::Add(a, b) => {
                    self.grad[a as usize] += g;
                    self.grad[b as usize] += g;
                }
                Op::Mul(a, b) => {
                    self.grad[a as usize] += self.data[b as usize] * g;
                    self.grad[b as usize] += self.data[a as usize] * g;
                }
                Op::Relu(a) => {
                    if self.data[i] > 0.0 {
                        self.grad[a as usize] += g;
                    }
                }
            }
        }
    }

    pub fn truncate(&mut self, len: usize) {
        self.data.truncate(len);
        self.grad.truncate(len);
        self.ops.truncate(len);
    }
}
