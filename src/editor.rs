//! Text edited in the user's own editor, as `git commit` and `kubectl edit`
//! do: the text goes to a private temporary file, `$VISUAL` (else `$EDITOR`,
//! else `vi`) runs on it with the terminal handed over, and what the file
//! holds when the editor exits is the answer.
//!
//! The editor line is run by `sh -c`, as git runs it, so an `EDITOR` of
//! `code --wait` or `vim -u NONE` works, and the file's path is passed as an
//! argument (never spliced into the line). An editor that exits non-zero
//! cancels the edit: the caller is told and nothing is sent.

use std::io::{self, Write};
use std::path::Path;
use std::process::Command;

/// Why an edit gave no text.
#[derive(Debug, thiserror::Error)]
pub enum EditorError {
    #[error("could not write the file to edit: {0}")]
    Write(#[source] io::Error),
    #[error("could not start the editor {editor:?}: {source}")]
    Start {
        editor: String,
        #[source]
        source: io::Error,
    },
    #[error("the editor {editor:?} exited with {status}; nothing was changed")]
    Failed { editor: String, status: std::process::ExitStatus },
    #[error("could not read the edited file back: {0}")]
    Read(#[source] io::Error),
}

/// The editor line: `$VISUAL`, else `$EDITOR`, else `vi` (an empty variable
/// counts as unset).
pub fn editor_command() -> String {
    ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|value| !value.trim().is_empty())
        .unwrap_or_else(|| "vi".to_string())
}

/// Runs the editor on `initial`, in a file whose name ends in `suffix`
/// (`.toml`, so the editor highlights it), and returns the file's text
/// when the editor exits successfully. The file is private to the user
/// (mode 600) and removed afterwards. The caller owns the terminal: it must
/// leave raw mode and the alternate screen first (see
/// [`crate::tui::TerminalGuard::suspended`]).
pub fn edit(initial: &str, suffix: &str) -> Result<String, EditorError> {
    let mut file = tempfile::Builder::new().prefix("govdeck-").suffix(suffix).tempfile().map_err(EditorError::Write)?;
    file.write_all(initial.as_bytes()).and_then(|()| file.flush()).map_err(EditorError::Write)?;
    let editor = editor_command();
    run_editor(&editor, file.path())?;
    std::fs::read_to_string(file.path()).map_err(EditorError::Read)
}

fn run_editor(editor: &str, path: &Path) -> Result<(), EditorError> {
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$@\""))
        .arg(editor)
        .arg(path)
        .status()
        .map_err(|source| EditorError::Start { editor: editor.to_string(), source })?;
    if status.success() { Ok(()) } else { Err(EditorError::Failed { editor: editor.to_string(), status }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_editor_line_gets_the_path_as_an_argument_and_its_edit_is_returned() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("ed.sh");
        // Appends a line: proves the file the editor was given is the one read back.
        std::fs::write(&script, "#!/bin/sh\nprintf 'edited = true\\n' >> \"$1\"\n").unwrap();
        let path = dir.path().join("it's here.toml");
        std::fs::write(&path, "name = \"x\"\n").unwrap();
        run_editor(&format!("sh {}", script.display()), &path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "name = \"x\"\nedited = true\n");
    }

    #[test]
    fn an_editor_that_fails_cancels_the_edit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.toml");
        std::fs::write(&path, "").unwrap();
        let err = run_editor("false", &path).unwrap_err();
        assert!(matches!(err, EditorError::Failed { .. }), "{err}");
        assert!(err.to_string().contains("nothing was changed"), "{err}");
    }
}
