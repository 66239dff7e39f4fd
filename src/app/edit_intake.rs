//! `:intake`: a new manifest written in `$EDITOR`, previewed, then submitted.

use super::{App, Effect};
use crate::widgets::toast::Toast;

impl App {
    /// The manifest text the editor left for `:intake`.
    pub(super) fn intake_edited(&mut self, _text: String) -> Vec<Effect> {
        let now = self.ctx.now;
        self.notify(Toast::error("intake from the console is not available yet; nothing was sent", now));
        Vec::new()
    }
}
