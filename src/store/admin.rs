//! Administration, audited: adding a user, changing its roles, issuing a new
//! token (rotating) and revoking it, each written with its `user.*` audit
//! event in the caller's transaction, so a change never lands without its
//! event. The events name the user, its roles and its token's expiry, never
//! the token or its hash.

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde_json::{Value, json};

use super::{Result, StoreError, apps, audit, users};
use crate::domain::audit::format_timestamp;
use crate::domain::custody;
use crate::domain::{App, NewAuditEvent, Role};

/// The actor recorded for `govdeck users …` run on the database file itself
/// (no server, no token: whoever may write the file administers it).
pub const LOCAL_ADMIN: &str = "local-admin";

/// Action types of the administration events.
pub const USER_ADD: &str = "user.add";
pub const USER_REVOKE: &str = "user.revoke";
pub const USER_ROLES: &str = "user.roles";
pub const USER_ROTATE: &str = "user.rotate";
/// A live app whose owner was revoked, flagged `owner_revoked`.
pub const APP_OWNER_REVOKED: &str = "app.owner_revoked";

/// Who administers: the actor and role the events record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    pub actor_id: String,
    pub actor_role: String,
}

impl Admin {
    /// The CLI acting on the database file directly.
    pub fn local() -> Admin {
        Admin { actor_id: LOCAL_ADMIN.into(), actor_role: Role::Admin.as_str().into() }
    }

    fn event(&self, action_type: &str, user: &str, context: Value) -> NewAuditEvent {
        NewAuditEvent {
            actor_id: self.actor_id.clone(),
            actor_role: self.actor_role.clone(),
            action_type: action_type.into(),
            resource_type: "user".into(),
            resource_id: Some(user.to_string()),
            request_context: context,
            ..NewAuditEvent::default()
        }
    }
}

fn role_names(roles: &[Role]) -> Vec<&'static str> {
    roles.iter().map(|role| role.as_str()).collect()
}

fn expiry(expires_at: Option<DateTime<Utc>>) -> Value {
    expires_at.map_or(Value::Null, |at| Value::String(format_timestamp(at)))
}

/// Adds `name` (or re-issues a revoked one) and returns its token; records `user.add`.
pub fn add_user(
    conn: &Connection,
    admin: &Admin,
    name: &str,
    roles: &[Role],
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<String> {
    let token = users::add_expiring(conn, name, roles, expires_at, now)?;
    let context = json!({"roles": role_names(roles), "expires_at": expiry(expires_at)});
    audit::append(conn, admin.event(USER_ADD, name, context), &admin.actor_id, now)?;
    Ok(token)
}

/// A live app left with no owner by a revocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ownerless {
    pub id: String,
    pub name: String,
}

/// Revokes `name`'s token; records `user.revoke`. `None` (and no event)
/// when there is no such active user. The live apps `name` still owns are
/// flagged `owner_revoked` ([`custody::flag_owner_revoked`]) and returned;
/// the event lists them (`ownerless_apps`), and each flagged app gets an
/// `app.owner_revoked` event of its own, so its owner-facing history shows it.
pub fn revoke_user(conn: &Connection, admin: &Admin, name: &str, now: DateTime<Utc>) -> Result<Option<Vec<Ownerless>>> {
    if !users::revoke(conn, name, now)? {
        return Ok(None);
    }
    let mut owned: Vec<App> = Vec::new();
    {
        let mut stmt =
            conn.prepare_cached("SELECT data FROM apps WHERE owner = ?1 AND state IN ('active', 'expiring')")?;
        for json in stmt.query_map([name], |row| row.get::<_, String>(0))? {
            owned.push(serde_json::from_str(&json?)?);
        }
    }
    owned.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    let mut ownerless = Vec::new();
    let mut flagged = Vec::new();
    for mut app in owned {
        if custody::flag_owner_revoked(&mut app, now) {
            apps::save(conn, &mut app)?;
            flagged.push(app.clone());
        }
        ownerless.push(Ownerless { id: app.id.clone(), name: app.name.clone() });
    }
    let listed: Vec<Value> = ownerless.iter().map(|app| json!({"id": app.id, "name": app.name})).collect();
    audit::append(conn, admin.event(USER_REVOKE, name, json!({"ownerless_apps": listed})), &admin.actor_id, now)?;
    for app in &flagged {
        let event = NewAuditEvent {
            actor_id: admin.actor_id.clone(),
            actor_role: admin.actor_role.clone(),
            app_id: Some(app.id.clone()),
            version: Some(app.version),
            environment: app.environments.first().cloned(),
            action_type: APP_OWNER_REVOKED.into(),
            resource_type: "app".into(),
            resource_id: Some(app.id.clone()),
            data_classification: Some(app.data_classification.as_str().into()),
            risk_score_at_time: Some(app.risk.score),
            request_context: json!({"owner": name}),
            ..NewAuditEvent::default()
        };
        audit::append(conn, event, &admin.actor_id, now)?;
    }
    Ok(Some(ownerless))
}

