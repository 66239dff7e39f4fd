//! Schema of the server database, applied in numbered steps recorded in
//! `PRAGMA user_version`.

use rusqlite::Connection;

use super::{Result, StoreError};

/// The audit table, the same in the server database and the console's
/// cache, so one reader and one verifier serve both. As first created: the
/// columns added since are added by later steps of both schemas
/// ([`AUDIT_PROVENANCE_SQL`]), so a new database and a migrated one end up
/// with the same table.
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

/// The audit table's provenance columns (the principal that wrote each event
/// and when the server recorded it): step 5 of the server schema, step 6 of
/// the cache's. NULL in the rows from before, which hash as they always did
/// (see [`crate::domain::audit`]).
pub const AUDIT_PROVENANCE_SQL: &str = "
    ALTER TABLE audit ADD COLUMN reported_by TEXT;
    ALTER TABLE audit ADD COLUMN recorded_at TEXT;
    ";

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
    // 5: who wrote each audit event, and when the server recorded it.
    AUDIT_PROVENANCE_SQL,
    // 6: tokens that expire (store::users): when the current token was
    // issued and when it stops working (NULL: never). Tokens issued before
    // count from the user's creation and never expire.
    "
    ALTER TABLE users ADD COLUMN token_issued_at TEXT;
    ALTER TABLE users ADD COLUMN expires_at TEXT;
    UPDATE users SET token_issued_at = created_at;
    ",
    // 7: apps found by a declared endpoint, for the status API
    // (domain::status). Kept by triggers, so every writer of `apps` (the
    // API, the lifecycle job, the importers, the seed) keeps it true; `key`
    // is a coarse lower-cased form the exact rule is checked against.
    "
    CREATE TABLE app_endpoints (
        key       TEXT NOT NULL,
        app_id    TEXT NOT NULL,
        endpoint  TEXT NOT NULL
    ) STRICT;
    CREATE INDEX app_endpoints_by_key ON app_endpoints(key);
    CREATE INDEX app_endpoints_by_app ON app_endpoints(app_id);
    CREATE TRIGGER app_endpoints_insert AFTER INSERT ON apps BEGIN
        INSERT INTO app_endpoints(key, app_id, endpoint)
            SELECT lower(rtrim(trim(value), '/')), NEW.id, value FROM json_each(NEW.data, '$.endpoints');
    END;
    CREATE TRIGGER app_endpoints_update AFTER UPDATE OF data ON apps BEGIN
        DELETE FROM app_endpoints WHERE app_id = OLD.id;
        INSERT INTO app_endpoints(key, app_id, endpoint)
            SELECT lower(rtrim(trim(value), '/')), NEW.id, value FROM json_each(NEW.data, '$.endpoints');
    END;
    CREATE TRIGGER app_endpoints_delete AFTER DELETE ON apps BEGIN
        DELETE FROM app_endpoints WHERE app_id = OLD.id;
    END;
    INSERT INTO app_endpoints(key, app_id, endpoint)
        SELECT lower(rtrim(trim(j.value), '/')), apps.id, j.value FROM apps, json_each(apps.data, '$.endpoints') AS j;
    ",
    // 8: the Merkle tree over the audit log (see store::merkle); filled from
    // the existing rows by `migrate` right after.
    super::merkle::TABLE_SQL,
    // 9: checkpoints that are signed tree heads (C2SP notes; domain::note).
    super::checkpoints::TREE_HEAD_SQL,
    // 10: every policy the server has decided under, the newest active (see
    // store::policies); the server records the built-in default on its
    // first start over a database without one.
    super::policies::TABLE_SQL,
];

/// The step that made the `audit_tree` table.
pub const TREE_STEP: i64 = 8;

