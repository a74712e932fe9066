//! `micrograd grad EXPR NAME=VALUE...`: evaluate an expression,
//! backpropagate, print the value and every derivative.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use micrograd::json::Number;
use micrograd::viz::draw_dots;
use micrograd::{Value, draw_dot, expr};

use crate::usage::usage;

#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("picture").multiple(false))]
pub struct GradArgs {
    // The help lists the parser's functions.
    #[arg(value_name = "EXPR", allow_hyphen_values = true, help = expr_help())]
    pub expr: String,
    /// The variables' values
    #[arg(value_name = "NAME=VALUE", value_parser = binding, allow_negative_numbers = true)]
    pub bindings: Vec<(String, f64)>,
    /// Print exactly {"value": v, "grads": {"x": dx, ...}, "not_finite": null} (with --hessian,
    /// "hessian" after "grads"); a number that is not finite is the string "NaN", "Infinity" or
    /// "-Infinity", and "not_finite" names the op that first made one
    #[arg(long)]
    pub json: bool,
    /// Also print the Hessian: the second derivative d²/dy dx (d/dy of d/dx) of every pair of
    /// names, 0 for a name not used. With --json: "hessian": {"x": {"x": d²/dx², "y": d²/dy dx,
    /// ...}, ...}. With --png, --svg or --dot: the picture holds the gradients' graphs too
    #[arg(long)]
    pub hessian: bool,
    /// Draw the expression's graph as PNG to FILE
    #[arg(long, value_name = "FILE", group = "picture")]
    pub png: Option<PathBuf>,
    /// Draw the expression's graph as SVG to FILE
    #[arg(long, value_name = "FILE", group = "picture")]
    pub svg: Option<PathBuf>,
    /// Write the expression's graph as Graphviz DOT to FILE
    #[arg(long, value_name = "FILE", group = "picture")]
    pub dot: Option<PathBuf>,
}

/// What `EXPR` may hold.
fn expr_help() -> String {
    let functions: Vec<String> = expr::Function::all().map(expr::Function::name).collect();
    format!(
        "The expression: numbers, names, + - * / ** ^, parentheses, {}",
        functions.join(" ")
    )
}

fn binding(s: &str) -> Result<(String, f64), String> {
    let Some((name, value)) = s.split_once('=') else {
        return Err("expected NAME=VALUE, like x=2.5".into());
    };
    let name = name.trim();
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!("`{name}` is not a variable name"));
    }
    match value.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok((name.to_owned(), v)),
        _ => Err(format!("`{}` is not a finite number", value.trim())),
    }
}

/// The most names `--hessian` takes: as many as an expression of
/// [`expr::MAX_TOKENS`] tokens can use (`a+b+...`), a Hessian of a million
/// numbers. Past it, names given but not used would make the output grow as
/// their square.
const MAX_HESSIAN_NAMES: usize = expr::MAX_TOKENS / 2;

