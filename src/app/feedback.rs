//! What the console says about results that come in several parts: the
//! decisions of one bulk approval, answered in one line once the last came
//! (`✓ 3 approved, 1 refused: …`), and a finished sync (`✓ synced: 3
//! changes, 12 events`, `✓ up to date`, `sent 3 queued actions, 1 refused: …`).

use std::collections::BTreeSet;

use super::{App, SyncSummary};
use crate::domain::DecisionKind;
use crate::widgets::text::count;
use crate::widgets::toast::Toast;

/// Decisions sent together: their answers are counted and said in one
/// toast once the last one came (`✓ 3 approved, 1 refused: …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub decision: DecisionKind,
    /// Requests whose answer has not come yet.
    pub waiting: BTreeSet<String>,
    pub done: usize,
    /// Queued in the outbox: the server could not be reached.
    pub queued: usize,
    /// `app: reason`, refused here or by the server.
    pub refused: Vec<String>,
}

impl Batch {
    pub(crate) fn summary(&self) -> (String, bool) {
        let verb = if self.decision == DecisionKind::Approve { "approved" } else { "rejected" };
        let mut parts = vec![format!("{} {verb}", self.done)];
        if self.queued > 0 {
            parts.push(format!("{} queued (offline: sent when the server is back)", self.queued));
        }
        if let Some(first) = self.refused.first() {
            let more = if self.refused.len() > 1 {
                format!(" (and {} more: see :messages)", self.refused.len() - 1)
            } else {
                String::new()
            };
            parts.push(format!("{} refused: {first}{more}", self.refused.len()));
        }
        (parts.join(", "), self.done > 0 || self.refused.is_empty())
    }
}

/// `✓ synced: 3 changes, 12 events`, `✓ up to date`, and what became of
/// the queued actions sent; whether it is good news.
pub fn sync_summary(summary: &SyncSummary, name_of: impl Fn(&str) -> String) -> (String, bool) {
    let mut parts = Vec::new();
    if summary.changes + summary.events == 0 {
        parts.push("up to date".to_string());
    } else {
        parts.push(format!("synced: {}, {}", count(summary.changes, "change"), count(summary.events, "event")));
    }
    let sent = summary.sent + summary.refused.len() as u64;
    if sent > 0 {
        let mut text = format!("sent {}", count(sent, "queued action"));
        if let Some((target, message)) = summary.refused.first() {
            text.push_str(&format!(", {} refused: {}: {message}", summary.refused.len(), name_of(target)));
        }
        parts.push(text);
    }
    if summary.still_queued > 0 {
        parts.push(format!("{} still queued", summary.still_queued));
    }
    (parts.join(" · "), summary.refused.is_empty())
}

impl App {
    /// Counts an answer to a decision of the running batch; true when it
    /// was one. Says the batch's result with its last answer.
    pub(crate) fn batch_answer(&mut self, target_id: &str, answer: Result<(), String>, queued: bool) -> bool {
        let Some(batch) = self.batch.as_mut() else { return false };
        if !batch.waiting.remove(target_id) {
            return false;
        }
        match answer {
            Ok(()) if queued => batch.queued += 1,
            Ok(()) => batch.done += 1,
            Err(reason) => batch.refused.push(reason),
        }
        if batch.waiting.is_empty() {
            let (text, good) = batch.summary();
            self.batch = None;
            let now = self.ctx.now;
            self.notify(if good { Toast::success(text, now) } else { Toast::error(text, now) });
        }
        true
    }
}
