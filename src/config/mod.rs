//! Configuration: where files live (XDG), the settings file, and the theme
//! and keymap loaders. Pure functions over strings, resolved once at start.

pub mod keymap;
pub mod paths;
pub mod pins;
pub mod settings;
pub mod theme;
