//! govdeck: a terminal console and catalog server for governing micro-apps.
//!
//! The layers, and which may import which (arrows point at what is imported):
//!
//! ```text
//! domain  ← store ← server            (the catalog server)
//! domain  ← cache ← sync              (the console's local cache and its sync engine)
//! domain  ← store ← import            (Backstage in; CSV/JSON out)
//! domain, search, sanitize, config ← panes, widgets ← app ← tui
//! tls ← server, sync, import          (rustls on ring: trust, refusals said plainly)
//! cli → everything (it only wires the layers together)
//! ```
//!
//! * [`domain`]: the governance rules and wire types; pure, no IO, no clock.
//! * [`store`]: the server's SQLite schema and one repository per table.
//! * [`server`]: the axum catalog server over the store and the domain.
//! * [`import`]: the Backstage importer and the CSV/JSON export.
//! * [`cache`]: the console's SQLite cache and its outbox of queued actions.
//! * [`sync`]: the HTTP client, the sync plan and the background worker.
//! * [`search`]: the fuzzy filter. [`sanitize`]: untrusted text made safe to draw.
//! * [`config`]: paths, settings, themes and keymaps.
//! * [`app`], [`panes`], [`widgets`], [`tui`]: the console; [`console`] wires it to the cache and sync;
//!   [`backend`]: the terminal backend, which writes named colours as 16-colour codes.
//! * [`errors`]: an error and its causes on one line.
//! * [`tls`]: the crypto provider, which certificates the clients trust, a failed handshake in words.
//! * [`editor`]: text edited in the user's `$EDITOR` (intake, amendments).
//! * [`clock`]: the injected clock. [`seed`]: deterministic demo and scale data.

pub mod app;
pub mod backend;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console;
pub mod domain;
pub mod editor;
pub mod errors;
pub mod import;
pub mod memory;
pub mod panes;
pub mod sanitize;
pub mod search;
pub mod seed;
pub mod server;
pub mod store;
pub mod sync;
pub mod tls;
pub mod tui;
pub mod widgets;
