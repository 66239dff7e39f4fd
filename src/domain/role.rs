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
    /// Reads everything (the whole catalog and audit log), changes nothing.
    Auditor,
    /// An enforcement point: asks only the status API, and holds no other role.
    Platform,
}

impl Role {
    pub const ALL: [Role; 7] =
        [Role::Reviewer, Role::Lead, Role::Owner, Role::Ingest, Role::Admin, Role::Auditor, Role::Platform];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reviewer => "reviewer",
            Role::Lead => "lead",
            Role::Owner => "owner",
            Role::Ingest => "ingest",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
            Role::Platform => "platform",
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
        Role::ALL.into_iter().find(|role| role.as_str() == s).ok_or_else(|| {
            format!("unknown role {s:?} (expected reviewer, lead, owner, ingest, admin, auditor or platform)")
        })
    }
}

/// Why a set of roles cannot be given to one user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RolesError {
    #[error("a user needs at least one role")]
    Empty,
    #[error("the platform role is held alone: a platform token asks only the status API (drop {0})")]
    PlatformCombined(Role),
}

/// The roles one user may hold together: at least one, and `platform` alone
/// (an enforcement point's token must not also decide or read the catalog).
pub fn check_roles(roles: &[Role]) -> Result<(), RolesError> {
    if roles.is_empty() {
        return Err(RolesError::Empty);
    }
    if roles.contains(&Role::Platform)
        && let Some(other) = roles.iter().find(|role| **role != Role::Platform)
    {
        return Err(RolesError::PlatformCombined(*other));
    }
    Ok(())
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
    /// Reviewers, leads and auditors read everything.
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
        [Role::Reviewer, Role::Lead, Role::Admin, Role::Auditor, Role::Owner, Role::Ingest, Role::Platform]
            .into_iter()
            .find(|role| self.has(*role))
            .unwrap_or(Role::Owner)
    }

    /// Whether this caller reads the whole catalog and audit log.
    pub fn reads_all(&self) -> bool {
        self.has(Role::Reviewer) || self.has(Role::Lead) || self.has(Role::Auditor)
    }

    /// `None` for a caller that may read nothing of the catalog (an ingest
    /// bot, an enforcement point).
    pub fn visibility(&self) -> Option<Visibility> {
        if self.reads_all() {
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

    /// Whether the caller may ask the status API about an app of `owner`:
    /// enforcement points and everyone who reads everything ask about any
    /// app, owners about their own.
    pub fn may_ask_status_of(&self, owner: &str) -> bool {
        self.has(Role::Platform) || self.may_read_app_of(owner)
    }

    /// A platform token asks the status API and nothing else.
    pub fn status_only(&self) -> bool {
        self.has(Role::Platform)
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
    fn auditors_read_everything_and_change_nothing() {
        let audrey = Actor::new("audrey", [Role::Auditor]);
        assert_eq!(audrey.visibility(), Some(Visibility::All));
        assert!(audrey.reads_all() && audrey.may_read_app_of("olive"));
        assert!(!audrey.may_renew_app_of("olive") && !audrey.may_renew_some());
        assert!(!audrey.may_submit_intake() && !audrey.may_file_for_others());
        assert!(!audrey.status_only() && audrey.may_ask_status_of("olive"));
        assert_eq!(audrey.primary_role(), Role::Auditor);
    }

    #[test]
    fn platform_tokens_read_nothing_but_status() {
        let gate = Actor::new("gate", [Role::Platform]);
        assert_eq!(gate.visibility(), None);
        assert!(gate.status_only() && gate.may_ask_status_of("olive"));
        assert!(!gate.may_renew_some() && !gate.may_submit_intake());
        assert_eq!(gate.primary_role(), Role::Platform);
    }

    #[test]
    fn status_rights_follow_what_a_caller_reads() {
        let olive = Actor::new("olive", [Role::Owner]);
        assert!(olive.may_ask_status_of("olive") && !olive.may_ask_status_of("omar"));
        assert!(Actor::new("riley", [Role::Reviewer]).may_ask_status_of("omar"));
        assert!(Actor::new("pat", [Role::Lead]).may_ask_status_of("omar"));
        assert!(!Actor::new("bot", [Role::Ingest]).may_ask_status_of("omar"));
    }

    #[test]
    fn platform_is_held_alone() {
        assert_eq!(check_roles(&[]), Err(RolesError::Empty));
        assert_eq!(check_roles(&[Role::Platform]), Ok(()));
        assert_eq!(check_roles(&[Role::Platform, Role::Auditor]), Err(RolesError::PlatformCombined(Role::Auditor)));
        assert_eq!(check_roles(&[Role::Reviewer, Role::Platform]), Err(RolesError::PlatformCombined(Role::Reviewer)));
        assert_eq!(check_roles(&[Role::Auditor, Role::Owner]), Ok(()));
    }

    #[test]
    fn roles_parse_from_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
    }
}
