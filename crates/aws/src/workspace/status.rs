//! Reading the payer back: the integrations from their billing views and
//! the Athena views beside them, where each stands, and the organization.

use std::collections::BTreeSet;

use costcarve_core::account::AccountId;
use costcarve_core::integration::{
    IntegrationError, IntegrationName, IntegrationSet, VirtualIntegration,
};
use costcarve_core::membership::MembershipRules;

use super::share::share_drift;
use super::{lock, AwsWorkspace, ManagedIntegration, OrgSnapshot, Status, WorkspaceError, ORG};
use crate::billing::{self, account_digest, BillingView, BillingViews, Health, TAG_INTEGRATION_ID};
use crate::catalog::StoredView;
use crate::error::AwsError;
use crate::org::Progress;
use crate::prereqs::{self, Report};

fn accounts_of(view: &BillingView) -> Result<BTreeSet<AccountId>, AwsError> {
    view.accounts
        .iter()
        .map(|a| {
            a.parse().map_err(|_| {
                AwsError::Service(format!(
                    "billing view {} filters on '{a}', not an account id",
                    view.arn
                ))
            })
        })
        .collect()
}

pub(super) fn strs(accounts: &BTreeSet<AccountId>) -> BTreeSet<String> {
    accounts.iter().map(ToString::to_string).collect()
}

fn describe_difference(billing: &BTreeSet<String>, athena: &BTreeSet<String>) -> String {
    let only_billing: Vec<&str> = billing.difference(athena).map(String::as_str).collect();
    let only_athena: Vec<&str> = athena.difference(billing).map(String::as_str).collect();
    format!(
        "the billing view has {} accounts, the Athena view {}; only in the billing view: [{}]; only in the Athena view: [{}]",
        billing.len(),
        athena.len(),
        only_billing.join(", "),
        only_athena.join(", ")
    )
}

impl AwsWorkspace {
    /// The prerequisites report for this connection.
    pub async fn check_prerequisites(&self) -> Result<Report, WorkspaceError> {
        let report = prereqs::check(&self.config, &self.connection).await;
        if report.ok() {
            let now = self.clock.now();
            self.remember(|k| k.prerequisites_passed_at = Some(now))?;
        }
        Ok(report)
    }

    pub(super) async fn require_prerequisites(&self) -> Result<(), WorkspaceError> {
        if lock(&self.known).prerequisites_passed_at.is_some() {
            return Ok(());
        }
        let report = self.check_prerequisites().await?;
        if report.ok() {
            Ok(())
        } else {
            Err(WorkspaceError::Prerequisites(report.failures()))
        }
    }

