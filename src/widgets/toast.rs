//! Toasts: short messages (an action's result, a refusal and its reason, a
//! config error) shown on the message line until the next one, the next key
//! that does something, or until they age out. Every toast is also kept in
//! the message log (`:messages`), where it can be read in full.

use chrono::{DateTime, Duration, Utc};
use ratatui::text::{Line, Span};

use crate::config::theme::Theme;
use crate::sanitize::fit;

/// How long a toast stays on the message line.
pub const TOAST_SECS: i64 = 5;
/// Errors stay a little longer: they usually need reading (and `:messages`
/// keeps them whole).
pub const ERROR_TOAST_SECS: i64 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastLevel {
    Info,
    Success,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    pub level: ToastLevel,
    /// May hold server text: sanitized when drawn.
    pub text: String,
    pub at: DateTime<Utc>,
}

impl Toast {
    pub fn info(text: impl Into<String>, at: DateTime<Utc>) -> Toast {
        Toast { level: ToastLevel::Info, text: text.into(), at }
    }

    pub fn success(text: impl Into<String>, at: DateTime<Utc>) -> Toast {
        Toast { level: ToastLevel::Success, text: text.into(), at }
    }

    pub fn error(text: impl Into<String>, at: DateTime<Utc>) -> Toast {
        Toast { level: ToastLevel::Error, text: text.into(), at }
    }

    /// Whether it is still shown at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        let secs = if self.level == ToastLevel::Error { ERROR_TOAST_SECS } else { TOAST_SECS };
        now - self.at < Duration::seconds(secs)
    }

    /// The toast as one line of at most `width` columns.
    pub fn line(&self, width: usize, theme: &Theme) -> Line<'static> {
        let glyphs = theme.glyphs();
        let (mark, style) = match self.level {
            ToastLevel::Info => (glyphs.dot, theme.text),
            ToastLevel::Success => (glyphs.check, theme.ok),
            ToastLevel::Error => (glyphs.cross, theme.danger),
        };
        Line::from(vec![
            Span::styled(format!("{mark} "), style),
            Span::styled(fit(&self.text, width.saturating_sub(2)), style),
        ])
    }
}