/// Replaces `name`'s roles; records `user.roles` with the roles before and
/// after. `NotFound` when there is no such active user.
pub fn set_roles(conn: &Connection, admin: &Admin, name: &str, roles: &[Role], now: DateTime<Utc>) -> Result<()> {
    let before = users::active(conn, name)?.ok_or_else(|| not_found(name))?;
    users::set_roles(conn, name, roles)?;
    let context = json!({"roles": role_names(roles), "previous_roles": role_names(&before.roles)});
    audit::append(conn, admin.event(USER_ROLES, name, context), &admin.actor_id, now)?;
    Ok(())
}

/// Issues `name` a new token (the old one stops working at once) expiring
/// at `expires_at`; records `user.rotate`. `NotFound` when there is no such
/// active user.
pub fn rotate(
    conn: &Connection,
    admin: &Admin,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<String> {
    let token = users::rotate(conn, name, expires_at, now)?.ok_or_else(|| not_found(name))?;
    audit::append(
        conn,
        admin.event(USER_ROTATE, name, json!({"expires_at": expiry(expires_at)})),
        &admin.actor_id,
        now,
    )?;
    Ok(token)
}

fn not_found(name: &str) -> StoreError {
    StoreError::NotFound { kind: "active user", id: name.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::store::users::TokenCheck;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
    }

    fn events(store: &Store) -> Vec<crate::domain::AuditEvent> {
        audit::page(store.conn(), 0, 100, &crate::domain::Visibility::All).unwrap().0
    }

    #[test]
    fn each_change_writes_its_event_and_no_token() {
        let mut store = Store::open_in_memory().unwrap();
        let admin = Admin::local();
        let expires = now() + Duration::days(90);
        let first = store.write(|conn| add_user(conn, &admin, "olive", &[Role::Owner], Some(expires), now())).unwrap();
        store.write(|conn| set_roles(conn, &admin, "olive", &[Role::Owner, Role::Auditor], now())).unwrap();
        let second = store.write(|conn| rotate(conn, &admin, "olive", None, now())).unwrap();
        assert_eq!(store.write(|conn| revoke_user(conn, &admin, "olive", now())).unwrap(), Some(vec![]));
        assert_eq!(store.write(|conn| revoke_user(conn, &admin, "olive", now())).unwrap(), None, "already revoked");

        let events = events(&store);
        let actions: Vec<&str> = events.iter().map(|e| e.action_type.as_str()).collect();
        assert_eq!(actions, [USER_ADD, USER_ROLES, USER_ROTATE, USER_REVOKE]);
        for event in &events {
            assert_eq!((event.actor_id.as_str(), event.actor_role.as_str()), (LOCAL_ADMIN, "admin"));
            assert_eq!((event.resource_type.as_str(), event.resource_id.as_deref()), ("user", Some("olive")));
            let text = serde_json::to_string(event).unwrap();
            for secret in [&first, &second, &users::hash_token(&first), &users::hash_token(&second)] {
                assert!(!text.contains(secret.as_str()), "{text}");
            }
        }
        assert_eq!(events[0].request_context, json!({"roles": ["owner"], "expires_at": format_timestamp(expires)}));
        assert_eq!(events[1].request_context, json!({"roles": ["owner", "auditor"], "previous_roles": ["owner"]}));
    }

    #[test]
    fn a_rotated_token_replaces_the_old_one_at_once() {
        let mut store = Store::open_in_memory().unwrap();
        let admin = Admin::local();
        let old = store.write(|conn| add_user(conn, &admin, "olive", &[Role::Owner], None, now())).unwrap();
        let new = store.write(|conn| rotate(conn, &admin, "olive", Some(now() + Duration::hours(1)), now())).unwrap();
        assert_eq!(users::authenticate(store.conn(), &old, now()).unwrap(), TokenCheck::Unknown);
        assert!(matches!(users::authenticate(store.conn(), &new, now()).unwrap(), TokenCheck::Valid(_)));
        let at = now() + Duration::hours(1);
        assert_eq!(
            users::authenticate(store.conn(), &new, at).unwrap(),
            TokenCheck::Expired { user: "olive".into(), at },
            "expired at the instant of expiry"
        );
    }

    #[test]
    fn refused_changes_write_nothing() {
        let mut store = Store::open_in_memory().unwrap();
        let admin = Admin::local();
        let missing = store.write(|conn| rotate(conn, &admin, "nobody", None, now()));
        assert!(matches!(missing, Err(StoreError::NotFound { .. })));
        let missing = store.write(|conn| set_roles(conn, &admin, "nobody", &[Role::Owner], now()));
        assert!(matches!(missing, Err(StoreError::NotFound { .. })));
        let mixed = store.write(|conn| add_user(conn, &admin, "gate", &[Role::Platform, Role::Lead], None, now()));
        assert!(matches!(mixed, Err(StoreError::Invalid(message)) if message.contains("platform")));
        assert!(events(&store).is_empty());
    }
}
