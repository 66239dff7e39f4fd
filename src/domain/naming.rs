//! Which apps hold their name: the rule that keeps two apps from sharing one.
//!
//! A registered app keeps its name from every other app until it reaches a
//! final state. Names are compared exactly as stored (case and spaces
//! included), the same way `govdeck renew NAME` finds an app.
//!
//! * `decommissioned` and `rejected` are final: nothing brings such an app
//!   back, so its name is free for a new intake.
//! * `discovered` (found by an import, never registered) holds no name: an
//!   upstream catalog may hold one name twice (two namespaces), and the
//!   owner of a discovered app must still be able to register it.

use super::AppState;

/// Whether an app in `state` keeps its name from other apps.
pub fn holds_name(state: AppState) -> bool {
    !matches!(state, AppState::Discovered | AppState::Rejected | AppState::Decommissioned)
}

/// A name another app holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the name {name:?} is taken by app {holder} ({state}); choose another name, or renew that app")]
pub struct NameTaken {
    pub name: String,
    /// The id of the app that holds it.
    pub holder: String,
    pub state: AppState,
}

/// Checks that `name` is free, given the `(id, state)` of every app that
/// already carries it.
pub fn check_name_free<'a>(
    name: &str,
    carriers: impl IntoIterator<Item = (&'a str, AppState)>,
) -> Result<(), NameTaken> {
    match carriers.into_iter().find(|(_, state)| holds_name(*state)) {
        Some((holder, state)) => Err(NameTaken { name: name.to_string(), holder: holder.to_string(), state }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_no_app_carries_is_free() {
        assert_eq!(check_name_free("crm-sync", []), Ok(()));
    }

    #[test]
    fn every_state_but_the_final_ones_and_discovered_holds_the_name() {
        for &state in AppState::ALL {
            let expected = !matches!(state, AppState::Discovered | AppState::Rejected | AppState::Decommissioned);
            assert_eq!(holds_name(state), expected, "{state}");
        }
    }

    #[test]
    fn a_pending_app_holds_its_name_and_is_named_in_the_refusal() {
        let err = check_name_free("crm-sync", [("app_1", AppState::Pending)]).unwrap_err();
        assert_eq!(err, NameTaken { name: "crm-sync".into(), holder: "app_1".into(), state: AppState::Pending });
        assert!(err.to_string().contains("app_1"), "{err}");
    }

    #[test]
    fn a_read_only_app_still_holds_its_name() {
        assert!(check_name_free("crm-sync", [("app_1", AppState::ReadOnly)]).is_err());
    }

    #[test]
    fn decommissioned_and_rejected_apps_free_the_name() {
        let gone =
            [("app_1", AppState::Decommissioned), ("app_2", AppState::Rejected), ("app_3", AppState::Discovered)];
        assert_eq!(check_name_free("crm-sync", gone), Ok(()));
    }

    #[test]
    fn the_live_holder_is_named_when_a_decommissioned_one_shares_the_name() {
        let err = check_name_free("crm-sync", [("app_old", AppState::Decommissioned), ("app_new", AppState::Active)])
            .unwrap_err();
        assert_eq!(err.holder, "app_new");
    }
}
