//! The operations of a local workspace: what the CLI and the desktop call.
//! Used through `&self`: queries run side by side; changes to the
//! integrations take turns, and readers see the set before or after a
//! change, never half of one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use costcarve_core::account::{AccountId, Organization};
use costcarve_core::cost::{first_of_month, CostQuery, CostSeries};
use costcarve_core::guard::Target;
use costcarve_core::integration::{
    AccountDiff, IntegrationChange, IntegrationSet, NewIntegration, VirtualIntegration,
};
use costcarve_core::ports::Clock;
use costcarve_core::presentation::PresentationProfile;
use costcarve_core::verification::{self, closed_months, names, Part, Sides, Verification};
use costcarve_core::view_definition::ViewDefinition;

use crate::engine::{QueryResult, SqlEngine};
use crate::workspace::{self, CurFlavor, CurLocation};
use crate::LocalError;

/// The workspace's cache folder (derived data, safe to delete).
pub const CACHE_DIR: &str = ".costcarve-cache";

/// Database name the `--explain` text uses for a local workspace's views.
pub const LOCAL_DATABASE: &str = "costcarve";

/// An open local workspace.
pub struct LocalWorkspace {
    dir: PathBuf,
    org: RwLock<Organization>,
    integrations: RwLock<IntegrationSet>,
    /// Taken by each change for its whole length (engine, then disk).
    changing: tokio::sync::Mutex<()>,
    engine: SqlEngine,
    clock: Arc<dyn Clock>,
    rollup: Option<crate::engine::RollupStatus>,
}

