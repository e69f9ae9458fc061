//! Virtual integrations: a named customer scope over a set of member
//! accounts, and the rules for creating, changing and deleting them.
//!
//! Every operation validates everything first and changes nothing when it
//! fails; the caller persists the [`IntegrationSet`] only after success.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::account::{AccountId, Organization};

/// A billing view's `LINKED_ACCOUNT` filter takes at most 200 values.
pub const MAX_ACCOUNTS: usize = 200;
/// Longest integration name. Billing view names may be 128 characters; the
/// rest is left for the `costcarve-` prefix the AWS workspace adds.
pub const MAX_NAME_LEN: usize = 64;
/// Prefix of every integration's view identifier.
pub const VIEW_PREFIX: &str = "vi_";

/// A validated integration name: 1-64 characters of letters, digits, space
/// and `_+=.@-` (the billing-view name alphabet), starting with a letter or
/// digit, with no leading or trailing space.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IntegrationName(String);

impl IntegrationName {
    /// Checks a name against the rules.
    pub fn parse(name: &str) -> Result<Self, IntegrationError> {
        let bad = |reason: &str| IntegrationError::InvalidName {
            name: name.to_string(),
            reason: reason.to_string(),
        };
        if name.is_empty() {
            return Err(bad("it is empty"));
        }
        if name.chars().count() > MAX_NAME_LEN {
            return Err(bad(&format!("it is longer than {MAX_NAME_LEN} characters")));
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || " _+=.@-".contains(*c)))
        {
            return Err(bad(&format!(
                "'{c}' is not allowed; use letters, digits, spaces and _ + = . @ -"
            )));
        }
        if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(bad("it must start with a letter or a digit"));
        }
        if name.ends_with(' ') {
            return Err(bad("it ends with a space"));
        }
        Ok(Self(name.to_string()))
    }

    /// The name as typed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SQL identifier of the integration's view: `vi_` and the name in
    /// lowercase with every other character than `a-z0-9` as `_`. Always a
    /// plain identifier that needs no quoting in DataFusion or Athena.
    pub fn view_name(&self) -> String {
        let body: String = self
            .0
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        format!("{VIEW_PREFIX}{body}")
    }
}

impl TryFrom<String> for IntegrationName {
    type Error = IntegrationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<IntegrationName> for String {
    fn from(n: IntegrationName) -> String {
        n.0
    }
}

impl fmt::Display for IntegrationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A virtual integration: one customer's isolated cost scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualIntegration {
    /// Stable id (survives renames); tags the AWS objects made for it.
    pub id: Uuid,
    /// The name shown to users.
    pub name: IntegrationName,
    /// The accounts whose costs it shows.
    pub accounts: BTreeSet<AccountId>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Increases with every change; detects concurrent edits.
    pub revision: u64,
}

impl VirtualIntegration {
    /// The SQL identifier of its view.
    pub fn view_name(&self) -> String {
        self.name.view_name()
    }

    /// The `SELECT` its view is made of, over `source` (a trusted relation
    /// name such as `"db"."cur_table"`).
    pub fn view_select(&self, source: &str) -> String {
        crate::view_definition::view_select(source, &self.accounts)
    }
}

/// What to create.
#[derive(Debug, Clone, Default)]
pub struct NewIntegration {
    /// The name as typed.
    pub name: String,
    /// The accounts.
    pub accounts: Vec<AccountId>,
    /// Accept accounts that already belong to another integration.
    pub allow_shared: bool,
}

impl NewIntegration {
    /// The integration this would make, checked by every rule that needs
    /// neither the organization nor the other integrations (name, account
    /// count, duplicates): what can be refused before anything is read.
    pub fn draft(&self, now: DateTime<Utc>) -> Result<VirtualIntegration, IntegrationError> {
        let first = self
            .accounts
            .first()
            .cloned()
            .ok_or(IntegrationError::NoAccounts)?;
        let given = Organization::flat(
            first,
            self.accounts
                .iter()
                .map(|a| (a.clone(), String::new()))
                .collect(),
        );
        IntegrationSet::default().create(&given, self.clone(), now)
    }
}

/// What to change in an existing integration.
#[derive(Debug, Clone, Default)]
pub struct IntegrationChange {
    /// Accounts to add.
    pub add: Vec<AccountId>,
    /// Accounts to remove.
    pub remove: Vec<AccountId>,
    /// A new name.
    pub rename: Option<String>,
    /// Accept added accounts that already belong to another integration.
    pub allow_shared: bool,
}

