//! `micrograd playground`: serves the page where a network trains live.

use std::io::Write;
use std::net::{IpAddr, TcpListener};

use anyhow::{Context, Result};
use clap::Args;
use micrograd::playground::{Limits, Playground, url};

#[derive(Args, Debug)]
pub struct PlaygroundArgs {
    /// The port to listen on; 0 picks a free one
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// The address to listen on; anything but a loopback address lets
    /// others use this machine's CPU
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
}

pub fn run(args: &PlaygroundArgs) -> Result<()> {
    if !args.host.is_loopback() {
        eprintln!(
            "micrograd: warning: listening on {}: anyone who can reach this port can use this machine's CPU",
            args.host
        );
    }
    let listener = TcpListener::bind((args.host, args.port))
        .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))?;
    let server = Playground::start(listener, Limits::default())?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {}", url(server.addr()))?;
    out.flush()?;
    drop(out);
    server.wait()?;
    Ok(())
}
