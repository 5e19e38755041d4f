//! Where card images go on platforms that cannot show them inline: files.

use skills::Image;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The folder images are written to when none is configured.
pub const DEFAULT_DIR: &str = "pipilu-images";

/// Writes card images to a folder, one new file per image.
#[derive(Debug)]
pub struct ImageStore {
    dir: PathBuf,
    counter: AtomicU64,
}

/// Keeps letters, digits, `.`, `-` and `_` of a suggested file name, so a card can't write outside the folder.
fn safe_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .take(80)
        .collect();
    out = out.trim_start_matches('.').to_string();
    if out.is_empty() {
        out = "image".into();
    }
    if !out.to_ascii_lowercase().ends_with(".png") {
        out.push_str(".png");
    }
    out
}

impl ImageStore {
    /// A store writing to `dir` (default `./pipilu-images`).
    pub fn new(dir: Option<PathBuf>) -> Self {
        ImageStore { dir: dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DIR)), counter: AtomicU64::new(0) }
    }

    /// The folder images go to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes the image to a new file and returns its path. Falls back to the
    /// system temp folder when the configured one cannot be created.
    pub fn save(&self, image: &Image) -> io::Result<PathBuf> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
        let name = format!("{stamp}-{}-{n}-{}", std::process::id(), safe_name(&image.file_name));
        match write_in(&self.dir, &name, &image.png) {
            Ok(p) => Ok(p),
            Err(first) => {
                let tmp = std::env::temp_dir().join(DEFAULT_DIR);
                write_in(&tmp, &name, &image.png).map_err(|_| first)
            }
        }
    }
}

fn write_in(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(name);
    std::fs::write(&path, bytes)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_inside_the_folder() {
        assert_eq!(safe_name("../../etc/passwd"), "_.._etc_passwd.png");
        assert_eq!(safe_name("latte-cpu.png"), "latte-cpu.png");
        assert_eq!(safe_name(""), "image.png");
        assert_eq!(safe_name("..."), "image.png");
    }
}
