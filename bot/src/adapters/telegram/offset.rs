//! The last handled update id, kept in a small file so a restarted bot neither
//! repeats updates Telegram had not been told about nor skips any.

use anyhow::{Context as _, Result};
use std::path::{Path, PathBuf};

/// Where the last handled update id lives; without a path it is kept only in memory.
#[derive(Debug, Clone)]
pub struct OffsetFile {
    path: Option<PathBuf>,
}

impl OffsetFile {
    /// A file at `path` (`None`: nowhere, with a warning at start).
    pub fn new(path: Option<PathBuf>) -> Self {
        OffsetFile { path }
    }

    /// The file's path.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The last handled update id; `None` when nothing was handled yet or the file is unreadable (logged).
    pub fn load(&self) -> Option<u32> {
        let path = self.path.as_deref()?;
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read the Telegram offset; starting from Telegram's queue");
                return None;
            }
        };
        match text.trim().parse::<u32>() {
            Ok(id) => Some(id),
            Err(_) => {
                tracing::warn!(path = %path.display(), "the Telegram offset file is not a number; starting from Telegram's queue");
                None
            }
        }
    }

    /// Records `id` as handled; written to a temporary file and renamed, so a crash leaves the old or the new id.
    pub fn save(&self, id: u32) -> Result<()> {
        let Some(path) = self.path.as_deref() else { return Ok(()) };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, format!("{id}\n")).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_and_loads() {
        let dir = std::env::temp_dir().join(format!("pipilu-tg-offset-{}", std::process::id()));
        let f = OffsetFile::new(Some(dir.join("sub").join("offset")));
        assert_eq!(f.load(), None);
        f.save(41).expect("save");
        f.save(42).expect("save");
        assert_eq!(f.load(), Some(42));
        std::fs::write(dir.join("sub").join("offset"), "junk").expect("write");
        assert_eq!(f.load(), None);
        let _ = std::fs::remove_dir_all(dir);
        assert_eq!(OffsetFile::new(None).load(), None);
        assert!(OffsetFile::new(None).save(1).is_ok());
    }
}
