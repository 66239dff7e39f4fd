//! A pseudo-terminal harness for the end-to-end tests: runs the real
//! `govdeck` binary inside a pty, parses everything it writes with `vt100`
//! on a reader thread, and lets a test type keys and wait for the parsed
//! screen to show something, as a person at the terminal would.
//!
//! Every wait has a deadline and panics with the whole screen when it
//! passes, so a failure says what was on the terminal at that moment.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

/// How often a wait looks at the screen again.
pub const POLL: Duration = Duration::from_millis(50);

/// Keys as a terminal sends them.
pub mod keys {
    pub const ENTER: &str = "\r";
    pub const TAB: &str = "\t";
    pub const UP: &str = "\x1b[A";
    pub const DOWN: &str = "\x1b[B";
    pub const PAGE_DOWN: &str = "\x1b[6~";
    pub const HOME: &str = "\x1b[H";
    pub const CTRL_R: &str = "\x12";
}

/// Decides whether a screen is "the first frame"; the reader keeps the first
/// screen it sees that passes.
pub type FramePredicate = fn(&vt100::Screen) -> bool;

/// What the reader thread shares with the test.
struct Shared {
    parser: vt100::Parser,
    /// Every byte the program wrote, in order.
    raw: Vec<u8>,
    /// The pty closed: the program (and everything holding its tty) exited.
    eof: bool,
    first_frame: Option<String>,
    first_frame_predicate: Option<FramePredicate>,
}

impl Shared {
    /// Feeds bytes to the parser. Until the first frame is found, feeds them
    /// one escape sequence at a time, so a frame followed at once by the
    /// next one in the same read is still seen on its own.
    fn feed(&mut self, bytes: &[u8]) {
        self.raw.extend_from_slice(bytes);
        let Some(predicate) = self.first_frame_predicate.filter(|_| self.first_frame.is_none()) else {
            self.parser.process(bytes);
            return;
        };
        let mut start = 0;
        while start < bytes.len() {
            let end = bytes[start + 1..].iter().position(|&b| b == 0x1b).map_or(bytes.len(), |p| start + 1 + p);
            self.parser.process(&bytes[start..end]);
            start = end;
            if predicate(self.parser.screen()) {
                self.first_frame = Some(self.parser.screen().contents());
                self.parser.process(&bytes[start..]);
                return;
            }
        }
    }
}

fn size(rows: u16, cols: u16) -> (NonZeroU16, NonZeroU16) {
    (NonZeroU16::new(rows).expect("rows > 0"), NonZeroU16::new(cols).expect("cols > 0"))
}

/// The program running in a pty.
pub struct Tui {
    name: String,
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    shared: Arc<Mutex<Shared>>,
    reader: Option<JoinHandle<()>>,
    exited: bool,
}

