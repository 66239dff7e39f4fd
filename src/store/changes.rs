//! The change log behind `/v1/changes`: one row per entry and audience at
//! its newest revision, so a client that passes the last `next` it got reads
//! only what changed since, and a poll with nothing new is one indexed query.

use rusqlite::{Connection, params};
use serde_json::value::RawValue;

use super::Result;
use crate::domain::Visibility;
use crate::domain::api::{ChangeItem, ChangeKind, ChangeOp, ChangesPage};

/// The next global revision.
pub fn next_rev(conn: &Connection) -> Result<u64> {
    Ok(conn
        .prepare_cached("SELECT COALESCE(MAX(rev), 0) + 1 FROM changes")?
        .query_row([], |row| row.get::<_, i64>(0))? as u64)
}

/// The newest revision written so far.
pub fn current_rev(conn: &Connection) -> Result<u64> {
    Ok(next_rev(conn)? - 1)
}

fn write(conn: &Connection, rev: u64, kind: ChangeKind, id: &str, audience: &str, op: ChangeOp) -> Result<()> {
    let op = match op {
        ChangeOp::Upsert => "upsert",
        ChangeOp::Delete => "delete",
    };
    conn.prepare_cached("INSERT OR REPLACE INTO changes(rev, kind, id, audience, op) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![rev as i64, kind.as_str(), id, audience, op])?;
    Ok(())
}

/// Records that `id` changed and is now readable by `audience` (and by
/// everyone who reads everything). When the audience changed, the old one
/// gets a delete first. Returns the revision of the upsert.
pub fn record_upsert(
    conn: &Connection,
    kind: ChangeKind,
    id: &str,
    audience: &str,
    previous: Option<&str>,
) -> Result<u64> {
    if let Some(previous) = previous.filter(|previous| *previous != audience) {
        let rev = next_rev(conn)?;
        write(conn, rev, kind, id, previous, ChangeOp::Delete)?;
    }
    let rev = next_rev(conn)?;
    write(conn, rev, kind, id, audience, ChangeOp::Upsert)?;
    Ok(rev)
}

/// Records that `id` is gone for everyone who could read it.
pub fn record_delete(conn: &Connection, kind: ChangeKind, id: &str) -> Result<u64> {
    let audiences: Vec<String> = conn
        .prepare_cached("SELECT audience FROM changes WHERE kind = ?1 AND id = ?2")?
        .query_map(params![kind.as_str(), id], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut rev = 0;
    for audience in audiences {
        rev = next_rev(conn)?;
        write(conn, rev, kind, id, &audience, ChangeOp::Delete)?;
    }
    Ok(rev)
}

const SELECT_PAGE: &str = "
    SELECT c.rev, c.kind, c.id, c.op,
           CASE c.kind WHEN 'app' THEN a.data ELSE p.data END
    FROM changes c
    LEFT JOIN apps a ON c.kind = 'app' AND c.op = 'upsert' AND a.id = c.id
    LEFT JOIN approvals p ON c.kind = 'approval' AND c.op = 'upsert' AND p.id = c.id";

/// Changes after `since` that `visibility` may read, oldest first, at most `limit`.
pub fn page(conn: &Connection, since: u64, limit: u32, visibility: &Visibility) -> Result<ChangesPage> {
    let fetch = i64::from(limit) + 1;
    let mut items = Vec::with_capacity(limit.min(1024) as usize);
    let mut push = |row: &rusqlite::Row<'_>| -> rusqlite::Result<()> {
        let kind = match row.get_ref(1)?.as_str()? {
            "app" => ChangeKind::App,
            _ => ChangeKind::Approval,
        };
        let op = match row.get_ref(3)?.as_str()? {
            "upsert" => ChangeOp::Upsert,
            _ => ChangeOp::Delete,
        };
        let data = match (op, row.get::<_, Option<String>>(4)?) {
            (ChangeOp::Upsert, Some(json)) => Some(RawValue::from_string(json).map_err(|err| {
                rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, err.into())
            })?),
            _ => None,
        };
        items.push(ChangeItem { rev: row.get::<_, i64>(0)? as u64, kind, op, id: row.get(2)?, data });
        Ok(())
    };
    match visibility {
        Visibility::All => {
            // Readers of everything skip the deletes an owner change leaves
            // for the previous owner: the entry is still there for them.
            let sql = format!(
                "{SELECT_PAGE} WHERE c.rev > ?1 AND NOT (c.op = 'delete' AND EXISTS (
                    SELECT 1 FROM changes u WHERE u.kind = c.kind AND u.id = c.id AND u.op = 'upsert'))
                 ORDER BY c.rev LIMIT ?2"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![since as i64, fetch])?;
            while let Some(row) = rows.next()? {
                push(row)?;
            }
        }
        Visibility::OwnedBy(owner) => {
            let sql = format!("{SELECT_PAGE} WHERE c.audience = ?1 AND c.rev > ?2 ORDER BY c.rev LIMIT ?3");
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![owner, since as i64, fetch])?;
            while let Some(row) = rows.next()? {
                push(row)?;
            }
        }
    }
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next = items.last().map_or(since, |item| item.rev);
    Ok(ChangesPage { items, next, more })
}
