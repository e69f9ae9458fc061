//! The prerequisites check (`costcarve connection test`, and the step
//! before a connection's first provisioning): is this the payer, is the
//! CUR table there, do Athena, its results location and the billing API
//! work. Each check passes or says exactly which permission or resource is
//! missing and how to fix it.

use serde::Serialize;

use crate::catalog::{Catalog, CurFlavor};
use crate::connection::Connection;
use crate::error::AwsError;
use crate::org::Organizations;

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// On failure: what to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// Needed only by an optional feature (sharing): a failure is reported
    /// but does not stop provisioning.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

/// All checks, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    /// Whether every check passed (optional ones aside).
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok || c.optional)
    }

    /// The failed checks, one line each, for an error message.
    pub fn failures(&self) -> String {
        self.checks
            .iter()
            .filter(|c| !c.ok && !c.optional)
            .map(|c| {
                format!(
                    "{}: {} ({})",
                    c.name,
                    c.detail,
                    c.fix.as_deref().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn pass(name: &str, detail: String) -> Check {
    Check {
        optional: false,
        name: name.into(),
        ok: true,
        detail,
        fix: None,
    }
}

fn fail(name: &str, err: &AwsError, permission: &str, missing: &str) -> Check {
    let fix = match err {
        AwsError::AccessDenied(_) => format!("grant {permission} to the connection's identity"),
        AwsError::NotFound { .. } => missing.to_string(),
        _ => format!("{missing}; if it exists, check {permission}"),
    };
    Check {
        optional: false,
        name: name.into(),
        ok: false,
        detail: err.to_string(),
        fix: Some(fix),
    }
}

/// Runs every check with this SDK configuration.
pub async fn check(config: &aws_config::SdkConfig, connection: &Connection) -> Report {
    let mut checks = Vec::new();

    // 1. Who are we?
    let sts = aws_sdk_sts::Client::new(config);
    let caller = match sts.get_caller_identity().send().await {
        Ok(out) => {
            let account = out.account().unwrap_or_default().to_string();
            checks.push(pass(
                "caller identity",
                format!("{} in account {account}", out.arn().unwrap_or_default()),
            ));
            Some(account)
        }
        Err(e) => {
            let err = crate::error::classify("sts:GetCallerIdentity", e);
            checks.push(fail(
                "caller identity",
                &err,
                "sts:GetCallerIdentity",
                "check the connection's profile or access keys (and the role it assumes)",
            ));
            None
        }
    };

    // 2. The organization's management account, with consolidated billing.
    let orgs = Organizations::new(config);
    match orgs.facts().await {
        Ok(f) if Some(&f.management_account_id) == caller.as_ref() => checks.push(pass(
            "management account",
            format!(
                "{} is the management account of {} (feature set {})",
                f.management_account_id, f.id, f.feature_set
            ),
        )),
        Ok(f) => checks.push(Check {
            optional: false,
            name: "management account".into(),
            ok: false,
            detail: format!(
                "account {} is a member of {}; its management account is {}",
                caller.as_deref().unwrap_or("?"),
                f.id,
                f.management_account_id
            ),
            fix: Some(format!(
                "connect to the management (payer) account {}: billing views can only be made there",
                f.management_account_id
            )),
        }),
        Err(e) => checks.push(fail(
            "management account",
            &e,
            "organizations:DescribeOrganization",
            "this account is not in an AWS Organization: connect to your organization's management account",
        )),
    }

    // 3. The CUR table, and which CUR it is.
    let catalog = Catalog::new(config);
    match catalog
        .cur_table(&connection.cur_database, &connection.cur_table)
        .await
    {
        Ok(t) => checks.push(pass(
            "CUR table",
            format!(
                "{}.{} is a {} table, partitioned by {}",
                connection.cur_database,
                connection.cur_table,
                match t.flavor {
                    CurFlavor::Cur2 => "CUR 2.0",
                    CurFlavor::Legacy => "legacy CUR",
                },
                if t.partition_keys.is_empty() {
                    "nothing".into()
                } else {
                    t.partition_keys.join(", ")
                }
            ),
        )),
        Err(e) => checks.push(fail(
            "CUR table",
            &e,
            "glue:GetTable",
            &format!(
                "create a CUR 2.0 export (Billing and Cost Management > Data Exports) with its Athena table, or fix --cur-table (now {}.{})",
                connection.cur_database, connection.cur_table
            ),
        )),
    }

    // 4. The database the views go into.
    match catalog.database_exists(&connection.views_database).await {
        Ok(true) => checks.push(pass(
            "views database",
            format!("{} exists", connection.views_database),
        )),
        Ok(false) => checks.push(Check {
            optional: false,
            name: "views database".into(),
            ok: false,
            detail: format!(
                "the Glue database {} does not exist",
                connection.views_database
            ),
            fix: Some(format!(
                "run `CREATE DATABASE {}` in Athena, or fix --views-database",
                connection.views_database
            )),
        }),
        Err(e) => checks.push(fail(
            "views database",
            &e,
            "glue:GetDatabase",
            "create the database",
        )),
    }

    // 5. The Athena workgroup.
    let athena = aws_sdk_athena::Client::new(config);
    match athena
        .get_work_group()
        .work_group(&connection.workgroup)
        .send()
        .await
    {
        Ok(out) => {
            let state = out
                .work_group()
                .and_then(|w| w.state())
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "ENABLED".into());
            if state == "ENABLED" {
                checks.push(pass(
                    "Athena workgroup",
                    format!("{} is enabled", connection.workgroup),
                ));
            } else {
                checks.push(Check {
                    optional: false,
                    name: "Athena workgroup".into(),
                    ok: false,
                    detail: format!("{} is {state}", connection.workgroup),
                    fix: Some("enable the workgroup in the Athena console".into()),
                });
            }
        }
        Err(e) => {
            let err = crate::error::classify(&format!("workgroup {}", connection.workgroup), e);
            let err = match err {
                AwsError::Invalid(m) if m.contains("not found") || m.contains("does not exist") => {
                    AwsError::NotFound {
                        what: format!("workgroup {}", connection.workgroup),
                    }
                }
                other => other,
            };
            checks.push(fail(
                "Athena workgroup",
                &err,
                "athena:GetWorkGroup",
                &format!(
                    "create the Athena workgroup {} or fix --workgroup",
                    connection.workgroup
                ),
            ));
        }
    }

    // 6. The results location: write, read back and delete a probe object.
    let s3 = aws_sdk_s3::Client::new(config);
    checks.push(probe_results(&s3, connection).await);

    // 7. The billing API.
    let billing = aws_sdk_billing::Client::new(config);
    match billing.list_billing_views().max_results(1).send().await {
        Ok(_) => checks.push(pass("billing views API", "ListBillingViews answers".into())),
        Err(e) => checks.push(fail(
            "billing views API",
            &crate::error::classify("billing:ListBillingViews", e),
            "billing:ListBillingViews, billing:GetBillingView, billing:CreateBillingView, billing:UpdateBillingView, billing:DeleteBillingView, billing:ListTagsForResource and billing:ListSourceViewsForBillingView",
            "the billing API is only in the management account: connect to it",
        )),
    }
    // 8. Sharing views with customers' own accounts (`vi share`): optional.
    checks.push(sharing(config).await);
    Report { checks }
}

async fn probe_results(s3: &aws_sdk_s3::Client, connection: &Connection) -> Check {
    const NAME: &str = "Athena results location";
    let loc = &connection.results;
    let key = format!("{}costcarve-probe-{}.txt", loc.prefix, uuid::Uuid::new_v4());
    let body = format!("CostCarve probe {key}");
    let uri = format!("s3://{}/{key}", loc.bucket);
    let perm = format!(
        "s3:PutObject, s3:GetObject and s3:DeleteObject on arn:aws:s3:::{}/{}*",
        loc.bucket, loc.prefix
    );
    let missing = format!(
        "create the bucket {} or fix the connection's results location (now {})",
        loc.bucket,
        loc.uri()
    );
    if let Err(e) = s3
        .put_object()
        .bucket(&loc.bucket)
        .key(&key)
        .body(body.clone().into_bytes().into())
        .send()
        .await
    {
        return fail(
            NAME,
            &crate::error::classify(&format!("writing {uri}"), e),
            &perm,
            &missing,
        );
    }
    let read = match s3.get_object().bucket(&loc.bucket).key(&key).send().await {
        Ok(out) => out
            .body
            .collect()
            .await
            .map(|b| b.into_bytes().to_vec())
            .ok(),
        Err(e) => {
            return fail(
                NAME,
                &crate::error::classify(&format!("reading {uri}"), e),
                &perm,
                &missing,
            )
        }
    };
    let _ = s3
        .delete_object()
        .bucket(&loc.bucket)
        .key(&key)
        .send()
        .await;
    if read.as_deref() == Some(body.as_bytes()) {
        pass(NAME, format!("wrote, read back and removed {uri}"))
    } else {
        Check {
            optional: false,
            name: NAME.into(),
            ok: false,
            detail: format!("{uri} read back differently than written"),
            fix: Some("check the bucket's lifecycle or object lock settings".into()),
        }
    }
}

/// What `vi share` needs the connection's identity to be allowed.
pub const SHARING_ACTIONS: &str = "ram:CreateResourceShare, ram:AssociateResourceShare, ram:DisassociateResourceShare, ram:DeleteResourceShare, ram:GetResourceShares, ram:GetResourceShareAssociations, billing:PutResourcePolicy, billing:DeleteResourcePolicy, billing:GetResourcePolicy";

/// Whether RAM sharing with the organization is enabled and RAM answers:
/// what `vi share` needs. Optional: provisioning does not wait for it.
async fn sharing(config: &aws_config::SdkConfig) -> Check {
    let name = "sharing with customers (vi share; optional)";
    let optional = |ok: bool, detail: String, fix: Option<String>| Check {
        optional: true,
        name: name.into(),
        ok,
        detail,
        fix,
    };
    let orgs = aws_sdk_organizations::Client::new(config);
    let enabled = match orgs.list_aws_service_access_for_organization().send().await {
        Ok(out) => out
            .enabled_service_principals()
            .iter()
            .any(|p| p.service_principal() == Some("ram.amazonaws.com")),
        Err(e) => {
            let err =
                crate::error::classify("organizations:ListAWSServiceAccessForOrganization", e);
            return optional(
                false,
                err.to_string(),
                Some("grant organizations:ListAWSServiceAccessForOrganization to see whether RAM sharing with the organization is enabled".into()),
            );
        }
    };
    if !enabled {
        return optional(
            false,
            "RAM sharing with AWS Organizations is not enabled in this payer".into(),
            Some(format!(
                "run `aws ram enable-sharing-with-aws-organization` once in the payer, and grant {SHARING_ACTIONS}; needed only to share a customer's view with the customer's own account"
            )),
        );
    }
    let ram = aws_sdk_ram::Client::new(config);
    match ram
        .get_resource_shares()
        .resource_owner(aws_sdk_ram::types::ResourceOwner::SelfValue)
        .max_results(1)
        .send()
        .await
    {
        Ok(_) => optional(
            true,
            format!(
                "RAM sharing with the organization is enabled; vi share uses {SHARING_ACTIONS}"
            ),
            None,
        ),
        Err(e) => {
            let err = crate::error::classify("ram:GetResourceShares", e);
            optional(
                false,
                err.to_string(),
                Some(format!("grant {SHARING_ACTIONS}")),
            )
        }
    }
}
