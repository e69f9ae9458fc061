//! Athena: the SQL side of a virtual integration — its view over the CUR
//! table, created, replaced and dropped with DDL run in the connection's
//! workgroup, and the executed DDL read back to validate a change.

use std::time::Duration;

use aws_sdk_athena::types::{QueryExecutionContext, QueryExecutionState, ResultConfiguration};
use aws_sdk_athena::Client;

use costcarve_core::integration::VirtualIntegration;
use costcarve_core::query::QueryResult;
use tokio_util::sync::CancellationToken;

use crate::error::{classify, AwsError};
use costcarve_core::engine_error::athena_failure;

/// How a failed query's reason is told: DDL's as Athena gives it (it quotes
/// only the app's own SQL), a user query's without values of the data.
#[derive(Debug, Clone, Copy)]
enum Reason {
    AsIs,
    WithoutData,
}

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
    let source = view_source(place)?;
    Ok(format!(
        "CREATE OR REPLACE VIEW \"{}\".\"{}\" AS {}",
        plain(&place.views_database)?,
        vi.view_name(),
        vi.view_select(&source)
    ))
}

/// The relation every integration's view reads: the CUR table, quoted.
pub fn view_source(place: &AthenaPlace) -> Result<String, AwsError> {
    Ok(format!(
        "\"{}\".\"{}\"",
        plain(&place.cur_database)?,
        plain(&place.cur_table)?
    ))
}

/// The longest a user's query may run before it is stopped.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// GetQueryResults' largest page.
pub const RESULTS_PAGE: usize = 1000;

struct Finished {
    query: String,
    output: Option<String>,
    scanned_bytes: i64,
}

struct Page {
    columns: Vec<String>,
    rows: Vec<Vec<Option<String>>>,
    next: Option<String>,
}

/// Where a query's rows were read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultSource {
    /// GetQueryResults pages.
    Pages,
    /// The result CSV at this S3 location.
    Csv(String),
}

/// A user's query, answered.
#[derive(Debug, Clone)]
pub struct QueryAnswer {
    /// The query execution id.
    pub id: String,
    /// The rows.
    pub result: QueryResult,
    /// Bytes Athena scanned (what it bills for).
    pub scanned_bytes: i64,
    /// Where the rows came from.
    pub source: ResultSource,
}