/// Applies the missing steps, then adds to the Merkle tree the events it
/// lacks: every event of a database from before step 8, none otherwise.
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

    /// A log the code before step 5 wrote: its rows through the old column
    /// list, each hashed over the canonical bytes of the time (no provenance).
    fn insert_legacy_chain(conn: &Connection, n: u64) -> String {
        use crate::domain::audit::{AuditEvent, GENESIS_HASH, NewAuditEvent, format_timestamp};
        let at = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let mut prev = GENESIS_HASH.to_string();
        for seq in 1..=n {
            let new = NewAuditEvent {
                actor_id: "riley".into(),
                actor_role: "reviewer".into(),
                action_type: "approval.approve".into(),
                resource_type: "approval".into(),
                request_context: serde_json::json!({"comment": "ok", "rev": seq}),
                ..NewAuditEvent::default()
            };
            let mut event = AuditEvent::seal(new, "unused", format!("old-{seq}"), seq, at, &prev);
            (event.reported_by, event.recorded_at) = (None, None);
            event.hash = event.compute_hash();
            conn.execute(
                "INSERT INTO audit(seq, event_id, timestamp, actor_id, actor_role, action_type, resource_type, outcome,
                    request_context, prev_hash, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'success', ?8, ?9, ?10)",
                rusqlite::params![
                    seq as i64,
                    event.event_id,
                    format_timestamp(event.timestamp),
                    event.actor_id,
                    event.actor_role,
                    event.action_type,
                    event.resource_type,
                    event.request_context.to_string(),
                    event.prev_hash,
                    event.hash
                ],
            )
            .unwrap();
            prev = event.hash;
        }
        crate::store::audit::set_head(conn, &crate::domain::api::AuditHead { seq: n, hash: prev.clone() }).unwrap();
        prev
    }

    #[test]
    fn a_log_from_before_provenance_verifies_read_only_without_migrating() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let mut conn = Connection::open(&path).unwrap();
        apply(&mut conn, &MIGRATIONS[..4]).unwrap();
        insert_legacy_chain(&conn, 3);
        drop(conn);
        let store = crate::store::Store::open_read_only(&path).unwrap();
        let report = crate::store::audit::verify(store.conn()).unwrap();
        assert_eq!((report.result, report.verified), (Ok(()), 3));
        let version: i64 = store.conn().pragma_query_value(None, "user_version", |row| row.get(0)).unwrap();
        assert_eq!(version, 4, "a read-only verify changes nothing");
    }

    #[test]
    fn a_log_from_before_provenance_migrates_and_still_verifies() {
        use crate::store::audit;
        let mut conn = Connection::open_in_memory().unwrap();
        apply(&mut conn, &MIGRATIONS[..4]).unwrap();
        insert_legacy_chain(&conn, 5);
        migrate(&mut conn).unwrap();
        let report = audit::verify(&conn).unwrap();
        assert_eq!((report.result, report.verified), (Ok(()), 5));
        let legacy: (Option<String>, Option<String>) = conn
            .query_row("SELECT reported_by, recorded_at FROM audit WHERE seq = 3", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!(legacy, (None, None), "history is not rewritten");

        // The log goes on with events that carry their provenance.
        let at = chrono::DateTime::from_timestamp(1_790_001_000, 0).unwrap();
        let new = crate::domain::NewAuditEvent { action_type: "data.export".into(), ..Default::default() };
        let sealed = audit::append(&conn, new, "ingest-bot", at).unwrap();
        assert_eq!((sealed.seq, sealed.reported_by.as_deref()), (6, Some("ingest-bot")));
        let report = audit::verify(&conn).unwrap();
        assert_eq!((report.result, report.verified), (Ok(()), 6));
        let (events, _) = audit::page(&conn, 0, 10, &crate::domain::Visibility::All).unwrap();
        assert_eq!(events[5], sealed, "read back as written");

        // The new columns are covered by the hash; an old row cannot be given them.
        for (sql, seq) in [
            ("UPDATE audit SET reported_by = 'riley' WHERE seq = 6", 6),
            ("UPDATE audit SET recorded_at = '2026-01-01T00:00:00.000000Z' WHERE seq = 6", 6),
            ("UPDATE audit SET reported_by = NULL, recorded_at = NULL WHERE seq = 6", 6),
            ("UPDATE audit SET reported_by = 'riley' WHERE seq = 2", 2),
        ] {
            let tx = conn.transaction().unwrap();
            tx.execute_batch(sql).unwrap();
            let broken = audit::verify(&tx).unwrap().result.unwrap_err();
            assert_eq!(broken, crate::domain::audit::ChainBreak::Content { seq }, "{sql}");
            drop(tx);
        }
        assert_eq!(audit::verify(&conn).unwrap().result, Ok(()));
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
