//! Schema of the console's cache, applied in numbered steps recorded in
//! `PRAGMA user_version`.

use rusqlite::Connection;

use super::Result;

const MIGRATIONS: &[&str] = &[
    // 1: the catalog as the user may read it, the audit chain, the outbox.
    concat!(
        "
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;

    CREATE TABLE apps (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        owner       TEXT NOT NULL,
        state       TEXT NOT NULL,
        expires_at  TEXT,
        rev         INTEGER NOT NULL,
        data        TEXT NOT NULL
    ) STRICT;
    CREATE INDEX apps_by_name ON apps(name);
    CREATE INDEX apps_by_owner ON apps(owner);

    CREATE TABLE approvals (
        id      TEXT PRIMARY KEY,
        app_id  TEXT NOT NULL,
        status  TEXT NOT NULL,
        rev     INTEGER NOT NULL,
        data    TEXT NOT NULL
    ) STRICT;
    CREATE INDEX approvals_by_status ON approvals(status);
    ",
        crate::audit_table_sql!(),
        "
    CREATE INDEX audit_by_action ON audit(action_type, timestamp);
    -- audit_by_app (from the shared table definition) and audit_by_action
    -- are dropped during a first bulk sync and rebuilt after it; see
    -- cache::audit::SECONDARY_INDEXES.

    CREATE TABLE outbox (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        kind             TEXT NOT NULL,
        target_id        TEXT NOT NULL,
        body             TEXT NOT NULL,
        idempotency_key  TEXT NOT NULL UNIQUE,
        rev              INTEGER,
        status           TEXT NOT NULL,
        attempts         INTEGER NOT NULL DEFAULT 0,
        message          TEXT,
        response         TEXT,
        created_at       TEXT NOT NULL,
        updated_at       TEXT NOT NULL
    ) STRICT;
    CREATE INDEX outbox_by_status ON outbox(status, id);
    "
    ),
    // 2: the server's signed audit checkpoints, each checked before it is stored.
    crate::store::checkpoints::TABLE_SQL,
    // 3: DLP blocks by month (the one query audit_by_action served) from a
    // partial index of the `dlp.block` events alone. The full index held
    // every event's action and timestamp: 50 MB of a 1M-event cache and half
    // of the index build after a first sync. The partial one is small and
    // appended to in time order, so a bulk load keeps it.
    "
    DROP INDEX IF EXISTS audit_by_action;
    CREATE INDEX IF NOT EXISTS audit_dlp_by_time ON audit(timestamp) WHERE action_type = 'dlp.block';
    ",
    // 4: what lists, filters and KPIs need of an app, as columns, so 100k
    // apps load without decoding their manifests (`catalog::summaries`).
    // Rows cached before it have `summarized = 0` until
    // `catalog::backfill_summaries` rewrites them from `data`.
    "
    ALTER TABLE apps ADD COLUMN team TEXT NOT NULL DEFAULT '';
    ALTER TABLE apps ADD COLUMN purpose TEXT NOT NULL DEFAULT '';
    ALTER TABLE apps ADD COLUMN data_class TEXT NOT NULL DEFAULT '';
    ALTER TABLE apps ADD COLUMN expected_users INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE apps ADD COLUMN ttl_class TEXT NOT NULL DEFAULT '';
    ALTER TABLE apps ADD COLUMN risk_score INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE apps ADD COLUMN risk_tier TEXT NOT NULL DEFAULT '';
    ALTER TABLE apps ADD COLUMN controls INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE apps ADD COLUMN state_since_us INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE apps ADD COLUMN expires_us INTEGER;
    ALTER TABLE apps ADD COLUMN monthly_budget REAL NOT NULL DEFAULT 0;
    ALTER TABLE apps ADD COLUMN monthly_spend REAL NOT NULL DEFAULT 0;
    ALTER TABLE apps ADD COLUMN complete INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE apps ADD COLUMN summarized INTEGER NOT NULL DEFAULT 0;
    -- Empty once backfilled, so looking for stale rows at every open is free.
    CREATE INDEX apps_unsummarized ON apps(id) WHERE summarized = 0;
    -- Covering, in the inventory's order: the summaries are read from this
    -- index alone (a fifth of the table's bytes), already sorted.
    CREATE INDEX apps_summary ON apps(name, id, owner, team, purpose, data_class, expected_users, ttl_class,
        risk_score, risk_tier, controls, state, state_since_us, expires_us, monthly_budget, monthly_spend,
        complete, rev);
    -- A detail view reads one app's requests.
    CREATE INDEX approvals_by_app ON approvals(app_id);
    ",
    // 5: the audit timeline's filter over the whole cache (cache::audit_search):
    // every distinct value of the filtered fields with its event count, and
    // the indexes on actor and action (built at open, see
    // cache::audit::SECONDARY_INDEXES). Events cached before are counted here.
    "
    CREATE TABLE audit_values (
        field   TEXT NOT NULL,
        value   TEXT NOT NULL,
        events  INTEGER NOT NULL,
        PRIMARY KEY (field, value)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO audit_values(field, value, events)
    SELECT * FROM (
        SELECT 'actor', actor_id, COUNT(*) FROM audit GROUP BY actor_id
        UNION ALL SELECT 'role', actor_role, COUNT(*) FROM audit GROUP BY actor_role
        UNION ALL SELECT 'action', action_type, COUNT(*) FROM audit GROUP BY action_type
        UNION ALL SELECT 'outcome', outcome, COUNT(*) FROM audit GROUP BY outcome
        UNION ALL SELECT 'app', app_id, COUNT(*) FROM audit WHERE app_id IS NOT NULL GROUP BY app_id
        UNION ALL SELECT 'error', error_code, COUNT(*) FROM audit WHERE error_code IS NOT NULL GROUP BY error_code
    ) WHERE true;
    ",
    // 6: who wrote each audit event, and when the server recorded it (as the
    // server's step 5); NULL for the events cached before.
    crate::store::schema::AUDIT_PROVENANCE_SQL,
    // 7: checkpoints that are signed tree heads (domain::note), and the
    // inclusion proof sync checked for each event it stored that the chain
    // walk cannot vouch for (an owner's events, with gaps between them):
    // `proof` is the audit path's 32-byte hashes, nearest the leaf first, in
    // the tree of `tree_size` events, whose signed root is a checkpoint's.
    "
    ALTER TABLE checkpoints ADD COLUMN tree_size INTEGER;
    ALTER TABLE checkpoints ADD COLUMN root_hash TEXT;
    ALTER TABLE checkpoints ADD COLUMN note TEXT;
    CREATE TABLE audit_proofs (
        seq        INTEGER PRIMARY KEY,
        tree_size  INTEGER NOT NULL,
        proof      BLOB NOT NULL
    ) STRICT;
    ",
    // 8: the few apps flagged `owner_revoked` (their owner's account was
    // revoked), found without decoding every manifest: the inventory's
    // `flag=owner_revoked` facet. The text test only narrows; the flag
    // itself is read from the JSON (see cache::catalog::mark_owner_revoked).
    "
    CREATE INDEX apps_owner_revoked ON apps(id) WHERE instr(data, '\"owner_revoked\"') > 0;
    ",
];

pub fn migrate(conn: &mut Connection) -> Result<()> {
    Ok(crate::store::schema::apply(conn, MIGRATIONS)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indexes(conn: &Connection) -> Vec<String> {
        conn.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit' ORDER BY name")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn a_cache_from_before_step_3_trades_the_action_index_for_the_dlp_one() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::schema::apply(&mut conn, &MIGRATIONS[..2]).unwrap();
        conn.execute(
            "INSERT INTO audit(seq, event_id, timestamp, actor_id, actor_role, action_type, resource_type, outcome,
                request_context, prev_hash, hash)
             VALUES (1, 'e1', '2026-11-01T00:00:00.000000Z', 'a', 'r', 'dlp.block', 't', 'blocked', '{}', 'p', 'h')",
            [],
        )
        .unwrap();
        assert!(indexes(&conn).contains(&"audit_by_action".to_string()));
        migrate(&mut conn).unwrap();
        let after = indexes(&conn);
        assert!(!after.contains(&"audit_by_action".to_string()), "{after:?}");
        assert!(after.contains(&"audit_dlp_by_time".to_string()), "{after:?}");
        let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0)).unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let count: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM audit INDEXED BY audit_dlp_by_time WHERE action_type = 'dlp.block'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(count, 1, "the row that was there is in the new index");
    }

    #[test]
    fn a_cache_from_before_step_5_counts_its_events_for_the_filter() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::schema::apply(&mut conn, &MIGRATIONS[..4]).unwrap();
        for (seq, actor) in [(1, "riley"), (2, "riley"), (3, "omar")] {
            conn.execute(
                "INSERT INTO audit(seq, event_id, timestamp, actor_id, actor_role, app_id, action_type, resource_type,
                    outcome, request_context, prev_hash, hash)
                 VALUES (?1, 'e', '2026-11-01T00:00:00.000000Z', ?2, 'reviewer', 'app-1', 'app.login', 't', 'success',
                    '{}', 'p', 'h')",
                rusqlite::params![seq, actor],
            )
            .unwrap();
        }
        migrate(&mut conn).unwrap();
        let events = |field: &str, value: &str| -> i64 {
            conn.query_row("SELECT events FROM audit_values WHERE field = ?1 AND value = ?2", [field, value], |r| {
                r.get(0)
            })
            .unwrap()
        };
        assert_eq!((events("actor", "riley"), events("actor", "omar")), (2, 1));
        assert_eq!((events("app", "app-1"), events("outcome", "success"), events("role", "reviewer")), (3, 3, 3));
        crate::cache::audit::create_secondary_indexes(&conn).unwrap();
        let after = indexes(&conn);
        assert!(after.contains(&"audit_by_actor".to_string()) && after.contains(&"audit_by_action_type".to_string()));
    }
}
