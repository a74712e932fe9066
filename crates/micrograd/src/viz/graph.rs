//! micrograd's `draw_dot`: a computation graph as Graphviz DOT, one record
//! node `{ label | data 2.0000 | grad 6.0000 }` per value and one node per
//! operation, left to right. A batch is one record too, its lanes summed
//! up: `{ h | data[100] mean 0.5123 (-1.2000..2.0100) | grad[100] ... }`.

use std::fmt::{self, Write};

use crate::engine::{Op, Value};

/// Which way the graph flows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RankDir {
    /// Left to right (micrograd's default).
    #[default]
    LeftRight,
    /// Top to bottom.
    TopBottom,
}

/// A picture of a computation graph, as of when it was drawn: the values'
/// data and gradients are read then.
///
/// ```
/// use micrograd::{Value, draw_dot};
/// let a = Value::new(2.0).with_label("a");
/// let b = Value::new(-3.0).with_label("b");
/// let e = (a * b).with_label("e");
/// e.backward();
/// let dot = draw_dot(e).to_string();
/// assert!(dot.contains(r#"label="{ e | data -6.0000 | grad 1.0000 }""#));
/// assert!(dot.contains(r#"label="*""#));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    /// Value nodes, each after the nodes it is computed from.
    nodes: Vec<DrawnValue>,
    /// `(from, to)`: value `from` is an operand of the operation that made
    /// value `to`.
    edges: Vec<(usize, usize)>,
    rankdir: RankDir,
    pub(crate) dpi: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
struct DrawnValue {
    label: String,
    data: Numbers,
    grad: Numbers,
    /// The operation that made it (micrograd's `_op`), empty for a leaf.
    op: String,
}

/// A drawn value's numbers: one, or a batch's lanes.
#[derive(Clone, Debug, PartialEq)]
enum Numbers {
    One(f64),
    Lanes(Vec<f64>),
}

impl Numbers {
    fn of(v: Value, data: bool) -> Numbers {
        match (v.is_batch(), data) {
            (false, true) => Numbers::One(v.data()),
            (false, false) => Numbers::One(v.grad()),
            (true, true) => Numbers::Lanes(v.data_lanes()),
            (true, false) => Numbers::Lanes(v.grad_lanes()),
        }
    }

    /// `f(a, b)` lane by lane, a single number broadcast.
    fn zip(&self, other: &Numbers, f: impl Fn(f64, f64) -> f64) -> Numbers {
        match (self, other) {
            (Numbers::One(a), Numbers::One(b)) => Numbers::One(f(*a, *b)),
            (Numbers::One(a), Numbers::Lanes(b)) => {
                Numbers::Lanes(b.iter().map(|&b| f(*a, b)).collect())
            }
            (Numbers::Lanes(a), Numbers::One(b)) => {
                Numbers::Lanes(a.iter().map(|&a| f(a, *b)).collect())
            }
            (Numbers::Lanes(a), Numbers::Lanes(b)) => {
                Numbers::Lanes(a.iter().zip(b).map(|(&a, &b)| f(a, b)).collect())
            }
        }
    }
}

/// micrograd's `data %.4f`, or for a batch its lane count, mean and range:
/// `data[3] mean 2.0000 (1.0000..3.0000)`.
struct Field<'a>(&'a str, &'a Numbers);

impl fmt::Display for Field<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Field(name, numbers) = *self;
        match numbers {
            Numbers::One(x) => write!(f, "{name} {}", Fixed4(*x)),
            Numbers::Lanes(lanes) => {
                let n = lanes.len();
                let mean = lanes.iter().sum::<f64>() / n as f64;
                let min = lanes.iter().copied().fold(f64::INFINITY, f64::min);
                let max = lanes.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                write!(
                    f,
                    "{name}[{n}] mean {} ({}..{})",
                    Fixed4(mean),
                    Fixed4(min),
                    Fixed4(max)
                )
            }
        }
    }
}

/// Draws the graph that produced `root`, as micrograd's `draw_dot(root)`.
///
/// A neuron's `b + Σ wᵢxᵢ`, one node in the engine, is drawn as micrograd
/// builds it: a `*` node per product and a chain of `+` nodes, with the
/// data and gradients those nodes would have. A batch is drawn once, not
/// once per lane: its record gives its lane count and its lanes' mean and
/// range.
///
/// # Panics
///
/// If `root`'s node was freed by the end of a [`Scope`](crate::Scope).
pub fn draw_dot(root: Value) -> Graph {
    draw_dots(&[root])
}

