//! `micrograd grad EXPR NAME=VALUE...`: evaluate an expression,
//! backpropagate, print the value and every derivative.

use std::path::PathBuf;

use std::io::Write;

use anyhow::{Context, Result};
use clap::Args;
use micrograd::json::Number;
use micrograd::{draw_dot, expr};

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
    /// Print exactly {"value": v, "grads": {"x": dx, ...}, "not_finite": null}; a number
    /// that is not finite is the string "NaN", "Infinity" or "-Infinity", and "not_finite"
    /// names the op that first made one
    #[arg(long)]
    pub json: bool,
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
        writeln!(
            out,
            "{{\"value\": {}, \"grads\": {{{}}}, \"not_finite\": {}}}",
            json(&Number(root.data())),
            grads.join(", "),
            json(&not_finite)
        )?;
    } else {
        writeln!(out, "{} = {:?}", args.expr.trim(), root.data())?;
        for (name, g) in &grads {
            writeln!(out, "d/d{name} = {g:?}")?;
        }
    }
    // Each flag names its format, whatever the file is called.
    let graph = draw_dot(root);
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

fn json(value: &(impl serde::Serialize + ?Sized)) -> String {
    serde_json::to_string(value).expect("names and numbers serialize")
}
