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
use costcarve_core::integration::{VirtualIntegration, MAX_VIEW_ACCOUNTS};
use costcarve_core::membership::MembershipRules;
use costcarve_core::presentation::PresentationProfile;

use crate::error::{classify, AwsError};

/// Tag marking a view as CostCarve's.
pub const TAG_MANAGED: &str = "costcarve-managed";
/// Tag holding the integration's id.
pub const TAG_INTEGRATION_ID: &str = "costcarve-integration-id";
/// Tag holding the integration's name.
pub const TAG_INTEGRATION_NAME: &str = "costcarve-integration-name";
/// Prefix of the views' names.
pub const NAME_PREFIX: &str = "costcarve-";
/// Tag marking a view as one source view of an integration's aggregate
/// view (value [`ROLE_PART`]).
pub const TAG_ROLE: &str = "costcarve-role";
/// [`TAG_ROLE`]'s value on a source view.
pub const ROLE_PART: &str = "part";

/// How an integration's accounts are laid out in billing views: one view
/// while its filter takes them all, else an aggregate view over source
/// views of at most [`MAX_VIEW_ACCOUNTS`] accounts each (in id order).
pub fn split(accounts: &BTreeSet<AccountId>) -> Vec<BTreeSet<AccountId>> {
    let ids: Vec<&AccountId> = accounts.iter().collect();
    ids.chunks(MAX_VIEW_ACCOUNTS)
        .map(|c| c.iter().map(|a| (*a).clone()).collect())
        .collect()
}

/// Whether `vi` needs an aggregate view (more accounts than one filter).
pub fn is_aggregate(vi: &VirtualIntegration) -> bool {
    vi.accounts.len() > MAX_VIEW_ACCOUNTS
}

fn part_name(vi: &VirtualIntegration, index: usize) -> String {
    format!("{NAME_PREFIX}{} part {}", vi.name, index + 1)
}

fn part_description(vi: &VirtualIntegration, accounts: &BTreeSet<AccountId>) -> String {
    format!(
        "Part of the CostCarve integration {} set={}",
        vi.name,
        account_digest(accounts.iter().map(|a| a.as_str()))
    )
}

/// An integration's billing side as one view: a plain view as read, or an
/// aggregate view with its source views folded in — their accounts
/// united, what their filters hold besides accounts named, and its
/// `source_views` reported as the payer's primary view when every source
/// is one of the integration's own parts derived from it (else as they
/// are, so the difference shows).
pub fn fold(main: BillingView, parts: &[Option<BillingView>], primary: &str) -> BillingView {
    let aggregate = main.filter_extras == ["no filter"] && !main.source_views.is_empty();
    if !aggregate {
        return main;
    }
    let id = main.tags.get(TAG_INTEGRATION_ID);
    let mut folded = main.clone();
    folded.filter_extras.clear();
    folded.accounts.clear();
    let mut ours = parts.len() == main.source_views.len();
    for (i, part) in parts.iter().enumerate() {
        let Some(part) = part else {
            ours = false;
            folded
                .filter_extras
                .push(format!("source view {} is missing", i + 1));
            continue;
        };
        folded.accounts.extend(part.accounts.iter().cloned());
        folded.filter_extras.extend(
            part.filter_extras
                .iter()
                .map(|e| format!("{e} (in source view {})", part.name)),
        );
        ours &= part.source_views == [primary.to_string()]
            && part.tags.get(TAG_ROLE).map(String::as_str) == Some(ROLE_PART)
            && part.tags.get(TAG_INTEGRATION_ID) == id
            && part.accounts.len() <= MAX_VIEW_ACCOUNTS;
    }
    if ours {
        folded.source_views = vec![primary.to_string()];
    }
    folded
}

/// Prefix of the tags holding an integration's membership rules
/// (`costcarve-rules-00`, `-01`, ...): its rules as JSON, base64url, in
/// pieces of at most 256 characters (a tag value's limit).
pub const TAG_RULES_PREFIX: &str = "costcarve-rules-";
/// Most rule tags a view carries (a view takes 200 tags; the rest are
/// CostCarve's own few). 150 pieces hold the rules of any integration
/// CostCarve allows, ids included.
pub const MAX_RULE_TAGS: usize = 150;
const TAG_VALUE_LEN: usize = 256;

