//! Who may do what: the five roles, the actions they allow, and the caller
//! a request acts as. The server asks [`Principal::may`] before every
//! mutation, in the REST API and in server functions alike, so the rules
//! live here once and the role × action matrix is tested in one place.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Result, ValidationError};

/// A role grants a set of actions; a user may hold several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads the catalog.
    Viewer,
    /// Also writes assets and edges, imports, and proposes schema changes.
    Editor,
    /// Also approves or rejects change requests on behalf of any owner.
    Approver,
    /// Also changes how serving endpoints scale.
    Operator,
    /// Everything, including users, tokens and the audit log.
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Viewer,
        Role::Editor,
        Role::Approver,
        Role::Operator,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Approver => "approver",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "roles",
                    format!(
                        "unknown role {s:?}; expected viewer, editor, approver, operator or admin"
                    ),
                )
            })
    }
}

/// Everything the server guards. Reads are one action; anonymous callers
/// get it unless the configuration turns anonymous access off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Read,
    /// Create, replace or delete assets and edges; import.
    WriteCatalog,
    /// Open a change request, preview its impact.
    ProposeChange,
    /// Comment on a change request.
    Comment,
    /// Approve or reject a change request for any owner.
    Decide,
    /// Apply an approved change request.
    ApplyChange,
    /// Change a serving endpoint's scaling policy.
    OperateScaling,
    /// Create API tokens for oneself.
    CreateOwnToken,
    /// Read the audit log.
    ReadAudit,
    /// Create users and tokens for anyone.
    ManageUsers,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::Read,
        Action::WriteCatalog,
        Action::ProposeChange,
        Action::Comment,
        Action::Decide,
        Action::ApplyChange,
        Action::OperateScaling,
        Action::CreateOwnToken,
        Action::ReadAudit,
        Action::ManageUsers,
    ];

    /// Whether a holder of `role` may take this action.
    pub fn allowed_for(self, role: Role) -> bool {
        use Action::*;
        match role {
            Role::Admin => true,
            Role::Viewer => matches!(self, Read | CreateOwnToken),
            Role::Editor => matches!(
                self,
                Read | WriteCatalog | ProposeChange | Comment | ApplyChange | CreateOwnToken
            ),
            Role::Approver => {
                matches!(self, Read | Comment | Decide | ApplyChange | CreateOwnToken)
            }
            Role::Operator => matches!(self, Read | OperateScaling | CreateOwnToken),
        }
    }

    /// A phrase for "you need to be allowed to …" messages.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Read => "read the catalog",
            Action::WriteCatalog => "change assets and edges",
            Action::ProposeChange => "propose schema changes",
            Action::Comment => "comment on change requests",
            Action::Decide => "approve or reject change requests",
            Action::ApplyChange => "apply change requests",
            Action::OperateScaling => "change scaling policies",
            Action::CreateOwnToken => "create API tokens",
            Action::ReadAudit => "read the audit log",
            Action::ManageUsers => "manage users and tokens",
        }
    }
}

/// How a caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    Anonymous,
    Session,
    Token,
    /// The `MLGRAPH_ADMIN_TOKEN` of the environment, for automation.
    Environment,
    /// The command line, which has the database in hand anyway.
    Cli,
}

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The user name; empty for anonymous callers.
    pub user: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    /// The teams the user belongs to; asset owners name people or teams.
    pub teams: Vec<String>,
    pub via: Via,
}

/// Whom a request counts against for per-caller limits: `user:NAME` for a
/// signed-in caller, `ip:ADDRESS` for an anonymous one. The server's
/// authentication layer puts it in every request's extensions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey(pub String);

impl Principal {
    pub fn anonymous() -> Self {
        Principal {
            user: String::new(),
            display_name: "anonymous".into(),
            roles: vec![],
            teams: vec![],
            via: Via::Anonymous,
        }
    }

    pub fn cli() -> Self {
        Principal {
            user: "cli".into(),
            display_name: "command line".into(),
            roles: vec![Role::Admin],
            teams: vec![],
            via: Via::Cli,
        }
    }

    pub fn is_anonymous(&self) -> bool {
        self.via == Via::Anonymous
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether this caller may take `action`. Anonymous callers may only
    /// read, and only when `anonymous_reads` is on.
    pub fn may(&self, action: Action, anonymous_reads: bool) -> bool {
        if self.is_anonymous() {
            return action == Action::Read && anonymous_reads;
        }
        action == Action::Read || self.roles.iter().any(|r| action.allowed_for(*r))
    }

    /// The name written into audit records and version history.
    pub fn actor(&self) -> String {
        match self.via {
            Via::Anonymous => "anonymous".into(),
            Via::Token => format!("{} (token)", self.user),
            _ => self.user.clone(),
        }
    }

    /// The owner names this caller answers for: the user name and teams.
    pub fn speaks_for(&self, owner: &str) -> bool {
        !self.is_anonymous() && (self.user == owner || self.teams.iter().any(|t| t == owner))
    }
}

/// A user as listed to admins; the password hash never leaves the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    #[serde(default)]
    pub teams: Vec<String>,
    #[serde(default)]
    pub disabled: bool,
}

