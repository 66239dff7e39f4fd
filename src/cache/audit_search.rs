//! The audit filter over the whole cache, through indexes.
//!
//! `audit_values` holds every distinct value of the filtered fields (app id,
//! actor id and role, action, outcome, error code) with how many events
//! carry it; it is kept with each appended page. A term (see
//! [`crate::domain::audit_query`]) is first resolved against it (and against
//! the apps' names): a few thousand values at most, not a million events.
//! A term no value contains answers at once with nothing. Otherwise the
//! events are read newest first in one of two ways, whichever reads fewer
//! rows:
//!
//! * through the indexes on app, actor and action (`audit_by_app`,
//!   `audit_by_actor`, `audit_by_action_type`, `audit_by_error`) for the term that matches the
//!   fewest events, when that term names only indexed fields and its events
//!   are few (their count squared below the page size times all events): the
//!   matching rows are found by index, the other terms checked on each, the
//!   few sorted;
//! * else newest first along the table, every term checked on each row,
//!   until a page is full: a term that matches many events fills it soon.
//!   A scan reads at most [`SCAN_ROWS`] sequence numbers an answer; where
//!   matches are rare it answers with what it found (maybe nothing), `more`
//!   and where the next step starts, and the console asks for the next.

use std::collections::BTreeMap;

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

use super::Result;
use crate::domain::AuditEvent;
use crate::domain::audit_query::{AuditPage, AuditQuery, Field, Term, terms};
use crate::store;

/// A filtered column: its name in `audit_values`, its column in `audit`,
/// and whether an index leads with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Column {
    App,
    Actor,
    Role,
    Action,
    Outcome,
    Error,
}

impl Column {
    fn key(self) -> &'static str {
        match self {
            Column::App => "app",
            Column::Actor => "actor",
            Column::Role => "role",
            Column::Action => "action",
            Column::Outcome => "outcome",
            Column::Error => "error",
        }
    }

    fn sql(self) -> &'static str {
        match self {
            Column::App => "app_id",
            Column::Actor => "actor_id",
            Column::Role => "actor_role",
            Column::Action => "action_type",
            Column::Outcome => "outcome",
            Column::Error => "error_code",
        }
    }

    fn indexed(self) -> bool {
        matches!(self, Column::App | Column::Actor | Column::Action | Column::Error)
    }

    fn of(field: Field) -> &'static [Column] {
        match field {
            Field::App => &[Column::App],
            Field::Actor => &[Column::Actor, Column::Role],
            Field::Action => &[Column::Action],
            Field::Outcome => &[Column::Outcome],
            Field::Any => &[Column::App, Column::Actor, Column::Role, Column::Action, Column::Outcome, Column::Error],
        }
    }
}

/// Adds the counts of the events `first_seq..=last_seq` (just appended) to
/// `audit_values`.
pub fn count_values(conn: &Connection, first_seq: u64, last_seq: u64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_values(field, value, events)
         SELECT * FROM (
             SELECT 'actor', actor_id, COUNT(*) FROM audit WHERE seq BETWEEN ?1 AND ?2 GROUP BY actor_id
             UNION ALL SELECT 'role', actor_role, COUNT(*) FROM audit WHERE seq BETWEEN ?1 AND ?2 GROUP BY actor_role
             UNION ALL SELECT 'action', action_type, COUNT(*) FROM audit WHERE seq BETWEEN ?1 AND ?2 GROUP BY action_type
             UNION ALL SELECT 'outcome', outcome, COUNT(*) FROM audit WHERE seq BETWEEN ?1 AND ?2 GROUP BY outcome
             UNION ALL SELECT 'app', app_id, COUNT(*) FROM audit
                 WHERE seq BETWEEN ?1 AND ?2 AND app_id IS NOT NULL GROUP BY app_id
             UNION ALL SELECT 'error', error_code, COUNT(*) FROM audit
                 WHERE seq BETWEEN ?1 AND ?2 AND error_code IS NOT NULL GROUP BY error_code
         ) WHERE true
         ON CONFLICT(field, value) DO UPDATE SET events = events + excluded.events",
    )?
    .execute([first_seq as i64, last_seq as i64])?;
    Ok(())
}