pub fn run(args: &GradArgs) -> Result<()> {
    let mut out = crate::output::stdout();
    let picture = args
        .png
        .as_ref()
        .or(args.svg.as_ref())
        .or(args.dot.as_ref());
    if let Some(path) = picture {
        micrograd::whole_file::check_writable(path).context("cannot write the graph")?;
    }
    let parsed = match expr::parse(&args.expr) {
        Ok(parsed) => parsed,
        Err(e) => return usage(e.to_string()),
    };
    if args.hessian && args.bindings.len() > MAX_HESSIAN_NAMES {
        return usage(format!(
            "--hessian takes at most {MAX_HESSIAN_NAMES} names, as many as an expression can use \
             (given: {}); its Hessian has a number for every pair",
            args.bindings.len()
        ));
    }
    let warn_unused = || {
        let used = parsed.variables();
        for (name, _) in &args.bindings {
            if !used.contains(&name.as_str()) {
                eprintln!("micrograd: warning: `{name}` is given but not used");
            }
        }
    };
    let evaluation = match parsed.evaluate(&args.bindings) {
        Ok(evaluation) => evaluation,
        Err(expr::EvaluateError::Missing(name)) => {
            warn_unused();
            return usage(format!("no value for `{name}`: add {name}=VALUE"));
        }
        Err(e) => return usage(e.to_string()),
    };
    warn_unused();
    let root = evaluation.root;
    // Say which op first left the real numbers; the numbers are printed
    // all the same.
    let not_finite = evaluation.not_finite.map(|anomaly| anomaly.to_string());
    if let Some(anomaly) = &not_finite {
        eprintln!("micrograd: warning: not finite: {anomaly}");
    }
    let hessian = args
        .hessian
        .then(|| Hessian::of(root, &evaluation.inputs, &parsed.variables()));
    if let Some(hessian) = &hessian {
        // The first derivatives were finite, a second is not (x**1.5 at 0).
        if let (None, Some((i, j))) = (&not_finite, hessian.first_not_finite()) {
            eprintln!(
                "micrograd: warning: not finite: the Hessian's {} is {:?}",
                second_derivative(&evaluation.inputs[i].0, &evaluation.inputs[j].0),
                hessian.numbers[i][j]
            );
        }
    }

    // Derivatives in the order the variables were given.
    let grads: Vec<(&str, f64)> = evaluation
        .inputs
        .iter()
        .map(|(name, leaf)| (name.as_str(), leaf.grad()))
        .collect();
    if args.json {
        let grads: Vec<String> = grads
            .iter()
            .map(|(name, g)| format!("{}: {}", json(name), json(&Number(*g))))
            .collect();
        let hessian = hessian
            .as_ref()
            .map(|h| format!(", \"hessian\": {}", h.to_json(&evaluation.inputs)))
            .unwrap_or_default();
        writeln!(
            out,
            "{{\"value\": {}, \"grads\": {{{}}}{hessian}, \"not_finite\": {}}}",
            json(&Number(root.data())),
            grads.join(", "),
            json(&not_finite)
        )?;
    } else {
        writeln!(out, "{} = {:?}", args.expr.trim(), root.data())?;
        for (name, g) in &grads {
            writeln!(out, "d/d{name} = {g:?}")?;
        }
        if let Some(hessian) = &hessian {
            // One write: stdout is line-buffered, and a Hessian of 1,000
            // names has a million lines.
            let mut text = String::from("hessian:\n");
            for (i, (xi, _)) in evaluation.inputs.iter().enumerate() {
                for (j, (xj, _)) in evaluation.inputs.iter().enumerate() {
                    let h = hessian.numbers[i][j];
                    writeln!(text, "{} = {h:?}", second_derivative(xi, xj))
                        .expect("writing to a String cannot fail");
                }
            }
            out.write_all(text.as_bytes())?;
        }
    }
    // Each flag names its format, whatever the file is called.
    let graph = match &hessian {
        Some(hessian) if picture.is_some() => draw_dots(&together(root, &hessian.gradients)),
        _ => draw_dot(root),
    };
    fn drawn(path: &PathBuf, bytes: micrograd::Result<Vec<u8>>) -> Result<(&PathBuf, Vec<u8>)> {
        let bytes = bytes.with_context(|| format!("cannot draw {}", path.display()))?;
        Ok((path, bytes))
    }
    let picture = match (&args.png, &args.svg, &args.dot) {
        (Some(path), _, _) => Some(drawn(path, graph.to_png())?),
        (_, Some(path), _) => Some(drawn(path, graph.to_svg().map(String::into_bytes))?),
        (_, _, Some(path)) => Some((path, graph.to_dot().into_bytes())),
        _ => None,
    };
    if let Some((path, bytes)) = picture {
        micrograd::whole_file::write_atomically(path, &bytes)?;
        if !args.json {
            writeln!(out, "graph: {}", path.display())?;
        }
    }
    Ok(())
}

