//! Reusable pieces of the console's screen: the status bar, the help
//! overlay, the confirm dialog and comment box (tui-textarea), toasts, the
//! command line and one-line inputs, the app detail shared by three panes,
//! and text helpers. Widgets import domain, sanitize and config, never the
//! panes or the app state.

pub mod app_detail;
pub mod audit_event;
pub mod command_line;
pub mod comment;
pub mod confirm;
pub mod help;
pub mod line_input;
pub mod status_bar;
pub mod text;
pub mod toast;

use ratatui::layout::Rect;

/// A `width` × `height` rectangle centred in `area`, clipped to it.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height }
}
