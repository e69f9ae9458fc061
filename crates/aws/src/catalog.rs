//! The Glue Data Catalog as CostCarve reads it: the CUR table (is it there,
//! CUR 2.0 or legacy, partitioned how) and the integrations' Athena views
//! (which accounts each one really filters on, read from the view text
//! Athena stored), so a second desktop can rebuild integrations and drift
//! between a billing view and its Athena view is seen.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_glue::Client;
use base64::Engine as _;

use crate::error::{classify, AwsError};
use costcarve_core::view_definition::{NotOurs, ViewDefinition};

/// Which CUR a table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurFlavor {
    /// Data Exports' CUR 2.0 (`line_item_usage_account_name`, map columns).
    Cur2,
    /// The legacy Cost and Usage Report.
    Legacy,
}

/// The CUR table, as declared in Glue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurTable {
    /// Which CUR.
    pub flavor: CurFlavor,
    /// Column names.
    pub columns: BTreeSet<String>,
    /// Partition keys.
    pub partition_keys: Vec<String>,
}

/// The columns every CUR has and CostCarve reads.
pub const REQUIRED_COLUMNS: [&str; 5] = [
    "line_item_usage_account_id",
    "line_item_unblended_cost",
    "line_item_usage_start_date",
    "line_item_product_code",
    "line_item_line_item_type",
];

/// An Athena view's select text, from Glue's `ViewOriginalText`
/// (`/* Presto View: <base64 JSON with originalSql> */`).
pub fn view_sql(original_text: &str) -> Option<String> {
    let encoded = original_text
        .trim()
        .strip_prefix("/* Presto View:")?
        .strip_suffix("*/")?
        .trim();
    let json = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&json).ok()?;
    value.get("originalSql")?.as_str().map(String::from)
}

/// The Glue catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    client: Client,
}

impl Catalog {
    /// Reached with this SDK configuration.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: Client::new(config),
        }
    }

    /// Whether a database exists.
    pub async fn database_exists(&self, database: &str) -> Result<bool, AwsError> {
        match self.client.get_database().name(database).send().await {
            Ok(_) => Ok(true),
            Err(e) => match classify(&format!("Glue database {database}"), e) {
                AwsError::NotFound { .. } => Ok(false),
                other => Err(other),
            },
        }
    }

    /// The CUR table: `NotFound` if it is missing, `Invalid` if it lacks the
    /// columns a CUR has.
    pub async fn cur_table(&self, database: &str, table: &str) -> Result<CurTable, AwsError> {
        let what = format!("the CUR table {database}.{table}");
        let out = self
            .client
            .get_table()
            .database_name(database)
            .name(table)
            .send()
            .await
            .map_err(|e| classify(&what, e))?;
        let t = out
            .table()
            .ok_or_else(|| AwsError::NotFound { what: what.clone() })?;
        let columns: BTreeSet<String> = t
            .storage_descriptor()
            .map(|s| {
                s.columns()
                    .iter()
                    .map(|c| c.name().to_lowercase())
                    .collect()
            })
            .unwrap_or_default();
        let partition_keys: Vec<String> = t
            .partition_keys()
            .iter()
            .map(|c| c.name().to_lowercase())
            .collect();
        let missing: Vec<&str> = REQUIRED_COLUMNS
            .iter()
            .copied()
            .filter(|c| !columns.contains(*c))
            .collect();
        if !missing.is_empty() {
            return Err(AwsError::Invalid(format!(
                "{what} is not a Cost and Usage Report table: it lacks {}",
                missing.join(", ")
            )));
        }
        let flavor = if columns.contains("line_item_usage_account_name")
            || columns.contains("resource_tags")
            || columns.contains("product")
        {
            CurFlavor::Cur2
        } else {
            CurFlavor::Legacy
        };
        Ok(CurTable {
            flavor,
            columns,
            partition_keys,
        })
    }

    /// Every view in `database` named like an integration's (`vi_...`),
    /// with its definition read back exactly (or why it is not CostCarve's).
    pub async fn integration_views(
        &self,
        database: &str,
    ) -> Result<BTreeMap<String, StoredView>, AwsError> {
        let mut out = BTreeMap::new();
        let mut pages = self
            .client
            .get_tables()
            .database_name(database)
            .expression("vi_.*")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify(&format!("the views in {database}"), e))?;
            for t in page.table_list() {
                if t.table_type() != Some("VIRTUAL_VIEW") || !t.name().starts_with("vi_") {
                    continue;
                }
                out.insert(t.name().to_string(), stored_definition(t));
            }
        }
        Ok(out)
    }

    /// One view's definition; `None` if there is no such view.
    pub async fn view_definition(
        &self,
        database: &str,
        view: &str,
    ) -> Result<Option<StoredView>, AwsError> {
        match self
            .client
            .get_table()
            .database_name(database)
            .name(view)
            .send()
            .await
        {
            Ok(out) => Ok(out.table().map(stored_definition)),
            Err(e) => match classify(&format!("view {database}.{view}"), e) {
                AwsError::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }
}

/// A view as Glue stores it: CostCarve's own definition, or why it is not.
pub type StoredView = Result<ViewDefinition, NotOurs>;

fn stored_definition(t: &aws_sdk_glue::types::Table) -> StoredView {
    let sql = t
        .view_original_text()
        .and_then(view_sql)
        .ok_or_else(|| NotOurs("Glue holds no Athena view text for it".into()))?;
    ViewDefinition::parse(&sql)
}

impl Catalog {
    /// Where each partition of `database.table` lives, by its first
    /// partition value (the billing period, `YYYY-MM`).
    pub async fn partition_locations(
        &self,
        database: &str,
        table: &str,
    ) -> Result<BTreeMap<String, String>, AwsError> {
        let what = format!("the partitions of {database}.{table}");
        let mut out = BTreeMap::new();
        let mut pages = self
            .client
            .get_partitions()
            .database_name(database)
            .table_name(table)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify(&what, e))?;
            for p in page.partitions() {
                let (Some(value), Some(location)) = (
                    p.values().first(),
                    p.storage_descriptor().and_then(|s| s.location()),
                ) else {
                    continue;
                };
                out.insert(value.clone(), location.to_string());
            }
        }
        Ok(out)
    }
}

/// The bytes of every object under an S3 location (`s3://bucket/prefix`).
pub async fn prefix_bytes(s3: &aws_sdk_s3::Client, location: &str) -> Result<u64, AwsError> {
    let (bucket, prefix) = location
        .strip_prefix("s3://")
        .map(|r| r.split_once('/').unwrap_or((r, "")))
        .ok_or_else(|| AwsError::Invalid(format!("'{location}' is not an S3 location")))?;
    let mut total = 0u64;
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| classify(&format!("the files under {location}"), e))?;
        for o in page.contents() {
            total += u64::try_from(o.size().unwrap_or(0)).unwrap_or(0);
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_sql_athena_stores_for_a_view() {
        let json = r#"{"originalSql":"SELECT * FROM \"d\".\"t\" WHERE line_item_usage_account_id IN ('111111111111', '222222222222')","catalog":"awsdatacatalog","schema":"v","columns":[]}"#;
        let text = format!(
            "/* Presto View: {} */",
            base64::engine::general_purpose::STANDARD.encode(json)
        );
        let sql = view_sql(&text).unwrap();
        assert_eq!(ViewDefinition::parse(&sql).unwrap().accounts.len(), 2);
        assert_eq!(view_sql("/* Presto View: not-base64! */"), None);
        assert_eq!(view_sql("SELECT 1"), None);
    }
}