impl Tui {
    /// Starts `program args` in a `rows` x `cols` pty with `env` set on top
    /// of this process's environment (minus the variables in `env_remove`).
    pub fn spawn(
        program: &Path,
        args: &[&str],
        rows: u16,
        cols: u16,
        env: &[(&str, &str)],
        env_remove: &[&str],
        first_frame: Option<FramePredicate>,
    ) -> Tui {
        let pair = native_pty_system()
            .openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 })
            .expect("open a pseudo-terminal");
        let mut command = CommandBuilder::new(program);
        command.args(args);
        for name in env_remove {
            command.env_remove(name);
        }
        for (name, value) in env {
            command.env(name, value);
        }
        let child = pair.slave.spawn_command(command).expect("spawn the program in the pty");
        // Only the child holds the tty now, so the reader sees EOF when it exits.
        drop(pair.slave);
        let (rows_nz, cols_nz) = size(rows, cols);
        let shared = Arc::new(Mutex::new(Shared {
            parser: vt100::Parser::new(rows_nz, cols_nz, 0),
            raw: Vec::new(),
            eof: false,
            first_frame: None,
            first_frame_predicate: first_frame,
        }));
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let writer = pair.master.take_writer().expect("pty writer");
        let thread_shared = Arc::clone(&shared);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match reader.read(&mut buf) {
                    // EIO on Linux once the child side is gone.
                    Ok(0) | Err(_) => break,
                    Ok(n) => thread_shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner).feed(&buf[..n]),
                }
            }
            thread_shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner).eof = true;
        });
        let name = format!("{} {}", program.file_name().unwrap_or_default().to_string_lossy(), args.join(" "));
        Tui { name, master: pair.master, writer, child, shared, reader: Some(reader), exited: false }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The screen's text, one line per row.
    pub fn text(&self) -> String {
        self.lock().parser.screen().contents()
    }

    /// The screen's size: (rows, columns).
    pub fn size(&self) -> (u16, u16) {
        let (rows, cols) = self.lock().parser.screen().size();
        (rows.get(), cols.get())
    }

    /// The screen's rows, without trailing blanks.
    pub fn rows(&self) -> Vec<String> {
        let shared = self.lock();
        let screen = shared.parser.screen();
        let (_, cols) = screen.size();
        screen.rows(0, cols.get()).collect()
    }

    /// The screen as a framed block for failure messages.
    pub fn dump(&self) -> String {
        let rows = self.rows();
        let width = usize::from(self.size().1);
        let mut out = format!("screen of `{}` ({} rows):\n+{}+\n", self.name, rows.len(), "-".repeat(width));
        for row in rows {
            let pad = width.saturating_sub(row.chars().count());
            out.push_str(&format!("|{row}{}|\n", " ".repeat(pad)));
        }
        out.push_str(&format!("+{}+", "-".repeat(width)));
        out
    }

    /// Types `keys` (raw bytes as a terminal sends them).
    pub fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).expect("write keys to the pty");
        self.writer.flush().expect("flush keys");
    }

    /// Polls the screen every [`POLL`] until `check` returns `Some`, and
    /// returns it; panics with `what` and the screen after `timeout`.
    pub fn wait_map<T>(&self, what: &str, timeout: Duration, mut check: impl FnMut(&[String]) -> Option<T>) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            let rows = self.rows();
            if let Some(found) = check(&rows) {
                return found;
            }
            let eof = self.lock().eof;
            if eof {
                panic!("the program exited while waiting for {what}\n{}\n{}", self.dump(), self.tail_text());
            }
            if Instant::now() >= deadline {
                panic!("timed out after {timeout:?} waiting for {what}\n{}", self.dump());
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until `check` holds for the screen's rows.
    pub fn wait_until(&self, what: &str, timeout: Duration, check: impl Fn(&[String]) -> bool) {
        self.wait_map(what, timeout, |rows| check(rows).then_some(()));
    }

    /// Waits until the screen shows `needle` somewhere.
    pub fn wait_for_text(&self, needle: &str, timeout: Duration) {
        self.wait_until(&format!("{needle:?} on screen"), timeout, |rows| rows.iter().any(|r| r.contains(needle)));
    }

    /// The first frame the predicate given to [`Tui::spawn`] accepted.
    pub fn first_frame(&self) -> Option<String> {
        self.lock().first_frame.clone()
    }

    /// Resizes the pty (and the parser with it); the program gets SIGWINCH.
    pub fn resize(&mut self, rows: u16, cols: u16) {
        {
            let mut shared = self.lock();
            let (rows_nz, cols_nz) = size(rows, cols);
            shared.parser.set_size(rows_nz, cols_nz);
        }
        self.master.resize(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }).expect("resize the pty");
    }

    /// Waits for the program to exit and returns its exit code; panics with
    /// the screen after `timeout`. Then waits for the reader to drain.
    pub fn wait_exit(&mut self, timeout: Duration) -> u32 {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("poll the child") {
                break status;
            }
            if Instant::now() >= deadline {
                panic!("the program did not exit within {timeout:?}\n{}", self.dump());
            }
            std::thread::sleep(POLL);
        };
        self.exited = true;
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.lock().eof && Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
        if self.lock().eof
            && let Some(reader) = self.reader.take()
        {
            let _ = reader.join();
        }
        status.exit_code()
    }

    /// Every byte the program wrote so far.
    pub fn raw(&self) -> Vec<u8> {
        self.lock().raw.clone()
    }

    /// Whether the emulated terminal is on the alternate screen and whether
    /// the cursor is hidden, as the program left them.
    pub fn terminal_modes(&self) -> (bool, bool) {
        let shared = self.lock();
        (shared.parser.screen().alternate_screen(), shared.parser.screen().hide_cursor())
    }

    /// The last bytes written, escaped, for failure messages.
    pub fn tail_text(&self) -> String {
        let raw = self.raw();
        let tail = &raw[raw.len().saturating_sub(600)..];
        format!("last bytes written: {}", String::from_utf8_lossy(tail).escape_debug())
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        if !self.exited {
            // Only the child this harness started, by its handle.
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Where `needle` starts in `haystack`, searching from the end.
pub fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// `govdeck demo --as ROLE --dir HOME/demo` at 80x24 in a home of its own
/// (config and cache in it), with `$EDITOR` the shell script `script` (its
/// `$1` is the file to edit), once it is online and the first sync has
/// brought who the user is (`who`, e.g. `olive (owner)`, in the status bar):
/// before that the console knows no roles and an action would say so.
pub struct EditorDemo {
    pub tui: Tui,
    pub home: tempfile::TempDir,
}

impl EditorDemo {
    pub fn start(role: &str, who: &str, script: &str, startup: Duration) -> EditorDemo {
        use std::os::unix::fs::PermissionsExt;
        let home = tempfile::tempdir().unwrap();
        let (config, cache) = (home.path().join("config"), home.path().join("cache"));
        std::fs::create_dir_all(&config).unwrap();
        std::fs::create_dir_all(&cache).unwrap();
        let editor = home.path().join("editor.sh");
        std::fs::write(&editor, format!("#!/bin/sh\n{script}")).unwrap();
        std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
        let s = |p: &Path| p.to_str().unwrap().to_string();
        let (home_str, config_str, cache_str, editor_str) = (s(home.path()), s(&config), s(&cache), s(&editor));
        let dir = s(&home.path().join("demo"));
        let tui = Tui::spawn(
            Path::new(env!("CARGO_BIN_EXE_govdeck")),
            &["demo", "--as", role, "--dir", &dir],
            24,
            80,
            &[
                ("TERM", "xterm-256color"),
                ("HOME", &home_str),
                ("XDG_CONFIG_HOME", &config_str),
                ("XDG_CACHE_HOME", &cache_str),
                ("GOVDECK_CONFIG_DIR", &config_str),
                ("GOVDECK_CACHE_DIR", &cache_str),
                ("EDITOR", &editor_str),
            ],
            &["NO_COLOR", "GOVDECK_SERVER", "GOVDECK_TOKEN", "GOVDECK_DB", "RUST_LOG", "VISUAL"],
            None,
        );
        tui.wait_until("the inventory, synced", startup, |rows| {
            rows.iter().any(|r| r.contains(" Inventory · "))
                && rows.iter().any(|r| r.contains("online") && r.contains(who))
        });
        EditorDemo { tui, home }
    }

    /// The demo's server database.
    pub fn catalog(&self) -> std::path::PathBuf {
        self.home.path().join("demo").join("catalog.sqlite")
    }
}
