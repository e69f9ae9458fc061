//! Membership rules: which accounts an integration holds, said as OU
//! subtrees, account tags, explicit ids and exclusions, and resolved
//! against the organization each time it is read again — so an account
//! vended into a customer's OU joins that customer at the next sync.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::account::{AccountId, OrgUnit, Organization};
use crate::integration::IntegrationError;

/// An account tag an integration's members carry: `KEY=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TagRule {
    /// The tag key (case-sensitive, as Organizations keeps it).
    pub key: String,
    /// The value (may be empty).
    pub value: String,
}

impl FromStr for TagRule {
    type Err = IntegrationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let malformed = |why: &str| IntegrationError::MalformedTag {
            given: s.to_string(),
            reason: why.to_string(),
        };
        let (key, value) = s
            .split_once('=')
            .ok_or_else(|| malformed("it has no '='; write KEY=VALUE, e.g. customer=acme"))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(malformed("the key before '=' is empty"));
        }
        if key.chars().count() > 128 {
            return Err(malformed("the key is longer than 128 characters"));
        }
        if value.chars().count() > 256 {
            return Err(malformed("the value is longer than 256 characters"));
        }
        Ok(TagRule {
            key: key.to_string(),
            value: value.trim().to_string(),
        })
    }
}

impl fmt::Display for TagRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

/// How an integration's members are chosen. An integration made from ids
/// alone has only `accounts`: a hand-kept list that sync never changes
/// (except to drop an account that left the organization).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipRules {
    /// OUs, each with its whole subtree: an id (`ou-…`, `r-…`) or a path of
    /// names below the root (`Customers/Acme`), as given.
    #[serde(default)]
    pub units: Vec<String>,
    /// Account tags; an account carrying any of them is a member.
    #[serde(default)]
    pub tags: Vec<TagRule>,
    /// Accounts included by id.
    #[serde(default)]
    pub accounts: BTreeSet<AccountId>,
    /// Accounts never included, whatever the rules above say.
    #[serde(default)]
    pub exclude: BTreeSet<AccountId>,
    /// Accounts already in another integration may be in this one too.
    #[serde(default)]
    pub allow_shared: bool,
}

impl MembershipRules {
    /// Rules of a hand-kept list.
    pub fn explicit(accounts: BTreeSet<AccountId>) -> Self {
        MembershipRules {
            accounts,
            ..Default::default()
        }
    }

    /// Whether the rules follow the organization (an OU or a tag), rather
    /// than only listing ids.
    pub fn follows_organization(&self) -> bool {
        !self.units.is_empty() || !self.tags.is_empty()
    }

    /// The rules in words, one clause each (`OU Customers/Acme and below`,
    /// `tag customer=acme`, `3 accounts by id`, `1 excluded`).
    pub fn describe(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .units
            .iter()
            .map(|u| format!("OU {u} and below"))
            .collect();
        out.extend(self.tags.iter().map(|t| format!("tag {t}")));
        if !self.accounts.is_empty() {
            out.push(format!("{} by id", plural(self.accounts.len(), "account")));
        }
        if !self.exclude.is_empty() {
            out.push(format!(
                "{} excluded",
                plural(self.exclude.len(), "account")
            ));
        }
        out
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Why an account the rules name is not a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum LeftOutReason {
    /// An OU or tag rule matched it, but it is not `ACTIVE`.
    Inactive {
        /// Its status (`SUSPENDED`, `PENDING_CLOSURE`, ...).
        status: String,
    },
    /// It already belongs to another integration, and this one does not
    /// allow shared accounts.
    InAnotherIntegration {
        /// That integration.
        integration: String,
    },
    /// Listed by id, but no longer in the organization.
    NotInOrganization,
}

impl fmt::Display for LeftOutReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeftOutReason::Inactive { status } => write!(f, "it is {status}"),
            LeftOutReason::InAnotherIntegration { integration } => {
                write!(
                    f,
                    "it is already in '{integration}' (shared accounts not allowed)"
                )
            }
            LeftOutReason::NotInOrganization => f.write_str("it is no longer in the organization"),
        }
    }
}

