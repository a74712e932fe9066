//! Standard output and error that say which they were when writing fails
//! (`micrograd grad ... > /dev/full`): `cannot write to stdout: No space
//! left on device`. The error keeps its kind, so a closed pipe still ends
//! the program quietly.

use std::io::{self, Write};

/// A stream that names itself in its errors.
pub struct Named<W> {
    inner: W,
    name: &'static str,
}

impl<W: Write> Named<W> {
    fn named(&self, e: io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("cannot write to {}: {e}", self.name))
    }
}

impl<W: Write> Write for Named<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(|e| self.named(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.named(e))
    }
}

/// Standard output, locked.
pub fn stdout() -> Named<io::StdoutLock<'static>> {
    Named {
        inner: io::stdout().lock(),
        name: "stdout",
    }
}

/// Standard error.
pub fn stderr() -> Named<io::Stderr> {
    Named {
        inner: io::stderr(),
        name: "stderr",
    }
}