/// Reads up to `max_rows` rows of an Athena result CSV (header first; an
/// empty field is NULL, as Athena writes NULL unquoted and empty).
async fn read_csv(
    s3: &aws_sdk_s3::Client,
    location: &str,
    max_rows: usize,
) -> Result<(Vec<Vec<Option<String>>>, bool), AwsError> {
    let (bucket, key) = location
        .strip_prefix("s3://")
        .and_then(|r| r.split_once('/'))
        .ok_or_else(|| AwsError::Service(format!("'{location}' is not an S3 location")))?;
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| classify(&format!("the result file {location}"), e))?;
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|e| AwsError::Service(format!("reading {location}: {e}")))?
        .into_bytes();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes.as_ref());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record =
            record.map_err(|e| AwsError::Service(format!("the result file {location}: {e}")))?;
        if rows.len() == max_rows {
            return Ok((rows, true));
        }
        rows.push(
            record
                .iter()
                .map(|f| (!f.is_empty()).then(|| f.to_string()))
                .collect(),
        );
    }
    Ok((rows, false))
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

    /// Starts a query in the workgroup, in the views database.
    async fn start(&self, sql: &str) -> Result<String, AwsError> {
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
        Ok(start
            .send()
            .await
            .map_err(|e| classify("Athena query", e))?
            .query_execution_id()
            .unwrap_or_default()
            .to_string())
    }

    /// Stops a query (StopQueryExecution); best effort.
    async fn stop(&self, id: &str) {
        let _ = self
            .client
            .stop_query_execution()
            .query_execution_id(id)
            .send()
            .await;
    }

    /// Waits for a query with a growing pause (100 ms doubling to 2 s); on
    /// failure Athena's reason is the error; on timeout or `cancel` the
    /// query is stopped.
    async fn wait(
        &self,
        id: &str,
        timeout: Duration,
        cancel: &CancellationToken,
        told: Reason,
    ) -> Result<Finished, AwsError> {
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            let out = self
                .client
                .get_query_execution()
                .query_execution_id(id)
                .send()
                .await
                .map_err(|e| classify(&format!("Athena query {id}"), e))?;
            let execution = out.query_execution();
            let status = execution.and_then(|e| e.status());
            match status.and_then(|s| s.state()) {
                Some(QueryExecutionState::Succeeded) => {
                    return Ok(Finished {
                        query: execution
                            .and_then(|e| e.query())
                            .unwrap_or_default()
                            .to_string(),
                        output: execution
                            .and_then(|e| e.result_configuration())
                            .and_then(|r| r.output_location())
                            .map(String::from),
                        scanned_bytes: execution
                            .and_then(|e| e.statistics())
                            .and_then(|s| s.data_scanned_in_bytes())
                            .unwrap_or(0),
                    })
                }
                Some(QueryExecutionState::Failed) | Some(QueryExecutionState::Cancelled) => {
                    let raw = status
                        .and_then(|s| s.state_change_reason())
                        .unwrap_or("no reason given");
                    return Err(match told {
                        Reason::AsIs => {
                            AwsError::Invalid(format!("Athena query {id} failed: {raw}"))
                        }
                        Reason::WithoutData => AwsError::QueryFailed(format!(
                            "Athena query {id} failed: {}",
                            athena_failure(raw)
                        )),
                    });
                }
                _ => {}
            }
            if started.elapsed() + pause > timeout {
                self.stop(id).await;
                return Err(AwsError::Timeout {
                    what: format!("Athena query {id}"),
                    seconds: timeout.as_secs(),
                });
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = cancel.cancelled() => {
                    self.stop(id).await;
                    return Err(AwsError::Cancelled(format!("Athena query {id} was stopped")));
                }
            }
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    /// Runs DDL and waits for it; on failure, Athena's reason is the error.
    pub async fn run(&self, sql: &str, timeout: Duration) -> Result<Execution, AwsError> {
        let id = self.start(sql).await?;
        let done = self
            .wait(&id, timeout, &CancellationToken::new(), Reason::AsIs)
            .await?;
        Ok(Execution {
            query: if done.query.is_empty() {
                sql.to_string()
            } else {
                done.query
            },
            id,
        })
    }

    /// Runs a query (already confined by the guard) and reads at most
    /// `max_rows` rows: from GetQueryResults pages (1,000 rows each), or,
    /// when more than one page is wanted, from the result CSV Athena wrote
    /// to S3. `cancel` stops the query (StopQueryExecution), and so does
    /// `timeout`. A failure is told without Athena's text when that text
    /// can quote values of the data.
    pub async fn query(
        &self,
        sql: &str,
        max_rows: usize,
        s3: &aws_sdk_s3::Client,
        cancel: &CancellationToken,
        timeout: Duration,
    ) -> Result<QueryAnswer, AwsError> {
        let id = self.start(sql).await?;
        let done = self.wait(&id, timeout, cancel, Reason::WithoutData).await?;
        let first = self.results_page(&id, None).await?;
        let columns = first.columns.clone();
        let more = first.next.is_some();
        let (rows, truncated, source) = if more && max_rows > RESULTS_PAGE {
            let location = done.output.clone().ok_or_else(|| {
                AwsError::Service(format!("Athena query {id} has no output location"))
            })?;
            let (rows, truncated) = read_csv(s3, &location, max_rows).await?;
            (rows, truncated, ResultSource::Csv(location))
        } else {
            let mut rows = first.rows;
            let mut next = first.next;
            while rows.len() < max_rows {
                let Some(token) = next.take() else { break };
                let page = self.results_page(&id, Some(token)).await?;
                rows.extend(page.rows);
                next = page.next;
            }
            let truncated = rows.len() > max_rows || next.is_some();
            rows.truncate(max_rows);
            (rows, truncated, ResultSource::Pages)
        };
        Ok(QueryAnswer {
            id,
            result: QueryResult {
                columns,
                rows,
                truncated,
            },
            scanned_bytes: done.scanned_bytes,
            source,
        })
    }

    async fn results_page(&self, id: &str, token: Option<String>) -> Result<Page, AwsError> {
        let out = self
            .client
            .get_query_results()
            .query_execution_id(id)
            .max_results(RESULTS_PAGE as i32)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| classify(&format!("results of Athena query {id}"), e))?;
        let columns: Vec<String> = out
            .result_set()
            .and_then(|r| r.result_set_metadata())
            .map(|m| {
                m.column_info()
                    .iter()
                    .map(|c| c.name().to_string())
                    .collect()
            })
            .unwrap_or_default();
        let mut rows: Vec<Vec<Option<String>>> = out
            .result_set()
            .map(|r| {
                r.rows()
                    .iter()
                    .map(|row| {
                        row.data()
                            .iter()
                            .map(|d| d.var_char_value().map(String::from))
                            .collect()
                    })
                    .collect()
            })
            .unwrap_or_default();
        // A SELECT's first page starts with the column names as a row.
        if token.is_none()
            && rows.first().is_some_and(|r| {
                r.len() == columns.len()
                    && r.iter()
                        .zip(&columns)
                        .all(|(v, c)| v.as_deref() == Some(c.as_str()))
            })
        {
            rows.remove(0);
        }
        Ok(Page {
            columns,
            rows,
            next: out.next_token().filter(|t| !t.is_empty()).map(String::from),
        })
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
                    ..Default::default()
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
        let (_, def) = costcarve_core::view_definition::ViewDefinition::parse_ddl(&ddl).unwrap();
        assert_eq!(def.accounts, vi.accounts);
        place.cur_table = "cur\"; DROP TABLE x; --".into();
        assert!(view_ddl(&place, &vi).is_err());
    }
}