impl User {
    pub fn principal(&self, via: Via) -> Principal {
        Principal {
            user: self.username.clone(),
            display_name: self.display_name.clone(),
            roles: self.roles.clone(),
            teams: self.teams.clone(),
            via,
        }
    }
}

/// An API token as listed; the secret is shown once, when it is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub user: String,
    pub name: String,
    /// The first characters of the secret, to tell tokens apart.
    pub prefix: String,
    #[serde(default)]
    pub created_at: String,
    /// When the token stops working (RFC 3339).
    #[serde(default)]
    pub expires_at: String,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    #[serde(default)]
    pub detail: serde_json::Value,
}

/// Checks a user name: what sign-in forms, tokens and audit records use.
/// How sign-in attempts are throttled on one key (a user name or a client
/// address): the first `free` failures in a row cost nothing, then each
/// attempt must wait `base_s` seconds after the one before, doubling with
/// every further failure up to `cap_s`. Nothing is ever locked for good:
/// the right password gets in after the wait, and a success clears the
/// user's key (never the address's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    pub free: u32,
    pub base_s: u64,
    pub cap_s: u64,
}

impl Throttle {
    /// The wait after the last attempt before the next one may run, when
    /// `failures` have been counted.
    pub fn delay_s(&self, failures: u64) -> u64 {
        if failures < u64::from(self.free) {
            return 0;
        }
        let doublings = (failures - u64::from(self.free)).min(32);
        self.base_s
            .saturating_mul(1u64 << doublings)
            .min(self.cap_s)
    }
}

pub fn validate_username(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            "username",
            "must be 1 to 64 letters, digits, dots, dashes, underscores or @",
        ))
    }
}

/// Checks a new password's length; hashing is the catalog's business.
pub fn validate_password(password: &str) -> Result<()> {
    if password.chars().count() < 8 {
        return Err(ValidationError::new(
            "password",
            "must be at least 8 characters",
        ));
    }
    if password.len() > 1024 {
        return Err(ValidationError::new(
            "password",
            "must be at most 1024 bytes",
        ));
    }
    Ok(())
}

/// Parses a comma-separated role list, as the command line takes it.
pub fn parse_roles(text: &str) -> Result<Vec<Role>> {
    let mut roles: Vec<Role> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect::<Result<_>>()?;
    roles.sort();
    roles.dedup();
    if roles.is_empty() {
        return Err(ValidationError::new("roles", "name at least one role"));
    }
    Ok(roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(roles: &[Role]) -> Principal {
        Principal {
            user: "u".into(),
            display_name: "U".into(),
            roles: roles.to_vec(),
            teams: vec!["team-a".into()],
            via: Via::Session,
        }
    }

    #[test]
    fn the_matrix_matches_the_role_descriptions() {
        use Action::*;
        let expect = |role: Role| -> Vec<Action> {
            match role {
                Role::Viewer => vec![Read, CreateOwnToken],
                Role::Editor => vec![
                    Read,
                    WriteCatalog,
                    ProposeChange,
                    Comment,
                    ApplyChange,
                    CreateOwnToken,
                ],
                Role::Approver => vec![Read, Comment, Decide, ApplyChange, CreateOwnToken],
                Role::Operator => vec![Read, OperateScaling, CreateOwnToken],
                Role::Admin => Action::ALL.to_vec(),
            }
        };
        for role in Role::ALL {
            let p = user(&[role]);
            for action in Action::ALL {
                assert_eq!(
                    p.may(action, true),
                    expect(role).contains(&action),
                    "{role} / {action:?}"
                );
            }
        }
    }

    #[test]
    fn anonymous_callers_only_read_and_only_when_allowed() {
        let anon = Principal::anonymous();
        assert!(anon.may(Action::Read, true));
        assert!(!anon.may(Action::Read, false));
        for a in Action::ALL.into_iter().filter(|a| *a != Action::Read) {
            assert!(!anon.may(a, true), "{a:?}");
        }
        assert!(!anon.speaks_for(""));
    }

    #[test]
    fn roles_combine_and_owners_match_user_or_team() {
        let p = user(&[Role::Editor, Role::Operator]);
        assert!(p.may(Action::OperateScaling, false));
        assert!(p.may(Action::WriteCatalog, false));
        assert!(!p.may(Action::Decide, false));
        assert!(p.speaks_for("u") && p.speaks_for("team-a") && !p.speaks_for("team-b"));
    }

    #[test]
    fn names_roles_and_passwords_are_checked() {
        assert!(validate_username("ana.silva").is_ok());
        assert_eq!(
            validate_username("a b").unwrap_err().field,
            "username".to_string()
        );
        assert!(validate_password("short").is_err());
        assert_eq!(
            parse_roles("editor, admin,editor").unwrap(),
            vec![Role::Editor, Role::Admin]
        );
        assert_eq!(parse_roles("boss").unwrap_err().field, "roles");
        assert!(parse_roles(" , ").is_err());
    }
}