/// Draws the graphs that produced all of `roots` in one picture, each node
/// once: an expression and its gradients ([`Value::gradients`]), say,
/// whose graphs share the expression's nodes.
///
/// ```
/// use micrograd::{Value, viz::draw_dots};
/// let x = Value::new(3.0).with_label("x");
/// let f = (x * x).with_label("f");
/// let df = f.gradients(&[x])[0].with_label("df/dx");
/// let picture = draw_dots(&[f, df]);
/// assert!(picture.to_dot().contains("df/dx"));
/// ```
///
/// # Panics
///
/// If a root's node was freed by the end of a [`Scope`](crate::Scope).
pub fn draw_dots(roots: &[Value]) -> Graph {
    let mut nodes = std::collections::HashSet::new();
    for &root in roots {
        nodes.extend(root.topo());
    }
    // Creation order is a topological order.
    let mut topo: Vec<Value> = nodes.into_iter().collect();
    topo.sort_by_key(|v| v.index);
    let mut graph = Graph {
        nodes: Vec::new(),
        edges: Vec::new(),
        rankdir: RankDir::default(),
        dpi: None,
    };
    let mut drawn_as = std::collections::HashMap::with_capacity(topo.len());
    for v in topo {
        let children: Vec<usize> = v.children().iter().map(|c| drawn_as[c]).collect();
        let op = v.op();
        let id = match op {
            Op::Affine => graph.expand_affine(v, &children),
            Op::SumSquares => graph.expand_sum_squares(v, &children),
            _ => graph.push(
                v.label(),
                Numbers::of(v, true),
                Numbers::of(v, false),
                op.to_string(),
                &children,
            ),
        };
        drawn_as.insert(v, id);
    }
    graph
}

impl Graph {
    fn push(
        &mut self,
        label: String,
        data: Numbers,
        grad: Numbers,
        op: String,
        children: &[usize],
    ) -> usize {
        let id = self.nodes.len();
        self.nodes.push(DrawnValue {
            label,
            data,
            grad,
            op,
        });
        self.edges.extend(children.iter().map(|&c| (c, id)));
        id
    }

    /// micrograd's neuron: `((b + w0*x0) + w1*x1) + ...`. Each product's and
    /// each partial sum's gradient is the affine node's own (a `+` passes
    /// its gradient through unchanged), so the drawn numbers are exactly
    /// micrograd's.
    fn expand_affine(&mut self, v: Value, children: &[usize]) -> usize {
        let n = (children.len() - 1) / 2;
        let (b, w, x) = (children[0], &children[1..=n], &children[n + 1..]);
        let g = Numbers::of(v, false);
        let mut sum = b;
        for i in 0..n {
            let product = self.nodes[w[i]]
                .data
                .zip(&self.nodes[x[i]].data, |w, x| w * x);
            let prod = self.push(
                String::new(),
                product.clone(),
                g.clone(),
                "*".into(),
                &[w[i], x[i]],
            );
            sum = if i + 1 == n {
                self.push(
                    v.label(),
                    Numbers::of(v, true),
                    g.clone(),
                    "+".into(),
                    &[sum, prod],
                )
            } else {
                let partial = self.nodes[sum].data.zip(&product, |s, p| s + p);
                self.push(String::new(), partial, g.clone(), "+".into(), &[sum, prod])
            };
        }
        if n == 0 {
            sum = self.push(v.label(), Numbers::of(v, true), g, "+".into(), &[b]);
        }
        sum
    }

    /// micrograd's `sum((p*p for p in params))`: a `*` node per square (each
    /// with the sum's gradient, as `+` passes it on), then the `+` node.
    fn expand_sum_squares(&mut self, v: Value, children: &[usize]) -> usize {
        let g = Numbers::of(v, false);
        let squares: Vec<usize> = children
            .iter()
            .map(|&c| {
                let square = self.nodes[c].data.zip(&self.nodes[c].data, |x, y| x * y);
                self.push(String::new(), square, g.clone(), "*".into(), &[c, c])
            })
            .collect();
        self.push(v.label(), Numbers::of(v, true), g, "+".into(), &squares)
    }

