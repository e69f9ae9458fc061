//! Provisioning a virtual integration in the payer: its Athena view and its
//! billing view, made concurrently, validated by reading both back, and
//! rolled back when any step fails, so AWS is never left half-made.

use std::collections::BTreeSet;
use std::time::Duration;

use costcarve_core::account::AccountId;
use costcarve_core::integration::VirtualIntegration;

use crate::athena::{view_source, Athena, AthenaPlace};
use crate::billing::BillingViews;
use crate::error::AwsError;
use costcarve_core::view_definition::ViewDefinition;

/// Whether a view's definition reads the CUR table and keeps exactly
/// `vi`'s accounts; else what differs.
pub fn defines(
    place: &AthenaPlace,
    def: &ViewDefinition,
    vi: &VirtualIntegration,
) -> Result<(), String> {
    let source = view_source(place).map_err(|e| e.to_string())?;
    if def.source != source {
        return Err(format!("reads {} instead of {source}", def.source));
    }
    if def.accounts != vi.accounts {
        return Err(format!(
            "filters {} accounts, not the {} intended",
            def.accounts.len(),
            vi.accounts.len()
        ));
    }
    Ok(())
}

/// Whether the DDL Athena ran is, parsed, exactly the view CostCarve makes
/// for `vi` (its name, its source, its accounts); else what differs.
pub fn ran_as_made(place: &AthenaPlace, ran: &str, vi: &VirtualIntegration) -> Result<(), String> {
    let (name, def) = ViewDefinition::parse_ddl(ran)
        .map_err(|e| format!("the DDL that ran is not CostCarve's view: {e}"))?;
    let want_name = format!("\"{}\".\"{}\"", place.views_database, vi.view_name());
    if name != want_name {
        return Err(format!("the DDL that ran made {name}, not {want_name}"));
    }
    defines(place, &def, vi).map_err(|e| format!("the view the DDL that ran made {e}"))
}

/// What a provisioned integration owns in AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioned {
    /// The billing view Cost Explorer is asked through.
    pub billing_view_arn: String,
    /// The Athena execution that created the view.
    pub athena_execution_id: String,
}

impl Provisioned {
    /// The scope Cost Explorer is asked through.
    pub fn scope(&self) -> Result<crate::cost_explorer::BillingViewArn, AwsError> {
        self.billing_view_arn.parse()
    }
}

/// A provisioning step that failed, and what became of the rest.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// A step failed; everything made before was removed again.
    #[error("{step} failed: {source}; nothing was left behind")]
    RolledBack {
        /// The step.
        step: &'static str,
        /// Why.
        source: AwsError,
    },
    /// A step failed and so did removing what was made: repair needed.
    #[error("{step} failed: {source}; cleaning up also failed ({cleanup}); the integration needs repair")]
    NeedsRepair {
        /// The step.
        step: &'static str,
        /// Why.
        source: AwsError,
        /// What could not be removed.
        cleanup: String,
    },
}

/// Makes and removes integrations' AWS objects.
#[derive(Debug, Clone)]
pub struct Provisioner {
    athena: Athena,
    billing: BillingViews,
    payer: AccountId,
    first_poll: Duration,
    health_timeout: Duration,
}

impl Provisioner {
    /// A provisioner for one payer.
    pub fn new(athena: Athena, billing: BillingViews, payer: AccountId) -> Self {
        Self {
            athena,
            billing,
            payer,
            first_poll: Duration::from_millis(500),
            health_timeout: Duration::from_secs(300),
        }
    }

    /// Sets how billing-view health is polled (tests shorten it).
    pub fn with_health_polling(mut self, first_poll: Duration, timeout: Duration) -> Self {
        self.first_poll = first_poll;
        self.health_timeout = timeout;
        self
    }

    /// Waits for an integration's billing view to be healthy, as this
    /// provisioner polls; an aggregate view is returned with its source
    /// views folded in (see [`crate::billing::fold`]).
    pub async fn wait_healthy(&self, arn: &str) -> Result<crate::billing::BillingView, AwsError> {
        let view = self
            .billing
            .wait_healthy(arn, self.first_poll, self.health_timeout)
            .await?;
        if view.filter_extras != ["no filter"] {
            return Ok(view);
        }
        self.billing
            .integration_view(arn, &BillingViews::primary_arn(&self.payer))
            .await?
            .ok_or_else(|| AwsError::NotFound {
                what: format!("billing view {arn}"),
            })
    }

    /// Sets an integration's accounts in its billing views at `arn`,
    /// keeping their layout (see [`BillingViews::update`]).
    pub async fn update_billing(&self, arn: &str, vi: &VirtualIntegration) -> Result<(), AwsError> {
        self.billing
            .update(&self.payer, arn, vi, (self.first_poll, self.health_timeout))
            .await
    }

