//! Custom billing views: the AWS side of a virtual integration's Cost
//! Explorer scope (`billing` API 2023-09-07). A view filters the payer's
//! primary view to the integration's linked accounts and is tagged as
//! managed by CostCarve with the integration's id, so a second desktop can
//! find it again.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_billing::types::{
    BillingViewStatus, BillingViewType, Dimension, DimensionValues, Expression, ResourceTag,
};
use aws_sdk_billing::Client;
use futures::{StreamExt, TryStreamExt};

use costcarve_core::account::AccountId;
use costcarve_core::integration::{VirtualIntegration, MAX_ACCOUNTS};

use crate::error::{classify, AwsError};

/// Tag marking a view as CostCarve's.
pub const TAG_MANAGED: &str = "costcarve-managed";
/// Tag holding the integration's id.
pub const TAG_INTEGRATION_ID: &str = "costcarve-integration-id";
/// Tag holding the integration's name.
pub const TAG_INTEGRATION_NAME: &str = "costcarve-integration-name";
/// Prefix of the views' names.
pub const NAME_PREFIX: &str = "costcarve-";

/// A view's health, as Cost Explorer needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Being created.
    Creating,
    /// Being updated.
    Updating,
    /// Usable.
    Healthy,
    /// Not usable, with AWS's reasons.
    Unhealthy(Vec<String>),
    /// A state this version does not know.
    Other(String),
}

/// A billing view as read back from AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingView {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// The linked accounts its filter keeps.
    pub accounts: BTreeSet<String>,
    /// What its filter holds besides one LINKED_ACCOUNT list, in words
    /// (another dimension, a tag, a cost category, a time range): empty for
    /// a filter CostCarve set.
    pub filter_extras: Vec<String>,
    /// The views it is derived from (CostCarve's: the payer's primary view);
    /// only read by [`BillingViews::list_managed`] and
    /// [`BillingViews::get_with_sources`], empty otherwise (polling and
    /// read-backs do not need it).
    pub source_views: Vec<String>,
    /// Health.
    pub health: Health,
    /// Tags (only filled by [`BillingViews::list_managed`] and [`BillingViews::tags`]).
    pub tags: BTreeMap<String, String>,
}

/// The billing view made for an integration: its name and description.
pub fn view_name(vi: &VirtualIntegration) -> String {
    format!("{NAME_PREFIX}{}", vi.name)
}

/// What the view's description records of the integration: its revision
/// (to detect concurrent edits from two desktops) and a digest of the
/// intended account set (to tell which side drifted when the billing view
/// and the Athena view disagree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The integration's revision when the view was last written.
    pub revision: u64,
    /// [`account_digest`] of the accounts it was written with.
    pub digest: String,
}

