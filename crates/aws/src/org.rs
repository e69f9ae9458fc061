//! Organization discovery: accounts (ListAccounts, pages of 20), the OU tree
//! (ListRoots, ListOrganizationalUnitsForParent), where each account sits
//! (ListAccountsForParent) and account tags (ListTagsForResource), with the
//! per-account and per-unit calls run a few at a time, each paged with the
//! SDK's paginators. Every page is counted so the cost of a refresh can be
//! reported.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aws_sdk_organizations::Client;
use futures::stream::{self, StreamExt, TryStreamExt};

use costcarve_core::account::{Account, AccountId, OrgUnit, Organization};

use crate::error::{classify, AwsError};

/// ListAccounts' largest page (AWS caps it at 20).
pub const PAGE: i32 = 20;
/// How many per-unit or per-account calls are in flight at once; well under
/// Organizations' request rate so a refresh of thousands of accounts is not
/// throttled into slowness.
pub const CONCURRENCY: usize = 8;

/// What a discovery reports as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Accounts listed so far.
    Accounts(usize),
    /// Units found so far.
    Units(usize),
    /// Accounts whose tags were read, of how many.
    Tags(usize, usize),
}

/// What the organization looks like from the caller's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgFacts {
    /// `o-...`.
    pub id: String,
    /// The management account.
    pub management_account_id: String,
    /// `ALL` or `CONSOLIDATED_BILLING`.
    pub feature_set: String,
}

/// An organization found, with how many API calls it took.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// The organization.
    pub organization: Organization,
    /// Organizations API calls made.
    pub calls: u64,
}

/// The Organizations API.
#[derive(Debug, Clone)]
pub struct Organizations {
    client: Client,
    calls: Arc<AtomicU64>,
}

