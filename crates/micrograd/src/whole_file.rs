//! Writing files whole or not at all.
//!
//! A regular file (or a path that does not exist yet) is replaced
//! atomically: the bytes go to a new file in the same directory, which is
//! flushed to disk and renamed over the target, and the directory is
//! flushed too. On Linux the new file is created without a name
//! (`O_TMPFILE`) and is given one only once complete, so a write that
//! fails, or a process that is killed, leaves nothing behind. Elsewhere it
//! is a `tempfile` with an unpredictable name, removed on failure.
//!
//! What is not a regular file is never replaced: a symbolic link is
//! followed and its target replaced; a device, a FIFO or a socket
//! (`/dev/null`, `/dev/stdout`, a pipe) is written into, as a shell
//! redirection would.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The bytes of the file at `path`, or an [`Error::Io`] naming it.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|error| Error::Io {
        path: path.into(),
        error,
    })
}

/// Writes `bytes` to `path` whole or not at all (see the module's notes):
/// whatever happens, `path` holds either its old contents or `bytes`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let io_error = |error| Error::Io {
        path: path.into(),
        error,
    };
    match destination(path).map_err(io_error)? {
        Destination::Special(target) => write_into(&target, bytes),
        Destination::Regular(target) => replace(&target, bytes),
    }
    .map_err(io_error)
}

/// Checks, before any long work, that `path` can later be written by
/// [`write_atomically`]: its directory exists and can be written, and it is
/// not a directory. Nothing is created or changed.
pub fn check_writable(path: &Path) -> Result<()> {
    let io_error = |error| Error::Io {
        path: path.into(),
        error,
    };
    match destination(path).map_err(io_error)? {
        Destination::Special(target) => may_write_into(&target).map_err(io_error),
        Destination::Regular(target) => {
            let directory = directory_of(&target);
            let metadata = std::fs::metadata(directory).map_err(io_error)?;
            if !metadata.is_dir() {
                return Err(io_error(io::Error::new(
                    io::ErrorKind::NotADirectory,
                    format!("{} is not a directory", directory.display()),
                )));
            }
            if metadata.permissions().readonly() {
                return Err(io_error(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("{} cannot be written", directory.display()),
                )));
            }
            // The mode bits do not tell the whole story (root, ACLs,
            // read-only mounts): ask the kernel for write access itself.
            probe_directory(directory).map_err(io_error)
        }
    }
}

/// Whether this process may write into a device, FIFO or socket, asked
/// without opening it: opening a FIFO would wait for a reader, and then
/// hand that reader an empty stream when the probe closes it.
#[cfg(target_os = "linux")]
fn may_write_into(target: &Path) -> io::Result<()> {
    rustix::fs::access(target, rustix::fs::Access::WRITE_OK).map_err(io::Error::from)
}

/// Whether this process may write into a device, FIFO or socket; a FIFO
/// is not opened (see the Linux version), so it is taken as writable.
#[cfg(not(target_os = "linux"))]
fn may_write_into(target: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if std::fs::metadata(target)?.file_type().is_fifo() {
            return Ok(());
        }
    }
    OpenOptions::new().write(true).open(target).map(drop)
}

/// Where the bytes for a path go.
enum Destination {
    /// A regular file, existing or not: replaced by a rename.
    Regular(PathBuf),
    /// A device, FIFO or socket: written into, never replaced.
    Special(PathBuf),
}

/// Follows `path` through symbolic links to what would be written.
fn destination(path: &Path) -> io::Result<Destination> {
    // `m.st/` names a directory, which a file cannot replace: refused here
    // rather than by the write, after the work.
    if path.as_os_str().as_encoded_bytes().ends_with(b"/") {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "a path ending in / names a directory, not a file",
        ));
    }
    // The kernel follows links itself, magic ones included (`/dev/stdout`
    // to `/proc/self/fd/1` to a pipe).
    match std::fs::metadata(path) {
        Ok(metadata) if metadata.is_dir() => Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory",
        )),
        Ok(metadata) if metadata.is_file() => {
            Ok(Destination::Regular(std::fs::canonicalize(path)?))
        }
        Ok(_) => Ok(Destination::Special(path.to_path_buf())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => dangling(path),
        Err(e) => Err(e),
    }
}

/// Where a path that does not exist (or a link to nowhere) would be
/// created: the end of its chain of links.
fn dangling(path: &Path) -> io::Result<Destination> {
    let mut current = path.to_path_buf();
    // Linux's own limit on links followed in one lookup.
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let target = std::fs::read_link(&current)?;
                current = directory_of(&current).join(target);
            }
            Ok(_) => return destination(&current),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Destination::Regular(current));
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "too many levels of symbolic links",
    ))
}

/// The directory holding `path` (`.` for a bare file name).
fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Writes into a device, FIFO or socket as `>` would.
fn write_into(target: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).open(target)?;
    file.write_all(bytes)?;
    file.flush()
}

