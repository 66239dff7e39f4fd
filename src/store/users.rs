//! The `users` table: names, roles, and the SHA-256 of each bearer token
//! (the token itself is shown once and never stored).

use chrono::{DateTime, Utc};
use rand::RngCore;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::{Result, StoreError};
use crate::domain::audit::format_timestamp;
use crate::domain::{Actor, Role};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub roles: Vec<Role>,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new random bearer token: `gd_` and 64 hex digits.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("gd_{}", hex::encode(bytes))
}

fn roles_text(roles: &[Role]) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
}

fn parse_roles(text: &str) -> Result<Vec<Role>> {
    text.split(',').filter(|s| !s.is_empty()).map(|s| s.parse().map_err(StoreError::Invalid)).collect()
}

/// Valid user names: what a person would type, nothing that needs quoting.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if ok { Ok(()) } else { Err(format!("invalid user name {name:?}: use 1-64 letters, digits, '-', '_', '.' or '@'")) }
}

/// Creates (or re-issues, for a revoked user) `name` with `roles` and
/// returns its new token.
pub fn add(conn: &Connection, name: &str, roles: &[Role], now: DateTime<Utc>) -> Result<String> {
    check_name(name).map_err(StoreError::Invalid)?;
    if roles.is_empty() {
        return Err(StoreError::Invalid("a user needs at least one role".into()));
    }
    let existing: Option<Option<String>> = conn
        .prepare_cached("SELECT revoked_at FROM users WHERE name = ?1")?
        .query_row([name], |row| row.get(0))
        .optional()?;
    if let Some(None) = existing {
        return Err(StoreError::AlreadyExists {
            kind: "user",
            name: name.to_string(),
            hint: "; revoke it first to issue a new token",
        });
    }
    let token = new_token();
    conn.prepare_cached(
        "INSERT INTO users(name, roles, token_hash, created_at, revoked_at) VALUES (?1, ?2, ?3, ?4, NULL)
         ON CONFLICT(name) DO UPDATE SET roles = excluded.roles, token_hash = excluded.token_hash,
             created_at = excluded.created_at, revoked_at = NULL",
    )?
    .execute(params![name, roles_text(roles), hash_token(&token), format_timestamp(now)])?;
    Ok(token)
}

pub fn list(conn: &Connection) -> Result<Vec<User>> {
    let mut stmt = conn.prepare("SELECT name, roles, created_at, revoked_at FROM users ORDER BY name")?;
    let rows = stmt.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?, row.get(3)?))
    })?;
    let mut users = Vec::new();
    for row in rows {
        let (name, roles, created_at, revoked_at) = row?;
        users.push(User { name, roles: parse_roles(&roles)?, created_at, revoked_at });
    }
    Ok(users)
}

/// Revokes `name`'s token at once; returns false when there is no such active user.
pub fn revoke(conn: &Connection, name: &str, now: DateTime<Utc>) -> Result<bool> {
    let changed = conn
        .prepare_cached("UPDATE users SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL")?
        .execute(params![name, format_timestamp(now)])?;
    Ok(changed == 1)
}

/// The active user holding `token`.
pub fn authenticate(conn: &Connection, token: &str) -> Result<Option<Actor>> {
    let row: Option<(String, String)> = conn
        .prepare_cached("SELECT name, roles FROM users WHERE token_hash = ?1 AND revoked_at IS NULL")?
        .query_row([hash_token(token)], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    row.map(|(name, roles)| Ok(Actor { user: name, roles: parse_roles(&roles)? })).transpose()
}

/// Whether a (non-revoked) user of this name exists.
pub fn exists(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM users WHERE name = ?1 AND revoked_at IS NULL")?
        .query_row([name], |_| Ok(()))
        .optional()?
        .is_some())
}