    /// Makes an integration's billing side anew for `vi` (another layout:
    /// one view or an aggregate), waits for it and checks its accounts;
    /// returns its ARN. What it made is removed again on failure.
    pub async fn create_billing(&self, vi: &VirtualIntegration) -> Result<String, AwsError> {
        let token = format!(
            "costcarve-{}-{}-{}",
            vi.id,
            vi.revision,
            uuid::Uuid::new_v4().simple()
        );
        let arn = self.billing.create(&self.payer, vi, &token).await?;
        let checked = match self.wait_healthy(&arn).await {
            Ok(view) if view.accounts == vi.accounts.iter().map(ToString::to_string).collect() => {
                Ok(())
            }
            Ok(view) => Err(AwsError::Conflict(format!(
                "read back, the new billing view filters {} accounts, not the {} intended",
                view.accounts.len(),
                vi.accounts.len()
            ))),
            Err(e) => Err(e),
        };
        if let Err(e) = checked {
            let _ = self.delete_billing(&arn).await;
            return Err(e);
        }
        Ok(arn)
    }

    /// Deletes an integration's billing side (its view and own sources).
    pub async fn delete_billing(&self, arn: &str) -> Result<(), AwsError> {
        self.billing
            .delete_integration(arn, &BillingViews::primary_arn(&self.payer))
            .await
    }

    /// Creates both views at once, waits for the billing view to be healthy,
    /// validates both against the integration's accounts, and on any
    /// failure removes what was made.
    pub async fn create(&self, vi: &VirtualIntegration) -> Result<Provisioned, ProvisionError> {
        let token = format!("costcarve-{}-{}", vi.id, vi.revision);
        let billing_branch = async {
            let arn = match self.billing.create(&self.payer, vi, &token).await {
                Ok(arn) => arn,
                Err(e) => return (None, Err(("creating the billing view", e))),
            };
            let waited = self.wait_healthy(&arn).await;
            match waited {
                Ok(view) => (Some(arn), Ok(view)),
                Err(e) => (Some(arn), Err(("waiting for the billing view", e))),
            }
        };
        let (athena, (arn, billing)) = tokio::join!(self.athena.put_view(vi), billing_branch);
        let want: BTreeSet<String> = vi.accounts.iter().map(ToString::to_string).collect();
        let failure = match (&athena, &billing) {
            (Err(e), _) => Some(("creating the Athena view", e.clone())),
            (_, Err((step, e))) => Some((*step, e.clone())),
            (Ok(run), Ok(view)) => {
                if view.accounts != want {
                    Some((
                        "validating the billing view",
                        AwsError::Conflict(format!(
                            "its filter has {} accounts, not the {} intended",
                            view.accounts.len(),
                            want.len()
                        )),
                    ))
                } else if let Err(why) = ran_as_made(self.athena.place(), &run.query, vi) {
                    Some(("validating the Athena view", AwsError::Conflict(why)))
                } else {
                    None
                }
            }
        };
        match failure {
            None => Ok(Provisioned {
                billing_view_arn: arn.unwrap_or_default(),
                athena_execution_id: athena.map(|r| r.id).unwrap_or_default(),
            }),
            Some((step, source)) => {
                let mut cleanup = Vec::new();
                if athena.is_ok() {
                    if let Err(e) = self.athena.drop_view(&vi.view_name()).await {
                        cleanup.push(format!("Athena view {}: {e}", vi.view_name()));
                    }
                }
                if let Some(arn) = &arn {
                    if let Err(e) = self.delete_billing(arn).await {
                        cleanup.push(format!("billing view {arn}: {e}"));
                    }
                }
                if cleanup.is_empty() {
                    Err(ProvisionError::RolledBack { step, source })
                } else {
                    Err(ProvisionError::NeedsRepair {
                        step,
                        source,
                        cleanup: cleanup.join("; "),
                    })
                }
            }
        }
    }

    /// Removes both views. Idempotent: what is already gone is fine.
    pub async fn delete(
        &self,
        vi: &VirtualIntegration,
        billing_view_arn: Option<&str>,
    ) -> Result<(), AwsError> {
        let view = vi.view_name();
        let drop = self.athena.drop_view(&view);
        let delete = async {
            match billing_view_arn {
                Some(arn) => self.delete_billing(arn).await,
                None => Ok(()),
            }
        };
        let (a, b) = tokio::join!(drop, delete);
        a?;
        b
    }
}

impl costcarve_core::error::Coded for ProvisionError {
    fn code(&self) -> costcarve_core::error::ErrorCode {
        match self {
            // AWS failed a step; what was made is gone again.
            ProvisionError::RolledBack { .. } => costcarve_core::error::ErrorCode::Aws,
            ProvisionError::NeedsRepair { .. } => costcarve_core::error::ErrorCode::NotHealthy,
        }
    }
}
