//! `micrograd playground`: serves the page where a network trains live in
//! the browser, or writes it out for a static host.

use std::io::Write;
use std::net::{IpAddr, TcpListener};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use micrograd_playground::{Limits, Playground, url};

#[derive(Args, Debug)]
pub struct PlaygroundArgs {
    /// The port to listen on; 0 picks a free one
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// The address to listen on; anything but a loopback address serves
    /// the page to anyone who can reach the port (it trains in their
    /// browser, not on this machine)
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// A name this server is reached by, besides localhost and IP addresses
    /// (and, with --host, this machine's name); requests addressed to
    /// other names are refused, as a page that rebinds its own name to
    /// this address would send them
    #[arg(long = "allow-host", value_name = "NAME", value_parser = host_name)]
    pub allow_host: Vec<String>,
    /// Write the page's files into DIR (made if absent; files of the same
    /// names replaced, nothing else touched) for any static host, instead
    /// of serving them
    #[arg(long, value_name = "DIR", conflicts_with_all = ["port", "host", "allow_host"])]
    pub export: Option<PathBuf>,
}

fn host_name(name: &str) -> Result<String, String> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if valid {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(format!(
            "`{name}` is not a host name (letters, digits, `-` and `.`, without a port)"
        ))
    }
}

/// This machine's name, as the kernel knows it (Linux).
fn this_machine() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    host_name(name.trim()).ok()
}

pub fn run(args: &PlaygroundArgs) -> Result<()> {
    match &args.export {
        Some(dir) => export(dir),
        None => serve(args),
    }
}

fn export(dir: &Path) -> Result<()> {
    let written = micrograd_playground::export(dir).context("cannot write the page")?;
    let mut out = crate::output::stdout();
    for path in written {
        writeln!(out, "wrote {}", path.display())?;
    }
    writeln!(
        out,
        "serve {} with any static server (python3 -m http.server -d {}) or host \
         (GitHub Pages, ...); opened as a file (file://) the page does not run: browsers \
         refuse it its worker and its WebAssembly",
        dir.display(),
        dir.display()
    )?;
    Ok(())
}

fn serve(args: &PlaygroundArgs) -> Result<()> {
    let mut limits = Limits {
        allowed_hosts: args.allow_host.clone(),
        ..Limits::default()
    };
    let listener = TcpListener::bind((args.host, args.port))
        .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))?;
    if !args.host.is_loopback() {
        limits.allowed_hosts.extend(this_machine());
        let mut names = vec![
            "an IP address of this machine".to_owned(),
            "localhost".into(),
        ];
        names.extend(limits.allowed_hosts.iter().map(|n| format!("`{n}`")));
        eprintln!(
            "micrograd: warning: listening on {}: anyone who can reach this port can load the \
             page (it trains in their browser, not on this machine). Requests must be \
             addressed to {} (add names with --allow-host).",
            listener.local_addr()?,
            names.join(", ")
        );
    }
    let server = Playground::start(listener, limits)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {}", url(server.addr()))?;
    out.flush()?;
    drop(out);
    server.wait()?;
    Ok(())
}