/// A short, stable digest of an account set (SHA-256 of the sorted ids).
pub fn account_digest<'a>(accounts: impl IntoIterator<Item = &'a str>) -> String {
    use sha2::Digest;
    let mut ids: Vec<&str> = accounts.into_iter().collect();
    ids.sort_unstable();
    let hash = sha2::Sha256::digest(ids.join(",").as_bytes());
    hash.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn description(vi: &VirtualIntegration) -> String {
    // The description alphabet is the name alphabet: no commas or colons.
    format!(
        "Managed by CostCarve for {} rev={} set={}",
        vi.name,
        vi.revision,
        account_digest(vi.accounts.iter().map(|a| a.as_str()))
    )
}

/// Reads what [`description`] recorded; `None` for a description CostCarve
/// did not write (or one edited by hand).
pub fn recorded(description: &str) -> Option<Recorded> {
    let (_, tail) = description.rsplit_once(" rev=")?;
    let (rev, digest) = tail.split_once(" set=")?;
    let ok = digest.len() == 16 && digest.bytes().all(|b| b.is_ascii_hexdigit());
    Some(Recorded {
        revision: rev.parse().ok()?,
        digest: ok.then(|| digest.to_string())?,
    })
}

fn filter(accounts: &BTreeSet<AccountId>) -> Result<Expression, AwsError> {
    if accounts.is_empty() || accounts.len() > MAX_ACCOUNTS {
        return Err(AwsError::Invalid(format!(
            "a billing view filters 1 to {MAX_ACCOUNTS} accounts, not {}",
            accounts.len()
        )));
    }
    let values = DimensionValues::builder()
        .key(Dimension::LinkedAccount)
        .set_values(Some(accounts.iter().map(ToString::to_string).collect()))
        .build()
        .map_err(|e| AwsError::Invalid(e.to_string()))?;
    Ok(Expression::builder().dimensions(values).build())
}

/// The billing view filter for `accounts` as JSON, rendered from the very
/// expression [`BillingViews::create`] and [`BillingViews::update`] send
/// (`dataFilterExpression`), so a review shows what AWS receives.
pub fn filter_json(accounts: &BTreeSet<AccountId>) -> Result<String, AwsError> {
    let expr = filter(accounts)?;
    let dimensions = expr.dimensions().map(|d| {
        serde_json::json!({
            "key": d.key().as_str(),
            "values": d.values(),
        })
    });
    Ok(serde_json::json!({ "dimensions": dimensions }).to_string())
}

/// What a filter holds besides one LINKED_ACCOUNT list, in words.
fn extras(e: &aws_sdk_billing::types::Expression) -> Vec<String> {
    let mut out = Vec::new();
    match e.dimensions() {
        Some(d) if d.key() == &Dimension::LinkedAccount => {}
        Some(d) => out.push(format!("a {} filter", d.key().as_str())),
        None => out.push("no account filter".into()),
    }
    if let Some(t) = e.tags() {
        out.push(format!("a tag filter ({})", t.key()));
    }
    if e.cost_categories().is_some() {
        out.push("a cost category filter".into());
    }
    if e.time_range().is_some() {
        out.push("a time range".into());
    }
    out
}

fn tag(key: &str, value: &str) -> Result<ResourceTag, AwsError> {
    ResourceTag::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(|e| AwsError::Invalid(e.to_string()))
}

fn health_of(h: Option<&aws_sdk_billing::types::BillingViewHealthStatus>) -> Health {
    let Some(h) = h else {
        return Health::Other("unknown".into());
    };
    match h.status_code() {
        Some(BillingViewStatus::Creating) => Health::Creating,
        Some(BillingViewStatus::Updating) => Health::Updating,
        Some(BillingViewStatus::Healthy) => Health::Healthy,
        Some(BillingViewStatus::Unhealthy) => Health::Unhealthy(
            h.status_reasons()
                .iter()
                .map(|r| r.as_str().to_string())
                .collect(),
        ),
        Some(other) => Health::Other(other.as_str().to_string()),
        None => Health::Other("unknown".into()),
    }
}

/// The payer's billing views, through the `billing` API.
#[derive(Debug, Clone)]
pub struct BillingViews {
    client: Client,
}

impl BillingViews {
    /// Views reached with this SDK configuration.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: Client::new(config),
        }
    }

    /// The ARN of a payer's primary view, the source of every custom view.
    pub fn primary_arn(payer: &AccountId) -> String {
        format!("arn:aws:billing::{payer}:billingview/primary")
    }

    /// Creates the view of an integration. `client_token` makes a retried
    /// create return the same view instead of a second one.
    pub async fn create(
        &self,
        payer: &AccountId,
        vi: &VirtualIntegration,
        client_token: &str,
    ) -> Result<String, AwsError> {
        let out = self
            .client
            .create_billing_view()
            .name(view_name(vi))
            .description(description(vi))
            .source_views(Self::primary_arn(payer))
            .data_filter_expression(filter(&vi.accounts)?)
            .resource_tags(tag(TAG_MANAGED, "true")?)
            .resource_tags(tag(TAG_INTEGRATION_ID, &vi.id.to_string())?)
            .resource_tags(tag(TAG_INTEGRATION_NAME, vi.name.as_str())?)
            .client_token(client_token)
            .send()
            .await
            .map_err(|e| classify("the billing view", e))?;
        Ok(out.arn().to_string())
    }

    /// Reads a view back; `None` if it does not exist.
    pub async fn get(&self, arn: &str) -> Result<Option<BillingView>, AwsError> {
        let out = match self.client.get_billing_view().arn(arn).send().await {
            Ok(out) => out,
            Err(e) => {
                return match classify(&format!("billing view {arn}"), e) {
                    AwsError::NotFound { .. } => Ok(None),
                    other => Err(other),
                }
            }
        };
        let Some(v) = out.billing_view() else {
            return Ok(None);
        };
        let filter = v.data_filter_expression();
        let accounts = filter
            .and_then(|e| e.dimensions())
            .filter(|d| d.key() == &Dimension::LinkedAccount)
            .map(|d| d.values().iter().cloned().collect())
            .unwrap_or_default();
        Ok(Some(BillingView {
            arn: v.arn().unwrap_or(arn).to_string(),
            name: v.name().unwrap_or_default().to_string(),
            description: v.description().unwrap_or_default().to_string(),
            accounts,
            filter_extras: filter
                .map(extras)
                .unwrap_or_else(|| vec!["no filter".into()]),
            source_views: vec![],
            health: health_of(v.health_status()),
            tags: BTreeMap::new(),
        }))
    }

    /// [`Self::get`], with the views it is derived from.
    pub async fn get_with_sources(&self, arn: &str) -> Result<Option<BillingView>, AwsError> {
        let (view, sources) = futures::join!(self.get(arn), self.source_views(arn));
        let Some(mut view) = view? else {
            return Ok(None);
        };
        view.source_views = sources?;
        Ok(Some(view))
    }

    /// How many managed views [`BillingViews::list_managed`] reads at once.
    const LIST_CONCURRENCY: usize = 16;

    /// The views a view is derived from.
    pub async fn source_views(&self, arn: &str) -> Result<Vec<String>, AwsError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_source_views_for_billing_view()
            .arn(arn)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify(&format!("billing view {arn}"), e))?;
            out.extend(page.source_views().iter().cloned());
        }
        Ok(out)
    }

    /// Sets a view's accounts (and name, after a rename).
    pub async fn update(&self, arn: &str, vi: &VirtualIntegration) -> Result<(), AwsError> {
        self.client
            .update_billing_view()
            .arn(arn)
            .name(view_name(vi))
            .description(description(vi))
            .data_filter_expression(filter(&vi.accounts)?)
            .send()
            .await
            .map_err(|e| classify(&format!("billing view {arn}"), e))?;
        Ok(())
    }

    /// Deletes a view. Idempotent: a view that is already gone is fine.
    /// Returns whether it existed.
    pub async fn delete(&self, arn: &str) -> Result<bool, AwsError> {
        match self.client.delete_billing_view().arn(arn).send().await {
            Ok(_) => Ok(true),
            Err(e) => match classify(&format!("billing view {arn}"), e) {
                AwsError::NotFound { .. } => Ok(false),
                other => Err(other),
            },
        }
    }

    /// A view's tags.
    pub async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| classify(&format!("tags of {arn}"), e))?;
        Ok(out
            .resource_tags()
            .iter()
            .map(|t| {
                (
                    t.key().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect())
    }

    /// Every custom view CostCarve manages in this account, with its filter
    /// and tags: what a second desktop rebuilds its integrations from.
    pub async fn list_managed(&self) -> Result<Vec<BillingView>, AwsError> {
        let mut arns = Vec::new();
        let mut pages = self
            .client
            .list_billing_views()
            .billing_view_types(BillingViewType::Custom)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("the billing views", e))?;
            arns.extend(page.billing_views().iter().filter_map(|v| {
                v.name()
                    .is_some_and(|n| n.starts_with(NAME_PREFIX))
                    .then(|| v.arn().map(String::from))
                    .flatten()
            }));
        }
        // Three reads per view (tags, the view, its sources): for a payer
        // with hundreds of customers they run LIST_CONCURRENCY at a time,
        // in order, instead of one after another.
        let read = |arn: String| async move {
            let (tags, view) = futures::try_join!(self.tags(&arn), self.get_with_sources(&arn))?;
            if tags.get(TAG_MANAGED).map(String::as_str) != Some("true") {
                return Ok(None);
            }
            Ok::<_, AwsError>(view.map(|mut view| {
                view.tags = tags;
                view
            }))
        };
        let views: Vec<Option<BillingView>> = futures::stream::iter(arns)
            .map(read)
            .buffered(Self::LIST_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(views.into_iter().flatten().collect())
    }

    /// Polls until the view is healthy, with a growing pause (starting at
    /// `first_pause`, doubling up to 5 s) for at most `timeout`.
    pub async fn wait_healthy(
        &self,
        arn: &str,
        first_pause: Duration,
        timeout: Duration,
    ) -> Result<BillingView, AwsError> {
        let started = tokio::time::Instant::now();
        let mut pause = first_pause;
        loop {
            let view = self.get(arn).await?.ok_or_else(|| AwsError::NotFound {
                what: format!("billing view {arn}"),
            })?;
            match &view.health {
                Health::Healthy => return Ok(view),
                Health::Unhealthy(reasons) => return Err(AwsError::Unhealthy(reasons.join(", "))),
                _ => {}
            }
            if started.elapsed() + pause > timeout {
                return Err(AwsError::Timeout {
                    what: format!("billing view {arn} to become HEALTHY"),
                    seconds: timeout.as_secs(),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }
}