/// Replaces the regular file `target` (or creates it) atomically.
fn replace(target: &Path, bytes: &[u8]) -> io::Result<()> {
    let directory = directory_of(target);
    // A replaced file keeps its permissions.
    let mode = std::fs::metadata(target).ok().map(|m| m.permissions());
    #[cfg(target_os = "linux")]
    match unnamed::replace(directory, target, bytes, mode.as_ref()) {
        Err(unnamed::Failure::Unsupported) => {}
        Err(unnamed::Failure::Io(e)) => return Err(e),
        Ok(()) => return Ok(()),
    }
    named::replace(directory, target, bytes, mode)
}

/// Creates and removes an unnamed file in `directory` to prove it writable.
fn probe_directory(directory: &Path) -> io::Result<()> {
    tempfile::Builder::new()
        .prefix(".micrograd-probe.")
        .tempfile_in(directory)
        .map(drop)
        .map_err(|e| {
            // tempfile's error names its probe; the user named the
            // directory. The kind says why (permission denied, a
            // read-only file system).
            let system = e.kind();
            io::Error::new(
                e.kind(),
                format!("{} cannot be written: {system}", directory.display()),
            )
        })
}

/// Flushes a directory's entries (the rename) to disk. Some file systems
/// cannot sync a directory; the data itself is already on disk then.
fn sync_directory(directory: &Path) -> io::Result<()> {
    match File::open(directory).and_then(|d| d.sync_all()) {
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => Ok(()),
        done => done,
    }
}

/// A name in the directory no other writer will pick.
#[cfg(target_os = "linux")]
fn unpredictable_name(target: &Path) -> PathBuf {
    let stem = target
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or("file");
    // Seeded from the operating system's randomness, fresh per call.
    let random =
        std::hash::BuildHasher::build_hasher(&std::collections::hash_map::RandomState::new());
    let name = format!(".{stem}.{:016x}.tmp", std::hash::Hasher::finish(&random));
    directory_of(target).join(name)
}

#[cfg(target_os = "linux")]
mod unnamed {
    //! `O_TMPFILE`: a file with no name until it is complete.

    use std::fs::{File, Permissions};
    use std::io::{self, Write};
    use std::os::fd::AsRawFd;
    use std::path::Path;

    use rustix::fs::{AtFlags, CWD, Mode, OFlags};
    use rustix::io::Errno;

    /// Why an unnamed file did not become the target.
    #[derive(Debug)]
    pub enum Failure {
        /// The kernel or file system cannot create unnamed files, or
        /// `/proc` is not mounted to give them a name: use named
        /// temporary files.
        Unsupported,
        /// Writing failed (the directory is missing, the disk is full).
        Io(io::Error),
    }

    impl From<io::Error> for Failure {
        fn from(e: io::Error) -> Failure {
            Failure::Io(e)
        }
    }

    fn is(e: &io::Error, errnos: &[Errno]) -> bool {
        errnos
            .iter()
            .any(|errno| e.raw_os_error() == Some(errno.raw_os_error()))
    }

    pub fn replace(
        directory: &Path,
        target: &Path,
        bytes: &[u8],
        mode: Option<&Permissions>,
    ) -> Result<(), Failure> {
        // Mode 0666 less the umask, as any new file gets.
        let fd = rustix::fs::openat(
            CWD,
            directory,
            OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o666),
        )
        .map_err(io::Error::from)
        .map_err(|e| {
            // Old kernels say EISDIR, file systems without it EOPNOTSUPP.
            if is(&e, &[Errno::OPNOTSUPP, Errno::ISDIR, Errno::INVAL]) {
                Failure::Unsupported
            } else {
                Failure::Io(e)
            }
        })?;
        let mut file = File::from(fd);
        file.write_all(bytes)?;
        if let Some(mode) = mode {
            file.set_permissions(mode.clone())?;
        }
        file.sync_all()?;
        // Give the complete file a fresh name, then move it over the
        // target: `linkat` cannot replace, `rename` can.
        let name = super::unpredictable_name(target);
        let by_descriptor = format!("/proc/self/fd/{}", file.as_raw_fd());
        rustix::fs::linkat(
            CWD,
            by_descriptor.as_str(),
            CWD,
            &name,
            AtFlags::SYMLINK_FOLLOW,
        )
        .map_err(io::Error::from)
        .map_err(|e| {
            // No /proc to name the file by.
            if is(&e, &[Errno::NOENT, Errno::OPNOTSUPP]) {
                Failure::Unsupported
            } else {
                Failure::Io(e)
            }
        })?;
        if let Err(e) = std::fs::rename(&name, target) {
            let _ = std::fs::remove_file(&name);
            return Err(e.into());
        }
        Ok(super::sync_directory(directory)?)
    }
}

mod named {
    //! A `tempfile` with an unpredictable name, removed if anything fails.

    use std::fs::Permissions;
    use std::io::{self, Write};
    use std::path::Path;

