//! Schema of the server database, applied in numbered steps recorded in
//! `PRAGMA user_version`.

use rusqlite::Connection;

use super::{Result, StoreError};

/// The audit table, the same in the server database and the console's
/// cache, so one reader and one verifier serve both.
#[macro_export]
macro_rules! audit_table_sql {
    () => {
        "
    CREATE TABLE audit (
        seq                  INTEGER PRIMARY KEY,
        event_id             TEXT NOT NULL,
        timestamp            TEXT NOT NULL,
        actor_id             TEXT NOT NULL,
        actor_role           TEXT NOT NULL,
        app_id               TEXT,
        version              INTEGER,
        environment          TEXT,
        action_type          TEXT NOT NULL,
        resource_type        TEXT NOT NULL,
        resource_id          TEXT,
        data_classification  TEXT,
        outcome              TEXT NOT NULL,
        error_code           TEXT,
        ip_address           TEXT,
        user_agent           TEXT,
        request_context      TEXT NOT NULL,
        risk_score_at_time   INTEGER,
        approval_id          TEXT,
        prev_hash            TEXT NOT NULL,
        hash                 TEXT NOT NULL
    ) STRICT;
    CREATE INDEX audit_by_app ON audit(app_id, seq);
    "
    };
}

const MIGRATIONS: &[&str] = &[
    // 1: the catalog, the change log, the audit chain, users, idempotency.
    concat!(
        "
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;

    CREATE TABLE users (
        name        TEXT PRIMARY KEY,
        roles       TEXT NOT NULL,
        token_hash  TEXT NOT NULL UNIQUE,
        created_at  TEXT NOT NULL,
        revoked_at  TEXT
    ) STRICT;

    CREATE TABLE apps (
        id          TEXT PRIMARY KEY,
        owner       TEXT NOT NULL,
        state       TEXT NOT NULL,
        expires_at  TEXT,
        last_activity_at TEXT,
        rev         INTEGER NOT NULL,
        data        TEXT NOT NULL
    ) STRICT;
    CREATE INDEX apps_by_owner ON apps(owner);
    CREATE INDEX apps_by_state ON apps(state);

    CREATE TABLE approvals (
        id      TEXT PRIMARY KEY,
        app_id  TEXT NOT NULL,
        status  TEXT NOT NULL,
        rev     INTEGER NOT NULL,
        data    TEXT NOT NULL
    ) STRICT;
    CREATE INDEX approvals_by_app ON approvals(app_id, status);

    -- The newest change of each entry, per audience (the owner who may read
    -- it); a change of owner leaves a delete for the old owner.
    CREATE TABLE changes (
        rev       INTEGER PRIMARY KEY,
        kind      TEXT NOT NULL,
        id        TEXT NOT NULL,
        audience  TEXT NOT NULL,
        op        TEXT NOT NULL,
        UNIQUE (kind, id, audience)
    ) STRICT;
    CREATE INDEX changes_by_audience ON changes(audience, rev);

    ",
        audit_table_sql!(),
        "

    CREATE TABLE idempotency (
        user          TEXT NOT NULL,
        key           TEXT NOT NULL,
        request_hash  TEXT NOT NULL,
        status        INTEGER NOT NULL,
        body          TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        PRIMARY KEY (user, key)
    ) STRICT;
    "
    ),
    // 2: where imported apps came from, and the importers' sweeps (for resuming).
    "
    CREATE TABLE upstream (
        instance     TEXT NOT NULL,
        key          TEXT NOT NULL COLLATE NOCASE,
        source       TEXT NOT NULL,
        app_id       TEXT NOT NULL UNIQUE,
        fingerprint  TEXT NOT NULL,
        scope        TEXT NOT NULL,
        seen_in      INTEGER NOT NULL,
        orphaned_at  TEXT,
        entity       TEXT NOT NULL,
        updated_at   TEXT NOT NULL,
        PRIMARY KEY (instance, key)
    ) STRICT;
    CREATE INDEX upstream_by_scope ON upstream(instance, scope, seen_in);

    CREATE TABLE import_sweeps (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        source       TEXT NOT NULL,
        instance     TEXT NOT NULL,
        scope        TEXT NOT NULL,
        started_at   TEXT NOT NULL,
        updated_at   TEXT NOT NULL,
        finished_at  TEXT,
        outcome      TEXT,
        pages        INTEGER NOT NULL,
        next_cursor  TEXT
    ) STRICT;
    CREATE INDEX import_sweeps_open ON import_sweeps(instance, scope) WHERE finished_at IS NULL;
    ",
    // 3: signed checkpoints of the audit chain (see store::checkpoints).
    super::checkpoints::TABLE_SQL,
    // 4: apps found by name, for the rule that two apps do not share one
    // (domain::naming; checked in the transaction that registers an app).
    // Not a unique index: a database from before the rule may hold
    // duplicates, and migrating it must not fail on them.
    "CREATE INDEX apps_by_name ON apps(json_extract(data, '$.name'));",
    // 5: the Merkle tree over the audit log (see store::merkle); filled from
    // the existing rows by `migrate` right after.
    super::merkle::TABLE_SQL,
    // 6: checkpoints that are signed tree heads (C2SP notes; domain::note).
    super::checkpoints::TREE_HEAD_SQL,
];

/// The step that made the `audit_tree` table.
pub const TREE_STEP: i64 = 5;

/// Applies the missing steps, then adds to the Merkle tree the events it
/// lacks: every event of a database from before step 5, none otherwise.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    apply(conn, MIGRATIONS)?;
    let tx = conn.transaction()?;
    let added = super::merkle::catch_up(&tx)?;
    tx.commit()?;
    if added > 0 {
        tracing::info!(added, "audit tree: added the events it lacked");
    }
    Ok(())
}

/// Applies the steps of `migrations` that `PRAGMA user_version` says are
/// missing, each in its own transaction; refuses a database from a newer build.
pub fn apply(conn: &mut Connection, migrations: &[&str]) -> Result<()> {
    let known = migrations.len() as i64;
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > known {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for (index, sql) in migrations.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AppState;
    use crate::store::apps;

    /// Two rows of one name, as a database from before the naming rule may hold.
    fn insert_app(conn: &Connection, id: &str, name: &str, state: &str) {
        let data = serde_json::json!({"id": id, "name": name}).to_string();
        conn.execute(
            "INSERT INTO apps(id, owner, state, rev, data) VALUES (?1, 'olive', ?2, 1, ?3)",
            rusqlite::params![id, state, data],
        )
        .unwrap();
    }

    #[test]
    fn a_database_holding_two_live_apps_of_one_name_still_migrates() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply(&mut conn, &MIGRATIONS[..3]).unwrap();
        insert_app(&conn, "app_1", "crm-sync", "active");
        insert_app(&conn, "app_2", "crm-sync", "pending");
        insert_app(&conn, "app_3", "other", "active");
        migrate(&mut conn).unwrap();

        let carriers = apps::carriers_of_name(&conn, "crm-sync").unwrap();
        assert_eq!(carriers, [("app_1".to_string(), AppState::Active), ("app_2".to_string(), AppState::Pending)]);
        assert!(apps::carriers_of_name(&conn, "crm").unwrap().is_empty(), "names match whole, not by prefix");
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT id, state FROM apps WHERE json_extract(data, '$.name') = 'x'",
                [],
                |row| row.get(3),
            )
            .unwrap();
        assert!(plan.contains("apps_by_name"), "the lookup uses the index: {plan}");
    }
}
