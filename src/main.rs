//! `micrograd`: train networks, differentiate expressions, draw graphs.
//!
//! The thin shell around the library: it owns arguments, files, progress
//! and exit codes. Every error ends as one line on stderr and one of the
//! exit codes of [`EXIT_CODES`].

mod bench;
mod demo;
mod grad;
mod output;
#[cfg(feature = "playground")]
mod playground;
mod predict;
mod size;
mod train;
mod usage;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The exit codes, as `--help` lists them.
const EXIT_CODES: &str = "\
Exit codes:
  0  done
  1  an error at run time (a file that cannot be read or written, a model that does not fit)
  2  usage: a flag, a value or an expression that is not valid
  3  the run diverged: training stopped on a NaN or infinite loss, gradient or parameter";

/// micrograd in Rust: a scalar autograd engine and the networks it trains.
///
/// With no command, trains micrograd's demo as the notebook ran it (its MLP
/// 2-16-16-1, its 100 points of two moons and its initial weights), prints
/// the notebook's losses, and draws the result.
#[derive(Parser, Debug)]
#[command(name = "micrograd", version, about, long_about, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train an MLP on a built-in dataset or a file.
    #[command(after_help = EXIT_CODES)]
    Train(Box<train::TrainArgs>),
    /// Evaluate an expression, backpropagate, print its value and every derivative.
    #[command(after_help = EXIT_CODES)]
    Grad(grad::GradArgs),
    /// The seed notebook's example: L = (a*b + c) * f, backpropagated by hand, and drawn.
    #[command(after_help = EXIT_CODES)]
    Demo(demo::DemoArgs),
    /// A saved model's outputs for some points, and its accuracy where they have labels.
    #[command(after_help = EXIT_CODES)]
    Predict(predict::PredictArgs),
    /// The engine's speed on training workloads: batched, per point, node by node, and a flat tape.
    ///
    /// The batched step's arithmetic is 6·N·Σ nᵢ₋₁·nᵢ floating-point operations
    /// (FLOP) for N points through layers n₀-n₁-…-n_L: per weight and point, a
    /// multiply and an add in the forward sum, in the input's gradient and in
    /// the weight's gradient (biases, activations, the loss and the update are
    /// not counted). It is set against the peak of one core, measured in the
    /// same run by a loop of fused multiply-adds in registers on the widest
    /// vector unit there is, and by the same loop with a separate multiply and
    /// add. With several threads the fraction is of threads × one core's peak.
    #[command(after_help = EXIT_CODES)]
    Bench(bench::BenchArgs),
    /// Serve the page where a network trains live in the browser, as TensorFlow Playground (or write it out with --export).
    #[cfg(feature = "playground")]
    #[command(after_help = EXIT_CODES)]
    Playground(playground::PlaygroundArgs),
}

fn main() -> ExitCode {
    // Library panics are programmer errors; should one happen, say so in a
    // line rather than with a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        eprintln!("micrograd: internal error: {message}");
    }));

    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let result = match cli.command {
        None => train::run(&train::TrainArgs::demo()),
        Some(Command::Train(args)) => train::run(&args),
        Some(Command::Demo(args)) => demo::run(&args),
        Some(Command::Grad(args)) => grad::run(&args),
        Some(Command::Predict(args)) => predict::run(&args),
        Some(Command::Bench(args)) => bench::run(&args),
        #[cfg(feature = "playground")]
        Some(Command::Playground(args)) => playground::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A closed stdout (`micrograd ... | head`) ends the program quietly.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("micrograd: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

/// The exit code of an error (see [`EXIT_CODES`]): a usage error found
/// after parsing (a malformed expression) exits as clap's own do, a run
/// that diverged with 3, anything else with 1.
fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<usage::Usage>().is_some() {
        2
    } else if matches!(
        e.downcast_ref::<micrograd::Error>(),
        Some(micrograd::Error::Diverged { .. })
    ) {
        3
    } else {
        1
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Help and version go to stdout with success; a usage error is the first
/// line of clap's message, on stderr, with exit code 2.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        print!("{e}");
        return ExitCode::SUCCESS;
    }
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        eprint!("{e}");
        return ExitCode::from(2);
    }
    eprintln!(
        "micrograd: {} (see micrograd --help)",
        one_line(&e.to_string())
    );
    ExitCode::from(2)
}

/// clap's message in one line: its first line, then what it lists under
/// it (missing arguments, conflicting ones, possible values, a tip),
/// without the usage and the pointer to `--help`.
fn one_line(rendered: &str) -> String {
    let mut lines = rendered
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("invalid arguments");
    let mut message = first.strip_prefix("error: ").unwrap_or(first).to_owned();
    let (tips, listed): (Vec<&str>, Vec<&str>) = lines.partition(|l| l.starts_with("tip:"));
    if !listed.is_empty() {
        message.push(' ');
        message.push_str(&listed.join(", "));
    }
    for tip in tips {
        message.push_str("; ");
        message.push_str(tip);
    }
    message
}
