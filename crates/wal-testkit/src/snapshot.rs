//! A directory's files with their bytes: to show that an operation changed nothing, what
//! it changed, or to put a directory back as it was.

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};

/// Every regular file directly in `dir`, by name, with its bytes.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().unwrap().is_file())
        .map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(entry.path()).unwrap())
        })
        .collect()
}

/// The names of the regular files directly in `dir`, sorted.
pub fn file_names(dir: &Path) -> Vec<String> {
    snapshot(dir).into_keys().collect()
}

/// The names of everything directly in `dir` (files and folders), sorted.
pub fn entry_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// One entry of a [`Tree`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A folder.
    Dir,
    /// A file and its bytes.
    File(Vec<u8>),
}

/// Every file and folder under a directory, recursively, by path relative to it.
///
/// It derefs to its map, so a test can look a path up or edit the expected state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree(BTreeMap<PathBuf, Node>);

impl Tree {
    /// Reads everything under `dir`.
    pub fn take(dir: &Path) -> Tree {
        let mut tree = Tree::default();
        walk(dir, dir, &mut tree.0);
        tree
    }

    /// The same without the entry `path` (a lock file a test does not care about).
    pub fn without(mut self, path: impl AsRef<Path>) -> Tree {
        self.0.remove(path.as_ref());
        self
    }

    /// The bytes of the file at `path`, if it is one.
    pub fn file(&self, path: impl AsRef<Path>) -> Option<&[u8]> {
        match self.0.get(path.as_ref()) {
            Some(Node::File(bytes)) => Some(bytes),
            _ => None,
        }
    }

    /// The paths whose content differs between `self` and `other`, or that are in only
    /// one of them, sorted.
    pub fn changed(&self, other: &Tree) -> Vec<PathBuf> {
        let mut changed: Vec<PathBuf> = self
            .0
            .keys()
            .chain(other.0.keys())
            .filter(|path| self.0.get(*path) != other.0.get(*path))
            .cloned()
            .collect();
        changed.sort();
        changed.dedup();
        changed
    }

    /// Writes every folder and file into `dir` (which should be empty).
    pub fn write_to(&self, dir: &Path) {
        for (path, node) in &self.0 {
            let target = dir.join(path);
            match node {
                Node::Dir => std::fs::create_dir_all(&target).unwrap(),
                Node::File(bytes) => {
                    if let Some(parent) = target.parent() {
                        std::fs::create_dir_all(parent).unwrap();
                    }
                    std::fs::write(&target, bytes).unwrap();
                }
            }
        }
    }
}

impl Deref for Tree {
    type Target = BTreeMap<PathBuf, Node>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for Tree {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Node>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let relative = path.strip_prefix(root).unwrap().to_path_buf();
        if entry.file_type().unwrap().is_dir() {
            out.insert(relative, Node::Dir);
            walk(root, &path, out);
        } else {
            out.insert(relative, Node::File(std::fs::read(&path).unwrap()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch_dir;

    #[test]
    fn snapshots_see_files_folders_and_what_changes_in_them() {
        let dir = scratch_dir("wal-testkit-");
        std::fs::write(dir.path().join("b"), b"two").unwrap();
        std::fs::write(dir.path().join("a"), b"one").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/c"), b"three").unwrap();
        assert_eq!(file_names(dir.path()), ["a", "b"]);
        assert_eq!(entry_names(dir.path()), ["a", "b", "sub"]);
        let tree = Tree::take(dir.path());
        assert_eq!(tree.len(), 4);
        assert_eq!(tree.file("sub/c"), Some(&b"three"[..]));
        assert_eq!(tree[Path::new("sub")], Node::Dir);

        crate::flip_byte(&dir.path().join("a"), 1);
        assert_eq!(snapshot(dir.path())["a"], [b'o', !b'n', b'e']);
        std::fs::create_dir(dir.path().join("empty")).unwrap();
        let after = Tree::take(dir.path());
        assert_eq!(tree.changed(&after), [Path::new("a"), Path::new("empty")]);
        assert_eq!(
            tree.clone().without("a"),
            after.clone().without("a").without("empty")
        );

        let copy = scratch_dir("wal-testkit-");
        after.write_to(copy.path());
        assert_eq!(Tree::take(copy.path()), after);
    }
}