/// The accounts an update adds and removes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDiff {
    /// Newly included.
    pub added: Vec<AccountId>,
    /// No longer included.
    pub removed: Vec<AccountId>,
}

/// All integrations of a workspace: what is saved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationSet {
    /// File format version.
    pub version: u32,
    /// The integrations, by name order.
    pub integrations: Vec<VirtualIntegration>,
}

impl IntegrationSet {
    /// The integration with this name (exact, then ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&VirtualIntegration> {
        self.integrations
            .iter()
            .find(|v| v.name.as_str() == name)
            .or_else(|| {
                self.integrations
                    .iter()
                    .find(|v| v.name.as_str().eq_ignore_ascii_case(name))
            })
    }

    /// Like [`Self::get`], with a not-found error that lists what exists.
    pub fn require(&self, name: &str) -> Result<&VirtualIntegration, IntegrationError> {
        self.get(name).ok_or_else(|| IntegrationError::NotFound {
            name: name.to_string(),
            known: self
                .integrations
                .iter()
                .map(|v| v.name.to_string())
                .collect(),
        })
    }

    /// Which integrations each account belongs to.
    pub fn memberships(&self) -> BTreeMap<AccountId, Vec<String>> {
        let mut map: BTreeMap<AccountId, Vec<String>> = BTreeMap::new();
        for v in &self.integrations {
            for a in &v.accounts {
                map.entry(a.clone()).or_default().push(v.name.to_string());
            }
        }
        map
    }

    /// Creates an integration; nothing changes when it fails.
    pub fn create(
        &mut self,
        org: &Organization,
        new: NewIntegration,
        now: DateTime<Utc>,
    ) -> Result<VirtualIntegration, IntegrationError> {
        let name = IntegrationName::parse(&new.name)?;
        self.check_name_free(&name, None)?;
        let mut accounts = BTreeSet::new();
        for a in &new.accounts {
            if !accounts.insert(a.clone()) {
                return Err(IntegrationError::DuplicateAccount(a.clone()));
            }
        }
        check_accounts(org, &accounts)?;
        if !new.allow_shared {
            self.check_not_shared(&accounts, None)?;
        }
        let vi = VirtualIntegration {
            id: Uuid::new_v4(),
            name,
            accounts,
            created_at: now,
            updated_at: now,
            revision: 1,
        };
        self.integrations.push(vi.clone());
        self.integrations.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(vi)
    }

    /// Adds/removes accounts and renames; nothing changes when it fails.
    pub fn update(
        &mut self,
        org: &Organization,
        name: &str,
        change: IntegrationChange,
        now: DateTime<Utc>,
    ) -> Result<(VirtualIntegration, AccountDiff), IntegrationError> {
        let current = self.require(name)?.clone();
        if change.add.is_empty() && change.remove.is_empty() && change.rename.is_none() {
            return Err(IntegrationError::NothingToChange);
        }
        let mut next = current.clone();
        if let Some(new_name) = &change.rename {
            let parsed = IntegrationName::parse(new_name)?;
            self.check_name_free(&parsed, Some(current.id))?;
            next.name = parsed;
        }
        let mut diff = AccountDiff::default();
        let mut seen = BTreeSet::new();
        for a in &change.remove {
            if !seen.insert(a.clone()) {
                return Err(IntegrationError::DuplicateAccount(a.clone()));
            }
            if !next.accounts.remove(a) {
                return Err(IntegrationError::NotAMember {
                    account: a.clone(),
                    integration: current.name.to_string(),
                });
            }
            diff.removed.push(a.clone());
        }
        for a in &change.add {
            if !seen.insert(a.clone()) {
                return Err(IntegrationError::DuplicateAccount(a.clone()));
            }
            if !next.accounts.insert(a.clone()) {
                return Err(IntegrationError::AlreadyAMember {
                    account: a.clone(),
                    integration: current.name.to_string(),
                });
            }
            diff.added.push(a.clone());
        }
        check_accounts(org, &next.accounts)?;
        if !change.allow_shared {
            let added: BTreeSet<AccountId> = diff.added.iter().cloned().collect();
            self.check_not_shared(&added, Some(current.id))?;
        }
        next.updated_at = now;
        next.revision += 1;
        for v in &mut self.integrations {
            if v.id == current.id {
                *v = next.clone();
            }
        }
        self.integrations.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((next, diff))
    }

    /// Removes an integration and returns it.
    pub fn delete(&mut self, name: &str) -> Result<VirtualIntegration, IntegrationError> {
        let id = self.require(name)?.id;
        let pos = self
            .integrations
            .iter()
            .position(|v| v.id == id)
            .ok_or_else(|| IntegrationError::NotFound {
                name: name.to_string(),
                known: vec![],
            })?;
        Ok(self.integrations.remove(pos))
    }

    fn check_name_free(
        &self,
        name: &IntegrationName,
        except: Option<Uuid>,
    ) -> Result<(), IntegrationError> {
        let view = name.view_name();
        for v in &self.integrations {
            if Some(v.id) == except {
                continue;
            }
            if v.name.as_str().eq_ignore_ascii_case(name.as_str()) {
                return Err(IntegrationError::NameTaken(name.to_string()));
            }
            if v.view_name() == view {
                return Err(IntegrationError::ViewNameClash {
                    name: name.to_string(),
                    other: v.name.to_string(),
                    view,
                });
            }
        }
        Ok(())
    }

    fn check_not_shared(
        &self,
        accounts: &BTreeSet<AccountId>,
        except: Option<Uuid>,
    ) -> Result<(), IntegrationError> {
        let mut shared = Vec::new();
        for v in &self.integrations {
            if Some(v.id) == except {
                continue;
            }
            for a in accounts.intersection(&v.accounts) {
                shared.push(format!("{a} (in {})", v.name));
            }
        }
        if shared.is_empty() {
            Ok(())
        } else {
            Err(IntegrationError::AccountsShared(shared))
        }
    }
}

