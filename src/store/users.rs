//! The `users` table: names, roles, the SHA-256 of each bearer token (the
//! token itself is shown once and never stored), when it was issued and
//! when it expires. These functions change the table only; the audited
//! administration over them (each change with its `user.*` event) is
//! [`super::admin`].

use chrono::{DateTime, Utc};
use rand::RngCore;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use super::{Result, StoreError};
use crate::domain::audit::format_timestamp;
use crate::domain::role::check_roles;
use crate::domain::token::is_expired;
use crate::domain::{Actor, Role};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub roles: Vec<Role>,
    pub created_at: String,
    pub revoked_at: Option<String>,
    /// When the current token stops working; `None`: never.
    pub expires_at: Option<DateTime<Utc>>,
}

/// What a presented token turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCheck {
    Valid(Actor),
    /// A user's current token, past its expiry.
    Expired {
        user: String,
        at: DateTime<Utc>,
    },
    /// No such token, or a revoked user's (or a rotated-away one).
    Unknown,
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

pub(super) fn parse_roles(text: &str) -> Result<Vec<Role>> {
    text.split(',').filter(|s| !s.is_empty()).map(|s| s.parse().map_err(StoreError::Invalid)).collect()
}

fn parse_time(text: Option<String>) -> Result<Option<DateTime<Utc>>> {
    text.map(|text| {
        DateTime::parse_from_rfc3339(&text)
            .map(|at| at.to_utc())
            .map_err(|err| StoreError::Invalid(format!("timestamp {text:?}: {err}")))
    })
    .transpose()
}

/// Valid user names: what a person would type, nothing that needs quoting.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if ok { Ok(()) } else { Err(format!("invalid user name {name:?}: use 1-64 letters, digits, '-', '_', '.' or '@'")) }
}

/// Creates (or re-issues, for a revoked user) `name` with `roles` and a
/// token that never expires, and returns the token.
pub fn add(conn: &Connection, name: &str, roles: &[Role], now: DateTime<Utc>) -> Result<String> {
    add_expiring(conn, name, roles, None, now)
}

/// [`add`] with a token that stops working at `expires_at`.
pub fn add_expiring(
    conn: &Connection,
    name: &str,
    roles: &[Role],
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<String> {
    check_name(name).map_err(StoreError::Invalid)?;
    check_roles(roles).map_err(|err| StoreError::Invalid(err.to_string()))?;
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
        "INSERT INTO users(name, roles, token_hash, created_at, revoked_at, token_issued_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, NULL, ?4, ?5)
         ON CONFLICT(name) DO UPDATE SET roles = excluded.roles, token_hash = excluded.token_hash,
             created_at = excluded.created_at, revoked_at = NULL, token_issued_at = excluded.token_issued_at,
             expires_at = excluded.expires_at",
    )?
    .execute(params![
        name,
        roles_text(roles),
        hash_token(&token),
        format_timestamp(now),
        expires_at.map(format_timestamp)
    ])?;
    Ok(token)
}

/// An active user's current token: when it was issued and when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveUser {
    pub roles: Vec<Role>,
    pub token_issued_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// The active (not revoked) user `name`, if any.
pub fn active(conn: &Connection, name: &str) -> Result<Option<ActiveUser>> {
    let row: Option<(String, Option<String>, Option<String>)> = conn
        .prepare_cached("SELECT roles, token_issued_at, expires_at FROM users WHERE name = ?1 AND revoked_at IS NULL")?
        .query_row([name], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    row.map(|(roles, issued, expires)| {
        Ok(ActiveUser {
            roles: parse_roles(&roles)?,
            token_issued_at: parse_time(issued)?,
            expires_at: parse_time(expires)?,
        })
    })
    .transpose()
}

/// Gives the active user `name` a new token expiring at `expires_at`; the
/// old one stops working at once. `None` when there is no such active user.
pub fn rotate(
    conn: &Connection,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let token = new_token();
    let changed = conn
        .prepare_cached(
            "UPDATE users SET token_hash = ?2, token_issued_at = ?3, expires_at = ?4
             WHERE name = ?1 AND revoked_at IS NULL",
        )?
        .execute(params![name, hash_token(&token), format_timestamp(now), expires_at.map(format_timestamp)])?;
    Ok((changed == 1).then_some(token))
}

/// Replaces the active user `name`'s roles; false when there is no such active user.
pub fn set_roles(conn: &Connection, name: &str, roles: &[Role]) -> Result<bool> {
    check_roles(roles).map_err(|err| StoreError::Invalid(err.to_string()))?;
    let changed = conn
        .prepare_cached("UPDATE users SET roles = ?2 WHERE name = ?1 AND revoked_at IS NULL")?
        .execute(params![name, roles_text(roles)])?;
    Ok(changed == 1)
}

pub fn list(conn: &Connection) -> Result<Vec<User>> {
    let mut stmt = conn.prepare("SELECT name, roles, created_at, revoked_at, expires_at FROM users ORDER BY name")?;
    let rows = stmt.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get(3)?,
            row.get::<_, Option<String>>(4)?,
        ))
    })?;
    let mut users = Vec::new();
    for row in rows {
        let (name, roles, created_at, revoked_at, expires_at) = row?;
        users.push(User {
            name,
            roles: parse_roles(&roles)?,
            created_at,
            revoked_at,
            expires_at: parse_time(expires_at)?,
        });
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

/// Who holds `token` at `now`: a valid user, a user whose token expired
/// (the instant of expiry is expired; see [`crate::domain::token`]), or nobody.
pub fn authenticate(conn: &Connection, token: &str, now: DateTime<Utc>) -> Result<TokenCheck> {
    let row: Option<(String, String, Option<String>)> = conn
        .prepare_cached("SELECT name, roles, expires_at FROM users WHERE token_hash = ?1 AND revoked_at IS NULL")?
        .query_row([hash_token(token)], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    let Some((name, roles, expires_at)) = row else {
        return Ok(TokenCheck::Unknown);
    };
    let expires_at = parse_time(expires_at)?;
    if let Some(at) = expires_at.filter(|_| is_expired(expires_at, now)) {
        return Ok(TokenCheck::Expired { user: name, at });
    }
    Ok(TokenCheck::Valid(Actor { user: name, roles: parse_roles(&roles)? }))
}

/// Whether a (non-revoked) user of this name exists.
pub fn exists(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM users WHERE name = ?1 AND revoked_at IS NULL")?
        .query_row([name], |_| Ok(()))
        .optional()?
        .is_some())
}