/// Tag recording the accounts an integration's view is shared with
/// (through its resource share), space-separated: what drift is judged by.
pub const TAG_SHARED_WITH: &str = "costcarve-shared-with";
/// Most accounts one view is shared with (what one tag value holds).
pub const MAX_SHARED: usize = 19;

/// The accounts [`TAG_SHARED_WITH`] records.
pub fn shared_from_tags(tags: &BTreeMap<String, String>) -> BTreeSet<AccountId> {
    tags.get(TAG_SHARED_WITH)
        .map(|v| {
            v.split_whitespace()
                .filter_map(|a| a.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Prefix of the tags holding an integration's presentation profile
/// (`costcarve-profile-00`, ...), written as the rules are.
pub const TAG_PROFILE_PREFIX: &str = "costcarve-profile-";
/// Most profile tags a view carries (a display name of 128 characters in
/// any script and every line item type fit in far fewer).
const MAX_PROFILE_TAGS: usize = 8;

/// `value` as JSON, base64url, in tags `prefix00`, `prefix01`, ... of at
/// most 256 characters each.
fn json_pieces<T: serde::Serialize>(
    prefix: &str,
    value: &T,
) -> Result<Vec<(String, String)>, AwsError> {
    use base64::Engine as _;
    let json = serde_json::to_vec(value).map_err(|e| AwsError::Invalid(e.to_string()))?;
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
    Ok(text
        .as_bytes()
        .chunks(TAG_VALUE_LEN)
        .enumerate()
        .map(|(i, c)| {
            (
                format!("{prefix}{i:02}"),
                String::from_utf8_lossy(c).into_owned(),
            )
        })
        .collect())
}

/// What [`json_pieces`] wrote under `prefix`; `None` when nothing is there
/// or it was damaged outside CostCarve.
fn from_json_pieces<T: serde::de::DeserializeOwned>(
    prefix: &str,
    tags: &BTreeMap<String, String>,
) -> Option<T> {
    use base64::Engine as _;
    let text: String = tags
        .range(prefix.to_string()..)
        .take_while(|(k, _)| k.starts_with(prefix))
        .map(|(_, v)| v.as_str())
        .collect();
    if text.is_empty() {
        return None;
    }
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()?;
    serde_json::from_slice(&json).ok()
}

/// The tags recording `vi`'s rules; none for a hand-kept list of ids (its
/// accounts, read from the filter, are its rules).
pub fn rules_tags(vi: &VirtualIntegration) -> Result<Vec<(String, String)>, AwsError> {
    let rules = vi.effective_rules();
    if rules == MembershipRules::explicit(vi.accounts.clone()) {
        return Ok(vec![]);
    }
    let pieces = json_pieces(TAG_RULES_PREFIX, &rules)?;
    if pieces.len() > MAX_RULE_TAGS {
        return Err(AwsError::Invalid(format!(
            "the rules of '{}' are too long to record on its billing view ({} tags of 256 characters, at most {MAX_RULE_TAGS}); list fewer accounts by id and use an OU or a tag instead",
            vi.name,
            pieces.len()
        )));
    }
    Ok(pieces)
}

/// The rules [`rules_tags`] recorded; `None` when there are none (or they
/// were damaged outside CostCarve: the filter's accounts stand then).
pub fn rules_from_tags(tags: &BTreeMap<String, String>) -> Option<MembershipRules> {
    from_json_pieces(TAG_RULES_PREFIX, tags)
}

/// The tags recording `vi`'s presentation profile; none without one.
pub fn profile_tags(vi: &VirtualIntegration) -> Result<Vec<(String, String)>, AwsError> {
    let Some(profile) = &vi.profile else {
        return Ok(vec![]);
    };
    let pieces = json_pieces(TAG_PROFILE_PREFIX, profile)?;
    if pieces.len() > MAX_PROFILE_TAGS {
        return Err(AwsError::Invalid(format!(
            "the presentation profile of '{}' is too long to record on its billing view; shorten the display name",
            vi.name
        )));
    }
    Ok(pieces)
}

/// The profile [`profile_tags`] recorded; `None` when there is none (the
/// integration then shows what `cost` shows by default).
pub fn profile_from_tags(tags: &BTreeMap<String, String>) -> Option<PresentationProfile> {
    from_json_pieces(TAG_PROFILE_PREFIX, tags)
}

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
    if accounts.is_empty() || accounts.len() > MAX_VIEW_ACCOUNTS {
        return Err(AwsError::Invalid(format!(
            "a billing view filters 1 to {MAX_VIEW_ACCOUNTS} accounts, not {}",
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
///
/// More than one filter holds is shown as the aggregate it makes: the
/// source views' filters, one each, under `sourceViews`.
pub fn filter_json(accounts: &BTreeSet<AccountId>) -> Result<String, AwsError> {
    let one = |accounts: &BTreeSet<AccountId>| -> Result<serde_json::Value, AwsError> {
        let expr = filter(accounts)?;
        let dimensions = expr.dimensions().map(|d| {
            serde_json::json!({
                "key": d.key().as_str(),
                "values": d.values(),
            })
        });
        Ok(serde_json::json!({ "dimensions": dimensions }))
    };
    if accounts.len() <= MAX_VIEW_ACCOUNTS {
        return Ok(one(accounts)?.to_string());
    }
    let sources = split(accounts)
        .iter()
        .map(|chunk| one(chunk).map(|f| serde_json::json!({ "dataFilterExpression": f })))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(serde_json::json!({ "aggregate": { "sourceViews": sources } }).to_string())
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

    /// Creates the billing side of an integration: one view, or source
    /// views and the aggregate view over them (see [`split`]); returns the
    /// ARN Cost Explorer is asked through. `client_token` makes a retried
    /// create return the same views instead of second ones. On failure the
    /// source views it made are deleted again.
    pub async fn create(
        &self,
        payer: &AccountId,
        vi: &VirtualIntegration,
        client_token: &str,
    ) -> Result<String, AwsError> {
        if !is_aggregate(vi) {
            return self.create_view(payer, vi, client_token).await;
        }
        let chunks = split(&vi.accounts);
        let made = futures::future::join_all(chunks.iter().enumerate().map(|(i, chunk)| {
            let token = format!("{client_token}-p{i}");
            async move { self.create_part(payer, vi, i, chunk, &token).await }
        }))
        .await;
        let parts: Vec<String> = made
            .iter()
            .filter_map(|r| r.as_ref().ok().cloned())
            .collect();
        if let Some(Err(e)) = made.into_iter().find(Result::is_err) {
            self.delete_all(&parts).await;
            return Err(e);
        }
        let aggregate = self.create_main(
            vi,
            parts.clone(),
            None,
            client_token,
            "the aggregate billing view",
        );
        match aggregate.await {
            Ok(arn) => Ok(arn),
            Err(e) => {
                self.delete_all(&parts).await;
                Err(e)
            }
        }
    }

    /// Deletes views, as cleanup after a failure (what cannot be deleted
    /// carries the integration's id tag, so recovery finds it).
    async fn delete_all(&self, arns: &[String]) {
        for arn in arns {
            let _ = self.delete(arn).await;
        }
    }

    async fn create_part(
        &self,
        payer: &AccountId,
        vi: &VirtualIntegration,
        index: usize,
        accounts: &BTreeSet<AccountId>,
        client_token: &str,
    ) -> Result<String, AwsError> {
        let out = self
            .client
            .create_billing_view()
            .name(part_name(vi, index))
            .description(part_description(vi, accounts))
            .source_views(Self::primary_arn(payer))
            .data_filter_expression(filter(accounts)?)
            .resource_tags(tag(TAG_MANAGED, "true")?)
            .resource_tags(tag(TAG_INTEGRATION_ID, &vi.id.to_string())?)
            .resource_tags(tag(TAG_ROLE, ROLE_PART)?)
            .client_token(client_token)
            .send()
            .await
            .map_err(|e| classify("a source view of the billing view", e))?;
        Ok(out.arn().to_string())
    }

    /// Creates the view Cost Explorer is asked through: named, described
    /// and tagged as `vi`'s (its rules included), derived from `sources`,
    /// filtered by `filter` when it is one view.
    async fn create_main(
        &self,
        vi: &VirtualIntegration,
        sources: Vec<String>,
        filter: Option<Expression>,
        client_token: &str,
        what: &str,
    ) -> Result<String, AwsError> {
        let mut request = self
            .client
            .create_billing_view()
            .name(view_name(vi))
            .description(description(vi))
            .set_source_views(Some(sources))
            .set_data_filter_expression(filter)
            .resource_tags(tag(TAG_MANAGED, "true")?)
            .resource_tags(tag(TAG_INTEGRATION_ID, &vi.id.to_string())?)
            .resource_tags(tag(TAG_INTEGRATION_NAME, vi.name.as_str())?);
        for (k, v) in rules_tags(vi)?.into_iter().chain(profile_tags(vi)?) {
            request = request.resource_tags(tag(&k, &v)?);
        }
        let out = request
            .client_token(client_token)
            .send()
            .await
            .map_err(|e| classify(what, e))?;
        Ok(out.arn().to_string())
    }

    /// An integration's billing side read back as one view (see [`fold`]):
    /// the view at `arn` with its sources, and for an aggregate view its
    /// source views with their sources and tags.
    pub async fn integration_view(
        &self,
        arn: &str,
        primary: &str,
    ) -> Result<Option<BillingView>, AwsError> {
        let Some(mut main) = self.get_with_sources(arn).await? else {
            return Ok(None);
        };
        if main.filter_extras != ["no filter"] || main.source_views.is_empty() {
            return Ok(Some(main));
        }
        main.tags = self.tags(arn).await?;
        let parts: Vec<Option<BillingView>> =
            futures::future::try_join_all(main.source_views.iter().map(|src| async move {
                let (view, tags) = futures::join!(self.get_with_sources(src), self.tags(src));
                Ok::<_, AwsError>(view?.map(|mut v| {
                    v.tags = tags.unwrap_or_default();
                    v
                }))
            }))
            .await?;
        Ok(Some(fold(main, &parts, primary)))
    }

    /// Creates the view of an integration that one filter holds.
    async fn create_view(
        &self,
        payer: &AccountId,
        vi: &VirtualIntegration,
        client_token: &str,
    ) -> Result<String, AwsError> {
        self.create_main(
            vi,
            vec![Self::primary_arn(payer)],
            Some(filter(&vi.accounts)?),
            client_token,
            "the billing view",
        )
        .await
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

    /// Sets an integration's accounts (and name, after a rename) in the
    /// views at `arn`, keeping their layout: one view stays one view (at
    /// most 200 accounts); an aggregate view keeps its ARN while its source
    /// views are refilled, added (the 201st, 401st... account) or dropped.
    /// Crossing between the two layouts is a replacement, made by the
    /// caller with [`Self::create`] and [`Self::delete_integration`].
    pub async fn update(
        &self,
        payer: &AccountId,
        arn: &str,
        vi: &VirtualIntegration,
        (first_pause, timeout): (Duration, Duration),
    ) -> Result<(), AwsError> {
        if !is_aggregate(vi) {
            return self.update_view(arn, vi, true).await;
        }
        let main = self
            .get_with_sources(arn)
            .await?
            .ok_or_else(|| AwsError::NotFound {
                what: format!("billing view {arn}"),
            })?;
        let read =
            futures::future::try_join_all(main.source_views.iter().map(|s| self.get(s))).await?;
        // A source view deleted outside CostCarve is let go (its accounts
        // are placed again below).
        let missing: Vec<String> = main
            .source_views
            .iter()
            .zip(&read)
            .filter(|(_, v)| v.is_none())
            .map(|(arn, _)| arn.clone())
            .collect();
        let parts: Vec<BillingView> = read.into_iter().flatten().collect();
        // Keep each source view's accounts that stay; fill the room left
        // with the new ones; open source views only when all are full.
        let want: BTreeSet<String> = vi.accounts.iter().map(ToString::to_string).collect();
        let mut plan: Vec<(Option<&BillingView>, BTreeSet<String>)> = parts
            .iter()
            .map(|p| (Some(p), p.accounts.intersection(&want).cloned().collect()))
            .collect();
        let placed: BTreeSet<String> = plan.iter().flat_map(|(_, a)| a.iter().cloned()).collect();
        let mut rest = want.difference(&placed).cloned();
        for (_, accounts) in plan.iter_mut() {
            while accounts.len() < MAX_VIEW_ACCOUNTS {
                let Some(a) = rest.next() else { break };
                accounts.insert(a);
            }
        }
        let rest: Vec<String> = rest.collect();
        for chunk in rest.chunks(MAX_VIEW_ACCOUNTS) {
            plan.push((None, chunk.iter().cloned().collect()));
        }
        self.update_view(arn, vi, false).await?;
        if !missing.is_empty() {
            // Let go first: a view with a missing source stays unhealthy.
            self.client
                .disassociate_source_views()
                .arn(arn)
                .set_source_views(Some(missing))
                .send()
                .await
                .map_err(|e| classify(&format!("billing view {arn}"), e))?;
            self.wait_healthy(arn, first_pause, timeout).await?;
        }
        let ids = |set: &BTreeSet<String>| -> BTreeSet<AccountId> {
            set.iter().filter_map(|a| a.parse().ok()).collect()
        };
        let mut added = Vec::new();
        let mut dropped = Vec::new();
        for (i, (part, accounts)) in plan.iter().enumerate() {
            match part {
                Some(p) if accounts.is_empty() => dropped.push(p.arn.clone()),
                Some(p) if p.accounts != *accounts => {
                    self.client
                        .update_billing_view()
                        .arn(&p.arn)
                        .description(part_description(vi, &ids(accounts)))
                        .data_filter_expression(filter(&ids(accounts))?)
                        .send()
                        .await
                        .map_err(|e| classify(&format!("source view {}", p.arn), e))?;
                }
                Some(_) => {}
                None => {
                    let token = format!("costcarve-{}-{}-p{i}", vi.id, vi.revision);
                    added.push(
                        self.create_part(payer, vi, i, &ids(accounts), &token)
                            .await?,
                    );
                }
            }
        }
        if !added.is_empty() {
            self.client
                .associate_source_views()
                .arn(arn)
                .set_source_views(Some(added))
                .send()
                .await
                .map_err(|e| classify(&format!("billing view {arn}"), e))?;
        }
        if !dropped.is_empty() {
            // One change to a view's sources at a time: the first must settle.
            self.wait_healthy(arn, first_pause, timeout).await?;
            self.client
                .disassociate_source_views()
                .arn(arn)
                .set_source_views(Some(dropped.clone()))
                .send()
                .await
                .map_err(|e| classify(&format!("billing view {arn}"), e))?;
            for d in &dropped {
                self.delete(d).await?;
            }
        }
        Ok(())
    }

    /// Deletes an integration's billing side: the view at `arn`, then the
    /// source views of its own it was derived from. Idempotent.
    pub async fn delete_integration(&self, arn: &str, primary: &str) -> Result<(), AwsError> {
        let sources = match self.source_views(arn).await {
            Ok(s) => s,
            Err(AwsError::NotFound { .. }) => vec![],
            Err(e) => return Err(e),
        };
        self.delete(arn).await?;
        for src in sources.iter().filter(|s| s.as_str() != primary) {
            let tags = match self.tags(src).await {
                Ok(t) => t,
                Err(AwsError::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            };
            if tags.get(TAG_ROLE).map(String::as_str) == Some(ROLE_PART) {
                self.delete(src).await?;
            }
        }
        Ok(())
    }

    /// Renames the view at `arn` after `vi` and records its revision and
    /// accounts in the description; a single view (`filtered`) also takes
    /// the accounts as its filter, an aggregate's filter is its sources'.
    async fn update_view(
        &self,
        arn: &str,
        vi: &VirtualIntegration,
        filtered: bool,
    ) -> Result<(), AwsError> {
        let expression = filtered.then(|| filter(&vi.accounts)).transpose()?;
        self.client
            .update_billing_view()
            .arn(arn)
            .name(view_name(vi))
            .description(description(vi))
            .set_data_filter_expression(expression)
            .send()
            .await
            .map_err(|e| classify(&format!("billing view {arn}"), e))?;
        Ok(())
    }

    /// Records `vi`'s rules on its view (see [`rules_tags`]), dropping
    /// pieces of earlier rules it no longer needs.
    pub async fn put_rules(&self, arn: &str, vi: &VirtualIntegration) -> Result<(), AwsError> {
        self.put_pieces(arn, TAG_RULES_PREFIX, rules_tags(vi)?, "rules")
            .await
    }

    /// Records `vi`'s presentation profile on its view (see
    /// [`profile_tags`]); without one, removes what was recorded.
    pub async fn put_profile(&self, arn: &str, vi: &VirtualIntegration) -> Result<(), AwsError> {
        self.put_pieces(
            arn,
            TAG_PROFILE_PREFIX,
            profile_tags(vi)?,
            "presentation profile",
        )
        .await
    }

    /// Tags the view at `arn` with `want`, and removes the tags under
    /// `prefix` that `want` no longer has.
    async fn put_pieces(
        &self,
        arn: &str,
        prefix: &str,
        want: Vec<(String, String)>,
        what: &str,
    ) -> Result<(), AwsError> {
        let have = self.tags(arn).await?;
        let what = || format!("the {what} recorded on billing view {arn}");
        if !want.is_empty() {
            let mut request = self.client.tag_resource().resource_arn(arn);
            for (k, v) in &want {
                request = request.resource_tags(tag(k, v)?);
            }
            request.send().await.map_err(|e| classify(&what(), e))?;
        }
        let stale: Vec<String> = have
            .keys()
            .filter(|k| k.starts_with(prefix) && !want.iter().any(|(w, _)| w == *k))
            .cloned()
            .collect();
        if !stale.is_empty() {
            self.client
                .untag_resource()
                .resource_arn(arn)
                .set_resource_tag_keys(Some(stale))
                .send()
                .await
                .map_err(|e| classify(&what(), e))?;
        }
        Ok(())
    }

    /// Records the accounts the view at `arn` is shared with.
    pub async fn put_shared(
        &self,
        arn: &str,
        accounts: &BTreeSet<AccountId>,
    ) -> Result<(), AwsError> {
        let what = format!("the sharing recorded on billing view {arn}");
        if accounts.is_empty() {
            self.client
                .untag_resource()
                .resource_arn(arn)
                .resource_tag_keys(TAG_SHARED_WITH)
                .send()
                .await
                .map_err(|e| classify(&what, e))?;
            return Ok(());
        }
        let ids: Vec<&str> = accounts.iter().map(AccountId::as_str).collect();
        self.client
            .tag_resource()
            .resource_arn(arn)
            .resource_tags(tag(TAG_SHARED_WITH, &ids.join(" "))?)
            .send()
            .await
            .map_err(|e| classify(&what, e))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: u64) -> BTreeSet<AccountId> {
        (0..n)
            .map(|i| format!("{:012}", 100_000_000_000 + i).parse().unwrap())
            .collect()
    }

    fn view(arn: &str, accounts: &BTreeSet<AccountId>, sources: &[&str]) -> BillingView {
        BillingView {
            arn: arn.into(),
            name: arn.into(),
            description: String::new(),
            accounts: accounts.iter().map(ToString::to_string).collect(),
            filter_extras: if accounts.is_empty() {
                vec!["no filter".into()]
            } else {
                vec![]
            },
            source_views: sources.iter().map(|s| s.to_string()).collect(),
            health: Health::Healthy,
            tags: BTreeMap::from([(TAG_INTEGRATION_ID.to_string(), "i-1".to_string())]),
        }
    }

    #[test]
    fn more_than_one_filter_holds_is_split_in_views_of_200_and_shown_as_an_aggregate() {
        assert_eq!(split(&ids(200)).len(), 1);
        let parts = split(&ids(450));
        assert_eq!(
            parts.iter().map(BTreeSet::len).collect::<Vec<_>>(),
            [200, 200, 50]
        );
        let json: serde_json::Value =
            serde_json::from_str(&filter_json(&ids(450)).unwrap()).unwrap();
        let sources = json["aggregate"]["sourceViews"].as_array().unwrap();
        assert_eq!(sources.len(), 3);
        assert_eq!(
            sources[2]["dataFilterExpression"]["dimensions"]["values"]
                .as_array()
                .unwrap()
                .len(),
            50
        );
    }

    #[test]
    fn an_aggregate_folds_into_one_view_only_when_every_source_is_its_own_part() {
        let primary = "arn:aws:billing::123456789012:billingview/primary";
        let all = ids(250);
        let chunks = split(&all);
        let mut parts: Vec<Option<BillingView>> = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut p = view(&format!("p{i}"), c, &[primary]);
                p.tags.insert(TAG_ROLE.into(), ROLE_PART.into());
                Some(p)
            })
            .collect();
        let main = view("main", &BTreeSet::new(), &["p0", "p1"]);
        let folded = fold(main.clone(), &parts, primary);
        assert_eq!(folded.accounts.len(), 250);
        assert_eq!(folded.source_views, [primary]);
        assert!(folded.filter_extras.is_empty());
        // A source view that is not the integration's own part: not folded
        // as CostCarve's, and the difference shows.
        if let Some(Some(p)) = parts.get_mut(1) {
            p.tags.remove(TAG_ROLE);
        }
        let folded = fold(main.clone(), &parts, primary);
        assert_eq!(folded.source_views, ["p0", "p1"]);
        // A missing one is named.
        let folded = fold(main, &[parts[0].clone(), None], primary);
        assert!(folded.filter_extras.iter().any(|e| e.contains("missing")));
    }
}