fn check_accounts(
    org: &Organization,
    accounts: &BTreeSet<AccountId>,
) -> Result<(), IntegrationError> {
    if accounts.is_empty() {
        return Err(IntegrationError::NoAccounts);
    }
    if accounts.len() > MAX_ACCOUNTS {
        return Err(IntegrationError::TooManyAccounts(accounts.len()));
    }
    let index = org.account_index();
    let unknown: Vec<String> = accounts
        .iter()
        .filter(|a| !index.contains_key(a))
        .map(ToString::to_string)
        .collect();
    if !unknown.is_empty() {
        return Err(IntegrationError::UnknownAccounts(unknown));
    }
    Ok(())
}

/// Why an integration operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntegrationError {
    /// The name breaks the rules.
    #[error("'{name}' cannot be an integration name: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// Another integration has this name.
    #[error("an integration named '{0}' already exists; choose another name or update that one")]
    NameTaken(String),
    /// Two names would make the same view identifier.
    #[error("'{name}' would use the view name {view}, which '{other}' already uses; choose a name that differs in more than punctuation or case")]
    ViewNameClash {
        /// The name given.
        name: String,
        /// The integration holding the view name.
        other: String,
        /// The clashing identifier.
        view: String,
    },
    /// No such integration.
    #[error("no integration named '{name}'{}", known_list(.known))]
    NotFound {
        /// The name given.
        name: String,
        /// The names that exist.
        known: Vec<String>,
    },
    /// The account set would be empty.
    #[error("an integration needs at least one account")]
    NoAccounts,
    /// More than a billing view can filter.
    #[error("{0} accounts given, but an AWS billing view filters at most {MAX_ACCOUNTS} linked accounts; split this customer into several integrations of at most {MAX_ACCOUNTS} accounts each")]
    TooManyAccounts(usize),
    /// The same account twice in one request.
    #[error("account {0} is listed twice; give each account once")]
    DuplicateAccount(AccountId),
    /// Ids that are not in the organization.
    #[error("not in this organization: {}; choose accounts from the organization's list", .0.join(", "))]
    UnknownAccounts(Vec<String>),
    /// Accounts already in other integrations.
    #[error("already in another integration: {}; allow shared accounts if these accounts should be in both", .0.join(", "))]
    AccountsShared(Vec<String>),
    /// Removing an account that is not in the integration.
    #[error("account {account} is not in '{integration}', so it cannot be removed")]
    NotAMember {
        /// The account.
        account: AccountId,
        /// The integration.
        integration: String,
    },
    /// Adding an account that is already in the integration.
    #[error("account {account} is already in '{integration}'")]
    AlreadyAMember {
        /// The account.
        account: AccountId,
        /// The integration.
        integration: String,
    },
    /// An update with nothing in it.
    #[error("nothing to change: add or remove accounts, or rename it")]
    NothingToChange,
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        "; there are no integrations yet: create one first".into()
    } else {
        format!("; known integrations: {}", known.join(", "))
    }
}
