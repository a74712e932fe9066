//! The files a run writes, checked before any work: the model and the
//! pictures' directory can be written, and overwrite no input.

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::args::TrainArgs;

/// Refuses, before any work, outputs that could not be written or would
/// overwrite an input: the model file, and the pictures' directory.
pub fn check_outputs(args: &TrainArgs, dir: &Path, model_path: &Path) -> Result<()> {
    for (flag, input) in [("--data", &args.data), ("--init", &args.init)] {
        if let Some(input) = input
            && same_file(input, model_path)
        {
            bail!(
                "--save {} would overwrite the {flag} file; save the model elsewhere",
                model_path.display()
            );
        }
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))
        .context("cannot write the pictures")?;
    micrograd::whole_file::check_writable(&dir.join("training.png"))
        .context("cannot write the pictures")?;
    micrograd::whole_file::check_writable(model_path).context("cannot save the model")?;
    Ok(())
}

/// Whether two paths name one existing file (links and `..` included).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}