    /// Sets which way the graph flows (default left to right).
    #[must_use]
    pub fn rankdir(mut self, rankdir: RankDir) -> Graph {
        self.rankdir = rankdir;
        self
    }

    /// Sets the resolution of PNG output, in dots per inch (default 96, as
    /// Graphviz; large graphs are reduced to about 10,000 pixels).
    ///
    /// # Panics
    ///
    /// If `dpi` is not a positive finite number.
    #[must_use]
    pub fn dpi(mut self, dpi: f64) -> Graph {
        assert!(
            dpi > 0.0 && dpi.is_finite(),
            "micrograd: the resolution must be a positive number of dots per inch, not {dpi}"
        );
        self.dpi = Some(dpi);
        self
    }

    /// The number of value nodes drawn.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether nothing is drawn (never: a graph has at least its root).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// How much work laying the graph out is for Graphviz's `dot`: its
    /// nodes (values and operations), plus the nodes `dot` adds to every
    /// edge that spans several ranks, one per rank crossed. A value used
    /// by many operations far apart (`x + x + ... + x`) crosses many ranks:
    /// 100 uses of one variable are some 10,000 such nodes.
    pub fn layout_size(&self) -> usize {
        // Ranks as `dot` assigns them: a leaf at 0, an operation one past
        // its latest operand, its value one past it. Nodes come after
        // their operands.
        let mut rank = vec![0usize; self.nodes.len()];
        let mut op_rank = vec![0usize; self.nodes.len()];
        for &(from, to) in &self.edges {
            op_rank[to] = op_rank[to].max(rank[from] + 1);
            rank[to] = op_rank[to] + 1;
        }
        let crossed: usize = self
            .edges
            .iter()
            .map(|&(from, to)| op_rank[to] - rank[from] - 1)
            .sum();
        self.dot_nodes() + crossed
    }

    /// The nodes of the DOT: one per value and one per operation.
    pub(crate) fn dot_nodes(&self) -> usize {
        self.nodes.len() + self.nodes.iter().filter(|n| !n.op.is_empty()).count()
    }

    /// The graph in Graphviz's DOT language.
    pub fn to_dot(&self) -> String {
        self.to_string()
    }

    #[cfg(feature = "viz")]
    pub(crate) fn dot_with(&self, extra_graph_attrs: &str) -> String {
        let mut out = String::new();
        self.write_dot(&mut out, extra_graph_attrs)
            .expect("writing to a String cannot fail");
        out
    }

    fn write_dot(&self, out: &mut impl Write, extra: &str) -> fmt::Result {
        let rankdir = match self.rankdir {
            RankDir::LeftRight => "LR",
            RankDir::TopBottom => "TB",
        };
        writeln!(out, "digraph {{")?;
        writeln!(out, "  graph [rankdir={rankdir}{extra}]")?;
        for (i, n) in self.nodes.iter().enumerate() {
            // micrograd: "{ %s | data %.4f | grad %.4f }" % (n.label, n.data, n.grad)
            writeln!(
                out,
                "  v{i} [label=\"{{ {} | {} | {} }}\", shape=record]",
                escape_record(&n.label),
                Field("data", &n.data),
                Field("grad", &n.grad)
            )?;
            if !n.op.is_empty() {
                writeln!(out, "  v{i}op [label=\"{}\"]", escape_record(&n.op))?;
                writeln!(out, "  v{i}op -> v{i}")?;
            }
        }
        for &(from, to) in &self.edges {
            writeln!(out, "  v{from} -> v{to}op")?;
        }
        writeln!(out, "}}")
    }
}

impl fmt::Display for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_dot(f, "")
    }
}

/// Python's `"%.4f" % x`: `nan`, `inf`, `-inf` spelled as Python spells them.
struct Fixed4(f64);

impl fmt::Display for Fixed4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_nan() {
            f.write_str("nan")
        } else {
            write!(f, "{:.4}", self.0)
        }
    }
}

/// Escapes what a record label and a DOT string treat specially.
fn escape_record(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '{' | '}' | '|' | '<' | '>' | '"' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            '\n' => out.push_str("\\n"),
            _ => out.push(ch),
        }
    }
    out
}
