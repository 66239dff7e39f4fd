//! Roles, the caller as the rules see it, and what each caller may read.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads everything, decides approvals.
    Reviewer,
    /// Reads everything, decides medium-risk approvals, renews any app.
    Lead,
    /// Reads and renews only their own apps, submits intake.
    Owner,
    /// Posts runtime audit events.
    Ingest,
    /// Manages users and tokens.
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Reviewer, Role::Lead, Role::Owner, Role::Ingest, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reviewer => "reviewer",
            Role::Lead => "lead",
            Role::Owner => "owner",
            Role::Ingest => "ingest",
            Role::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?} (expected reviewer, lead, owner, ingest or admin)"))
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user: String,
    pub roles: Vec<Role>,
}

/// What part of the catalog a caller may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// Reviewers and leads read everything.
    All,
    /// Owners (and admins, who manage users, not apps) read only their own apps.
    OwnedBy(String),
}

impl Actor {
    pub fn new(user: impl Into<String>, roles: impl IntoIterator<Item = Role>) -> Actor {
        Actor { user: user.into(), roles: roles.into_iter().collect() }
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The role an audit event records for this caller: the strongest it holds.
    pub fn primary_role(&self) -> Role {
        [Role::Reviewer, Role::Lead, Role::Admin, Role::Owner, Role::Ingest]
            .into_iter()
            .find(|role| self.has(*role))
            .unwrap_or(Role::Owner)
    }

    /// `None` for a caller that may read nothing of the catalog (an ingest bot).
    pub fn visibility(&self) -> Option<Visibility> {
        if self.has(Role::Reviewer) || self.has(Role::Lead) {
            Some(Visibility::All)
        } else if self.has(Role::Owner) || self.has(Role::Admin) {
            Some(Visibility::OwnedBy(self.user.clone()))
        } else {
            None
        }
    }

    pub fn may_read_app_of(&self, owner: &str) -> bool {
        match self.visibility() {
            Some(Visibility::All) => true,
            Some(Visibility::OwnedBy(user)) => user == owner,
            None => false,
        }
    }

    /// Owners renew their own apps; leads renew any app.
    pub fn may_renew_app_of(&self, owner: &str) -> bool {
        self.has(Role::Lead) || (self.has(Role::Owner) && self.user == owner)
    }

    /// Whether some app may be renewed by this user (an owner's own, any for
    /// a lead): the console offers the renew key only then.
    pub fn may_renew_some(&self) -> bool {
        self.has(Role::Lead) || self.has(Role::Owner)
    }

    pub fn may_submit_intake(&self) -> bool {
        self.has(Role::Owner) || self.has(Role::Lead) || self.has(Role::Admin)
    }

    /// Only leads and admins file intake on someone else's behalf.
    pub fn may_file_for_others(&self) -> bool {
        self.has(Role::Lead) || self.has(Role::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_per_role() {
        assert_eq!(Actor::new("riley", [Role::Reviewer]).visibility(), Some(Visibility::All));
        assert_eq!(Actor::new("pat", [Role::Lead]).visibility(), Some(Visibility::All));
        assert_eq!(Actor::new("olive", [Role::Owner]).visibility(), Some(Visibility::OwnedBy("olive".into())));
        assert_eq!(Actor::new("bot", [Role::Ingest]).visibility(), None);
    }

    #[test]
    fn renewal_rights() {
        let olive = Actor::new("olive", [Role::Owner]);
        assert!(olive.may_renew_app_of("olive"));
        assert!(!olive.may_renew_app_of("omar"));
        assert!(Actor::new("pat", [Role::Lead]).may_renew_app_of("omar"));
        assert!(!Actor::new("riley", [Role::Reviewer]).may_renew_app_of("omar"));
        assert!(olive.may_renew_some() && Actor::new("pat", [Role::Lead]).may_renew_some());
        assert!(!Actor::new("riley", [Role::Reviewer]).may_renew_some());
        assert!(!Actor::new("bot", [Role::Ingest]).may_renew_some());
    }

    #[test]
    fn roles_parse_from_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
    }
}
