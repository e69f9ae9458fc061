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
use crate::membership::{self, LeftOut, MembershipRules, TagRule};
use crate::presentation::{PresentationProfile, ProfileError};

/// A billing view's `LINKED_ACCOUNT` filter takes at most 200 values.
pub const MAX_VIEW_ACCOUNTS: usize = 200;
/// An aggregate billing view takes at most 10 source views.
pub const MAX_SOURCE_VIEWS: usize = 10;
/// The most accounts one integration holds: an aggregate billing view over
/// 10 source views of 200 accounts each.
pub const MAX_ACCOUNTS: usize = MAX_VIEW_ACCOUNTS * MAX_SOURCE_VIEWS;
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
    /// The accounts whose costs it shows: its rules, resolved.
    pub accounts: BTreeSet<AccountId>,
    /// How its accounts are chosen. Empty in files written before rules
    /// existed: see [`Self::effective_rules`].
    #[serde(default)]
    pub rules: MembershipRules,
    /// What its customer is shown: display name, cost basis, line item
    /// types left out. `None`: what `cost` shows by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<PresentationProfile>,
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

    /// Its rules; an integration saved before rules existed is the
    /// hand-kept list of its accounts.
    pub fn effective_rules(&self) -> MembershipRules {
        if self.rules.follows_organization() || !self.rules.accounts.is_empty() {
            self.rules.clone()
        } else {
            MembershipRules::explicit(self.accounts.clone())
        }
    }

    /// How it is shown to its customer: its profile, or without one what
    /// `cost` shows by default (its own name, unblended, nothing left out).
    pub fn shown_profile(&self) -> PresentationProfile {
        self.profile.clone().unwrap_or_default()
    }

    /// The name shown on slides and packs.
    pub fn display_name(&self) -> String {
        self.shown_profile()
            .display_name(self.name.as_str())
            .to_string()
    }

    /// Itself with [`Self::effective_rules`] filled in.
    pub fn with_effective_rules(mut self) -> Self {
        self.rules = self.effective_rules();
        self
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
    /// Accounts included by id.
    pub accounts: Vec<AccountId>,
    /// Accept accounts that already belong to another integration.
    pub allow_shared: bool,
    /// OUs (id or path), each with its subtree.
    pub units: Vec<String>,
    /// Account tags, as typed (`KEY=VALUE`).
    pub tags: Vec<String>,
    /// Accounts never included.
    pub exclude: Vec<AccountId>,
}

impl NewIntegration {
    /// Its rules, checked for what needs no organization: no id twice,
    /// every tag `KEY=VALUE`.
    pub fn rules(&self) -> Result<MembershipRules, IntegrationError> {
        let mut rules = MembershipRules {
            allow_shared: self.allow_shared,
            ..Default::default()
        };
        for a in &self.accounts {
            if !rules.accounts.insert(a.clone()) {
                return Err(IntegrationError::DuplicateAccount(a.clone()));
            }
        }
        for a in &self.exclude {
            if !rules.exclude.insert(a.clone()) {
                return Err(IntegrationError::DuplicateAccount(a.clone()));
            }
        }
        for u in &self.units {
            let u = u.trim().to_string();
            if u.is_empty() {
                return Err(IntegrationError::UnknownUnit {
                    given: u,
                    near: vec![],
                });
            }
            if rules.units.contains(&u) {
                return Err(IntegrationError::AlreadyARule(format!("OU {u}")));
            }
            rules.units.push(u);
        }
        for t in &self.tags {
            let tag: TagRule = t.parse()?;
            if rules.tags.contains(&tag) {
                return Err(IntegrationError::AlreadyARule(format!("tag {tag}")));
            }
            rules.tags.push(tag);
        }
        Ok(rules)
    }

    /// Refuses what can be refused before anything is read: the name, the
    /// rules' form, and for a list of ids alone its size.
    pub fn check_alone(&self) -> Result<(), IntegrationError> {
        IntegrationName::parse(&self.name)?;
        let rules = self.rules()?;
        if !rules.follows_organization() {
            self.draft(DateTime::<Utc>::MIN_UTC)?;
        }
        Ok(())
    }

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

/// A sync's decision for one integration: its rules resolved against the
/// organization now, with the accounts other integrations hold settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncChange {
    /// The integration.
    pub name: String,
    /// Its members after the sync.
    pub accounts: BTreeSet<AccountId>,
    /// What that adds and drops, and what its rules name but leave out.
    pub diff: AccountDiff,
    /// Why its rules could not be resolved (an OU that is gone), if so.
    pub problem: Option<String>,
}

