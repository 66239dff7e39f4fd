//! Arbitrary text as a user's keymap and theme file, through the real
//! loaders (`config::keymap::load`, `config::theme::load`): never a panic,
//! always a usable keymap and theme (the one-key actions still bound when
//! the file touches nothing). Also `Key::parse` on the text: a key that
//! parses prints as text that parses back to the same key.
//!
//! The loaders read `<dir>/keymaps/NAME.toml` and `<dir>/themes/NAME.toml`;
//! their string-level parsers are private, so each input is written to a
//! temporary config directory first.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use govdeck::config::keymap::{self, Key, Section};
use govdeck::config::theme;
use libfuzzer_sys::fuzz_target;

fn config_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir").keep();
        std::fs::create_dir_all(dir.join("keymaps")).expect("keymaps dir");
        std::fs::create_dir_all(dir.join("themes")).expect("themes dir");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let dir = config_dir();

    // As an override of a shipped name and as a file of its own.
    for name in ["default", "fuzz"] {
        std::fs::write(dir.join("keymaps").join(format!("{name}.toml")), data).expect("write keymap");
        let (keymap, _messages) = keymap::load(name, Some(dir));
        for section in Section::ALL {
            for binding in keymap.bindings(section) {
                let _ = keymap.lookup(section, binding.key);
                let _ = keymap.key_for(section, binding.action);
            }
        }
    }
    for name in ["dark", "fuzz"] {
        std::fs::write(dir.join("themes").join(format!("{name}.toml")), data).expect("write theme");
    }
    for (name, no_color) in [("dark", false), ("fuzz", true)] {
        let (theme, _messages) = theme::load(name, Some(dir), no_color);
        let _ = theme.glyphs();
    }

    for line in text.lines().chain(std::iter::once(&*text)) {
        if let Ok(key) = Key::parse(line) {
            let printed = key.to_string();
            assert_eq!(Key::parse(&printed), Ok(key), "{line:?} parsed to {key:?}, printed as {printed:?}");
        }
    }
});
