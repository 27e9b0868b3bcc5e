//! Reading a file that a name from a state tree (or the network) resolved to.
//!
//! A name is checked before it becomes a path, but what is at the path can
//! still be a FIFO or a device (put there, or swapped in after the check):
//! reading a FIFO blocks until a writer comes, `/dev/zero` never ends. So the
//! file is opened without blocking and without following a final symlink,
//! and read only if the open descriptor is a regular file.
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The bytes of the regular file at `path`. Anything else (FIFO, socket,
/// device, directory, a symlink as the last component) is an
/// `InvalidInput` error that says what it is, and is never read.
pub fn read_regular(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = open_regular(path)?;
    let mut out = Vec::new();
    file.read_to_end(&mut out)?;
    Ok(out)
}

/// [`read_regular`] as UTF-8 text.
pub fn read_regular_to_string(path: &Path) -> io::Result<String> {
    String::from_utf8(read_regular(path)?)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.utf8_error()))
}

// Opened to read only: OpenOptions is disallowed for the opens that write.
#[allow(clippy::disallowed_methods)]
fn open_regular(path: &Path) -> io::Result<File> {
    // O_NONBLOCK: opening a FIFO for reading returns at once instead of
    // waiting for a writer. It has no effect on reads of a regular file.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        return Ok(file);
    }
    let what = if kind.is_dir() {
        "a directory"
    } else if std::os::unix::fs::FileTypeExt::is_fifo(&kind) {
        "a FIFO"
    } else if std::os::unix::fs::FileTypeExt::is_char_device(&kind)
        || std::os::unix::fs::FileTypeExt::is_block_device(&kind)
    {
        "a device"
    } else if std::os::unix::fs::FileTypeExt::is_socket(&kind) {
        "a socket"
    } else {
        "not a regular file"
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{} is {what}, not a regular file", path.display()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mkfifo(path: &Path) {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo touches no memory of ours.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    }

    #[test]
    fn reads_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "hello").unwrap();
        assert_eq!(read_regular(&p).unwrap(), b"hello");
        assert_eq!(read_regular_to_string(&p).unwrap(), "hello");
    }

    #[test]
    fn a_fifo_is_refused_at_once_not_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pipe");
        mkfifo(&p);
        // With no writer a blocking open would never return: this test
        // would hang rather than fail if the open blocked.
        let e = read_regular(&p).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("a FIFO"), "{e}");
    }

    #[test]
    fn devices_directories_and_final_symlinks_are_refused() {
        let e = read_regular(Path::new("/dev/zero")).unwrap_err();
        assert!(e.to_string().contains("a device"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let e = read_regular(dir.path()).unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
        let target = dir.path().join("t");
        std::fs::write(&target, "x").unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        // ELOOP from O_NOFOLLOW: callers resolve symlinks (and check where
        // they lead) before they read.
        assert!(read_regular(&link).is_err());
    }
}
