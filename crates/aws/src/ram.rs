//! AWS Resource Access Manager as CostCarve uses it: one resource share
//! per integration, sharing its billing view with some of the integration's
//! own member accounts (never anyone else), tagged as CostCarve's with the
//! integration's id so a second desktop finds it. External principals are
//! never allowed.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ram::types::{
    ResourceOwner, ResourceShareAssociationStatus, ResourceShareAssociationType,
    ResourceShareStatus, Tag, TagFilter,
};
use aws_sdk_ram::Client;

use costcarve_core::integration::VirtualIntegration;

use crate::billing::{TAG_INTEGRATION_ID, TAG_MANAGED};
use crate::error::{classify, AwsError};

/// The prefix of the shares' names.
pub const NAME_PREFIX: &str = "costcarve-";

/// A resource share CostCarve manages, as RAM holds it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceShare {
    /// Its ARN.
    pub arn: String,
    /// The integration it belongs to (its id tag).
    pub integration_id: String,
    /// The principals it grants (associated or being associated).
    pub principals: BTreeSet<String>,
    /// The resources it shares.
    pub resources: BTreeSet<String>,
}

/// The payer's resource shares, through the `ram` API.
#[derive(Debug, Clone)]
pub struct ResourceShares {
    client: Client,
}

fn granted(status: Option<&ResourceShareAssociationStatus>) -> bool {
    matches!(
        status,
        Some(ResourceShareAssociationStatus::Associated)
            | Some(ResourceShareAssociationStatus::Associating)
    )
}

impl ResourceShares {
    /// Shares reached with this SDK configuration.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: Client::new(config),
        }
    }

    /// Every active share CostCarve manages in this account, with its
    /// principals and resources: four calls however many there are.
    pub async fn list_managed(&self) -> Result<Vec<ResourceShare>, AwsError> {
        let what = "the resource shares";
        let mut shares: BTreeMap<String, ResourceShare> = BTreeMap::new();
        let filter = TagFilter::builder()
            .tag_key(TAG_MANAGED)
            .tag_values("true")
            .build();
        let mut pages = self
            .client
            .get_resource_shares()
            .resource_owner(ResourceOwner::SelfValue)
            .resource_share_status(ResourceShareStatus::Active)
            .tag_filters(filter)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify(what, e))?;
            for s in page.resource_shares() {
                let Some(arn) = s.resource_share_arn() else {
                    continue;
                };
                let id = s
                    .tags()
                    .iter()
                    .find(|t| t.key() == Some(TAG_INTEGRATION_ID))
                    .and_then(|t| t.value())
                    .unwrap_or_default();
                shares.insert(
                    arn.to_string(),
                    ResourceShare {
                        arn: arn.to_string(),
                        integration_id: id.to_string(),
                        principals: BTreeSet::new(),
                        resources: BTreeSet::new(),
                    },
                );
            }
        }
        if shares.is_empty() {
            return Ok(vec![]);
        }
        let arns: Vec<String> = shares.keys().cloned().collect();
        for kind in [
            ResourceShareAssociationType::Principal,
            ResourceShareAssociationType::Resource,
        ] {
            let mut pages = self
                .client
                .get_resource_share_associations()
                .association_type(kind.clone())
                .set_resource_share_arns(Some(arns.clone()))
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| classify(what, e))?;
                for a in page.resource_share_associations() {
                    let (Some(share), Some(entity)) =
                        (a.resource_share_arn(), a.associated_entity())
                    else {
                        continue;
                    };
                    if !granted(a.status()) {
                        continue;
                    }
                    if let Some(s) = shares.get_mut(share) {
                        let set = if kind == ResourceShareAssociationType::Principal {
                            &mut s.principals
                        } else {
                            &mut s.resources
                        };
                        set.insert(entity.to_string());
                    }
                }
            }
        }
        Ok(shares.into_values().collect())
    }

    /// The share of one integration, if there is one.
    pub async fn of(&self, integration_id: &str) -> Result<Option<ResourceShare>, AwsError> {
        Ok(self
            .list_managed()
            .await?
            .into_iter()
            .find(|s| s.integration_id == integration_id))
    }

    /// Creates `vi`'s share of `view_arn` with `principals`.
    pub async fn create(
        &self,
        vi: &VirtualIntegration,
        view_arn: &str,
        principals: &BTreeSet<String>,
        client_token: &str,
    ) -> Result<String, AwsError> {
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
        let out = self
            .client
            .create_resource_share()
            .name(format!("{NAME_PREFIX}{}", vi.name))
            .resource_arns(view_arn)
            .set_principals(Some(principals.iter().cloned().collect()))
            .allow_external_principals(false)
            .tags(tag(TAG_MANAGED, "true"))
            .tags(tag(TAG_INTEGRATION_ID, &vi.id.to_string()))
            .client_token(client_token)
            .send()
            .await
            .map_err(|e| classify("the resource share", e))?;
        out.resource_share()
            .and_then(|s| s.resource_share_arn())
            .map(String::from)
            .ok_or_else(|| AwsError::Service("CreateResourceShare returned no ARN".into()))
    }

    /// Adds principals and resources to a share.
    pub async fn associate(
        &self,
        share_arn: &str,
        principals: Vec<String>,
        resources: Vec<String>,
    ) -> Result<(), AwsError> {
        if principals.is_empty() && resources.is_empty() {
            return Ok(());
        }
        self.client
            .associate_resource_share()
            .resource_share_arn(share_arn)
            .set_principals(Some(principals).filter(|p| !p.is_empty()))
            .set_resource_arns(Some(resources).filter(|r| !r.is_empty()))
            .send()
            .await
            .map_err(|e| classify(&format!("resource share {share_arn}"), e))?;
        Ok(())
    }

    /// Removes principals and resources from a share.
    pub async fn disassociate(
        &self,
        share_arn: &str,
        principals: Vec<String>,
        resources: Vec<String>,
    ) -> Result<(), AwsError> {
        if principals.is_empty() && resources.is_empty() {
            return Ok(());
        }
        self.client
            .disassociate_resource_share()
            .resource_share_arn(share_arn)
            .set_principals(Some(principals).filter(|p| !p.is_empty()))
            .set_resource_arns(Some(resources).filter(|r| !r.is_empty()))
            .send()
            .await
            .map_err(|e| classify(&format!("resource share {share_arn}"), e))?;
        Ok(())
    }

    /// Deletes a share. Idempotent: one already gone is fine.
    pub async fn delete(&self, share_arn: &str) -> Result<(), AwsError> {
        match self
            .client
            .delete_resource_share()
            .resource_share_arn(share_arn)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match classify(&format!("resource share {share_arn}"), e) {
                AwsError::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }
}