impl Organizations {
    /// Reached with this SDK configuration.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: Client::new(config),
            calls: Arc::new(AtomicU64::new(0)),
        }
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// DescribeOrganization.
    pub async fn facts(&self) -> Result<OrgFacts, AwsError> {
        self.count();
        let out = self
            .client
            .describe_organization()
            .send()
            .await
            .map_err(|e| classify("the organization", e))?;
        let org = out.organization().ok_or_else(|| {
            AwsError::Service("DescribeOrganization returned no organization".into())
        })?;
        Ok(OrgFacts {
            id: org.id().unwrap_or_default().to_string(),
            management_account_id: org.master_account_id().unwrap_or_default().to_string(),
            feature_set: org
                .feature_set()
                .map(|f| f.as_str().to_string())
                .unwrap_or_default(),
        })
    }

    /// The whole organization: units, accounts, placement and tags.
    pub async fn discover(
        &self,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Discovery, AwsError> {
        let start = self.calls.load(Ordering::Relaxed);
        let facts = self.facts().await?;
        let accounts = self.list_accounts(progress).await?;
        let units = self.units(progress).await?;
        let placement = self.placement(&units).await?;
        let tags = self.tags(&accounts, progress).await?;
        let root = units
            .iter()
            .find(|u| u.parent_id.is_none())
            .map(|u| u.id.clone())
            .unwrap_or_default();
        let mut out = Vec::with_capacity(accounts.len());
        for a in accounts {
            let id: AccountId = a.id.parse().map_err(|_| {
                AwsError::Service(format!("Organizations returned the account id '{}'", a.id))
            })?;
            out.push(Account {
                parent_id: placement
                    .get(&a.id)
                    .cloned()
                    .unwrap_or_else(|| root.clone()),
                tags: tags.get(&a.id).cloned().unwrap_or_default(),
                id,
                name: a.name,
                email: a.email,
                status: a.status,
            });
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        let management = facts.management_account_id.parse().map_err(|_| {
            AwsError::Service(format!(
                "the organization's management account id '{}' is not 12 digits",
                facts.management_account_id
            ))
        })?;
        Ok(Discovery {
            organization: Organization {
                id: facts.id,
                management_account_id: management,
                units,
                accounts: out,
            },
            calls: self.calls.load(Ordering::Relaxed) - start,
        })
    }

    async fn list_accounts(
        &self,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Vec<Listed>, AwsError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_accounts()
            .max_results(PAGE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            self.count();
            let page = page.map_err(|e| classify("the organization's accounts", e))?;
            out.extend(page.accounts().iter().map(|a| {
                Listed {
                    id: a.id().unwrap_or_default().to_string(),
                    name: a.name().unwrap_or_default().to_string(),
                    email: a.email().unwrap_or_default().to_string(),
                    status: a
                        .state()
                        .map(|s| s.as_str().to_string())
                        .or_else(|| a.status().map(|s| s.as_str().to_string()))
                        .unwrap_or_default(),
                }
            }));
            progress(Progress::Accounts(out.len()));
        }
        Ok(out)
    }

    /// The root and every unit, breadth first, a level's parents at once.
    async fn units(
        &self,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Vec<OrgUnit>, AwsError> {
        self.count();
        let roots = self
            .client
            .list_roots()
            .send()
            .await
            .map_err(|e| classify("the organization's root", e))?;
        let mut all: Vec<OrgUnit> = roots
            .roots()
            .iter()
            .map(|r| OrgUnit {
                id: r.id().unwrap_or_default().to_string(),
                name: r.name().unwrap_or("Root").to_string(),
                parent_id: None,
            })
            .collect();
        let mut level: Vec<String> = all.iter().map(|u| u.id.clone()).collect();
        while !level.is_empty() {
            let children: Vec<Vec<OrgUnit>> = stream::iter(level.clone())
                .map(|parent| async move { self.child_units(&parent).await })
                .buffered(CONCURRENCY)
                .try_collect()
                .await?;
            level.clear();
            for unit in children.into_iter().flatten() {
                level.push(unit.id.clone());
                all.push(unit);
            }
            progress(Progress::Units(all.len()));
        }
        Ok(all)
    }

    async fn child_units(&self, parent: &str) -> Result<Vec<OrgUnit>, AwsError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_organizational_units_for_parent()
            .parent_id(parent)
            .max_results(PAGE)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            self.count();
            let page = page.map_err(|e| classify(&format!("the units under {parent}"), e))?;
            out.extend(page.organizational_units().iter().map(|u| OrgUnit {
                id: u.id().unwrap_or_default().to_string(),
                name: u.name().unwrap_or_default().to_string(),
                parent_id: Some(parent.to_string()),
            }));
        }
        Ok(out)
    }

    /// Account id → the unit (or root) directly above it.
    async fn placement(&self, units: &[OrgUnit]) -> Result<HashMap<String, String>, AwsError> {
        // Owned ids: a stream over borrowed items would make this future
        // not provably `Send` (the desktop runs it on Tauri's async runtime).
        let parents: Vec<String> = units.iter().map(|u| u.id.clone()).collect();
        let per_unit: Vec<(String, Vec<String>)> = stream::iter(parents)
            .map(|parent| async move {
                let mut ids = Vec::new();
                let mut pages = self
                    .client
                    .list_accounts_for_parent()
                    .parent_id(&parent)
                    .max_results(PAGE)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    self.count();
                    let page =
                        page.map_err(|e| classify(&format!("the accounts under {parent}"), e))?;
                    ids.extend(
                        page.accounts()
                            .iter()
                            .filter_map(|a| a.id().map(String::from)),
                    );
                }
                Ok::<_, AwsError>((parent, ids))
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await?;
        Ok(per_unit
            .into_iter()
            .flat_map(|(parent, ids)| ids.into_iter().map(move |id| (id, parent.clone())))
            .collect())
    }

    async fn tags(
        &self,
        accounts: &[Listed],
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<HashMap<String, BTreeMap<String, String>>, AwsError> {
        let total = accounts.len();
        let done = AtomicU64::new(0);
        let done = &done;
        let ids: Vec<String> = accounts.iter().map(|a| a.id.clone()).collect();
        stream::iter(ids)
            .map(|id| async move {
                let mut tags = BTreeMap::new();
                let mut pages = self
                    .client
                    .list_tags_for_resource()
                    .resource_id(&id)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    self.count();
                    let page =
                        page.map_err(|e| classify(&format!("the tags of account {id}"), e))?;
                    for t in page.tags() {
                        tags.insert(t.key().to_string(), t.value().to_string());
                    }
                }
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                progress(Progress::Tags(n as usize, total));
                Ok::<_, AwsError>((id, tags))
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await
    }
}

struct Listed {
    id: String,
    name: String,
    email: String,
    status: String,
}