/// The Hessian of an expression over the names given, and the gradients it
/// is the derivative of.
struct Hessian {
    /// Row `i`, column `j`: d/dxⱼ of d/dxᵢ, for the names in the order
    /// given; 0 in the row and the column of a name the expression does
    /// not use.
    numbers: Vec<Vec<f64>>,
    /// d(root)/d(name) as `Value`s, nodes of the root's graph, for each
    /// name the expression uses, in the order given.
    gradients: Vec<(String, Value)>,
}

impl Hessian {
    /// `root.hessian(leaves)` over the leaves of the names `used`, keeping
    /// its first sweep, the gradients, for the picture. A name not used
    /// has a zero row and column, and costs no sweep and no node.
    fn of(root: Value, inputs: &[(String, Value)], used: &[&str]) -> Hessian {
        let used: HashSet<&str> = used.iter().copied().collect();
        let positions: Vec<usize> = (0..inputs.len())
            .filter(|&i| used.contains(inputs[i].0.as_str()))
            .collect();
        let leaves: Vec<Value> = positions.iter().map(|&i| inputs[i].1).collect();
        let gradients = root.gradients(&leaves);
        let mut numbers = vec![vec![0.0; inputs.len()]; inputs.len()];
        for (&i, &g) in positions.iter().zip(&gradients) {
            // A row's graph is freed once its numbers are read: the memory
            // is the gradients' graph and one row's, not every row's.
            let row: Vec<f64> =
                micrograd::scope(|| g.gradients(&leaves).iter().map(|h| h.data()).collect());
            for (&j, h) in positions.iter().zip(row) {
                numbers[i][j] = h;
            }
        }
        let gradients = positions
            .iter()
            .zip(gradients)
            .map(|(&i, g)| (inputs[i].0.clone(), g))
            .collect();
        Hessian { numbers, gradients }
    }

    /// The row and column of the first number that is not finite.
    fn first_not_finite(&self) -> Option<(usize, usize)> {
        self.numbers.iter().enumerate().find_map(|(i, row)| {
            let j = row.iter().position(|h| !h.is_finite())?;
            Some((i, j))
        })
    }

    /// `{"x": {"x": 2.0, "y": 1.0}, "y": {...}}`, rows and columns in the
    /// order the names were given; a number that is not finite is a string,
    /// as in `grads`.
    fn to_json(&self, inputs: &[(String, Value)]) -> String {
        let rows: Vec<String> = inputs
            .iter()
            .zip(&self.numbers)
            .map(|((xi, _), row)| {
                let entries: Vec<String> = inputs
                    .iter()
                    .zip(row)
                    .map(|((xj, _), h)| format!("{}: {}", json(xj), json(&Number(*h))))
                    .collect();
                format!("{}: {{{}}}", json(xi), entries.join(", "))
            })
            .collect();
        format!("{{{}}}", rows.join(", "))
    }
}

/// How row `xi`, column `xj` of the Hessian is printed: `d²/dx²` on the
/// diagonal, else `d²/dxj dxi`, d/dxj of d/dxi: the derivative taken last
/// is written first, as in ∂²f/∂y∂x = ∂/∂y (∂f/∂x).
fn second_derivative(xi: &str, xj: &str) -> String {
    if xi == xj {
        format!("d²/d{xi}²")
    } else {
        format!("d²/d{xj} d{xi}")
    }
}

/// The expression's root and its gradients, for one picture: each
/// gradient that is a new node, and not another name's gradient too, is
/// labelled `d/dx`.
fn together(root: Value, gradients: &[(String, Value)]) -> Vec<Value> {
    let forward: HashSet<Value> = root.topo().into_iter().collect();
    let mut shared: HashMap<Value, usize> = HashMap::new();
    for (_, g) in gradients {
        *shared.entry(*g).or_default() += 1;
    }
    let mut roots = vec![root];
    for (name, g) in gradients {
        if forward.contains(g) || roots.contains(g) {
            continue;
        }
        if shared[g] == 1 && g.label().is_empty() {
            g.set_label(&format!("d/d{name}"));
        }
        roots.push(*g);
    }
    roots
}

fn json(value: &(impl serde::Serialize + ?Sized)) -> String {
    serde_json::to_string(value).expect("names and numbers serialize")
}
