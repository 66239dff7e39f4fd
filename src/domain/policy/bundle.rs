//! A policy's files as one canonical bundle, and its version.
//!
//! The canonical form: the files sorted by name, each written as its name,
//! a newline, its length in bytes in decimal, a newline, then its text with
//! line endings made `\n`. The version is the SHA-256 of that, in hex: the
//! same files give the same version on any machine, and a change to any
//! byte of any rule gives another.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::PolicyProblem;

/// Largest policy file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 256 * 1024;
/// Most files in one policy folder.
pub const MAX_FILES: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PolicyFile)]
pub struct BundleFile {
    /// The file's name in the folder: `policy.toml` or `NAME.rego`.
    pub name: String,
    pub text: String,
}

impl BundleFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> BundleFile {
        BundleFile { name: name.into(), text: text.into().replace("\r\n", "\n") }
    }
}

/// A policy's files, sorted by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PolicyBundle)]
pub struct Bundle {
    pub files: Vec<BundleFile>,
}

impl Bundle {
    pub fn new(mut files: Vec<BundleFile>) -> Bundle {
        for file in &mut files {
            file.text = file.text.replace("\r\n", "\n");
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Bundle { files }
    }

    pub fn file(&self, name: &str) -> Option<&BundleFile> {
        self.files.iter().find(|file| file.name == name)
    }

    /// The `*.rego` files, in name order.
    pub fn rego_files(&self) -> impl Iterator<Item = &BundleFile> {
        self.files.iter().filter(|file| file.name.ends_with(".rego"))
    }

    /// The SHA-256 of the canonical form, in hex.
    pub fn version(&self) -> String {
        let mut hash = Sha256::new();
        for file in &self.files {
            hash.update(file.name.as_bytes());
            hash.update(b"\n");
            hash.update(file.text.len().to_string().as_bytes());
            hash.update(b"\n");
            hash.update(file.text.as_bytes());
        }
        hex::encode(hash.finalize())
    }

    /// Checks names and sizes of a bundle that came over the wire.
    pub fn problems(&self) -> Vec<PolicyProblem> {
        let mut problems = Vec::new();
        if self.files.len() > MAX_FILES {
            problems.push(PolicyProblem::new(
                "policy",
                None,
                format!("{} files; a policy has at most {MAX_FILES}", self.files.len()),
            ));
        }
        for (index, file) in self.files.iter().enumerate() {
            if !valid_name(&file.name) {
                problems.push(PolicyProblem::new(
                    file.name.clone(),
                    None,
                    "a policy holds policy.toml and NAME.rego files only (letters, digits, _ and -)",
                ));
            }
            if file.text.len() > MAX_FILE_BYTES {
                problems.push(PolicyProblem::new(
                    file.name.clone(),
                    None,
                    format!("{} bytes; a policy file has at most {MAX_FILE_BYTES}", file.text.len()),
                ));
            }
            if self.files[..index].iter().any(|other| other.name == file.name) {
                problems.push(PolicyProblem::new(file.name.clone(), None, "the file is in the policy twice"));
            }
        }
        problems
    }

    /// Reads `policy.toml` and every `*.rego` of a folder (not its subfolders).
    pub fn read_dir(dir: &Path) -> Result<Bundle, PolicyProblem> {
        let shown = dir.display().to_string();
        let entries = std::fs::read_dir(dir)
            .map_err(|err| PolicyProblem::new(shown.clone(), None, format!("cannot read: {err}")))?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|err| PolicyProblem::new(shown.clone(), None, format!("cannot read: {err}")))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !(name == super::file::POLICY_TOML || name.ends_with(".rego")) || !entry.path().is_file() {
                continue;
            }
            let text = std::fs::read_to_string(entry.path())
                .map_err(|err| PolicyProblem::new(name.clone(), None, format!("cannot read: {err}")))?;
            files.push(BundleFile::new(name, text));
        }
        let bundle = Bundle::new(files);
        match bundle.problems().into_iter().next() {
            Some(problem) => Err(problem),
            None => Ok(bundle),
        }
    }
}

fn valid_name(name: &str) -> bool {
    if name == super::file::POLICY_TOML {
        return true;
    }
    name.strip_suffix(".rego")
        .is_some_and(|stem| !stem.is_empty() && stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
}
