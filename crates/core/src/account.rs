//! AWS accounts and the organization that holds them.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(String);

impl AccountId {
    /// The id as its 12 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AccountId {
    type Err = AccountIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.len() == 12 && t.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(t.to_string()))
        } else {
            Err(AccountIdError(s.to_string()))
        }
    }
}

impl TryFrom<String> for AccountId {
    type Error = AccountIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<AccountId> for String {
    fn from(a: AccountId) -> String {
        a.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A string that is not a 12-digit account id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an AWS account id: account ids are exactly 12 digits, e.g. 123456789012")]
pub struct AccountIdError(pub String);

/// Parses a comma-separated list of account ids, as typed on a command line.
pub fn parse_account_list(list: &str) -> Result<Vec<AccountId>, AccountIdError> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect()
}

/// An organizational unit (or the root, which has no parent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgUnit {
    /// `r-xxxx` for the root, `ou-xxxx-yyyyyyyy` for units.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The parent unit; `None` for the root.
    pub parent_id: Option<String>,
}

/// A member account of the organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The 12-digit id.
    pub id: AccountId,
    /// The account's name.
    pub name: String,
    /// The root email.
    pub email: String,
    /// `ACTIVE`, `SUSPENDED`, ...
    pub status: String,
    /// The unit (or root) directly above the account.
    pub parent_id: String,
    /// Account tags (`customer`, `env`, ...).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// An AWS Organization: its units and accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// `o-xxxxxxxxxx`.
    pub id: String,
    /// The payer (management) account.
    pub management_account_id: AccountId,
    /// Root and units.
    pub units: Vec<OrgUnit>,
    /// Member accounts, the management account included.
    pub accounts: Vec<Account>,
}

impl Organization {
    /// An organization with no units: every account directly under the
    /// root. What an imported CUR or a test knows of an organization.
    pub fn flat(management: AccountId, accounts: Vec<(AccountId, String)>) -> Self {
        let root = "r-flat".to_string();
        Organization {
            id: "o-flat".into(),
            management_account_id: management,
            units: vec![OrgUnit {
                id: root.clone(),
                name: "Root".into(),
                parent_id: None,
            }],
            accounts: accounts
                .into_iter()
                .map(|(id, name)| Account {
                    name: if name.is_empty() {
                        id.to_string()
                    } else {
                        name
                    },
                    id,
                    email: String::new(),
                    status: "ACTIVE".into(),
                    parent_id: root.clone(),
                    tags: BTreeMap::new(),
                })
                .collect(),
        }
    }

    /// The account with this id.
    pub fn account(&self, id: &AccountId) -> Option<&Account> {
        self.accounts.iter().find(|a| &a.id == id)
    }

    /// An index of accounts by id, for bulk look-ups.
    pub fn account_index(&self) -> HashMap<&AccountId, &Account> {
        self.accounts.iter().map(|a| (&a.id, a)).collect()
    }

    /// The `/`-separated names of the units above `unit_id`, root excluded.
    pub fn unit_path(&self, unit_id: &str) -> String {
        let by_id: HashMap<&str, &OrgUnit> =
            self.units.iter().map(|u| (u.id.as_str(), u)).collect();
        let mut names = Vec::new();
        let mut cur = by_id.get(unit_id).copied();
        let mut guard = 0;
        while let Some(u) = cur {
            if u.parent_id.is_none() || guard > 64 {
                break;
            }
            names.push(u.name.as_str());
            cur = u.parent_id.as_deref().and_then(|p| by_id.get(p).copied());
            guard += 1;
        }
        names.reverse();
        names.join("/")
    }

    /// Accounts anywhere below `unit_id` (the unit's subtree).
    pub fn accounts_under(&self, unit_id: &str) -> Vec<&Account> {
        let mut inside = std::collections::HashSet::new();
        inside.insert(unit_id.to_string());
        let mut grew = true;
        while grew {
            grew = false;
            for u in &self.units {
                if let Some(p) = &u.parent_id {
                    if inside.contains(p) && inside.insert(u.id.clone()) {
                        grew = true;
                    }
                }
            }
        }
        self.accounts
            .iter()
            .filter(|a| inside.contains(&a.parent_id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!("123456789012".parse::<AccountId>().is_ok());
        assert!(" 123456789012 ".parse::<AccountId>().is_ok());
        for bad in [
            "12345678901",
            "1234567890123",
            "12345678901a",
            "",
            "１２３４５６７８９０１２",
        ] {
            let err = bad.parse::<AccountId>().unwrap_err();
            assert!(err.to_string().contains("12 digits"), "{err}");
        }
        assert_eq!(
            parse_account_list("123456789012, 210987654321,")
                .unwrap()
                .len(),
            2
        );
    }
}