impl SyncChange {
    /// Whether applying it changes the integration.
    pub fn changes(&self) -> bool {
        self.problem.is_none() && !(self.diff.added.is_empty() && self.diff.removed.is_empty())
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
    /// OUs to add as rules (id or path).
    pub add_units: Vec<String>,
    /// OU rules to drop (as given, or naming the same OU).
    pub remove_units: Vec<String>,
    /// Tag rules to add (`KEY=VALUE`).
    pub add_tags: Vec<String>,
    /// Tag rules to drop.
    pub remove_tags: Vec<String>,
    /// Replace the rules with these (how the desktop edits them); ids
    /// newly listed that another integration holds are refused unless
    /// `allow_shared` (of the change or of the rules).
    pub set_rules: Option<MembershipRules>,
    /// Set the members to exactly these, rules unchanged: a sync's decision
    /// (see [`IntegrationSet::sync_plan`]). Not combined with the rest.
    pub resolved: Option<BTreeSet<AccountId>>,
}

impl IntegrationChange {
    /// Whether it asks for nothing.
    pub fn is_empty(&self) -> bool {
        self.add.is_empty()
            && self.remove.is_empty()
            && self.rename.is_none()
            && self.add_units.is_empty()
            && self.remove_units.is_empty()
            && self.add_tags.is_empty()
            && self.remove_tags.is_empty()
            && self.set_rules.is_none()
            && self.resolved.is_none()
    }

    /// A sync's change: the members `accounts`, nothing else.
    pub fn resync(accounts: BTreeSet<AccountId>) -> Self {
        IntegrationChange {
            resolved: Some(accounts),
            ..Default::default()
        }
    }
}

/// The accounts an update adds and removes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDiff {
    /// Newly included.
    pub added: Vec<AccountId>,
    /// No longer included.
    pub removed: Vec<AccountId>,
    /// Named by the rules but not included, and why.
    #[serde(default)]
    pub left_out: Vec<LeftOut>,
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

    /// Accounts the other integrations hold (all but `except`), each with
    /// the first integration holding it.
    fn taken_by_others(&self, except: Option<Uuid>) -> BTreeMap<AccountId, String> {
        let mut taken = BTreeMap::new();
        for v in &self.integrations {
            if Some(v.id) == except {
                continue;
            }
            for a in &v.accounts {
                taken.entry(a.clone()).or_insert_with(|| v.name.to_string());
            }
        }
        taken
    }

    /// Creates an integration; nothing changes when it fails.
    pub fn create(
        &mut self,
        org: &Organization,
        new: NewIntegration,
        now: DateTime<Utc>,
    ) -> Result<VirtualIntegration, IntegrationError> {
        self.create_reporting(org, new, now).map(|(vi, _)| vi)
    }

    /// Creates an integration, and says which accounts its rules name but
    /// leave out; nothing changes when it fails.
    pub fn create_reporting(
        &mut self,
        org: &Organization,
        new: NewIntegration,
        now: DateTime<Utc>,
    ) -> Result<(VirtualIntegration, Vec<LeftOut>), IntegrationError> {
        let name = IntegrationName::parse(&new.name)?;
        self.check_name_free(&name, None)?;
        let rules = new.rules()?;
        if !rules.follows_organization() {
            if rules.accounts.is_empty() {
                return Err(IntegrationError::NoAccounts);
            }
            if rules.accounts.len() > MAX_ACCOUNTS {
                return Err(IntegrationError::TooManyAccounts(rules.accounts.len()));
            }
        }
        membership::check_input(org, &rules)?;
        let resolution = membership::resolve(
            org,
            &rules,
            &BTreeSet::new(),
            &self.taken_by_others(None),
            &rules.accounts,
        )?;
        check_members(&resolution.accounts, &rules, &resolution.left_out)?;
        let vi = VirtualIntegration {
            id: Uuid::new_v4(),
            name,
            accounts: resolution.accounts,
            rules,
            profile: None,
            created_at: now,
            updated_at: now,
            revision: 1,
        };
        self.integrations.push(vi.clone());
        self.integrations.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((vi, resolution.left_out))
    }

