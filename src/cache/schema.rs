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
    // 3: what lists, filters and KPIs need of an app, as columns, so 100k
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
    ",
];

pub fn migrate(conn: &mut Connection) -> Result<()> {
    Ok(crate::store::schema::apply(conn, MIGRATIONS)?)
}
