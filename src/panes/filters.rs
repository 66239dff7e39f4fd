//! The inventory's filters, kept apart from the pane that draws them: the
//! facets (tier, data class, state, owner), the sort columns and their one
//! direction rule, and the search index that lets the fuzzy filter run over
//! 100k apps per keystroke. The `/` query itself is the shared
//! [`ListFilter`](super::list_filter::ListFilter).

use std::cell::RefCell;
use std::ops::Range;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::ConsoleData;
use crate::domain::{AppState, AppSummary, DataClass, Tier};
use crate::sanitize::sanitize;
use crate::search::{Index, Ranking};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortColumn {
    Name,
    Owner,
    Tier,
    Data,
    State,
    Expires,
    Users,
}

impl SortColumn {
    pub const ALL: [SortColumn; 7] = [
        SortColumn::Name,
        SortColumn::Owner,
        SortColumn::Tier,
        SortColumn::Data,
        SortColumn::State,
        SortColumn::Expires,
        SortColumn::Users,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SortColumn::Name => "name",
            SortColumn::Owner => "owner",
            SortColumn::Tier => "tier",
            SortColumn::Data => "data",
            SortColumn::State => "state",
            SortColumn::Expires => "expires",
            SortColumn::Users => "users",
        }
    }

    pub fn from_name(name: &str) -> Option<SortColumn> {
        SortColumn::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// Facet filters; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Facets {
    pub tier: Option<Tier>,
    pub data: Option<DataClass>,
    pub state: Option<AppState>,
    pub owner: Option<String>,
    /// `flag=owner_revoked`: only live apps whose owner's account was
    /// revoked (they need a transfer).
    pub owner_revoked: bool,
}

impl Facets {
    pub fn matches(&self, app: &AppSummary) -> bool {
        self.tier.is_none_or(|t| app.risk.tier == t)
            && self.data.is_none_or(|d| app.data_classification == d)
            && self.state.is_none_or(|s| app.state == s)
            && self.owner.as_ref().is_none_or(|o| app.owner == o)
            && (!self.owner_revoked || app.owner_revoked)
    }

    pub fn is_empty(&self) -> bool {
        *self == Facets::default()
    }

    /// `tier=high data=pii …` for the active facets.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(t) = self.tier {
            parts.push(format!("tier={}", t.as_str()));
        }
        if let Some(d) = self.data {
            parts.push(format!("data={d}"));
        }
        if let Some(s) = self.state {
            parts.push(format!("state={s}"));
        }
        if let Some(o) = &self.owner {
            parts.push(format!("owner={}", sanitize(o)));
        }
        if self.owner_revoked {
            parts.push(format!("flag={}", crate::domain::app::FLAG_OWNER_REVOKED));
        }
        parts.join(" ")
    }

    /// Parses `tier=high data=pii state=active owner=olive flag=owner_revoked` (any subset).
    pub fn parse(text: &str) -> Result<Facets, String> {
        let mut facets = Facets::default();
        for term in text.split_whitespace() {
            let (key, value) = term
                .split_once('=')
                .ok_or_else(|| format!("expected key=value, got {term:?} (keys: tier, data, state, owner, flag)"))?;
            match key {
                "tier" => facets.tier = Some(value.parse()?),
                "data" => facets.data = Some(value.parse()?),
                "state" => facets.state = Some(value.parse()?),
                "owner" => facets.owner = Some(value.to_string()),
                "flag" if value == crate::domain::app::FLAG_OWNER_REVOKED => facets.owner_revoked = true,
                "flag" => {
                    return Err(format!(
                        "unknown flag {value:?} (expected {})",
                        crate::domain::app::FLAG_OWNER_REVOKED
                    ));
                }
                other => return Err(format!("unknown facet {other:?} (keys: tier, data, state, owner, flag)")),
            }
        }
        Ok(facets)
    }
}

pub(super) fn cycle<T: Copy + PartialEq>(current: Option<T>, order: &[T]) -> Option<T> {
    match current {
        None => order.first().copied(),
        Some(value) => order.iter().position(|v| *v == value).and_then(|i| order.get(i + 1)).copied(),
    }
}

pub(super) const TIER_ORDER: [Tier; 3] = [Tier::High, Tier::Medium, Tier::Low];
pub(super) const DATA_ORDER: [DataClass; 4] =
    [DataClass::Pii, DataClass::Sensitive, DataClass::Internal, DataClass::Public];