/// Set while a first bulk load leaves the value counts to its end; a load
/// killed halfway leaves it set, and the next sync counts before it pulls.
const COUNTS_DEFERRED: &str = "audit_values_deferred";

/// Marks the counts as owed by [`count_all`] (the start of a bulk load).
pub fn defer_counts(conn: &Connection) -> Result<()> {
    super::meta_set(conn, COUNTS_DEFERRED, "1")
}

/// Counts every event the cache holds afresh: the end of a first bulk load
/// (or of one that failed or was killed halfway), after the indexes are built.
pub fn count_all(conn: &Connection) -> Result<()> {
    conn.execute("DELETE FROM audit_values", [])?;
    // Over the whole table the indexes on app, actor, action and error give
    // each group in order (no sort); role and outcome share one scan.
    conn.execute_batch(
        "WITH role_outcome AS MATERIALIZED (
             SELECT actor_role, outcome, COUNT(*) AS events FROM audit GROUP BY actor_role, outcome
         )
         INSERT INTO audit_values(field, value, events)
             SELECT 'actor', actor_id, COUNT(*) FROM audit GROUP BY actor_id
             UNION ALL SELECT 'app', app_id, COUNT(*) FROM audit WHERE app_id IS NOT NULL GROUP BY app_id
             UNION ALL SELECT 'action', action_type, COUNT(*) FROM audit GROUP BY action_type
             UNION ALL SELECT 'error', error_code, COUNT(*) FROM audit WHERE error_code IS NOT NULL GROUP BY error_code
             UNION ALL SELECT 'role', actor_role, SUM(events) FROM role_outcome GROUP BY actor_role
             UNION ALL SELECT 'outcome', outcome, SUM(events) FROM role_outcome GROUP BY outcome;",
    )?;
    super::meta_delete(conn, COUNTS_DEFERRED)
}

/// Whether a bulk load was cut short before it counted: [`count_all`] owed.
pub fn counts_deferred(conn: &Connection) -> Result<bool> {
    Ok(super::meta_get(conn, COUNTS_DEFERRED)?.is_some())
}

/// How many events the cache holds.
pub fn count(conn: &Connection) -> Result<u64> {
    let total: i64 = conn
        .prepare_cached("SELECT COALESCE(SUM(events), 0) FROM audit_values WHERE field = 'outcome'")?
        .query_row([], |row| row.get(0))?;
    Ok(total.max(0) as u64)
}

