//! `e` on an app: its manifest edited in `$EDITOR`, the diff and the risk
//! change shown, then the amendment sent.

use super::{App, Effect};
use crate::widgets::toast::Toast;

impl App {
    /// The manifest text the editor left for an amendment of `app_id` at `rev`.
    pub(super) fn amend_edited(&mut self, _app_id: String, _rev: u64, _text: String) -> Vec<Effect> {
        let now = self.ctx.now;
        self.notify(Toast::error("amending from the console is not available yet; nothing was sent", now));
        Vec::new()
    }
}