    /// Changes an integration's rules (or sets the members a sync decided)
    /// and renames it; nothing changes when it fails.
    pub fn update(
        &mut self,
        org: &Organization,
        name: &str,
        change: IntegrationChange,
        now: DateTime<Utc>,
    ) -> Result<(VirtualIntegration, AccountDiff), IntegrationError> {
        let current = self.require(name)?.clone();
        if change.is_empty() {
            return Err(IntegrationError::NothingToChange);
        }
        let mut next = current.clone();
        if let Some(new_name) = &change.rename {
            let parsed = IntegrationName::parse(new_name)?;
            self.check_name_free(&parsed, Some(current.id))?;
            next.name = parsed;
        }
        let mut diff = AccountDiff::default();
        if let Some(accounts) = &change.resolved {
            next.accounts = accounts.clone();
        } else {
            let (rules, resolution) = self.edit_rules(org, &current, &change)?;
            next.rules = rules;
            next.accounts = resolution.accounts;
            diff.left_out = resolution.left_out;
        }
        check_members(&next.accounts, &next.rules, &diff.left_out)?;
        diff.added = next
            .accounts
            .difference(&current.accounts)
            .cloned()
            .collect();
        diff.removed = current
            .accounts
            .difference(&next.accounts)
            .cloned()
            .collect();
        if next.name == current.name
            && next.accounts == current.accounts
            && next.rules == current.effective_rules()
        {
            return Err(IntegrationError::NothingToChange);
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

    /// Sets (or, with the default profile, clears) how `name` is shown to
    /// its customer; its accounts are not touched.
    pub fn set_profile(
        &mut self,
        name: &str,
        profile: PresentationProfile,
        now: DateTime<Utc>,
    ) -> Result<VirtualIntegration, IntegrationError> {
        let current = self.require(name)?.clone();
        let profile = profile.normalized()?;
        let next_profile = (!profile.is_default()).then_some(profile);
        if next_profile == current.profile {
            return Err(IntegrationError::NothingToChange);
        }
        let mut next = current.clone();
        next.profile = next_profile;
        next.updated_at = now;
        next.revision += 1;
        for v in &mut self.integrations {
            if v.id == current.id {
                *v = next.clone();
            }
        }
        Ok(next)
    }

    /// `current`'s rules with `change` applied, and what they resolve to.
    fn edit_rules(
        &self,
        org: &Organization,
        current: &VirtualIntegration,
        change: &IntegrationChange,
    ) -> Result<(MembershipRules, membership::Resolution), IntegrationError> {
        if let Some(rules) = &change.set_rules {
            membership::check_input(org, rules)?;
            let held = current.effective_rules().accounts;
            let listed: BTreeSet<AccountId> = rules.accounts.difference(&held).cloned().collect();
            let mut taken = self.taken_by_others(Some(current.id));
            let strict = if change.allow_shared {
                taken.retain(|a, _| !listed.contains(a));
                BTreeSet::new()
            } else {
                listed
            };
            let resolution = membership::resolve(org, rules, &current.accounts, &taken, &strict)?;
            return Ok((rules.clone(), resolution));
        }
        let mut rules = current.effective_rules();
        let mut seen = BTreeSet::new();
        for a in change.remove.iter().chain(&change.add) {
            if !seen.insert(a.clone()) {
                return Err(IntegrationError::DuplicateAccount(a.clone()));
            }
        }
        for a in &change.remove {
            if !current.accounts.contains(a) {
                return Err(IntegrationError::NotAMember {
                    account: a.clone(),
                    integration: current.name.to_string(),
                });
            }
            rules.accounts.remove(a);
        }
        for a in &change.add {
            if current.accounts.contains(a) {
                return Err(IntegrationError::AlreadyAMember {
                    account: a.clone(),
                    integration: current.name.to_string(),
                });
            }
            rules.exclude.remove(a);
            rules.accounts.insert(a.clone());
        }
        for u in &change.remove_units {
            let target = membership::find_unit(org, u)
                .ok()
                .map(|unit| unit.id.clone());
            let before = rules.units.len();
            rules.units.retain(|r| {
                r != u.trim()
                    && (target.is_none()
                        || membership::find_unit(org, r).ok().map(|x| &x.id) != target.as_ref())
            });
            if rules.units.len() == before {
                return Err(IntegrationError::NotARule {
                    rule: format!("OU {u}"),
                    integration: current.name.to_string(),
                });
            }
        }
        for u in &change.add_units {
            let unit = membership::find_unit(org, u)?;
            if rules
                .units
                .iter()
                .any(|r| membership::find_unit(org, r).is_ok_and(|x| x.id == unit.id))
            {
                return Err(IntegrationError::AlreadyARule(format!("OU {u}")));
            }
            rules.units.push(u.trim().to_string());
        }
        for t in &change.remove_tags {
            let tag: TagRule = t.parse()?;
            let before = rules.tags.len();
            rules.tags.retain(|r| *r != tag);
            if rules.tags.len() == before {
                return Err(IntegrationError::NotARule {
                    rule: format!("tag {tag}"),
                    integration: current.name.to_string(),
                });
            }
        }
        for t in &change.add_tags {
            let tag: TagRule = t.parse()?;
            if rules.tags.contains(&tag) {
                return Err(IntegrationError::AlreadyARule(format!("tag {tag}")));
            }
            rules.tags.push(tag);
        }
        let added: BTreeSet<AccountId> = change.add.iter().cloned().collect();
        let unknown: Vec<String> = added
            .iter()
            .filter(|a| org.account(a).is_none())
            .map(ToString::to_string)
            .collect();
        if !unknown.is_empty() {
            return Err(IntegrationError::UnknownAccounts(unknown));
        }
        let mut taken = self.taken_by_others(Some(current.id));
        let strict = if change.allow_shared {
            taken.retain(|a, _| !added.contains(a));
            BTreeSet::new()
        } else {
            added
        };
        let resolve = |rules: &MembershipRules| {
            membership::resolve(org, rules, &current.accounts, &taken, &strict)
        };
        let mut resolution = resolve(&rules)?;
        // A removed account an OU or tag still names is excluded.
        let still: Vec<&AccountId> = change
            .remove
            .iter()
            .filter(|a| resolution.accounts.contains(*a))
            .collect();
        if !still.is_empty() {
            rules.exclude.extend(still.into_iter().cloned());
            resolution = resolve(&rules)?;
        }
        Ok((rules, resolution))
    }

    /// What syncing every integration with the organization would change.
    /// Accounts an integration holds and its rules still name are kept;
    /// an account the rules of two integrations now name goes to the first
    /// (by name) unless the second allows shared accounts, and is reported
    /// as left out of the other.
    ///
    /// With `only`, just that integration is planned, and accounts the
    /// others hold today count as theirs even where their rules no longer
    /// name them (they have not been synced yet).
    pub fn sync_plan(&self, org: &Organization, only: Option<&str>) -> Vec<SyncChange> {
        let none = BTreeSet::new();
        let only = only.and_then(|n| self.get(n)).map(|v| v.id);
        // What each keeps: held and still named (or, syncing one alone,
        // all the others hold).
        let mut holders: BTreeMap<AccountId, Vec<Uuid>> = BTreeMap::new();
        for v in &self.integrations {
            let kept: BTreeSet<AccountId> = if only.is_some_and(|id| id != v.id) {
                v.accounts.clone()
            } else {
                membership::resolve(
                    org,
                    &v.effective_rules(),
                    &v.accounts,
                    &BTreeMap::new(),
                    &none,
                )
                .map(|w| w.accounts.intersection(&v.accounts).cloned().collect())
                .unwrap_or_else(|_| v.accounts.clone())
            };
            for a in kept {
                holders.entry(a).or_default().push(v.id);
            }
        }
        let names: BTreeMap<Uuid, String> = self
            .integrations
            .iter()
            .map(|v| (v.id, v.name.to_string()))
            .collect();
        let mut out = Vec::new();
        for v in &self.integrations {
            if only.is_some_and(|id| id != v.id) {
                continue;
            }
            let taken: BTreeMap<AccountId, String> = holders
                .iter()
                .filter_map(|(a, ids)| {
                    let other = ids.iter().find(|id| **id != v.id)?;
                    Some((a.clone(), names.get(other).cloned().unwrap_or_default()))
                })
                .collect();
            match membership::resolve(org, &v.effective_rules(), &v.accounts, &taken, &none) {
                Ok(r) => {
                    for a in r.accounts.difference(&v.accounts) {
                        holders.entry(a.clone()).or_default().push(v.id);
                    }
                    let problem = if r.accounts.is_empty() {
                        Some(format!(
                            "its rules ({}) now name no account; it is left as it is",
                            v.effective_rules().describe().join(", ")
                        ))
                    } else if r.accounts.len() > MAX_ACCOUNTS {
                        Some(IntegrationError::TooManyAccounts(r.accounts.len()).to_string())
                    } else {
                        None
                    };
                    out.push(SyncChange {
                        name: v.name.to_string(),
                        diff: AccountDiff {
                            added: r.accounts.difference(&v.accounts).cloned().collect(),
                            removed: v.accounts.difference(&r.accounts).cloned().collect(),
                            left_out: r.left_out,
                        },
                        accounts: r.accounts,
                        problem,
                    });
                }
                Err(e) => out.push(SyncChange {
                    name: v.name.to_string(),
                    accounts: v.accounts.clone(),
                    diff: AccountDiff::default(),
                    problem: Some(e.to_string()),
                }),
            }
        }
        out
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
}

/// A resolved member set is usable: not empty, not more than an aggregate
/// billing view holds.
fn check_members(
    accounts: &BTreeSet<AccountId>,
    rules: &MembershipRules,
    left_out: &[LeftOut],
) -> Result<(), IntegrationError> {
    if accounts.is_empty() {
        return Err(if !left_out.is_empty() {
            IntegrationError::AllLeftOut(
                left_out
                    .iter()
                    .map(|l| format!("{} ({})", l.account, l.reason))
                    .collect(),
            )
        } else if rules.follows_organization() {
            IntegrationError::RulesMatchNothing(rules.describe())
        } else {
            IntegrationError::NoAccounts
        });
    }
    if accounts.len() > MAX_ACCOUNTS {
        return Err(IntegrationError::TooManyAccounts(accounts.len()));
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
    /// The presentation profile cannot be saved.
    #[error(transparent)]
    Profile(#[from] ProfileError),
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
    /// More than an aggregate billing view can hold.
    #[error("{0} accounts, but one integration holds at most {MAX_ACCOUNTS} (an aggregate billing view over {MAX_SOURCE_VIEWS} views of {MAX_VIEW_ACCOUNTS} accounts each); split this customer into several integrations, e.g. one per OU")]
    TooManyAccounts(usize),
    /// Rules that name no account.
    #[error("the rules ({}) name no active account; check the OU path and the tag's key and value (both are case-sensitive)", .0.join(", "))]
    RulesMatchNothing(Vec<String>),
    /// Every account the rules name is left out.
    #[error("every account the rules name is left out: {}; allow shared accounts, or change the rules", .0.join(", "))]
    AllLeftOut(Vec<String>),
    /// An OU that is not in the organization.
    #[error("no OU '{given}' in this organization{}", near_list(.near))]
    UnknownUnit {
        /// As given.
        given: String,
        /// Paths of OUs that look alike.
        near: Vec<String>,
    },
    /// A tag rule that is not `KEY=VALUE`.
    #[error("'{given}' is not a tag rule: {reason}")]
    MalformedTag {
        /// As given.
        given: String,
        /// What is wrong.
        reason: String,
    },
    /// A rule given twice.
    #[error("{0} is already one of the rules")]
    AlreadyARule(String),
    /// Removing a rule the integration does not have.
    #[error("{rule} is not one of the rules of '{integration}'")]
    NotARule {
        /// The rule.
        rule: String,
        /// The integration.
        integration: String,
    },
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
    /// Sharing a view with an account outside the integration.
    #[error("not in '{integration}': {}; a customer's view is only shared with that customer's own accounts", .accounts.join(", "))]
    ShareOutside {
        /// The accounts.
        accounts: Vec<String>,
        /// The integration.
        integration: String,
    },
    /// Unsharing from an account the view is not shared with.
    #[error("'{integration}' is not shared with {}", .accounts.join(", "))]
    NotShared {
        /// The accounts.
        accounts: Vec<String>,
        /// The integration.
        integration: String,
    },
    /// More accounts than CostCarve records a share for.
    #[error("a view is shared with at most 19 accounts, not {0}; share it with the customer's management or billing account")]
    TooManyShared(usize),
    /// An update with nothing in it.
    #[error("nothing to change: add or remove accounts or rules, or rename it")]
    NothingToChange,
}

fn near_list(near: &[String]) -> String {
    if near.is_empty() {
        "; give an OU id (ou-...) or a path of OU names below the root, e.g. Customers/Acme".into()
    } else {
        format!("; did you mean {}?", near.join(", "))
    }
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        "; there are no integrations yet: create one first".into()
    } else {
        format!("; known integrations: {}", known.join(", "))
    }
}