pub(super) const STATE_ORDER: [AppState; 8] = [
    AppState::Active,
    AppState::Expiring,
    AppState::Quarantined,
    AppState::ReadOnly,
    AppState::Decommissioned,
    AppState::Pending,
    AppState::Rejected,
    AppState::Discovered,
];

fn rank<T: PartialEq>(value: T, order: &[T]) -> usize {
    order.iter().position(|v| *v == value).unwrap_or(order.len())
}

/// Every app's searchable fields (name, owner, team, purpose), sanitized and
/// prepared for the fuzzy filter once per snapshot (`search::Index`: the
/// text end to end and each field's character mask).
#[derive(Debug, Default)]
pub(super) struct SearchIndex {
    pub(super) version: u64,
    pub(super) index: Arc<Index>,
}

impl SearchIndex {
    /// The snapshot's index: the one the runtime prepared with it, else
    /// built now.
    pub(super) fn of(data: &ConsoleData, version: u64) -> SearchIndex {
        let index = data.prepared.search.clone().unwrap_or_else(|| Arc::new(Index::of_apps(&data.apps)));
        SearchIndex { version, index }
    }
}

/// The rows of the table, in display order: a list, or the ranking of a
/// search by relevance, put in order only as far as it is drawn or asked
/// (the window, the selection), since 65k matches may show 40. The ranking
/// orders itself on a read, hence the `RefCell`: drawing reads the rows.
#[derive(Debug)]
pub(super) enum Rows {
    Listed(Vec<usize>),
    Ranked(RefCell<Ranking>),
}

impl Default for Rows {
    fn default() -> Rows {
        Rows::Listed(Vec::new())
    }
}

impl Rows {
    pub(super) fn len(&self) -> usize {
        match self {
            Rows::Listed(rows) => rows.len(),
            Rows::Ranked(ranking) => ranking.borrow().len(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The app at `row`.
    pub(super) fn get(&self, row: usize) -> Option<usize> {
        match self {
            Rows::Listed(rows) => rows.get(row).copied(),
            Rows::Ranked(ranking) => ranking.borrow_mut().get(row),
        }
    }

    /// The apps of the rows in `window`.
    pub(super) fn window(&self, window: Range<usize>) -> Vec<usize> {
        match self {
            Rows::Listed(rows) => rows.get(window).unwrap_or_default().to_vec(),
            Rows::Ranked(ranking) => ranking.borrow_mut().records(window),
        }
    }

    /// The row of `app`, if shown.
    pub(super) fn position(&self, app: usize) -> Option<usize> {
        match self {
            Rows::Listed(rows) => rows.iter().position(|&i| i == app),
            Rows::Ranked(ranking) => ranking.borrow().position(app),
        }
    }

    /// Every row's app, in order.
    pub(super) fn all(&self) -> Vec<usize> {
        self.window(0..self.len())
    }
}

/// Sorts `rows` by `column`, ascending: the smallest, earliest or
/// alphabetically first value first (`▲`) — A→Z, the lowest risk, the least
/// sensitive data, the earliest lifecycle state, the soonest expiry (none
/// last), the fewest users. Descending (`▼`) is this order reversed.
pub(super) fn sort_rows(rows: &mut [usize], apps: &[AppSummary], column: SortColumn) {
    use std::cmp::Reverse;
    let app = |r: &usize| &apps[*r];
    match column {
        SortColumn::Name => rows.sort_by_cached_key(|r| sanitize(&app(r).name).to_lowercase()),
        SortColumn::Owner => rows.sort_by_cached_key(|r| sanitize(&app(r).owner).to_lowercase()),
        SortColumn::Tier => rows.sort_by_key(|r| (Reverse(rank(app(r).risk.tier, &TIER_ORDER)), app(r).risk.score)),
        SortColumn::Data => rows.sort_by_key(|r| Reverse(rank(app(r).data_classification, &DATA_ORDER))),
        SortColumn::State => rows.sort_by_key(|r| rank(app(r).state, &STATE_ORDER)),
        SortColumn::Expires => {
            rows.sort_by_key(|r| app(r).expires_at.map_or(i64::MAX, |at: DateTime<Utc>| at.timestamp()))
        }
        SortColumn::Users => rows.sort_by_key(|r| app(r).expected_users),
    }
}