    pub fn replace(
        directory: &Path,
        target: &Path,
        bytes: &[u8],
        mode: Option<Permissions>,
    ) -> io::Result<()> {
        let mut builder = tempfile::Builder::new();
        builder.prefix(".micrograd.").suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // A new file gets 0666 less the umask, not tempfile's 0600.
            builder.permissions(Permissions::from_mode(0o666));
        }
        let mut file = builder.tempfile_in(directory).map_err(without_path)?;
        file.write_all(bytes)?;
        if let Some(mode) = mode {
            file.as_file().set_permissions(mode)?;
        }
        file.as_file().sync_all()?;
        file.persist(target).map_err(|e| e.error)?;
        super::sync_directory(directory)
    }

    /// tempfile's error without its " at path <temporary name>": the
    /// caller names the target.
    fn without_path(e: io::Error) -> io::Error {
        // tempfile keeps the OS error only in its message.
        let message = e.to_string();
        match message.split_once(" at path ") {
            Some((os, _)) => io::Error::new(e.kind(), os.to_owned()),
            None => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_new_file_is_created_with_the_usual_mode_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.st");
        write_atomically(&path, b"hello").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hello");
        assert_eq!(entries(dir.path()), ["m.st"]);
        // 0666 less a umask: readable by others unless the umask says not,
        // never tempfile's owner-only 0600 whatever the umask.
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o600, 0o600);
        assert_eq!(mode & 0o111, 0, "not executable");
    }

    #[test]
    fn a_regular_file_is_replaced_and_keeps_its_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.st");
        std::fs::write(&path, b"old contents, longer than the new").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        assert_eq!(entries(dir.path()), ["m.st"]);
    }

    #[test]
    fn a_symbolic_link_is_followed_and_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.png");
        let link = dir.path().join("link.png");
        std::fs::write(&target, b"old").unwrap();
        std::os::unix::fs::symlink("real.png", &link).unwrap();
        write_atomically(&link, b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        // A dangling link is followed too: its target is created.
        let dangling = dir.path().join("dangling.png");
        std::os::unix::fs::symlink("made.png", &dangling).unwrap();
        write_atomically(&dangling, b"made").unwrap();
        assert_eq!(std::fs::read(dir.path().join("made.png")).unwrap(), b"made");
        assert_eq!(
            entries(dir.path()),
            ["dangling.png", "link.png", "made.png", "real.png"]
        );
    }

    #[test]
    fn a_loop_of_links_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::os::unix::fs::symlink("b", &a).unwrap();
        std::os::unix::fs::symlink("a", &b).unwrap();
        let error = write_atomically(&a, b"x").unwrap_err().to_string();
        assert!(error.contains("levels of symbolic links"), "{error}");
    }

    #[test]
    fn a_device_is_written_into_and_never_replaced() {
        let null = Path::new("/dev/null");
        write_atomically(null, b"into the void").unwrap();
        assert!(
            std::fs::metadata(null)
                .unwrap()
                .file_type()
                .is_char_device()
        );
        check_writable(null).unwrap();
    }

    #[test]
    fn a_fifo_is_written_into_and_stays_a_fifo() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        write_atomically(&fifo, b"through the pipe").unwrap();
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
        assert_eq!(entries(dir.path()), ["pipe"]);
    }

    #[test]
    fn a_directory_or_a_missing_directory_is_refused_before_and_at_writing() {
        let dir = tempfile::tempdir().unwrap();
        let error = write_atomically(dir.path(), b"x").unwrap_err().to_string();
        assert!(error.contains("is a directory"), "{error}");
        assert!(check_writable(dir.path()).is_err());
        let missing = dir.path().join("missing").join("m.st");
        assert!(check_writable(&missing).is_err());
        let error = write_atomically(&missing, b"x").unwrap_err().to_string();
        assert!(error.starts_with(&missing.display().to_string()), "{error}");
        check_writable(&dir.path().join("m.st")).unwrap();
        assert!(entries(dir.path()).is_empty(), "checking creates nothing");
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn linux_writes_an_unnamed_file_and_names_it_once_complete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.st");
        unnamed::replace(dir.path(), &path, b"new", None).unwrap();
        let missing = dir.path().join("missing");
        match unnamed::replace(&missing, &missing.join("m.st"), b"x", None) {
            Err(unnamed::Failure::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::NotFound),
            other => panic!("a missing directory is an error, not a fallback: {other:?}"),
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(entries(dir.path()), ["m.st"]);
    }

    #[test]
    fn the_fallback_with_named_temporary_files_replaces_as_well() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.st");
        std::fs::write(&path, b"old").unwrap();
        named::replace(dir.path(), &path, b"new", None).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(entries(dir.path()), ["m.st"]);
        let missing = dir.path().join("missing");
        let error = named::replace(&missing, &missing.join("m.st"), b"x", None).unwrap_err();
        assert_eq!(error.to_string(), "No such file or directory (os error 2)");
    }
}