/// `text` as a LIKE pattern that matches it anywhere, wildcards escaped.
fn like_anywhere(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A term resolved: for each column with values that contain it, how
/// many events carry them.
#[derive(Debug, Default)]
struct Resolved {
    pattern: String,
    columns: BTreeMap<Column, u64>,
}

impl Resolved {
    fn events(&self) -> u64 {
        self.columns.values().sum()
    }

    fn indexed(&self) -> bool {
        self.columns.keys().all(|c| c.indexed())
    }
}

/// Resolves a term in one pass over `audit_values`: per column, how many
/// events carry a value that contains it (app ids also by the app's name).
fn resolve(conn: &Connection, term: &Term) -> Result<Resolved> {
    let pattern = like_anywhere(&term.text);
    let columns = Column::of(term.field);
    let keys: Vec<String> = columns.iter().map(|c| format!("'{}'", c.key())).collect();
    let mut sql = format!(
        "SELECT field, SUM(events) FROM audit_values WHERE field IN ({}) AND value LIKE ?1 ESCAPE '\\'
         GROUP BY field",
        keys.join(", ")
    );
    if columns.contains(&Column::App) {
        sql.push_str(
            " UNION ALL SELECT 'app', SUM(events) FROM audit_values WHERE field = 'app'
               AND NOT value LIKE ?1 ESCAPE '\\' AND value IN (SELECT id FROM apps WHERE name LIKE ?1 ESCAPE '\\')",
        );
    }
    let mut resolved = Resolved { pattern: pattern.clone(), columns: BTreeMap::new() };
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([&pattern])?;
    while let Some(row) = rows.next()? {
        let field: String = row.get(0)?;
        let events: Option<i64> = row.get(1)?;
        let column = columns.iter().find(|c| c.key() == field);
        if let (Some(column), Some(events @ 1..)) = (column, events) {
            *resolved.columns.entry(*column).or_default() += events as u64;
        }
    }
    Ok(resolved)
}

/// The values of `column` that contain the term: few, for the term the
/// rows are found by.
fn values(conn: &Connection, column: Column, pattern: &str) -> Result<Vec<String>> {
    let mut sql = "SELECT value FROM audit_values WHERE field = ?1 AND (value LIKE ?2 ESCAPE '\\'".to_string();
    if column == Column::App {
        sql.push_str(" OR value IN (SELECT id FROM apps WHERE name LIKE ?2 ESCAPE '\\')");
    }
    sql.push(')');
    let mut stmt = conn.prepare_cached(&sql)?;
    Ok(stmt.query_map([column.key(), pattern], |row| row.get(0))?.collect::<rusqlite::Result<_>>()?)
}

/// Events a scan of the table reads at most for one answer: a filter whose
/// matches are rare answers in steps, each bounded, each saying where the
/// next one starts.
pub const SCAN_ROWS: u64 = 200_000;

/// One page of the events `query` selects, newest first.
pub fn search(conn: &Connection, query: &AuditQuery) -> Result<AuditPage> {
    search_in_steps(conn, query, SCAN_ROWS)
}

fn search_in_steps(conn: &Connection, query: &AuditQuery, scan_rows: u64) -> Result<AuditPage> {
    let limit = query.limit.max(1);
    let mut resolved = Vec::new();
    for term in terms(&query.text) {
        let term = resolve(conn, &term)?;
        if term.columns.is_empty() {
            return Ok(AuditPage { query: query.clone(), events: Vec::new(), more: false, next_before: None });
        }
        resolved.push(term);
    }
    // The term to find rows by: the one with the fewest events, when the
    // index reads fewer rows than a scan of the table would (see the module docs).
    let total = count(conn)?;
    let driving = resolved
        .iter()
        .enumerate()
        .filter(|(_, term)| term.indexed())
        .min_by_key(|(_, term)| term.events())
        .filter(|(_, term)| (term.events() as u128).pow(2) < u128::from(limit) * u128::from(total.max(1)))
        .map(|(index, _)| index);

    let mut sql = format!("SELECT {} FROM audit WHERE seq < ?1", store::audit::COLUMNS);
    let mut params: Vec<Value> = vec![Value::Integer(query.before_seq.map_or(i64::MAX, |seq| seq as i64))];
    if let Some(outcome) = query.outcome {
        params.push(Value::Text(outcome.as_str().to_string()));
        sql.push_str(&format!(" AND +outcome = ?{}", params.len()));
    }
    for (index, term) in resolved.iter().enumerate() {
        params.push(Value::Text(term.pattern.clone()));
        let p = params.len();
        let mut any = Vec::new();
        for column in term.columns.keys() {
            let name = column.sql();
            if Some(index) == driving {
                // Found by the column's index, one lookup per value.
                params.push(Value::Text(serde_json::to_string(&values(conn, *column, &term.pattern)?)?));
                any.push(format!("{name} IN (SELECT value FROM json_each(?{}))", params.len()));
            } else if *column == Column::App {
                // Checked on each row; `+` keeps SQLite off the index.
                any.push(format!(
                    "+{name} LIKE ?{p} ESCAPE '\\' OR +{name} IN (SELECT id FROM apps WHERE name LIKE ?{p} ESCAPE '\\')"
                ));
            } else {
                any.push(format!("+{name} LIKE ?{p} ESCAPE '\\'"));
            }
        }
        sql.push_str(&format!(" AND ({})", any.join(" OR ")));
    }
    // A scan with a filter reads at most `scan_rows` sequence numbers.
    // (One aggregate a statement: SQLite reads MIN and MAX of the key from
    // the ends of the table only when each is alone.)
    let edge = |sql: &str| -> Result<Option<i64>> { Ok(conn.prepare_cached(sql)?.query_row([], |row| row.get(0))?) };
    let filtered = !resolved.is_empty() || query.outcome.is_some();
    let floor = match (driving, filtered) {
        (None, true) => edge("SELECT MAX(seq) FROM audit")?.map(|newest| {
            let top = query.before_seq.map_or(newest, |before| (before as i64 - 1).min(newest));
            (top - scan_rows as i64 + 1).max(0)
        }),
        _ => None,
    };
    let oldest = match floor {
        Some(_) => edge("SELECT MIN(seq) FROM audit")?,
        None => None,
    };
    if let Some(floor) = floor {
        params.push(Value::Integer(floor));
        sql.push_str(&format!(" AND seq >= ?{}", params.len()));
    }
    params.push(Value::Integer(i64::from(limit) + 1));
    sql.push_str(&format!(" ORDER BY seq DESC LIMIT ?{}", params.len()));

    let mut stmt = conn.prepare_cached(&sql)?;
    let mut events: Vec<AuditEvent> =
        stmt.query_map(params_from_iter(params), store::audit::from_row)?.collect::<rusqlite::Result<_>>()?;
    let full = events.len() > limit as usize;
    events.truncate(limit as usize);
    let (more, next_before) = match floor {
        _ if full => (true, events.last().map(|e| e.seq)),
        // The scan stopped at its floor with older events below it.
        Some(floor) if oldest.is_some_and(|oldest| oldest < floor) => (true, Some(floor as u64)),
        _ => (false, None),
    };
    Ok(AuditPage { query: query.clone(), events, more, next_before })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::Cache;
    use crate::cache::audit::append_verified;
    use crate::domain::audit::sealed_chain;
    use crate::domain::audit_query::matches;
    use crate::domain::{NewAuditEvent, Outcome};
    use chrono::TimeZone;

    fn cache_with(n: u64) -> (Cache, Vec<AuditEvent>) {
        let at = chrono::Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        let events = sealed_chain(n, at, |seq| NewAuditEvent {
            actor_id: if seq % 10 == 0 { "riley".into() } else { format!("svc-{}", seq % 7) },
            actor_role: if seq % 10 == 0 { "reviewer".into() } else { "service".into() },
            app_id: (seq % 5 != 0).then(|| format!("app_{}", seq % 13)),
            action_type: if seq % 50 == 0 { "dlp.block".into() } else { "app.login".into() },
            outcome: Some(if seq % 50 == 0 { Outcome::Blocked } else { Outcome::Success }),
            error_code: (seq % 50 == 0).then(|| "E_100%".to_string()),
            timestamp: Some(at + chrono::Duration::seconds(seq as i64)),
            ..NewAuditEvent::default()
        });
        let mut cache = Cache::open_in_memory().unwrap();
        cache.write(|conn| append_verified(conn, &events)).unwrap();
        (cache, events)
    }

    fn query(text: &str, outcome: Option<Outcome>, before: Option<u64>, limit: u32) -> AuditQuery {
        AuditQuery { id: 1, text: text.into(), outcome, before_seq: before, limit }
    }

    /// What the filter selects, computed over every event in memory.
    fn expected(events: &[AuditEvent], q: &AuditQuery) -> Vec<u64> {
        let terms = terms(&q.text);
        events
            .iter()
            .rev()
            .filter(|e| q.before_seq.is_none_or(|b| e.seq < b))
            .filter(|e| q.outcome.is_none_or(|o| o == e.outcome))
            .filter(|e| matches(e, None, &terms))
            .map(|e| e.seq)
            .take(q.limit as usize)
            .collect()
    }

    #[test]
    fn the_search_finds_what_the_filter_matches_in_the_whole_cache() {
        let (cache, events) = cache_with(600);
        for text in
            ["", "riley", "actor:svc-3", "app:app_1", "dlp", "action:login app:app_12", "e_100%", "blocked", "zzz", "_"]
        {
            for (outcome, before, limit) in [(None, None, 50), (Some(Outcome::Success), Some(300), 1000)] {
                let q = query(text, outcome, before, limit);
                let page = search(cache.conn(), &q).unwrap();
                let seqs: Vec<u64> = page.events.iter().map(|e| e.seq).collect();
                assert_eq!(seqs, expected(&events, &q), "{text:?} {outcome:?} before {before:?}");
                let all = expected(&events, &AuditQuery { limit: u32::MAX, ..q.clone() }).len();
                assert_eq!(page.more, all > limit as usize, "{text:?}: more");
            }
        }
    }

    #[test]
    fn a_scan_answers_in_bounded_steps_that_together_find_every_match() {
        let (cache, events) = cache_with(600);
        for text in ["blocked", "app.login svc-3", "zzz", ""] {
            let mut q = query(text, None, None, 1000);
            let mut found = Vec::new();
            let mut steps = 0;
            loop {
                let page = search_in_steps(cache.conn(), &q, 64).unwrap();
                assert!(page.events.iter().all(|e| q.before_seq.is_none_or(|b| e.seq < b)));
                found.extend(page.events.iter().map(|e| e.seq));
                steps += 1;
                if !page.more {
                    break;
                }
                q.before_seq = page.next_before;
                assert!(steps < 20, "{text}: the steps go down");
            }
            assert_eq!(found, expected(&events, &query(text, None, None, 1000)), "{text:?}");
            if text == "blocked" {
                assert!(steps > 1, "a rare match is found in steps");
            }
        }
    }

    #[test]
    fn counts_follow_every_appended_page() {
        let (mut cache, events) = cache_with(120);
        assert_eq!(count(cache.conn()).unwrap(), 120);
        let at = events.last().unwrap().timestamp;
        let next = crate::domain::audit::sealed_chain(121, at, |_| NewAuditEvent {
            actor_id: "newcomer".into(),
            ..NewAuditEvent::default()
        });
        cache.write(|conn| append_verified(conn, &next[120..])).unwrap();
        assert_eq!(count(cache.conn()).unwrap(), 121);
        let page = search(cache.conn(), &query("newcomer", None, None, 10)).unwrap();
        assert_eq!(page.events.len(), 1);
    }

    #[test]
    fn counts_left_to_the_end_of_a_bulk_load_match_counts_kept_per_page() {
        let (per_page, _) = cache_with(240);
        let values = |cache: &Cache| -> Vec<(String, String, i64)> {
            let mut stmt =
                cache.conn().prepare("SELECT field, value, events FROM audit_values ORDER BY field, value").unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(|r| r.unwrap()).collect()
        };
        // The same events written as a bulk load does: counts owed, then paid.
        let (mut bulk, _) = cache_with(240);
        bulk.write(|conn| {
            conn.execute("DELETE FROM audit_values", [])?;
            defer_counts(conn)
        })
        .unwrap();
        assert!(counts_deferred(bulk.conn()).unwrap());
        assert_eq!(count(bulk.conn()).unwrap(), 0, "nothing counted until the end");
        bulk.write(count_all).unwrap();
        assert!(!counts_deferred(bulk.conn()).unwrap());
        assert_eq!(values(&bulk), values(&per_page));
        assert_eq!(count(bulk.conn()).unwrap(), 240);
    }
}
