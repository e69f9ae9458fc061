//! Athena: the SQL side of a virtual integration — its view over the CUR
//! table, created, replaced and dropped with DDL run in the connection's
//! workgroup, and the executed DDL read back to validate a change.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_athena::types::{QueryExecutionContext, QueryExecutionState, ResultConfiguration};
use aws_sdk_athena::Client;

use costcarve_core::integration::VirtualIntegration;

use crate::error::{classify, AwsError};

/// Where an integration's SQL runs and its view lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AthenaPlace {
    /// The Glue database holding the CUR table.
    pub cur_database: String,
    /// The CUR table.
    pub cur_table: String,
    /// The database the integrations' views are created in.
    pub views_database: String,
    /// The Athena workgroup.
    pub workgroup: String,
    /// `s3://bucket/prefix/` for results, unless the workgroup enforces one.
    pub results: Option<String>,
}

/// A finished query: its id and the text Athena ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    /// The query execution id.
    pub id: String,
    /// The query text as Athena recorded it.
    pub query: String,
}

fn plain(identifier: &str) -> Result<&str, AwsError> {
    let ok = !identifier.is_empty()
        && identifier.len() <= 255
        && identifier
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(identifier)
    } else {
        Err(AwsError::Invalid(format!(
            "'{identifier}' is not a plain Athena name: use lowercase letters, digits, _ and -"
        )))
    }
}

/// The DDL that creates or replaces an integration's view.
pub fn view_ddl(place: &AthenaPlace, vi: &VirtualIntegration) -> Result<String, AwsError> {
    let source = format!(
        "\"{}\".\"{}\"",
        plain(&place.cur_database)?,
        plain(&place.cur_table)?
    );
    Ok(format!(
        "CREATE OR REPLACE VIEW \"{}\".\"{}\" AS {}",
        plain(&place.views_database)?,
        vi.view_name(),
        vi.view_select(&source)
    ))
}

/// The account ids a view's DDL filters on, read from its text.
pub fn accounts_in_ddl(ddl: &str) -> BTreeSet<String> {
    let Some(list) = ddl
        .split_once("line_item_usage_account_id IN (")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(list, _)| list)
    else {
        return BTreeSet::new();
    };
    list.split(',')
        .map(|s| s.trim().trim_matches('\'').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Runs DDL and queries on Athena.
#[derive(Debug, Clone)]
pub struct Athena {
    client: Client,
    place: AthenaPlace,
}

impl Athena {
    /// Athena reached with this SDK configuration, for one connection's place.
    pub fn new(config: &aws_config::SdkConfig, place: AthenaPlace) -> Self {
        Self {
            client: Client::new(config),
            place,
        }
    }

    /// Where it runs.
    pub fn place(&self) -> &AthenaPlace {
        &self.place
    }

    /// Starts a query and waits for it with a growing pause; on failure,
    /// Athena's reason is the error.
    pub async fn run(&self, sql: &str, timeout: Duration) -> Result<Execution, AwsError> {
        let mut start = self
            .client
            .start_query_execution()
            .query_string(sql)
            .work_group(&self.place.workgroup)
            .query_execution_context(
                QueryExecutionContext::builder()
                    .database(&self.place.views_database)
                    .build(),
            );
        if let Some(results) = &self.place.results {
            start = start.result_configuration(
                ResultConfiguration::builder()
                    .output_location(results)
                    .build(),
            );
        }
        let id = start
            .send()
            .await
            .map_err(|e| classify("Athena query", e))?
            .query_execution_id()
            .unwrap_or_default()
            .to_string();
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            let out = self
                .client
                .get_query_execution()
                .query_execution_id(&id)
                .send()
                .await
                .map_err(|e| classify(&format!("Athena query {id}"), e))?;
            let execution = out.query_execution();
            let status = execution.and_then(|e| e.status());
            match status.and_then(|s| s.state()) {
                Some(QueryExecutionState::Succeeded) => {
                    return Ok(Execution {
                        id,
                        query: execution.and_then(|e| e.query()).unwrap_or(sql).to_string(),
                    })
                }
                Some(QueryExecutionState::Failed) | Some(QueryExecutionState::Cancelled) => {
                    let reason = status
                        .and_then(|s| s.state_change_reason())
                        .unwrap_or("no reason given");
                    return Err(AwsError::Invalid(format!(
                        "Athena query {id} failed: {reason}"
                    )));
                }
                _ => {}
            }
            if started.elapsed() + pause > timeout {
                let _ = self
                    .client
                    .stop_query_execution()
                    .query_execution_id(&id)
                    .send()
                    .await;
                return Err(AwsError::Timeout {
                    what: format!("Athena query {id}"),
                    seconds: timeout.as_secs(),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    /// Creates or replaces an integration's view; returns what ran.
    pub async fn put_view(&self, vi: &VirtualIntegration) -> Result<Execution, AwsError> {
        self.run(&view_ddl(&self.place, vi)?, Duration::from_secs(120))
            .await
    }

    /// Drops a view; dropping one that does not exist is fine.
    pub async fn drop_view(&self, view_name: &str) -> Result<Execution, AwsError> {
        let sql = format!(
            "DROP VIEW IF EXISTS \"{}\".\"{}\"",
            plain(&self.place.views_database)?,
            plain(view_name)?
        );
        self.run(&sql, Duration::from_secs(120)).await
    }

    /// The text of an earlier execution, to validate what was run.
    pub async fn executed(&self, id: &str) -> Result<String, AwsError> {
        let out = self
            .client
            .get_query_execution()
            .query_execution_id(id)
            .send()
            .await
            .map_err(|e| classify(&format!("Athena query {id}"), e))?;
        Ok(out
            .query_execution()
            .and_then(|e| e.query())
            .unwrap_or_default()
            .to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use costcarve_core::account::Organization;
    use costcarve_core::integration::{IntegrationSet, NewIntegration};

    #[test]
    fn the_view_ddl_names_exactly_the_accounts_and_refuses_odd_names() {
        let ids = ["111111111111", "222222222222"];
        let org = Organization::flat(
            ids[0].parse().unwrap(),
            ids.iter()
                .map(|i| (i.parse().unwrap(), String::new()))
                .collect(),
        );
        let vi = IntegrationSet::default()
            .create(
                &org,
                NewIntegration {
                    name: "Acme".into(),
                    accounts: ids.iter().map(|i| i.parse().unwrap()).collect(),
                    allow_shared: false,
                },
                Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            )
            .unwrap();
        let mut place = AthenaPlace {
            cur_database: "cur_db".into(),
            cur_table: "cur_table".into(),
            views_database: "costcarve_views".into(),
            workgroup: "wg".into(),
            results: None,
        };
        let ddl = view_ddl(&place, &vi).unwrap();
        assert_eq!(
            ddl,
            "CREATE OR REPLACE VIEW \"costcarve_views\".\"vi_acme\" AS SELECT * FROM \"cur_db\".\"cur_table\" WHERE line_item_usage_account_id IN ('111111111111', '222222222222')"
        );
        assert_eq!(
            accounts_in_ddl(&ddl),
            ids.iter().map(|s| s.to_string()).collect()
        );
        place.cur_table = "cur\"; DROP TABLE x; --".into();
        assert!(view_ddl(&place, &vi).is_err());
    }
}