fn joined(accounts: &BTreeSet<AccountId>) -> String {
    accounts
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// How long a user's query may run on the local engine unless told otherwise.
pub const DEFAULT_SQL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

impl LocalWorkspace {
    /// Opens the workspace in `dir` and re-creates the integrations' views.
    pub async fn open(dir: &Path, clock: Arc<dyn Clock>) -> Result<Self, LocalError> {
        let cur: CurLocation = workspace::locate_cur(dir)?;
        let mut engine = SqlEngine::open(cur).await?;
        // The rollup is a cache: without it (e.g. a read-only folder) cost
        // queries still work, on the raw line items.
        let rollup = engine.prepare_rollup(&dir.join(CACHE_DIR)).await.ok();
        let org = match workspace::load_organization(dir)? {
            Some(org) => org,
            None => {
                let (payer, accounts) = engine.accounts_in_data().await?;
                let accounts = accounts
                    .into_iter()
                    .filter_map(|(id, name)| id.parse::<AccountId>().ok().map(|id| (id, name)))
                    .collect();
                workspace::organization_from_accounts(payer.and_then(|p| p.parse().ok()), accounts)
            }
        };
        let integrations = workspace::load_integrations(dir)?;
        for vi in &integrations.integrations {
            engine.register_integration(vi).await?;
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            org: RwLock::new(org),
            integrations: RwLock::new(integrations),
            changing: tokio::sync::Mutex::new(()),
            engine,
            clock,
            rollup,
        })
    }

    /// The workspace folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The organization.
    pub fn organization(&self) -> Organization {
        self.org
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reads `organization.json` again (an account moved, vended or closed
    /// since the workspace opened); an organization derived from the data
    /// stays as it is. Returns the organization now.
    pub fn reload_organization(&self) -> Result<Organization, LocalError> {
        if let Some(org) = workspace::load_organization(&self.dir)? {
            *self.org.write().unwrap_or_else(PoisonError::into_inner) = org;
        }
        Ok(self.organization())
    }

    /// CUR 2.0 or legacy.
    pub fn flavor(&self) -> CurFlavor {
        self.engine.flavor()
    }

    /// The saved integrations.
    pub fn integrations(&self) -> IntegrationSet {
        self.integrations
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// One integration by name.
    pub fn integration(&self, name: &str) -> Result<VirtualIntegration, LocalError> {
        Ok(self
            .integrations
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .require(name)?
            .clone())
    }

    /// The engine, for callers that build on it (benchmarks, tests).
    pub fn engine(&self) -> &SqlEngine {
        &self.engine
    }

    /// The engine, to tune it (tests compare the rollup with the raw path).
    pub fn engine_mut(&mut self) -> &mut SqlEngine {
        &mut self.engine
    }

    /// The daily rollup cost queries read, if there is one.
    pub fn rollup(&self) -> Option<&crate::engine::RollupStatus> {
        self.rollup.as_ref()
    }

    /// Saves `next` after the engine accepted the change; undoes the engine
    /// change if saving fails, so disk and engine never disagree.
    fn commit(&self, next: IntegrationSet) -> Result<(), LocalError> {
        // Refuse to overwrite what another writer saved since we read it.
        let saved = workspace::load_integrations(&self.dir)?;
        if saved != self.integrations() {
            return Err(LocalError::ChangedElsewhere(self.dir.clone()));
        }
        workspace::save_integrations(&self.dir, &next)?;
        *self
            .integrations
            .write()
            .unwrap_or_else(PoisonError::into_inner) = next;
        Ok(())
    }

    /// Takes the integrations as saved now, and their views, after another
    /// writer changed them.
    async fn reload(&self) -> Result<(), LocalError> {
        let saved = workspace::load_integrations(&self.dir)?;
        let before = self.integrations();
        for vi in &saved.integrations {
            self.engine.register_integration(vi).await?;
        }
        for gone in before.integrations.iter().filter(|vi| {
            !saved
                .integrations
                .iter()
                .any(|s| s.view_name() == vi.view_name())
        }) {
            self.engine.deregister_integration(&gone.view_name())?;
        }
        *self
            .integrations
            .write()
            .unwrap_or_else(PoisonError::into_inner) = saved;
        Ok(())
    }

    /// After a refused commit, shows what is saved now (when that was why).
    async fn refused(&self, e: LocalError) -> LocalError {
        if matches!(e, LocalError::ChangedElsewhere(_)) {
            if let Err(reload) = self.reload().await {
                return reload;
            }
        }
        e
    }

    /// Creates an integration and its view.
    pub async fn create_integration(
        &self,
        new: NewIntegration,
    ) -> Result<VirtualIntegration, LocalError> {
        let _turn = self.changing.lock().await;
        let mut next = self.integrations();
        let vi = next.create(&self.organization(), new, self.clock.now())?;
        self.engine.register_integration(&vi).await?;
        if let Err(e) = self.commit(next) {
            let _ = self.engine.deregister_integration(&vi.view_name());
            return Err(self.refused(e).await);
        }
        Ok(vi)
    }

    /// Changes an integration's accounts or name, and its view.
    pub async fn update_integration(
        &self,
        name: &str,
        change: IntegrationChange,
    ) -> Result<(VirtualIntegration, AccountDiff), LocalError> {
        let _turn = self.changing.lock().await;
        let before = self.integration(name)?;
        let mut next = self.integrations();
        let (vi, diff) = next.update(&self.organization(), name, change, self.clock.now())?;
        self.engine.register_integration(&vi).await?;
        if before.view_name() != vi.view_name() {
            self.engine.deregister_integration(&before.view_name())?;
        }
        if let Err(e) = self.commit(next) {
            if before.view_name() != vi.view_name() {
                let _ = self.engine.deregister_integration(&vi.view_name());
            }
            let _ = self.engine.register_integration(&before).await;
            return Err(self.refused(e).await);
        }
        Ok((vi, diff))
    }

    /// Sets (or, with the default profile, clears) how an integration is
    /// shown to its customer; saved with the integrations.
    pub async fn set_profile(
        &self,
        name: &str,
        profile: PresentationProfile,
    ) -> Result<VirtualIntegration, LocalError> {
        let _turn = self.changing.lock().await;
        let mut next = self.integrations();
        let vi = next.set_profile(name, profile, self.clock.now())?;
        if let Err(e) = self.commit(next) {
            return Err(self.refused(e).await);
        }
        Ok(vi)
    }

    /// Deletes an integration and its view.
    pub async fn delete_integration(&self, name: &str) -> Result<VirtualIntegration, LocalError> {
        let _turn = self.changing.lock().await;
        let mut next = self.integrations();
        let vi = next.delete(name)?;
        if let Err(e) = self.commit(next) {
            return Err(self.refused(e).await);
        }
        self.engine.deregister_integration(&vi.view_name())?;
        Ok(vi)
    }

    /// Answers a cost query.
    pub async fn cost(&self, q: &CostQuery) -> Result<CostSeries, LocalError> {
        let vi = self.integration(&q.integration)?;
        self.engine.cost(&vi, q).await
    }

    /// Runs a user's SQL confined to one integration, for at most
    /// [`DEFAULT_SQL_TIMEOUT`].
    pub async fn sql(
        &self,
        name: &str,
        sql: &str,
        max_rows: usize,
    ) -> Result<QueryResult, LocalError> {
        self.sql_within(name, sql, max_rows, DEFAULT_SQL_TIMEOUT)
            .await
    }

    /// Runs a user's SQL confined to one integration, for at most `timeout`.
    pub async fn sql_within(
        &self,
        name: &str,
        sql: &str,
        max_rows: usize,
        timeout: std::time::Duration,
    ) -> Result<QueryResult, LocalError> {
        let vi = self.integration(name)?;
        self.engine.sql(&vi, sql, max_rows, timeout).await
    }

    /// Verifies an integration: the saved definition against the view the
    /// engine runs, the accounts seen through the confined `cur` (over the
    /// whole CUR) and through what the charts read, and `months` closed
    /// months of the charts' figures against the raw line items.
    pub async fn verify(&self, name: &str, months: u32) -> Result<Verification, LocalError> {
        let vi = self.integration(name)?;
        let view_name = vi.view_name();
        let saved = workspace::load_integrations(&self.dir)?;
        let saved_part = |ok: bool, detail: String| Part {
            part: "saved_definition".into(),
            name: workspace::INTEGRATIONS_FILE.into(),
            ok,
            detail,
        };
        let saved_part = match saved.integrations.iter().find(|s| s.id == vi.id) {
            None => saved_part(
                false,
                "the integration is no longer saved (another window or the CLI deleted it)".into(),
            ),
            Some(s) => {
                let org = self.organization();
                let unknown: Vec<String> = s
                    .accounts
                    .iter()
                    .filter(|a| org.account(a).is_none())
                    .map(ToString::to_string)
                    .collect();
                if !unknown.is_empty() {
                    saved_part(
                        false,
                        format!(
                            "holds accounts that are not in the organization: {}",
                            unknown.join(", ")
                        ),
                    )
                } else if s != &vi {
                    saved_part(
                        false,
                        "changed since this workspace was opened; open it again".into(),
                    )
                } else {
                    saved_part(
                        true,
                        format!(
                            "revision {}, {} accounts ({})",
                            s.revision,
                            s.accounts.len(),
                            joined(&s.accounts)
                        ),
                    )
                }
            }
        };
        let view_part = match self
            .engine
            .executed_view_ddl(&view_name)
            .map(|ddl| ViewDefinition::parse_ddl(&ddl))
        {
            None => Part {
                part: "view".into(),
                name: view_name.clone(),
                ok: false,
                detail: "missing from the engine".into(),
            },
            Some(Err(not_ours)) => Part {
                part: "view".into(),
                name: view_name.clone(),
                ok: false,
                detail: not_ours.to_string(),
            },
            Some(Ok((made, def))) => {
                let ok = made == view_name
                    && def.source == self.engine.view_source()
                    && def.accounts == vi.accounts;
                Part {
                    part: "view".into(),
                    name: view_name.clone(),
                    ok,
                    detail: if ok {
                        format!(
                            "exactly CostCarve's view over the whole CUR: {} accounts",
                            def.accounts.len()
                        )
                    } else {
                        format!(
                            "reads {} for {} accounts, not the saved {} accounts over the CUR",
                            def.source,
                            def.accounts.len(),
                            vi.accounts.len()
                        )
                    },
                }
            }
        };
        let definitions = verification::definitions(vec![saved_part, view_part]);
        let now = self.clock.now();
        if !definitions.ok {
            let reason = "the saved definition and the view differ; open the workspace again";
            return Ok(Verification::stopped_at_definitions(
                vi.name.as_str(),
                "local",
                definitions,
                reason,
                None,
                now,
            ));
        }
        let today = now.date_naive();
        let months = closed_months(today, months);
        let open_month = first_of_month(today);
        let first = months.first().copied().unwrap_or(open_month);
        let seen_sql =
            "SELECT DISTINCT CAST(line_item_usage_account_id AS VARCHAR) AS account FROM cur";
        let (seen, facts, shown) = tokio::join!(
            self.engine
                .sql(&vi, seen_sql, 1_000_000, DEFAULT_SQL_TIMEOUT),
            self.engine.verification_facts(&vi, first, open_month),
            async {
                if months.is_empty() {
                    Ok(None)
                } else {
                    let q = CostQuery::new(vi.name.as_str(), first, open_month);
                    self.engine.cost(&vi, &q).await.map(Some)
                }
            }
        );
        let (seen, facts, shown) = (seen?, facts?, shown?);
        let seen: BTreeSet<String> = seen
            .rows
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .collect();
        let mut shown_monthly: BTreeMap<NaiveDate, Decimal> = BTreeMap::new();
        for p in shown.map(|s| s.points).unwrap_or_default() {
            *shown_monthly.entry(first_of_month(p.period)).or_default() += p.amount;
        }
        let checks = vec![
            definitions,
            verification::isolation(
                names::ISOLATION_LINE_ITEMS,
                "the confined `cur` of the integration's SQL",
                "the whole CUR",
                &vi.accounts,
                &seen,
            ),
            verification::isolation(
                names::ISOLATION_SHOWN,
                facts.charts_through,
                "the whole CUR",
                &vi.accounts,
                &facts.charts_accounts,
            ),
            verification::reconciliation(
                &Sides {
                    shown: "the charts' figures",
                    line_items: "the raw line items",
                    metric: "unblended cost",
                    line_item_types: "all line-item types (usage, fees, credits, refunds, tax)",
                },
                &months,
                &shown_monthly,
                &facts.raw_monthly,
                &BTreeSet::new(),
            ),
        ];
        Ok(Verification::new(
            vi.name.as_str(),
            "local",
            checks,
            None,
            now,
        ))
    }

    /// The Athena (Trino) text this query would be sent as, re-parsed and
    /// re-checked by the guard.
    pub fn explain(&self, name: &str, sql: &str) -> Result<String, LocalError> {
        let vi = self.integration(name)?;
        let target = Target::new([LOCAL_DATABASE.to_string(), vi.view_name()])?;
        Ok(costcarve_core::guard::confine(sql, &target)?
            .text()
            .to_string())
    }
}