    /// The organization: from the cache unless `refresh` or there is none.
    pub async fn organization(
        &self,
        refresh: bool,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<OrgSnapshot, WorkspaceError> {
        if !refresh {
            if let Some(snapshot) = self.state.read::<OrgSnapshot>(ORG)? {
                return Ok(snapshot);
            }
        }
        let started = std::time::Instant::now();
        let found = self.orgs.discover(progress).await?;
        let snapshot = OrgSnapshot {
            fetched_at: self.clock.now(),
            calls: found.calls,
            millis: started.elapsed().as_millis() as u64,
            organization: found.organization,
        };
        self.state.write(ORG, &snapshot)?;
        Ok(snapshot)
    }

    /// Reads every managed integration back from the payer: billing views
    /// tagged as CostCarve's, and the Athena views beside them.
    pub async fn sync(&self) -> Result<Vec<ManagedIntegration>, WorkspaceError> {
        let (views, athena, shares) = tokio::join!(
            self.billing.list_managed(),
            self.catalog
                .integration_views(&self.connection.views_database),
            self.shares.list_managed()
        );
        let (views, mut athena) = (views?, athena?);
        // An identity without RAM rights still works with integrations it
        // never shared; their shares are then not judged.
        let shares = match shares {
            Ok(s) => Some(s),
            Err(AwsError::AccessDenied(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let expected = self.expected()?;
        let earlier = self.integrations();
        // Source views of aggregate views are read with the rest; each is
        // folded into the view it belongs to.
        let by_arn: std::collections::HashMap<String, BillingView> = views
            .iter()
            .filter(|v| v.tags.contains_key(billing::TAG_ROLE))
            .map(|v| (v.arn.clone(), v.clone()))
            .collect();
        let primary = BillingViews::primary_arn(&self.payer);
        let mut out = Vec::new();
        for view in views {
            if view.tags.contains_key(billing::TAG_ROLE) {
                continue;
            }
            let parts: Vec<Option<BillingView>> = view
                .source_views
                .iter()
                .map(|s| by_arn.get(s).cloned())
                .collect();
            let view = billing::fold(view, &parts, &primary);
            let Some(id) = view
                .tags
                .get(TAG_INTEGRATION_ID)
                .and_then(|t| t.parse::<uuid::Uuid>().ok())
            else {
                continue;
            };
            let Some(name) = view
                .name
                .strip_prefix(billing::NAME_PREFIX)
                .and_then(|n| IntegrationName::parse(n).ok())
            else {
                continue;
            };
            let recorded = billing::recorded(&view.description);
            let earlier = earlier.iter().find(|m| m.integration.id == id);
            let now = self.clock.now();
            let accounts = accounts_of(&view)?;
            let integration = VirtualIntegration {
                id,
                rules: billing::rules_from_tags(&view.tags)
                    .unwrap_or_else(|| MembershipRules::explicit(accounts.clone())),
                profile: billing::profile_from_tags(&view.tags),
                accounts,
                created_at: earlier.map(|m| m.integration.created_at).unwrap_or(now),
                updated_at: earlier
                    .filter(|m| {
                        Some(m.integration.revision) == recorded.as_ref().map(|r| r.revision)
                    })
                    .map(|m| m.integration.updated_at)
                    .unwrap_or(now),
                revision: recorded.as_ref().map(|r| r.revision).unwrap_or(0),
                name,
            };
            let stored = athena.remove(&integration.view_name());
            let status = self.with_secret(
                &integration,
                status_of(
                    &view,
                    stored.as_ref(),
                    recorded.as_ref().map(|r| r.digest.as_str()),
                    &expected,
                ),
            );
            let shared_with = billing::shared_from_tags(&view.tags);
            let drift = shares.as_ref().and_then(|all| {
                let share = all
                    .iter()
                    .find(|s| s.integration_id == integration.id.to_string());
                share_drift(&shared_with, share, &view.arn)
            });
            let status = match (&status, drift) {
                (Status::Healthy, Some(detail)) => Status::Drift { detail },
                _ => status,
            };
            out.push(ManagedIntegration {
                shared_with,
                athena_accounts: stored.and_then(Result::ok).map(|def| def.accounts),
                integration,
                billing_view_arn: view.arn,
                status,
            });
        }
        out.sort_by(|a, b| a.integration.name.cmp(&b.integration.name));
        let now = self.clock.now();
        self.remember(|k| {
            k.integrations = out.clone();
            k.orphan_views = athena.into_keys().collect();
            k.synced_at = Some(now);
        })?;
        Ok(out)
    }

    fn find(&self, name: &str) -> Result<ManagedIntegration, IntegrationError> {
        let known = lock(&self.known);
        let id = integration_set(&known.integrations).require(name)?.id;
        known
            .integrations
            .iter()
            .find(|m| m.integration.id == id)
            .cloned()
            .ok_or_else(|| IntegrationError::NotFound {
                name: name.into(),
                known: vec![],
            })
    }

    /// The integration named so, from what this desktop last saw, reading
    /// the payer first if it has never seen it.
    pub async fn integration(&self, name: &str) -> Result<ManagedIntegration, WorkspaceError> {
        if let Ok(found) = self.find(name) {
            return Ok(found);
        }
        self.sync().await?;
        Ok(self.find(name)?)
    }

    /// The integrations as a set, to check a change against the rules.
    pub(super) fn integration_set(&self) -> IntegrationSet {
        integration_set(&lock(&self.known).integrations)
    }
}

fn integration_set(known: &[ManagedIntegration]) -> IntegrationSet {
    IntegrationSet {
        version: 1,
        integrations: known.iter().map(|m| m.integration.clone()).collect(),
    }
}

/// What an integration's two views must be to be CostCarve's.
pub(super) struct Expected {
    /// The relation the Athena view reads (the CUR table).
    pub source: String,
    /// The billing view's one source view (the payer's primary view).
    pub primary: String,
}

impl AwsWorkspace {
    pub(super) fn expected(&self) -> Result<Expected, WorkspaceError> {
        Ok(Expected {
            source: crate::athena::view_source(&self.connection.athena_place())?,
            primary: BillingViews::primary_arn(&self.payer),
        })
    }

    /// Whether the integration's secret is in this computer's keyring.
    pub(super) fn secret_present(&self, vi: &VirtualIntegration) -> Result<bool, WorkspaceError> {
        let key = crate::secrets::SecretKey::integration(self.payer.as_str(), &vi.id.to_string());
        Ok(self.secrets.get(&key)?.is_some())
    }

    /// A healthy status stays healthy only when the integration's secret is
    /// in this computer's keyring (a second computer on the same payer has
    /// none until `repair` stores one).
    pub(super) fn with_secret(&self, vi: &VirtualIntegration, status: Status) -> Status {
        if status != Status::Healthy {
            return status;
        }
        match self.secret_present(vi) {
            Ok(true) => status,
            Ok(false) => Status::NeedsRepair {
                reason: "its integration secret is not in this computer's keyring".into(),
            },
            Err(e) => Status::NeedsRepair {
                reason: e.to_string(),
            },
        }
    }

    /// Where one integration stands now: its two views read again from AWS
    /// and its secret from the keyring. What a query checks before it runs.
    pub(super) async fn status_now(
        &self,
        m: &ManagedIntegration,
    ) -> Result<Status, WorkspaceError> {
        let status = self.views_now(m).await?;
        Ok(self.with_secret(&m.integration, status))
    }

    /// Where one integration's two views stand now, read again from AWS.
    pub(super) async fn views_now(&self, m: &ManagedIntegration) -> Result<Status, WorkspaceError> {
        let view_name = m.integration.view_name();
        let primary = BillingViews::primary_arn(&self.payer);
        let (view, athena) = tokio::join!(
            self.billing.integration_view(&m.billing_view_arn, &primary),
            self.catalog
                .view_definition(&self.connection.views_database, &view_name)
        );
        let Some(view) = view? else {
            return Ok(Status::NeedsRepair {
                reason: "its billing view is missing".into(),
            });
        };
        let recorded = billing::recorded(&view.description);
        Ok(status_of(
            &view,
            athena?.as_ref(),
            recorded.as_ref().map(|r| r.digest.as_str()),
            &self.expected()?,
        ))
    }

    /// The integration named so, checked against AWS right now: refused
    /// with [`WorkspaceError::NotHealthy`] unless both views are still
    /// exactly what CostCarve made (a view tampered with since the last
    /// sync must not answer for a customer).
    pub(super) async fn healthy(&self, name: &str) -> Result<ManagedIntegration, WorkspaceError> {
        let m = self.integration(name).await?;
        let status = self.status_now(&m).await?;
        if status != m.status {
            self.remember(|k| {
                for known in &mut k.integrations {
                    if known.integration.id == m.integration.id {
                        known.status = status.clone();
                    }
                }
            })?;
        }
        match status {
            Status::Healthy | Status::Provisioning => Ok(m),
            Status::Drift { detail: reason } | Status::NeedsRepair { reason } => {
                Err(WorkspaceError::NotHealthy {
                    name: m.integration.name.to_string(),
                    reason: format!("is not healthy ({reason})"),
                })
            }
        }
    }
}

/// Where an integration stands: healthy only when both views are exactly
/// what CostCarve makes, over the same accounts, the ones it last wrote.
fn status_of(
    view: &BillingView,
    athena: Option<&StoredView>,
    digest: Option<&str>,
    expected: &Expected,
) -> Status {
    match &view.health {
        Health::Creating | Health::Updating => return Status::Provisioning,
        Health::Unhealthy(reasons) => {
            return Status::NeedsRepair {
                reason: format!("the billing view is unhealthy: {}", reasons.join(", ")),
            }
        }
        _ => {}
    }
    if !view.filter_extras.is_empty() {
        return Status::Drift {
            detail: format!(
                "the billing view's filter was changed outside CostCarve: it has {}",
                view.filter_extras.join(", ")
            ),
        };
    }
    if view.source_views != [expected.primary.clone()] {
        return Status::NeedsRepair {
            reason: format!(
                "the billing view is derived from {} instead of the payer's primary view; delete and create the integration again",
                if view.source_views.is_empty() {
                    "nothing".to_string()
                } else {
                    view.source_views.join(", ")
                }
            ),
        };
    }
    let athena = match athena {
        None => {
            return Status::NeedsRepair {
                reason: "its Athena view is missing".into(),
            }
        }
        Some(Err(not_ours)) => {
            return Status::Drift {
                detail: format!("the Athena view was changed outside CostCarve: {not_ours}"),
            }
        }
        Some(Ok(def)) => def,
    };
    if athena.source != expected.source {
        return Status::Drift {
            detail: format!(
                "the Athena view was changed outside CostCarve: it reads {} instead of the CUR table {}",
                athena.source, expected.source
            ),
        };
    }
    let athena = strs(&athena.accounts);
    if athena != view.accounts {
        return Status::Drift {
            detail: describe_difference(&view.accounts, &athena),
        };
    }
    if digest.is_some_and(|d| d != account_digest(view.accounts.iter().map(String::as_str))) {
        return Status::Drift {
            detail: "both views were changed outside CostCarve (their accounts are not the ones CostCarve last wrote)".into(),
        };
    }
    Status::Healthy
}
