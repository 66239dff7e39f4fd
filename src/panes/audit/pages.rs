//! The audit pane's conversation with the cache: the query a filter or a
//! scroll past the end sends, the answers it keeps (the newest query's
//! only), the steps of a rare filter's answer, and the title that says how
//! many of the cached events are shown.

use super::{AUDIT_PAGE, AuditPane, Source};
use crate::domain::audit_query::{self, AuditPage, AuditQuery};
use crate::domain::{AuditEvent, Outcome};
use crate::panes::Context;
use crate::widgets::text::{count, thousands};

/// The cache's matches for one filter, newest first.
#[derive(Debug, Clone)]
pub(super) struct Found {
    pub(super) text: String,
    pub(super) outcome: Option<Outcome>,
    pub(super) events: Vec<AuditEvent>,
    pub(super) more: bool,
    /// Where the next page starts, when `more`.
    pub(super) next_before: Option<u64>,
}

impl AuditPane {
    /// Whether a filter (text or outcome) is set.
    pub(super) fn filtered(&self) -> bool {
        !audit_query::terms(self.filter.text()).is_empty() || self.outcome.is_some()
    }

    /// The filter changed: ask the cache for its first page (nothing to
    /// ask without one), and show the matches at hand meanwhile.
    pub(super) fn filter_changed(&mut self, ctx: &Context) {
        self.found = None;
        self.asked = None;
        self.outgoing = None;
        if self.filtered() && !Self::window_complete(ctx) {
            self.ask(None, AUDIT_PAGE);
        }
        self.recompute(ctx);
    }

    /// Whether the snapshot holds every cached event: then the matches among
    /// them are the whole answer, and nothing is asked of the cache.
    pub(super) fn window_complete(ctx: &Context) -> bool {
        ctx.data.audit.len() as u64 >= ctx.data.audit_total
    }

    pub(super) fn ask(&mut self, before_seq: Option<u64>, limit: u32) {
        self.queries += 1;
        let query = AuditQuery {
            id: self.queries,
            text: self.filter.text().to_string(),
            outcome: self.outcome,
            before_seq,
            limit,
        };
        self.asked = Some(query.clone());
        self.outgoing = Some(query);
    }

    /// The query the runtime should run, once.
    pub fn take_query(&mut self) -> Option<AuditQuery> {
        self.outgoing.take()
    }

    /// The runtime's answer: kept only if it answers the newest query.
    pub fn on_page(&mut self, page: AuditPage, ctx: &Context) {
        if self.asked.as_ref().map(|q| q.id) != Some(page.query.id) {
            return;
        }
        self.asked = None;
        let query = page.query;
        if query.is_everything() {
            self.older.extend(page.events);
        } else {
            match &mut self.found {
                Some(found) if query.before_seq.is_some() => {
                    found.events.extend(page.events);
                    found.more = page.more;
                    found.next_before = page.next_before;
                }
                _ => {
                    self.found = Some(Found {
                        text: query.text,
                        outcome: query.outcome,
                        events: page.events,
                        more: page.more,
                        next_before: page.next_before,
                    })
                }
            }
            // A rare filter is answered in steps: the next one until a page is full.
            if let Some(found) = &self.found
                && found.more
                && found.events.len() < AUDIT_PAGE as usize
                && let Some(next) = found.next_before
            {
                self.ask(Some(next), AUDIT_PAGE);
            }
        }
        self.pages += 1;
        self.recompute(ctx);
    }

    /// More events below the last row: older matches, or older events.
    pub(super) fn has_more(&self, ctx: &Context) -> bool {
        match self.source {
            Source::Found => self.found.as_ref().is_some_and(|f| f.more),
            Source::Window => {
                !self.filtered() && ((ctx.data.audit.len() + self.older.len()) as u64) < ctx.data.audit_total
            }
        }
    }

    /// Asks for the next older page, unless one is asked already.
    pub(super) fn page_in(&mut self, ctx: &Context) {
        if self.asked.is_some() || !self.has_more(ctx) {
            return;
        }
        let next = match self.source {
            Source::Found => self.found.as_ref().and_then(|f| f.next_before),
            Source::Window => self.older.last().or(ctx.data.audit.last()).map(|e| e.seq),
        };
        if let Some(next) = next {
            self.ask(Some(next), AUDIT_PAGE);
        }
    }

    /// The title: how many events are shown of how many the cache holds.
    pub(super) fn title_counts(&self, ctx: &Context) -> String {
        let total = ctx.data.audit_total.max(ctx.data.audit.len() as u64);
        let shown = self.shown_events as u64;
        let events = |n: u64| count(n, "event");
        match (self.source, &self.found) {
            (Source::Found, Some(found)) if found.more && self.asked.is_some() => {
                format!("{} matching so far, searching {}…", thousands(shown), events(total))
            }
            (Source::Found, Some(found)) if found.more => {
                format!("newest {} matching of {}", thousands(shown), events(total))
            }
            (Source::Found, _) => format!("{} matching of {}", thousands(shown), events(total)),
            _ if self.filtered() && Self::window_complete(ctx) => {
                format!("{} matching of {}", thousands(shown), events(total))
            }
            _ if self.filtered() => format!("searching {}…", events(total)),
            _ if shown < total => format!("newest {} of {}", thousands(shown), events(total)),
            _ => events(total),
        }
    }
}