/// An account the rules name that is not a member, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftOut {
    /// The account.
    pub account: AccountId,
    /// Why.
    #[serde(flatten)]
    pub reason: LeftOutReason,
}

/// What rules resolve to against one organization.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolution {
    /// The members.
    pub accounts: BTreeSet<AccountId>,
    /// Accounts the rules name that are not members.
    pub left_out: Vec<LeftOut>,
}

/// The unit a rule names: by id, or by its path of names below the root
/// (exact, then ASCII case-insensitive; a leading `/` or `Root/` is
/// ignored).
pub fn find_unit<'o>(org: &'o Organization, given: &str) -> Result<&'o OrgUnit, IntegrationError> {
    let text = given.trim();
    if let Some(u) = org.units.iter().find(|u| u.id == text) {
        return Ok(u);
    }
    let path = text.trim_matches('/');
    let path = path.strip_prefix("Root/").unwrap_or(path).trim_matches('/');
    let paths: Vec<(String, &OrgUnit)> = org
        .units
        .iter()
        .filter(|u| u.parent_id.is_some())
        .map(|u| (org.unit_path(&u.id), u))
        .collect();
    if let Some((_, u)) = paths.iter().find(|(p, _)| p == path) {
        return Ok(u);
    }
    if let Some((_, u)) = paths.iter().find(|(p, _)| p.eq_ignore_ascii_case(path)) {
        return Ok(u);
    }
    // Suggest the units whose path ends like the one given, else the top.
    let last = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let mut near: Vec<String> = paths
        .iter()
        .filter(|(p, _)| {
            p.rsplit('/')
                .next()
                .is_some_and(|n| n.to_ascii_lowercase().contains(&last))
        })
        .map(|(p, _)| p.clone())
        .collect();
    if near.is_empty() {
        near = paths
            .iter()
            .filter(|(p, _)| !p.contains('/'))
            .map(|(p, _)| p.clone())
            .collect();
    }
    near.sort();
    near.truncate(8);
    Err(IntegrationError::UnknownUnit {
        given: given.to_string(),
        near,
    })
}

/// Checks rules as a user typed them: every OU exists, and every id (to
/// include or exclude) is in the organization.
pub fn check_input(org: &Organization, rules: &MembershipRules) -> Result<(), IntegrationError> {
    for u in &rules.units {
        find_unit(org, u)?;
    }
    let index = org.account_index();
    let unknown: Vec<String> = rules
        .accounts
        .iter()
        .chain(&rules.exclude)
        .filter(|a| !index.contains_key(a))
        .map(ToString::to_string)
        .collect();
    if !unknown.is_empty() {
        return Err(IntegrationError::UnknownAccounts(unknown));
    }
    Ok(())
}

/// Where a candidate member came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// Listed by id.
    Explicit,
    /// Matched by an OU or a tag rule.
    Rule,
}

/// Resolves rules against an organization and the integrations that
/// already hold accounts.
///
/// - `held`: accounts the integration holds today (kept when still named).
/// - `taken`: accounts other integrations hold, with their names.
/// - `strict`: ids newly listed that another integration holds are an
///   error ([`IntegrationError::AccountsShared`]); everything else another
///   integration holds is left out and reported.
pub fn resolve(
    org: &Organization,
    rules: &MembershipRules,
    held: &BTreeSet<AccountId>,
    taken: &BTreeMap<AccountId, String>,
    strict: &BTreeSet<AccountId>,
) -> Result<Resolution, IntegrationError> {
    let mut candidates: BTreeMap<AccountId, Source> = BTreeMap::new();
    let mut left_out = Vec::new();
    let mut inside: std::collections::HashSet<&str> = Default::default();
    for u in &rules.units {
        let unit = find_unit(org, u)?;
        for a in org.accounts_under(&unit.id) {
            inside.insert(a.id.as_str());
        }
    }
    for a in &org.accounts {
        let by_unit = inside.contains(a.id.as_str());
        let by_tag = rules
            .tags
            .iter()
            .any(|t| a.tags.get(&t.key).is_some_and(|v| *v == t.value));
        if !(by_unit || by_tag) || rules.exclude.contains(&a.id) {
            continue;
        }
        if a.status != "ACTIVE" && !rules.accounts.contains(&a.id) {
            left_out.push(LeftOut {
                account: a.id.clone(),
                reason: LeftOutReason::Inactive {
                    status: a.status.clone(),
                },
            });
            continue;
        }
        candidates.insert(a.id.clone(), Source::Rule);
    }
    let index: HashMap<&AccountId, _> = org.account_index();
    for a in &rules.accounts {
        if rules.exclude.contains(a) {
            continue;
        }
        if index.contains_key(a) {
            candidates.insert(a.clone(), Source::Explicit);
        } else {
            left_out.push(LeftOut {
                account: a.clone(),
                reason: LeftOutReason::NotInOrganization,
            });
        }
    }
    let mut accounts = BTreeSet::new();
    let mut shared = Vec::new();
    for (a, source) in candidates {
        let other = (!held.contains(&a) && !rules.allow_shared)
            .then(|| taken.get(&a))
            .flatten();
        match other {
            None => {
                accounts.insert(a);
            }
            Some(name) if source == Source::Explicit && strict.contains(&a) => {
                shared.push(format!("{a} (in {name})"));
            }
            Some(name) => left_out.push(LeftOut {
                account: a,
                reason: LeftOutReason::InAnotherIntegration {
                    integration: name.clone(),
                },
            }),
        }
    }
    if !shared.is_empty() {
        return Err(IntegrationError::AccountsShared(shared));
    }
    left_out.sort_by(|a, b| a.account.cmp(&b.account));
    Ok(Resolution { accounts, left_out })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::Account;

    fn id(n: u64) -> AccountId {
        format!("{n:012}").parse().unwrap()
    }

    /// Root ─ Customers ─ Acme ─ prod (1, 2) / dev (3); Customers ─ Beta (4);
    /// Sandbox (5, tagged customer=acme; 6 suspended, tagged too).
    fn org() -> Organization {
        let unit = |id: &str, name: &str, parent: Option<&str>| OrgUnit {
            id: id.into(),
            name: name.into(),
            parent_id: parent.map(String::from),
        };
        let acct = |n: u64, parent: &str, tag: Option<&str>, status: &str| Account {
            id: id(n),
            name: format!("account {n}"),
            email: String::new(),
            status: status.into(),
            parent_id: parent.into(),
            tags: tag
                .map(|t| [("customer".to_string(), t.to_string())].into())
                .unwrap_or_default(),
        };
        Organization {
            id: "o-test".into(),
            management_account_id: id(9),
            units: vec![
                unit("r-1", "Root", None),
                unit("ou-1-cust", "Customers", Some("r-1")),
                unit("ou-1-acme", "Acme", Some("ou-1-cust")),
                unit("ou-1-prod", "prod", Some("ou-1-acme")),
                unit("ou-1-dev", "dev", Some("ou-1-acme")),
                unit("ou-1-beta", "Beta", Some("ou-1-cust")),
                unit("ou-1-sand", "Sandbox", Some("r-1")),
            ],
            accounts: vec![
                acct(9, "r-1", None, "ACTIVE"),
                acct(1, "ou-1-prod", None, "ACTIVE"),
                acct(2, "ou-1-prod", None, "ACTIVE"),
                acct(3, "ou-1-dev", None, "ACTIVE"),
                acct(4, "ou-1-beta", None, "ACTIVE"),
                acct(5, "ou-1-sand", Some("acme"), "ACTIVE"),
                acct(6, "ou-1-sand", Some("acme"), "SUSPENDED"),
            ],
        }
    }

    fn rules(units: &[&str], tags: &[&str], ids: &[u64], exclude: &[u64]) -> MembershipRules {
        MembershipRules {
            units: units.iter().map(|s| s.to_string()).collect(),
            tags: tags.iter().map(|t| t.parse().unwrap()).collect(),
            accounts: ids.iter().map(|n| id(*n)).collect(),
            exclude: exclude.iter().map(|n| id(*n)).collect(),
            allow_shared: false,
        }
    }

    fn members(r: &Resolution) -> Vec<u64> {
        r.accounts
            .iter()
            .map(|a| a.as_str().parse().unwrap())
            .collect()
    }

    fn alone(org: &Organization, r: &MembershipRules) -> Resolution {
        resolve(org, r, &BTreeSet::new(), &BTreeMap::new(), &BTreeSet::new()).unwrap()
    }

    #[test]
    fn an_ou_by_path_or_id_takes_its_whole_subtree() {
        let org = org();
        for given in [
            "Customers/Acme",
            "/customers/acme",
            "Root/Customers/Acme",
            "ou-1-acme",
        ] {
            let r = alone(&org, &rules(&[given], &[], &[], &[]));
            assert_eq!(members(&r), [1, 2, 3], "{given}");
        }
        let r = alone(&org, &rules(&["Customers"], &[], &[], &[3]));
        assert_eq!(members(&r), [1, 2, 4]);
    }

    #[test]
    fn tags_ids_and_exclusions_mix_and_inactive_accounts_are_reported() {
        let org = org();
        let r = alone(
            &org,
            &rules(&["Customers/Beta"], &["customer=acme"], &[2], &[]),
        );
        assert_eq!(members(&r), [2, 4, 5]);
        assert_eq!(
            r.left_out,
            vec![LeftOut {
                account: id(6),
                reason: LeftOutReason::Inactive {
                    status: "SUSPENDED".into()
                }
            }]
        );
        // Listed by id, a suspended account is kept: the user named it.
        let r = alone(&org, &rules(&[], &["customer=acme"], &[6], &[]));
        assert_eq!(members(&r), [5, 6]);
    }

    #[test]
    fn unknown_units_and_malformed_tags_say_what_to_fix() {
        let org = org();
        let err = find_unit(&org, "Customers/Acmee").unwrap_err().to_string();
        assert!(
            err.contains("Customers/Acmee") && err.contains("Customers/Acme"),
            "{err}"
        );
        for bad in ["customer", "=acme"] {
            let err = bad.parse::<TagRule>().unwrap_err().to_string();
            assert!(err.contains("KEY=VALUE") || err.contains("key"), "{err}");
        }
        let err = check_input(&org, &rules(&[], &[], &[], &[77])).unwrap_err();
        assert!(matches!(err, IntegrationError::UnknownAccounts(_)));
    }

    #[test]
    fn accounts_another_integration_holds_are_left_out_or_refused_when_listed() {
        let org = org();
        let taken: BTreeMap<AccountId, String> = [(id(2), "Other".to_string())].into();
        let r = resolve(
            &org,
            &rules(&["Customers/Acme"], &[], &[], &[]),
            &BTreeSet::new(),
            &taken,
            &BTreeSet::new(),
        )
        .unwrap();
        assert_eq!(members(&r), [1, 3]);
        assert_eq!(
            r.left_out[0].reason,
            LeftOutReason::InAnotherIntegration {
                integration: "Other".into()
            }
        );
        // Held already: kept.
        let held: BTreeSet<AccountId> = [id(2)].into();
        let r = resolve(
            &org,
            &rules(&["Customers/Acme"], &[], &[], &[]),
            &held,
            &taken,
            &BTreeSet::new(),
        )
        .unwrap();
        assert_eq!(members(&r), [1, 2, 3]);
        // Newly listed by id: refused, as an explicit pick always was.
        let strict: BTreeSet<AccountId> = [id(2)].into();
        let err = resolve(
            &org,
            &rules(&[], &[], &[2], &[]),
            &BTreeSet::new(),
            &taken,
            &strict,
        )
        .unwrap_err();
        assert!(matches!(err, IntegrationError::AccountsShared(_)));
        let mut shared = rules(&["Customers/Acme"], &[], &[], &[]);
        shared.allow_shared = true;
        let r = resolve(&org, &shared, &BTreeSet::new(), &taken, &BTreeSet::new()).unwrap();
        assert_eq!(members(&r), [1, 2, 3]);
    }
}
