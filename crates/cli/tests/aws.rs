//! `costcarve --connection ...` against the AWS emulators (moto + the billing
//! emulator, started by `tests/emulators up`), as a user runs it; what it
//! did is then checked from outside with separate SDK clients, the
//! emulators' control APIs and the OS keyring. The keyring is the Secret
//! Service of `scripts/private-keyring` (a throwaway gnome-keyring on a
//! private D-Bus session), as `scripts/test` runs them; every test here
//! refuses to run against the developer's own keychain.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use chrono::Datelike;
use costcarve_aws::secrets::{Keyring, SecretKey, SecretStore};
use serde_json::{json, Value};

use crate::support::{json_body, private_keyring, request, sdk_config, Emulators, PAYER};

/// One emulated payer, a config dir with its connection `emu`, and app data
/// dirs for as many desktops as a test wants.
struct Payer {
    emu: Emulators,
    home: tempfile::TempDir,
}

impl Payer {
    fn up(extra: &[&str]) -> Self {
        // Every connection add or remove, and every integration, writes to
        // the OS keyring.
        private_keyring();
        let emu = Emulators::up(extra);
        let payer = Self {
            emu,
            home: tempfile::tempdir().unwrap(),
        };
        let args: Vec<String> = payer.emu.env["COSTCARVE_EMU_CONNECTION_ARGS"]
            .split_whitespace()
            .map(String::from)
            .collect();
        let mut add = vec!["connection", "add", "emu"];
        add.extend(args.iter().map(String::as_str));
        payer.ok(&add);
        payer
    }

    fn data_dir(&self, desktop: &str) -> PathBuf {
        self.home.path().join("data").join(desktop)
    }

    fn command(&self, desktop: &str, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_costcarve"));
        for (k, v) in &self.emu.env {
            if k.starts_with("AWS_") {
                c.env(k, v);
            }
        }
        c.env_remove("COSTCARVE_WORKSPACE")
            .env_remove("COSTCARVE_CONNECTION")
            .env_remove("AWS_PROFILE")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("COSTCARVE_CONFIG_DIR", self.home.path().join("config"))
            .env("COSTCARVE_DATA_DIR", self.data_dir(desktop))
            .args(args);
        c
    }

    fn run_on(&self, desktop: &str, args: &[&str]) -> Output {
        self.command(desktop, args)
            .output()
            .expect("costcarve runs")
    }

    fn ok_on(&self, desktop: &str, args: &[&str]) -> (String, String) {
        let out = self.run_on(desktop, args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    fn ok(&self, args: &[&str]) -> String {
        self.ok_on("a", args).0
    }

    /// `costcarve --connection emu ARGS` on desktop `a`.
    fn cc(&self, args: &[&str]) -> (String, String) {
        let mut all = vec!["--connection", "emu"];
        all.extend_from_slice(args);
        self.ok_on("a", &all)
    }

    fn cc_on(&self, desktop: &str, args: &[&str]) -> (String, String) {
        let mut all = vec!["--connection", "emu"];
        all.extend_from_slice(args);
        self.ok_on(desktop, &all)
    }

    /// `vi verify NAME --json`, expecting exit `code`: the report and stderr.
    fn verify(&self, name: &str, code: i32) -> (Value, String) {
        let out = self.run_on(
            "a",
            &["--connection", "emu", "vi", "verify", name, "--json"],
        );
        let (stdout, stderr) = (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        );
        assert_eq!(
            out.status.code(),
            Some(code),
            "verify {name}: {stdout}{stderr}"
        );
        (serde_json::from_str(&stdout).unwrap(), stderr)
    }

    /// Runs and expects exit `code`; returns stderr.
    fn fails(&self, args: &[&str], code: i32) -> String {
        let mut all = vec!["--connection", "emu"];
        all.extend_from_slice(args);
        let out = self.run_on("a", &all);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("error: "), "{err}");
        err
    }

    fn moto(&self, method: &str, path: &str, body: &str) -> Value {
        let reply = request(&self.emu.env["COSTCARVE_EMU_MOTO_URL"], method, path, body);
        assert!(reply.starts_with("HTTP/1.1 20"), "{method} {path}: {reply}");
        if reply.ends_with("\r\n\r\n") {
            return Value::Null; // moto's own endpoints answer 201 with no body
        }
        json_body(&reply)
    }

    fn billing(&self, method: &str, path: &str, body: &str) -> Value {
        let reply = request(
            &self.emu.env["COSTCARVE_EMU_BILLING_URL"],
            method,
            path,
            body,
        );
        assert!(reply.starts_with("HTTP/1.1 20"), "{method} {path}: {reply}");
        json_body(&reply)
    }

    /// Billing calls of one operation seen by the emulator.
    fn billing_calls(&self, op: &str) -> u64 {
        self.billing("GET", "/_emulator/calls", "")["counts"][op]["calls"]
            .as_u64()
            .unwrap_or(0)
    }

    /// Every custom billing view, read with a separate SDK client:
    /// (arn, name, description, accounts).
    async fn billing_views(&self) -> Vec<View> {
        let conf = sdk_config(&self.emu.env["COSTCARVE_EMU_BILLING_URL"]).await;
        let client = aws_sdk_billing::Client::new(&conf);
        let list = client
            .list_billing_views()
            .billing_view_types(aws_sdk_billing::types::BillingViewType::Custom)
            .send()
            .await
            .unwrap();
        let mut out = Vec::new();
        for v in list.billing_views() {
            let arn = v.arn().unwrap().to_string();
            let got = client.get_billing_view().arn(&arn).send().await.unwrap();
            let view = got.billing_view().unwrap();
            let tags = client
                .list_tags_for_resource()
                .resource_arn(&arn)
                .send()
                .await
                .unwrap();
            out.push(View {
                arn,
                name: view.name().unwrap_or_default().to_string(),
                description: view.description().unwrap_or_default().to_string(),
                accounts: view
                    .data_filter_expression()
                    .and_then(|e| e.dimensions())
                    .map(|d| d.values().iter().cloned().collect())
                    .unwrap_or_default(),
                filter_other: view.data_filter_expression().is_some_and(|e| {
                    e.tags().is_some() || e.cost_categories().is_some() || e.time_range().is_some()
                }),
                integration_id: tags
                    .resource_tags()
                    .iter()
                    .find(|t| t.key() == "costcarve-integration-id")
                    .and_then(|t| t.value())
                    .map(String::from),
            });
        }
        out
    }

    /// The Athena views CostCarve could have made, read from Glue with a
    /// separate client: name → the SQL Athena stored.
    async fn glue_views(&self) -> Vec<(String, String)> {
        let conf = sdk_config(&self.emu.env["COSTCARVE_EMU_MOTO_URL"]).await;
        let glue = aws_sdk_glue::Client::new(&conf);
        let out = glue
            .get_tables()
            .database_name("costcarve_views")
            .send()
            .await
            .unwrap();
        out.table_list()
            .iter()
            .map(|t| {
                let text = t.view_original_text().unwrap_or_default();
                let encoded = text
                    .trim_start_matches("/* Presto View: ")
                    .trim_end_matches(" */");
                use base64::Engine as _;
                let json = base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .unwrap();
                let v: Value = serde_json::from_slice(&json).unwrap();
                (
                    t.name().to_string(),
                    v["originalSql"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// Every Athena query text, oldest first, read with a separate client.
    async fn athena_queries(&self) -> Vec<String> {
        self.athena_executions()
            .await
            .into_iter()
            .map(|(q, _)| q)
            .collect()
    }

    /// Every Athena query execution: (text, state), oldest first.
    async fn athena_executions(&self) -> Vec<(String, String)> {
        let conf = sdk_config(&self.emu.env["COSTCARVE_EMU_MOTO_URL"]).await;
        let athena = aws_sdk_athena::Client::new(&conf);
        let ids = athena
            .list_query_executions()
            .work_group("costcarve")
            .send()
            .await
            .unwrap();
        let mut out = Vec::new();
        for id in ids.query_execution_ids() {
            let q = athena
                .get_query_execution()
                .query_execution_id(id)
                .send()
                .await
                .unwrap();
            let q = q.query_execution().unwrap();
            out.push((
                q.query().unwrap().to_string(),
                q.status().unwrap().state().unwrap().as_str().to_string(),
            ));
        }
        out
    }

    /// An independent sum over the seeded CUR: `tests/harness/cur_sums.py`
    /// reads the Parquet objects back from moto's S3 and sums them with
    /// pyarrow (no SQL, none of the emulators' query code). `args` are its
    /// flags (`--accounts`, `--from`, `--to`, `--group-by`, `--metric`, ...).
    fn cur_sums(&self, args: &[&str]) -> Value {
        self.emu.cur_sums(args)
    }

    /// Accounts of the emulated org with this `customer` tag.
    fn customer_accounts(&self, customer: &str) -> Vec<String> {
        let (out, _) = self.cc(&["accounts", "--json"]);
        let all: Vec<Value> = serde_json::from_str(&out).unwrap();
        all.iter()
            .filter(|a| a["tags"]["customer"] == customer)
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect()
    }
}

#[derive(Debug, Clone)]
struct View {
    arn: String,
    name: String,
    description: String,
    accounts: BTreeSet<String>,
    /// The filter holds a tag, cost category or time range.
    filter_other: bool,
    integration_id: Option<String>,
}

/// An integration's secret, read from the OS keyring as the product reads it.
fn secret(integration_id: &str) -> Option<String> {
    Keyring
        .get(&SecretKey::integration(PAYER, integration_id))
        .unwrap()
        .map(|s| s.expose().to_string())
}

fn set(ids: &[String]) -> BTreeSet<String> {
    ids.iter().cloned().collect()
}

fn accounts_in(sql: &str) -> BTreeSet<String> {
    sql.split_once("IN (")
        .map(|(_, r)| r.split_once(')').unwrap().0)
        .unwrap_or("")
        .split(',')
        .map(|s| s.trim().trim_matches('\'').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn show(p: &Payer, name: &str) -> Value {
    serde_json::from_str(&p.cc(&["vi", "show", name, "--json"]).0).unwrap()
}

/// Asserts that nothing of any integration is left: no billing view, no
/// Athena view, and (for the ids given) no keyring secret.
async fn nothing_left(p: &Payer, ids: &[String]) {
    assert!(
        p.billing_views().await.is_empty(),
        "{:?}",
        p.billing_views().await
    );
    assert!(
        p.glue_views().await.is_empty(),
        "{:?}",
        p.glue_views().await
    );
    for id in ids {
        assert_eq!(secret(id), None, "secret of {id} left in the keyring");
    }
}

#[tokio::test]
async fn full_lifecycle_connect_check_list_create_update_query_delete() {
    let p = Payer::up(&["--accounts", "12", "--health-delay-seconds", "0.3"]);
    // Connect and check prerequisites.
    let list = p.ok(&["connection", "list"]);
    assert!(
        list.contains("emu") && list.contains("costcarve_cur.cur2"),
        "{list}"
    );
    let (report, _) = p.ok_on("a", &["connection", "test", "emu"]);
    for check in [
        "caller identity",
        "management account",
        "CUR table",
        "views database",
        "Athena workgroup",
        "Athena results location",
        "billing views API",
    ] {
        assert!(report.contains(&format!("ok   {check}")), "{report}");
    }
    assert!(report.contains("CUR 2.0"), "{report}");

    // The organization.
    let (out, err) = p.cc(&["accounts", "--json"]);
    let accounts: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(accounts.len(), 13, "12 members and the payer");
    assert!(accounts
        .iter()
        .any(|a| a["unit"].as_str().unwrap().starts_with("Customers/")));
    assert!(err.contains("Organizations calls"), "{err}");

    // Create.
    let acme = p.customer_accounts(&customer_of(&accounts, 0));
    assert!(acme.len() >= 2, "{acme:?}");
    // The review (dry run) shows what provisioning then sends, to the byte.
    let (review, _) = p.cc(&[
        "vi",
        "create",
        "Acme Corp",
        "--accounts",
        &acme.join(","),
        "--dry-run",
    ]);
    assert!(
        p.billing_views().await.is_empty(),
        "a dry run makes nothing"
    );
    let lines: Vec<&str> = review.lines().collect();
    let at = |label: &str| lines.iter().position(|l| *l == label).unwrap() + 1;
    let (reviewed_ddl, reviewed_filter) =
        (lines[at("view DDL:")], lines[at("billing view filter:")]);
    let (out, _) = p.cc(&["vi", "create", "Acme Corp", "--accounts", &acme.join(",")]);
    assert!(out.contains("created 'Acme Corp'"), "{out}");
    let executed: Vec<String> = p
        .athena_queries()
        .await
        .into_iter()
        .filter(|q| q.starts_with("CREATE OR REPLACE VIEW"))
        .collect();
    assert_eq!(
        executed,
        vec![reviewed_ddl.to_string()],
        "the DDL Athena ran is the reviewed one"
    );
    let views = p.billing_views().await;
    assert_eq!(views.len(), 1);
    let view = &views[0];
    let filter: Value = serde_json::from_str(reviewed_filter).unwrap();
    assert_eq!(
        filter["dimensions"]["key"], "LINKED_ACCOUNT",
        "{reviewed_filter}"
    );
    let reviewed_accounts: BTreeSet<String> = filter["dimensions"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        reviewed_accounts, view.accounts,
        "the billing view filters the reviewed accounts"
    );
    assert_eq!(view.name, "costcarve-Acme Corp");
    assert_eq!(view.accounts, set(&acme));
    let id = view
        .integration_id
        .clone()
        .expect("tagged with the integration id");
    assert!(view.description.contains("rev=1"), "{}", view.description);
    let glue = p.glue_views().await;
    assert_eq!(glue.len(), 1);
    assert_eq!(glue[0].0, "vi_acme_corp");
    assert_eq!(accounts_in(&glue[0].1), set(&acme));
    assert!(
        glue[0].1.contains("\"costcarve_cur\".\"cur2\""),
        "{}",
        glue[0].1
    );
    assert_eq!(
        secret(&id).map(|s| s.len()),
        Some(64),
        "the integration secret is in the keyring"
    );
    let shown = show(&p, "acme corp");
    assert_eq!(shown["status"]["state"], "healthy");
    assert_eq!(shown["billing_view_arn"], view.arn.as_str());

    // Update: remove one account, add one from elsewhere; both views read back.
    let other = accounts
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .find(|a| !acme.contains(a) && a != PAYER)
        .unwrap();
    let (out, _) = p.cc(&[
        "vi",
        "update",
        "Acme Corp",
        "--remove",
        &acme[0],
        "--add",
        &other,
    ]);
    assert!(
        out.contains("(+1 -1)") && out.contains("validated"),
        "{out}"
    );
    let mut want = set(&acme);
    want.remove(&acme[0]);
    want.insert(other.clone());
    let views = p.billing_views().await;
    assert_eq!(views[0].accounts, want);
    assert!(
        views[0].description.contains("rev=2"),
        "{}",
        views[0].description
    );
    assert_eq!(accounts_in(&p.glue_views().await[0].1), want);

    // Costs through the billing view, as the CUR says for exactly these
    // accounts; closed months cost nothing the second time.
    let (from, to) = (month_start(&p, 4), month_start(&p, 2));
    let accounts_arg = want.iter().cloned().collect::<Vec<_>>().join(",");
    p.moto("DELETE", "/moto-api/costcarve/ce-requests", "");
    let cost = [
        "cost",
        "Acme Corp",
        "--from",
        &from,
        "--to",
        &to,
        "--group-by",
        "service",
        "--json",
    ];
    let (out, err) = p.cc(&cost);
    let series: Value = serde_json::from_str(&out).unwrap();
    let independent = p.cur_sums(&[
        "--accounts",
        &accounts_arg,
        "--from",
        &from,
        "--to",
        &to,
        "--group-by",
        "service",
    ]);
    assert!(
        independent["rows"].as_u64().unwrap() > 0,
        "the customer has CUR rows"
    );
    assert_same_figures("monthly by service", &series, &independent);
    assert!(
        err.contains("Cost Explorer requests: 1 (USD 0.01)"),
        "{err}"
    );
    let sent = p.moto("GET", "/moto-api/costcarve/ce-requests", "");
    let sent = sent.as_array().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0]["params"]["BillingViewArn"],
        view.arn.as_str(),
        "asked through the view"
    );
    let (again, err) = p.cc(&cost);
    assert_eq!(again, out, "the same answer from the cache");
    assert!(
        err.contains("Cost Explorer requests: 0 (USD 0.00)"),
        "{err}"
    );
    assert_eq!(
        p.moto("GET", "/moto-api/costcarve/ce-requests", "")
            .as_array()
            .unwrap()
            .len(),
        1,
        "closed months opened a second time made no Cost Explorer request"
    );
    // Every metric, by account (exactly the integration's), daily and with exclusions.
    for (metric, group, granularity, exclude) in [
        ("unblended", "account", "monthly", ""),
        ("net_unblended", "account", "monthly", ""),
        ("amortized", "line_item_type", "monthly", ""),
        ("unblended", "region", "daily", "Credit,Refund,Tax"),
    ] {
        // The same question, asked of the app and of the independent sum.
        let mut question = vec![
            "--from",
            &from,
            "--to",
            &to,
            "--metric",
            metric,
            "--group-by",
            group,
            "--granularity",
            granularity,
        ];
        if !exclude.is_empty() {
            question.extend(["--exclude", exclude]);
        }
        let args = [&["cost", "Acme Corp"][..], &question, &["--json"]].concat();
        let independent_args = [&["--accounts", &accounts_arg][..], &question].concat();
        let series: Value = serde_json::from_str(&p.cc(&args).0).unwrap();
        assert_same_figures(
            &format!("{metric} by {group} {granularity} -{exclude}"),
            &series,
            &p.cur_sums(&independent_args),
        );
        if group == "account" {
            let seen: BTreeSet<String> = cli_points(&series)
                .keys()
                .map(|(_, k)| k[0].clone())
                .collect();
            assert_eq!(seen, want, "no other account's figures");
        }
    }

    // By a cost allocation tag, named as the CUR names it (`user_team`):
    // Cost Explorer knows it as `team` and answers `team$value`; the app
    // shows the value, as it does locally ("" for untagged costs).
    let (out, _) = p.cc(&[
        "cost",
        "Acme Corp",
        "--from",
        &from,
        "--to",
        &to,
        "--group-by",
        "tag:user_team",
        "--json",
    ]);
    let series: Value = serde_json::from_str(&out).unwrap();
    let mut independent = p.cur_sums(&[
        "--accounts",
        &accounts_arg,
        "--from",
        &from,
        "--to",
        &to,
        "--group-by",
        "tag:team",
    ]);
    for point in independent["points"].as_array_mut().unwrap() {
        let key = point["keys"][0]
            .as_str()
            .unwrap()
            .trim_start_matches("team$")
            .to_string();
        point["keys"] = json!([key]);
    }
    let values: BTreeSet<String> = cli_points(&independent)
        .keys()
        .map(|(_, k)| k[0].clone())
        .collect();
    assert!(
        values.len() > 2,
        "the customer's costs carry several teams: {values:?}"
    );
    assert_same_figures("unblended by tag:user_team", &series, &independent);

    // Forecast through the view.
    let (out, _) = p.cc(&["forecast", "Acme Corp", "--to", "2027-06-01", "--json"]);
    let forecast: Value = serde_json::from_str(&out).unwrap();
    assert!(!forecast["points"].as_array().unwrap().is_empty());
    let sent = p.moto("GET", "/moto-api/costcarve/ce-requests", "");
    let last = sent.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "GetCostForecast");
    assert_eq!(last["params"]["BillingViewArn"], view.arn.as_str());

    // Confined SQL on Athena: the VI's view, the connection's workgroup; the
    // rows are its accounts' and the sums the CUR's.
    let (out, _) = p.cc(&[
        "sql", "Acme Corp",
        "select line_item_product_code as service, sum(line_item_unblended_cost) as cost from cur group by 1",
        "--json",
    ]);
    let result: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(result["columns"], serde_json::json!(["service", "cost"]));
    let by_code = p.cur_sums(&[
        "--accounts",
        &accounts_arg,
        "--from",
        "2000-01-01",
        "--to",
        "2100-01-01",
        "--granularity",
        "none",
        "--group-by",
        "product_code",
    ]);
    let sql_rows = |result: &Value| -> std::collections::BTreeMap<String, f64> {
        result["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r[0].as_str().unwrap().to_string(), num(&r[1])))
            .collect()
    };
    let independent_rows = |sums: &Value| -> std::collections::BTreeMap<String, f64> {
        sums["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["keys"][0].as_str().unwrap().to_string(),
                    num(&p["amount"]),
                )
            })
            .collect()
    };
    let (got, expected) = (sql_rows(&result), independent_rows(&by_code));
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (k, w) in &expected {
        assert!(
            (got[k] - w).abs() < 1e-6 * w.abs().max(1.0),
            "{k}: Athena {} vs CUR {w}",
            got[k]
        );
    }
    let queries = p.athena_queries().await;
    let sent = queries
        .iter()
        .find(|q| q.contains("sum("))
        .expect("the query ran on Athena");
    assert!(
        sent.contains("\"costcarve_views\".\"vi_acme_corp\""),
        "{sent}"
    );
    assert!(!sent.contains("cur2"), "{sent}");
    // An escape is refused before Athena sees it.
    let before = p.athena_queries().await.len();
    let err = p.fails(&["sql", "Acme Corp", "select * from costcarve_cur.cur2"], 3);
    assert!(err.contains("only the table `cur`"), "{err}");
    assert_eq!(p.athena_queries().await.len(), before);

    // Rename: the billing view is renamed, the Athena view replaced.
    p.cc(&["vi", "update", "Acme Corp", "--rename", "Acme"]);
    let views = p.billing_views().await;
    assert_eq!((views.len(), views[0].name.as_str()), (1, "costcarve-Acme"));
    assert_eq!(views[0].arn, view.arn, "the same billing view");
    let glue = p.glue_views().await;
    assert_eq!(
        glue.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["vi_acme"]
    );
    assert_eq!(accounts_in(&glue[0].1), want);

    // A wrong billing view filter and a wrong view SQL, set from outside (a
    // console edit, another tool): the figures show them, they are not canned.
    let intruders: Vec<String> = accounts
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .filter(|a| !want.contains(a))
        .take(2)
        .collect();
    let intruders_arg = intruders.join(",");
    let billing =
        aws_sdk_billing::Client::new(&sdk_config(&p.emu.env["COSTCARVE_EMU_BILLING_URL"]).await);
    billing
        .update_billing_view()
        .arn(&view.arn)
        .data_filter_expression(linked_accounts(&intruders))
        .send()
        .await
        .unwrap();
    p.billing("POST", "/_emulator/settle", "{}");
    let (month, next) = (month_start(&p, 5), month_start(&p, 4)); // not cached yet
                                                                  // The app no longer answers through it ...
    let question = ["--from", &month, "--to", &next, "--group-by", "account"];
    let err = p.fails(&[&["cost", "Acme"][..], &question].concat(), 1);
    assert!(err.contains("is not healthy"), "{err}");
    // ... while Cost Explorer, asked directly through the view, answers with
    // the intruders' figures: the emulated Cost Explorer computes through the
    // filter as it stands, nothing is canned.
    let ce = costcarve_aws::cost_explorer::CostExplorer::new(
        &sdk_config(&p.emu.env["COSTCARVE_EMU_MOTO_URL"]).await,
    );
    let mut q =
        costcarve_core::cost::CostQuery::new("Acme", month.parse().unwrap(), next.parse().unwrap());
    q.group_by = vec![costcarve_core::cost::Dimension::Account];
    let series = ce.cost(&view.arn.parse().unwrap(), &q).await.unwrap();
    assert_same_figures(
        "through a billing view someone pointed at other accounts",
        &serde_json::to_value(&series).unwrap(),
        &p.cur_sums(&[&["--accounts", &intruders_arg][..], &question].concat()),
    );
    p.cc(&["vi", "repair", "Acme"]);
    assert_eq!(show(&p, "Acme")["status"]["state"], "healthy");
    // A view SQL set from outside: confined SQL refuses to run on it.
    let wrong_sql = format!(
        "CREATE OR REPLACE VIEW \"costcarve_views\".\"vi_acme\" AS SELECT * FROM \"costcarve_cur\".\"cur2\" \
         WHERE line_item_usage_account_id IN ({})",
        intruders.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(", ")
    );
    athena_outside(&p, &wrong_sql).await;
    let err = p.fails(
        &[
            "sql",
            "Acme",
            "select line_item_product_code as service, sum(line_item_unblended_cost) as cost from cur group by 1",
        ],
        1,
    );
    assert!(err.contains("is not healthy"), "{err}");
    assert!(
        intruders.iter().all(|a| !err.contains(a.as_str())) || err.contains("only in the"),
        "{err}"
    );

    // Delete: nothing is left; a second delete finds nothing to delete.
    let (out, _) = p.cc(&["vi", "delete", "Acme"]);
    assert!(out.contains("deleted 'Acme'"), "{out}");
    nothing_left(&p, &[id]).await;
    let err = p.fails(&["vi", "delete", "Acme"], 2);
    assert!(err.contains("Acme"), "{err}");
}

/// The first day of the billing period `back` months before the open one,
/// from the partitions `up` seeded (the emulated CUR's months, not the clock).
/// CostCarve's keyring entry as libsecret's `secret-tool` finds it in the
/// Secret Service: from outside the app.
fn secret_tool_lookup(entry: &str) -> Output {
    Command::new("secret-tool")
        .args(["lookup", "service", "costcarve", "username", entry])
        .output()
        .expect("secret-tool (libsecret-tools) runs")
}

/// The check named so in a `vi verify --json` report.
fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {report}"))
}

/// How many billing periods the emulated payer's CUR holds.
fn months_seeded(p: &Payer) -> usize {
    let state: Value =
        serde_json::from_slice(&std::fs::read(p.emu.state_dir().join("state.json")).unwrap())
            .unwrap();
    state["seed"]["cur"]["partitions"].as_array().unwrap().len()
}

/// The first day after the seeded CUR's last month.
fn after_cur(p: &Payer) -> String {
    let last = chrono::NaiveDate::parse_from_str(&month_start(p, 0), "%Y-%m-%d").unwrap();
    (last + chrono::Months::new(1)).to_string()
}

fn month_start(p: &Payer, back: usize) -> String {
    let state: Value =
        serde_json::from_slice(&std::fs::read(p.emu.state_dir().join("state.json")).unwrap())
            .unwrap();
    let periods = state["seed"]["cur"]["partitions"].as_array().unwrap();
    format!("{}-01", periods[periods.len() - 1 - back].as_str().unwrap())
}

fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap_or_else(|_| panic!("not a number: {s}")),
        v => v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")),
    }
}

/// A cost series from the CLI (`cost --json`) as {(period, keys): amount}.
fn cli_points(series: &Value) -> std::collections::BTreeMap<(String, Vec<String>), f64> {
    series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let keys = p["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap().to_string());
            (
                (p["period"].as_str().unwrap().to_string(), keys.collect()),
                num(&p["amount"]),
            )
        })
        .collect()
}

/// Asserts the CLI's series equals the independent sum, point by point (to a
/// cent's millionth: Cost Explorer answers with 10 decimals).
fn assert_same_figures(what: &str, cli: &Value, independent: &Value) {
    let got = cli_points(cli);
    let want = cli_points(independent);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{what}: the same periods and groups"
    );
    for (k, w) in &want {
        assert!(
            (got[k] - w).abs() < 1e-6,
            "{what} {k:?}: app {} vs CUR {w}",
            got[k]
        );
    }
    assert!(
        (num(&cli["total"]) - num(&independent["total"])).abs() < 1e-5,
        "{what}: total {} vs {}",
        cli["total"],
        independent["total"]
    );
}

fn customer_of(accounts: &[Value], n: usize) -> String {
    let customers: BTreeSet<String> = accounts
        .iter()
        .filter_map(|a| a["tags"]["customer"].as_str())
        .filter(|c| *c != "internal")
        .map(String::from)
        .collect();
    customers.into_iter().nth(n).expect("seeded customers")
}

#[tokio::test]
async fn bad_input_is_rejected_before_any_aws_call() {
    let p = Payer::up(&["--accounts", "8"]);
    let accounts: Vec<Value> = serde_json::from_str(&p.cc(&["accounts", "--json"]).0).unwrap();
    let ids: Vec<String> = accounts
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .filter(|a| a != PAYER)
        .collect();
    p.cc(&["vi", "create", "Existing", "--accounts", &ids[0]]);
    p.billing("DELETE", "/_emulator/calls", "");
    let athena_before = p.athena_queries().await.len();

    let too_many: Vec<String> = (0..2001)
        .map(|i| format!("{:012}", 100_000_000_000u64 + i))
        .collect();
    for (args, says) in [
        (
            vec!["vi", "create", "bad/name", "--accounts", &ids[1]],
            "cannot be an integration name",
        ),
        (
            vec!["vi", "create", "Fine", "--accounts", "12345"],
            "12 digits",
        ),
        (
            vec!["vi", "create", "Fine", "--accounts", ""],
            "at least one account",
        ),
        (
            vec!["vi", "create", "Fine", "--accounts", &too_many.join(",")],
            "at most 2000",
        ),
        (
            vec!["vi", "create", "Fine", "--tag", "customer"],
            "KEY=VALUE",
        ),
    ] {
        let err = p.fails(&args, 2);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let calls = p.billing("GET", "/_emulator/calls", "");
    assert_eq!(
        calls["calls"],
        serde_json::json!([]),
        "refused before any AWS call"
    );
    // Rules that need the organization or the other integrations: refused
    // after reading them, before anything is made.
    for (args, says) in [
        (
            vec!["vi", "create", "Fine", "--accounts", "999999999999"],
            "999999999999",
        ),
        (
            vec!["vi", "create", "Fine", "--ou", "Customers/Nobody"],
            "no OU 'Customers/Nobody'",
        ),
        (
            vec!["vi", "create", "existing", "--accounts", &ids[1]],
            "already",
        ),
        (
            vec!["vi", "create", "Other", "--accounts", &ids[0]],
            "Existing",
        ),
        (
            vec!["vi", "update", "Existing", "--remove", &ids[0]],
            "at least one account",
        ),
    ] {
        let err = p.fails(&args, 2);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    for op in [
        "CreateBillingView",
        "UpdateBillingView",
        "DeleteBillingView",
    ] {
        assert_eq!(p.billing_calls(op), 0, "{op}");
    }
    assert_eq!(
        p.athena_queries().await.len(),
        athena_before,
        "no Athena DDL ran"
    );

    // Connection settings are checked before anything is saved.
    for (args, says) in [
        (
            vec![
                "connection",
                "add",
                "x",
                "--cur-table",
                "nodot",
                "--workgroup",
                "w",
                "--results",
                "s3://bucket-x/p",
            ],
            "DB.TABLE",
        ),
        (
            vec![
                "connection",
                "add",
                "x",
                "--cur-table",
                "d.t",
                "--workgroup",
                "w",
                "--results",
                "bucket/p",
            ],
            "s3://",
        ),
        (
            vec![
                "connection",
                "add",
                "x",
                "--cur-table",
                "d.t",
                "--workgroup",
                "w",
                "--results",
                "s3://bucket-x/p",
                "--role-arn",
                "arn:aws:iam::1:role/x",
            ],
            "role ARN",
        ),
    ] {
        let out = p.run_on("a", &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let list = p.ok(&["connection", "list"]);
    assert!(!list.contains("x  ("), "{list}");
}

/// Creates `name` over the first `n` accounts of a customer; returns (accounts, id).
async fn create(p: &Payer, name: &str, customer: usize, n: usize) -> (Vec<String>, String) {
    let accounts: Vec<Value> = serde_json::from_str(&p.cc(&["accounts", "--json"]).0).unwrap();
    let mut ids = p.customer_accounts(&customer_of(&accounts, customer));
    ids.truncate(n);
    p.cc(&["vi", "create", name, "--accounts", &ids.join(",")]);
    let id = show(p, name)["integration"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    (ids, id)
}

#[tokio::test]
async fn a_fault_at_each_step_of_create_leaves_nothing_behind() {
    let p = Payer::up(&["--accounts", "8", "--health-delay-seconds", "0.2"]);
    let accounts: Vec<Value> = serde_json::from_str(&p.cc(&["accounts", "--json"]).0).unwrap();
    let ids = p.customer_accounts(&customer_of(&accounts, 0)).join(",");
    p.cc(&["connection", "list"]);
    let fault = |op: &str| {
        format!(
            r#"{{"kind": "error", "operation": "{op}", "nth": 1, "error_type": "InternalServerException", "status": 500, "message": "injected"}}"#
        )
    };
    // The billing view cannot be made.
    p.billing("POST", "/_emulator/faults", &fault("CreateBillingView"));
    let err = p.fails(&["vi", "create", "Acme", "--accounts", &ids], 1);
    assert!(
        err.contains("creating the billing view failed") && err.contains("nothing was left behind"),
        "{err}"
    );
    nothing_left(&p, &[]).await;
    // The Athena view cannot be made: Athena's reason is shown.
    p.moto(
        "POST",
        "/moto-api/costcarve/athena-faults",
        r#"{"match": "CREATE OR REPLACE VIEW", "times": 1, "state": "FAILED", "reason": "HIVE_METASTORE_ERROR: injected"}"#,
    );
    let err = p.fails(&["vi", "create", "Acme", "--accounts", &ids], 1);
    assert!(err.contains("HIVE_METASTORE_ERROR: injected"), "{err}");
    nothing_left(&p, &[]).await;
    // Reading the billing view back fails while waiting for it.
    p.billing("POST", "/_emulator/faults", &fault("GetBillingView"));
    let err = p.fails(&["vi", "create", "Acme", "--accounts", &ids], 1);
    assert!(err.contains("waiting for the billing view failed"), "{err}");
    nothing_left(&p, &[]).await;
    // And then it works.
    p.cc(&["vi", "create", "Acme", "--accounts", &ids]);
    assert_eq!(p.billing_views().await.len(), 1);
}

#[tokio::test]
async fn a_fault_during_update_or_delete_restores_or_finishes() {
    let p = Payer::up(&["--accounts", "8", "--health-delay-seconds", "0.2"]);
    let (ids, id) = create(&p, "Acme", 0, 3).await;
    let before = set(&ids);
    let fault = |op: &str, nth: u32| {
        format!(
            r#"{{"kind": "error", "operation": "{op}", "nth": {nth}, "error_type": "InternalServerException", "status": 500, "message": "injected"}}"#
        )
    };

    // The billing view update fails: the Athena view (changed meanwhile) is put back.
    p.billing("POST", "/_emulator/faults", &fault("UpdateBillingView", 1));
    let err = p.fails(&["vi", "update", "Acme", "--remove", &ids[0]], 1);
    assert!(err.contains("previous accounts were restored"), "{err}");
    assert_eq!(both(&p).await, (before.clone(), before.clone()));
    assert_eq!(show(&p, "Acme")["status"]["state"], "healthy");

    // The Athena update fails: the billing view is put back.
    p.moto(
        "POST",
        "/moto-api/costcarve/athena-faults",
        r#"{"match": "CREATE OR REPLACE VIEW", "times": 1, "state": "FAILED", "reason": "HIVE_METASTORE_ERROR: injected"}"#,
    );
    let err = p.fails(&["vi", "update", "Acme", "--remove", &ids[0]], 1);
    assert!(
        err.contains("previous accounts were restored") && err.contains("HIVE_METASTORE_ERROR"),
        "{err}"
    );
    assert_eq!(both(&p).await, (before.clone(), before.clone()));

    // The Athena update fails and so does putting the billing view back:
    // the integration needs repair, and repair works.
    p.moto(
        "POST",
        "/moto-api/costcarve/athena-faults",
        r#"{"match": "CREATE OR REPLACE VIEW", "times": 1, "state": "FAILED", "reason": "HIVE_METASTORE_ERROR: injected"}"#,
    );
    p.billing("POST", "/_emulator/faults", &fault("UpdateBillingView", 2));
    let err = p.fails(&["vi", "update", "Acme", "--remove", &ids[0]], 1);
    assert!(
        err.contains("needs repair") && err.contains("vi repair Acme"),
        "{err}"
    );
    let shown = show(&p, "Acme");
    assert_eq!(shown["status"]["state"], "drift", "{shown}");
    let (out, _) = p.cc(&["vi", "repair", "Acme"]);
    assert!(out.contains("repaired 'Acme'"), "{out}");
    let mut after = before.clone();
    after.remove(&ids[0]);
    assert_eq!(
        both(&p).await,
        (after.clone(), after.clone()),
        "repair finished the update CostCarve recorded"
    );
    assert_eq!(show(&p, "Acme")["status"]["state"], "healthy");

    // Deleting the billing view fails: the next start finishes the delete.
    p.billing("POST", "/_emulator/faults", &fault("DeleteBillingView", 1));
    let err = p.fails(&["vi", "delete", "Acme"], 1);
    assert!(err.contains("injected"), "{err}");
    let (_, note) = p.cc(&["vi", "list"]);
    assert!(
        note.contains("deleting 'Acme' was interrupted and has now been finished"),
        "{note}"
    );
    nothing_left(&p, &[id]).await;
}

/// The accounts of the one billing view and of the one Athena view.
async fn both(p: &Payer) -> (BTreeSet<String>, BTreeSet<String>) {
    (
        p.billing_views().await[0].accounts.clone(),
        accounts_in(&p.glue_views().await[0].1),
    )
}

/// Starts `costcarve ARGS` on desktop `a`, waits until `ready` holds, then
/// kills it (SIGKILL: no cleanup of any kind runs).
async fn crash_during<F, Fut>(p: &Payer, args: &[&str], ready: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut all = vec!["--connection", "emu"];
    all.extend_from_slice(args);
    let mut child = p
        .command("a", &all)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !ready().await {
        assert!(
            child.try_wait().unwrap().is_none(),
            "{args:?} ended before the crash point"
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{args:?} never reached the crash point"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn a_crash_between_steps_is_finished_or_undone_on_the_next_start() {
    let p = Payer::up(&["--accounts", "8", "--health-delay-seconds", "0.2"]);
    let accounts: Vec<Value> = serde_json::from_str(&p.cc(&["accounts", "--json"]).0).unwrap();
    let ids = p.customer_accounts(&customer_of(&accounts, 0));
    let list = ids.join(",");
    p.cc(&["connection", "list"]);

    // Create: killed while waiting for the billing view to become healthy
    // (both views exist by then). The next start undoes it.
    p.billing(
        "POST",
        "/_emulator/config",
        r#"{"health_delay_seconds": 60}"#,
    );
    crash_during(
        &p,
        &["vi", "create", "Acme", "--accounts", &list],
        || async { !p.billing_views().await.is_empty() && !p.glue_views().await.is_empty() },
    )
    .await;
    let id = p.billing_views().await[0].integration_id.clone().unwrap();
    p.billing(
        "POST",
        "/_emulator/config",
        r#"{"health_delay_seconds": 0.2}"#,
    );
    let (out, note) = p.cc(&["vi", "list"]);
    assert!(
        note.contains("creating 'Acme' was interrupted; what it had made was removed"),
        "{note}"
    );
    assert!(!out.contains("Acme"), "{out}");
    nothing_left(&p, &[id]).await;

    // Update: killed after the billing view took the new accounts. The next start finishes it.
    let (ids, _) = create(&p, "Acme", 0, 3).await;
    p.billing(
        "POST",
        "/_emulator/config",
        r#"{"health_delay_seconds": 60}"#,
    );
    crash_during(
        &p,
        &["vi", "update", "Acme", "--remove", &ids[0]],
        || async { p.billing_views().await[0].accounts.len() == 2 },
    )
    .await;
    p.billing(
        "POST",
        "/_emulator/config",
        r#"{"health_delay_seconds": 0.2}"#,
    );
    p.billing("POST", "/_emulator/settle", "{}");
    let (_, note) = p.cc(&["vi", "list"]);
    assert!(
        note.contains("updating 'Acme' was interrupted and has now been finished"),
        "{note}"
    );
    let want: BTreeSet<String> = ids[1..].iter().cloned().collect();
    assert_eq!(p.billing_views().await[0].accounts, want);
    assert_eq!(accounts_in(&p.glue_views().await[0].1), want);
    assert_eq!(show(&p, "Acme")["status"]["state"], "healthy");

    // Delete: killed while DeleteBillingView is slow (the Athena view is gone by then).
    let id = show(&p, "Acme")["integration"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    p.billing("POST", "/_emulator/faults", r#"{"kind": "delay", "operation": "DeleteBillingView", "delay_ms": 3000, "nth": 1, "times": 1}"#);
    crash_during(&p, &["vi", "delete", "Acme"], || async {
        p.glue_views().await.is_empty()
    })
    .await;
    let (_, note) = p.cc(&["vi", "list"]);
    assert!(
        note.contains("deleting 'Acme' was interrupted and has now been finished"),
        "{note}"
    );
    nothing_left(&p, &[id]).await;
}

#[tokio::test]
async fn throttling_is_retried() {
    let p = Payer::up(&["--accounts", "6", "--health-delay-seconds", "0.2"]);
    let accounts: Vec<Value> = serde_json::from_str(&p.cc(&["accounts", "--json"]).0).unwrap();
    let ids = p.customer_accounts(&customer_of(&accounts, 0)).join(",");
    p.billing(
        "POST",
        "/_emulator/faults",
        r#"{"kind": "throttle", "operation": "CreateBillingView", "count": 2}"#,
    );
    // The SDK's standard retry policy (3 attempts), as a user has it.
    let out = p
        .command(
            "a",
            &[
                "--connection",
                "emu",
                "vi",
                "create",
                "Acme",
                "--accounts",
                &ids,
            ],
        )
        .env_remove("AWS_MAX_ATTEMPTS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = p.billing("GET", "/_emulator/calls", "");
    assert_eq!(calls["counts"]["CreateBillingView"]["calls"], 3);
    assert_eq!(calls["counts"]["CreateBillingView"]["errors"], 2);
    assert_eq!(p.billing_views().await.len(), 1, "one view, not three");
}

#[tokio::test]
async fn a_second_desktop_finds_the_integrations_and_sees_drift_and_concurrent_edits() {
    let p = Payer::up(&["--accounts", "12", "--health-delay-seconds", "0.2"]);
    let (acme, _) = create(&p, "Acme", 0, 3).await;
    let (globex, _) = create(&p, "Globex", 1, 2).await;

    // A fresh app data dir on desktop b: the same integrations, rebuilt from the payer.
    let (out, _) = p.cc_on("b", &["vi", "list", "--json"]);
    let list: Vec<Value> = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = list
        .iter()
        .map(|m| m["integration"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Acme", "Globex"]);
    for (m, ids) in list.iter().zip([&acme, &globex]) {
        let got: BTreeSet<String> = m["integration"]["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, set(ids));
        assert_eq!(m["status"]["state"], "healthy");
    }

    // Desktop a changes Acme; desktop b, which saw revision 1, is refused.
    p.cc(&["vi", "update", "Acme", "--remove", &acme[0]]);
    let out = p.run_on(
        "b",
        &[
            "--connection",
            "emu",
            "vi",
            "update",
            "Acme",
            "--remove",
            &acme[1],
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("changed from another desktop") && err.contains("revision 1 here, 2 in AWS"),
        "{err}"
    );
    assert_eq!(
        p.billing_views()
            .await
            .iter()
            .find(|v| v.name == "costcarve-Acme")
            .unwrap()
            .accounts
            .len(),
        2,
        "b's change was not applied"
    );
    // Having seen the new state, b can change it.
    p.cc_on("b", &["vi", "update", "Acme", "--remove", &acme[1]]);

    // Someone edits Globex's billing view in the console: drift, then repair.
    let arn = p
        .billing_views()
        .await
        .into_iter()
        .find(|v| v.name == "costcarve-Globex")
        .unwrap()
        .arn;
    let conf = sdk_config(&p.emu.env["COSTCARVE_EMU_BILLING_URL"]).await;
    aws_sdk_billing::Client::new(&conf)
        .update_billing_view()
        .arn(&arn)
        .data_filter_expression(linked_accounts(&globex[..1]))
        .send()
        .await
        .unwrap();
    p.billing("POST", "/_emulator/settle", "{}");
    let shown = show(&p, "Globex");
    assert_eq!(shown["status"]["state"], "drift", "{shown}");
    assert!(
        shown["status"]["detail"]
            .as_str()
            .unwrap()
            .contains(&globex[1]),
        "{shown}"
    );
    p.cc_on("b", &["vi", "repair", "Globex"]);
    let view = p
        .billing_views()
        .await
        .into_iter()
        .find(|v| v.name == "costcarve-Globex")
        .unwrap();
    assert_eq!(
        view.accounts,
        set(&globex),
        "the accounts CostCarve last wrote are back"
    );
    assert_eq!(show(&p, "Globex")["status"]["state"], "healthy");

    // Someone drops Acme's Athena view: needs repair, and repair recreates it.
    let conf = sdk_config(&p.emu.env["COSTCARVE_EMU_MOTO_URL"]).await;
    aws_sdk_glue::Client::new(&conf)
        .delete_table()
        .database_name("costcarve_views")
        .name("vi_acme")
        .send()
        .await
        .unwrap();
    assert_eq!(show(&p, "Acme")["status"]["state"], "needs_repair");
    p.cc(&["vi", "repair", "Acme"]);
    let glue = p.glue_views().await;
    let acme_view = glue
        .iter()
        .find(|(n, _)| n == "vi_acme")
        .expect("recreated");
    assert_eq!(accounts_in(&acme_view.1), set(&acme[2..]));

    // Someone deletes Globex's billing view in the console: its Athena view is
    // an orphan, reported by `vi list` and dropped on request.
    let conf = sdk_config(&p.emu.env["COSTCARVE_EMU_BILLING_URL"]).await;
    aws_sdk_billing::Client::new(&conf)
        .delete_billing_view()
        .arn(&arn)
        .send()
        .await
        .unwrap();
    let (out, warn) = p.cc(&["vi", "list"]);
    assert!(!out.contains("Globex"), "{out}");
    assert!(
        warn.contains("costcarve_views.vi_globex belongs to no integration"),
        "{warn}"
    );
    let err = p.fails(&["vi", "drop-orphan", "vi_acme"], 2);
    assert!(err.contains("orphans now: vi_globex"), "{err}");
    p.cc(&["vi", "drop-orphan", "vi_globex"]);
    let glue = p.glue_views().await;
    assert_eq!(
        glue.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["vi_acme"]
    );
}

#[tokio::test]
async fn a_thousand_account_organization() {
    let p = Payer::up(&["--accounts", "1000", "--health-delay-seconds", "0.2"]);
    let started = Instant::now();
    let (out, err) = p.cc(&["accounts", "--refresh", "--json"]);
    let took = started.elapsed();
    let accounts: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(accounts.len(), 1001, "1,000 members and the payer");
    assert!(
        accounts
            .iter()
            .filter(|a| a["unit"].as_str().unwrap().contains('/'))
            .count()
            >= 900,
        "accounts are placed in their units"
    );
    assert!(
        accounts
            .iter()
            .filter(|a| !a["tags"].as_object().unwrap().is_empty())
            .count()
            >= 1000
    );
    eprintln!(
        "MEASURE org discovery, 1000 accounts: {} ms wall for the command; {}",
        took.as_millis(),
        err.trim()
    );
    // An integration of 200 accounts (the billing filter's limit) works.
    let ids: Vec<String> = accounts
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .filter(|a| a != PAYER)
        .take(200)
        .collect();
    p.cc(&["vi", "create", "Big", "--accounts", &ids.join(",")]);
    assert_eq!(p.billing_views().await[0].accounts.len(), 200);
    assert_eq!(accounts_in(&p.glue_views().await[0].1).len(), 200);
    // The cached organization answers without asking AWS again.
    let (_, err) = p.cc(&["accounts", "--json"]);
    assert!(err.contains("--refresh reads it again"), "{err}");
}

#[tokio::test]
async fn connections_by_profile_with_a_services_section_by_keyring_keys_and_by_assumed_role() {
    let p = Payer::up(&["--accounts", "4"]);
    let moto = p.emu.env["COSTCARVE_EMU_MOTO_URL"].clone();
    let billing = p.emu.env["COSTCARVE_EMU_BILLING_URL"].clone();
    let args: Vec<String> = p.emu.env["COSTCARVE_EMU_CONNECTION_ARGS"]
        .split_whitespace()
        .map(String::from)
        .collect();
    let aws_dir = p.home.path().join("aws");
    std::fs::create_dir_all(&aws_dir).unwrap();
    // A profile whose endpoints come from a config-file `services` section,
    // with no AWS_* endpoint or key variables at all.
    std::fs::write(
        aws_dir.join("config"),
        format!(
            "[profile payer]\nregion = us-east-1\nservices = emulators\n\n[services emulators]\n\
             sts =\n  endpoint_url = {moto}\norganizations =\n  endpoint_url = {moto}\n\
             glue =\n  endpoint_url = {moto}\nathena =\n  endpoint_url = {moto}\n\
             s3 =\n  endpoint_url = {moto}\ncost_explorer =\n  endpoint_url = {moto}\n\
             billing =\n  endpoint_url = {billing}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        aws_dir.join("credentials"),
        "[payer]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    let bare = |args: &[&str], stdin: Option<&str>| {
        let mut c = p.command("a", args);
        for k in [
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_BILLING",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
        ] {
            c.env_remove(k);
        }
        c.env("AWS_CONFIG_FILE", aws_dir.join("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", aws_dir.join("credentials"));
        if let Some(input) = stdin {
            use std::io::Write;
            let mut child = c
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
            child.wait_with_output().unwrap()
        } else {
            c.output().unwrap()
        }
    };
    let add = |name: &str, extra: &[&str], stdin: Option<&str>| {
        let mut a = vec!["connection", "add", name];
        a.extend(args.iter().map(String::as_str));
        a.extend_from_slice(extra);
        let out = bare(&a, stdin);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let passes = |name: &str| {
        let out = bare(&["connection", "test", name], None);
        let report = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{name}: {report}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        report
    };
    add("by-profile", &["--profile", "payer"], None);
    let report = passes("by-profile");
    assert!(report.contains("user/moto"), "{report}");

    // Without the credentials file the profile cannot sign: the check says so.
    std::fs::write(aws_dir.join("credentials"), "").unwrap();
    let out = bare(&["connection", "test", "by-profile"], None);
    assert!(!out.status.success(), "no credentials any more");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("FAIL caller identity") && report.contains("fix:"),
        "{report}"
    );
    // Access keys typed on stdin go to the keyring, not to the config file.
    add(
        "by-keys",
        &["--access-key-id", "testing"],
        Some("testing\n"),
    );
    let saved = std::fs::read_to_string(p.home.path().join("config/connections.json")).unwrap();
    assert!(
        saved.contains("\"keyring\"") && !saved.contains("testing\""),
        "{saved}"
    );
    // The keys come from the keyring only: no key variables, no profile.
    let mut c = p.command("a", &["connection", "test", "by-keys"]);
    c.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // A role assumed with an external id: STS AssumeRole is asked, and the
    // caller is the assumed role.
    let mut c = p.command(
        "a",
        &[
            &[
                "connection",
                "add",
                "by-role",
                "--role-arn",
                "arn:aws:iam::123456789012:role/CostCarveAccess",
                "--external-id",
                "msp-7f3a",
            ][..],
            &args.iter().map(String::as_str).collect::<Vec<_>>()[..],
        ]
        .concat(),
    );
    assert!(c.output().unwrap().status.success());
    let (report, _) = p.ok_on("a", &["connection", "test", "by-role"]);
    assert!(
        report.contains("assumed-role/CostCarveAccess/costcarve"),
        "{report}"
    );

    // Removing a connection removes its keyring entry.
    p.ok(&["connection", "remove", "by-keys"]);
    assert!(Keyring
        .get(&SecretKey::connection("by-keys"))
        .unwrap()
        .is_none());
    let out = p.run_on("a", &["connection", "remove", "by-keys"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `c` (program, arguments, environment) run by `keyctl session -`: in a
/// fresh, empty kernel session keyring of its own.
fn in_fresh_session_keyring(c: &Command) -> Command {
    let mut k = Command::new("keyctl");
    k.args(["session", "-"])
        .arg(c.get_program())
        .args(c.get_args());
    for (key, value) in c.get_envs() {
        match value {
            Some(v) => k.env(key, v),
            None => k.env_remove(key),
        };
    }
    k
}

/// Drops what the kernel keeps of keyring-rs's keyutils entry for `user`
/// (the old Linux store, kept in the session keyring and the user's
/// persistent keyring, both emptied by a reboot); true if there was one.
fn forget_kernel_copy(user: &str) -> bool {
    let description = format!("keyring-rs:{user}@costcarve");
    let out = Command::new("keyctl")
        .args(["session", "-", "sh", "-c"])
        .arg(
            "keyctl get_persistent @s >/dev/null 2>&1; \
             id=$(keyctl search @s user \"$1\" 2>/dev/null) || exit 3; keyctl invalidate \"$id\"",
        )
        .args(["sh", &description])
        .output()
        .expect("keyctl (keyutils) runs");
    match out.status.code() {
        Some(0) => true,
        Some(3) => false,
        _ => panic!("keyctl: {}", String::from_utf8_lossy(&out.stderr)),
    }
}

/// Secrets that survive a reboot: access keys saved by one process in one
/// kernel session keyring are read by another in a fresh one, after the
/// kernel lost any copy, because they live in the Secret Service (checked
/// from outside with `secret-tool`). With keyring's keyutils store (the Linux
/// store before) this fails: the check finds no keys.
#[tokio::test]
async fn access_keys_saved_in_one_session_are_read_after_the_kernel_forgot_everything() {
    let p = Payer::up(&["--accounts", "4"]);
    let args: Vec<String> = p.emu.env["COSTCARVE_EMU_CONNECTION_ARGS"]
        .split_whitespace()
        .map(String::from)
        .collect();
    let without_env_keys = |c: &mut Command| {
        c.env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN");
    };
    // Saved in one kernel session keyring, the secret key typed on stdin.
    let mut add_args = vec!["connection", "add", "after-reboot"];
    add_args.extend(args.iter().map(String::as_str));
    add_args.extend(["--access-key-id", "AKIAREBOOTEXAMPLE"]);
    let mut add = p.command("a", &add_args);
    without_env_keys(&mut add);
    let mut child = in_fresh_session_keyring(&add)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"rebootSecretKey0123456789\n").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A reboot. The keyutils store kept keys in the session keyring and the
    // user's persistent keyring, which a fresh `keyctl session -` still
    // reaches until it expires; a reboot empties both, so drop this entry's
    // kernel copy, if any. Every session keyring from here on is fresh.
    let kernel_had_it = forget_kernel_copy("connection/after-reboot");

    // A fresh session keyring reads the keys back: the check signs with them
    // (no key variables, no profile) and passes.
    let mut test = p.command("a", &["connection", "test", "after-reboot"]);
    without_env_keys(&mut test);
    let out = in_fresh_session_keyring(&test).output().unwrap();
    assert!(
        out.status.success(),
        "the keys did not outlive their kernel session keyring: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!kernel_had_it, "the keys were (also) in the kernel keyring");

    // Seen from outside, in the Secret Service, under CostCarve's names.
    let out = secret_tool_lookup("connection/after-reboot");
    let stored = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && stored.contains("\"access_key_id\":\"AKIAREBOOTEXAMPLE\"")
            && stored.contains("rebootSecretKey0123456789"),
        "secret-tool did not return the saved keys from the Secret Service (exit {:?})",
        out.status.code()
    );
    p.ok(&["connection", "remove", "after-reboot"]);
    let out = secret_tool_lookup("connection/after-reboot");
    assert!(
        !out.status.success() && out.stdout.is_empty(),
        "removed from the Secret Service"
    );
}

#[tokio::test]
async fn large_athena_results_come_from_the_result_file_and_ctrl_c_stops_a_query() {
    let p = Payer::up(&["--accounts", "4", "--health-delay-seconds", "0.2"]);
    let accounts: Vec<Value> = serde_json::from_str(&p.cc(&["accounts", "--json"]).0).unwrap();
    let ids = p.customer_accounts(&customer_of(&accounts, 0));
    p.cc(&["vi", "create", "Acme", "--accounts", &ids.join(",")]);

    // A month of the customer's line items: more than one GetQueryResults page.
    let (month, next) = (month_start(&p, 3), month_start(&p, 2));
    let period = &month[..7];
    let independent = p.cur_sums(&[
        "--accounts",
        &ids.join(","),
        "--from",
        &month,
        "--to",
        &next,
        "--granularity",
        "none",
    ]);
    let expected_rows = independent["rows"].as_u64().unwrap() as usize;
    assert!(
        expected_rows > 1000,
        "{expected_rows} rows: more than a page"
    );
    let query = format!(
        "SELECT identity_line_item_id AS n, line_item_unblended_cost AS label FROM cur WHERE billing_period = '{period}'"
    );
    let (out, err) = p.cc(&["sql", "Acme", &query, "--max-rows", "50000", "--json"]);
    let result: Value = serde_json::from_str(&out).unwrap();
    let rows = result["rows"].as_array().unwrap();
    assert_eq!(rows.len(), expected_rows);
    let total: f64 = rows.iter().map(|r| num(&r[1])).sum();
    assert!(
        (total - num(&independent["total"])).abs() < 1e-6,
        "{total} vs {}",
        independent["total"]
    );
    assert_eq!(result["truncated"], false);
    assert!(
        err.contains("rows read from s3://costcarve-emu-athena-results-"),
        "{err}"
    );

    // A slow query, stopped with Ctrl-C: Athena is told (StopQueryExecution).
    p.moto(
        "POST",
        "/moto-api/costcarve/athena-faults",
        r#"{"match": "count\\(\\*\\)", "times": 1, "running_ms": 20000}"#,
    );
    let child = p
        .command(
            "a",
            &[
                "--connection",
                "emu",
                "sql",
                "Acme",
                "SELECT count(*) FROM cur",
            ],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !p
        .athena_queries()
        .await
        .iter()
        .any(|q| q.contains("count(*)"))
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the query never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "stopped well before the query would end"
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("stopping the query") && err.contains("cancelled"),
        "{err}"
    );
    let states: Vec<String> = p
        .athena_executions()
        .await
        .into_iter()
        .filter(|(q, _)| q.contains("count(*)"))
        .map(|(_, state)| state)
        .collect();
    assert_eq!(states, ["CANCELLED"]);
}

/// Runs a statement on the emulated Athena as someone outside the app would
/// (the console, another tool) and waits for it to succeed.
async fn athena_outside(p: &Payer, sql: &str) {
    let athena =
        aws_sdk_athena::Client::new(&sdk_config(&p.emu.env["COSTCARVE_EMU_MOTO_URL"]).await);
    let id = athena
        .start_query_execution()
        .query_string(sql)
        .work_group("costcarve")
        .send()
        .await
        .unwrap()
        .query_execution_id()
        .unwrap()
        .to_string();
    for _ in 0..100 {
        let state = athena
            .get_query_execution()
            .query_execution_id(&id)
            .send()
            .await
            .unwrap();
        let status = state.query_execution().unwrap().status().unwrap();
        match status.state().unwrap().as_str() {
            "SUCCEEDED" => return,
            "FAILED" | "CANCELLED" => panic!("{sql}: {:?}", status.state_change_reason()),
            _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    panic!("{sql}: still running");
}

/// Sets a billing view's filter as someone outside the app would.
async fn billing_filter_outside(p: &Payer, arn: &str, filter: aws_sdk_billing::types::Expression) {
    let conf = sdk_config(&p.emu.env["COSTCARVE_EMU_BILLING_URL"]).await;
    aws_sdk_billing::Client::new(&conf)
        .update_billing_view()
        .arn(arn)
        .data_filter_expression(filter)
        .send()
        .await
        .unwrap();
    p.billing("POST", "/_emulator/settle", "{}");
}

fn linked_accounts(ids: &[String]) -> aws_sdk_billing::types::Expression {
    aws_sdk_billing::types::Expression::builder()
        .dimensions(
            aws_sdk_billing::types::DimensionValues::builder()
                .key(aws_sdk_billing::types::Dimension::LinkedAccount)
                .set_values(Some(ids.to_vec()))
                .build()
                .unwrap(),
        )
        .build()
}

#[tokio::test]
async fn every_tamper_of_a_healthy_integration_is_seen_refused_and_repaired() {
    let p = Payer::up(&["--accounts", "12", "--health-delay-seconds", "0.2"]);
    let (acme, _) = create(&p, "Acme", 0, 2).await;
    let (globex, _) = create(&p, "Globex", 1, 1).await;
    let arn = show(&p, "Acme")["billing_view_arn"]
        .as_str()
        .unwrap()
        .to_string();
    let list = |ids: &[String]| {
        ids.iter()
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let view = |select: &str| {
        format!("CREATE OR REPLACE VIEW \"costcarve_views\".\"vi_acme\" AS {select}")
    };
    let cur = "\"costcarve_cur\".\"cur2\"";
    let ours = format!(
        "SELECT * FROM {cur} WHERE line_item_usage_account_id IN ({})",
        list(&acme)
    );
    let widened = [acme.clone(), globex.clone()].concat();
    enum Tamper {
        Athena(String),
        Billing(aws_sdk_billing::types::Expression),
    }
    let tampers = [
        ("OR true", Tamper::Athena(view(&format!("{ours} OR true")))),
        (
            "an extra account in the list",
            Tamper::Athena(view(&format!(
                "SELECT * FROM {cur} WHERE line_item_usage_account_id IN ({})",
                list(&widened)
            ))),
        ),
        (
            "another source table",
            Tamper::Athena(view(
                &ours.replace(cur, "\"costcarve_views\".\"vi_globex\""),
            )),
        ),
        (
            "UNION ALL of another query",
            Tamper::Athena(view(&format!(
                "{ours} UNION ALL SELECT * FROM {cur} WHERE line_item_usage_account_id IN ({})",
                list(&globex)
            ))),
        ),
        (
            "the WHERE removed",
            Tamper::Athena(view(&format!("SELECT * FROM {cur}"))),
        ),
        (
            "a billing filter widened by one account",
            Tamper::Billing(linked_accounts(&widened)),
        ),
        (
            "a billing filter switched to a tag",
            Tamper::Billing(
                aws_sdk_billing::types::Expression::builder()
                    .tags(
                        aws_sdk_billing::types::TagValues::builder()
                            .key("customer")
                            .values("acme")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            ),
        ),
    ];
    let (from, to) = (month_start(&p, 3), month_start(&p, 2));
    for (what, tamper) in tampers {
        match &tamper {
            Tamper::Athena(sql) => athena_outside(&p, sql).await,
            Tamper::Billing(filter) => billing_filter_outside(&p, &arn, filter.clone()).await,
        }
        // Seen: not healthy, and why.
        let (out, _) = p.cc(&["vi", "list", "--json"]);
        let listed: Vec<Value> = serde_json::from_str(&out).unwrap();
        let acme_row = listed
            .iter()
            .find(|m| m["integration"]["name"] == "Acme")
            .unwrap();
        assert_ne!(acme_row["status"]["state"], "healthy", "{what}: {acme_row}");
        // Refused: no figure and no row through a tampered integration.
        for args in [
            &["cost", "Acme", "--from", &from, "--to", &to][..],
            &["sql", "Acme", "SELECT count(*) FROM cur"][..],
        ] {
            let err = p.fails(args, 1);
            assert!(err.contains("is not healthy"), "{what}: {err}");
            assert!(
                err.contains("hint: run `costcarve --connection emu vi repair Acme`"),
                "{what}: {err}"
            );
        }
        // Verified: exit 4, the definitions check names what differs, and
        // nothing else ran through the tampered integration.
        let (report, _) = p.verify("Acme", 4);
        let definitions = check(&report, "definitions");
        assert_eq!(definitions["ok"], false, "{what}: {definitions}");
        let summary = definitions["summary"].as_str().unwrap();
        assert!(
            summary.starts_with("not what CostCarve made: "),
            "{what}: {summary}"
        );
        let part = if matches!(tamper, Tamper::Athena(_)) {
            "athena view"
        } else {
            "billing view"
        };
        assert!(summary.contains(part), "{what}: {summary}");
        for other in ["isolation_line_items", "isolation_shown", "reconciliation"] {
            assert_eq!(
                check(&report, other)["evidence"]["kind"],
                "not_run",
                "{what}"
            );
        }
        assert_eq!(report["requests"]["made"], 0, "{what}: no paid request");
        // Repaired: healthy again, and both views hold exactly Acme's accounts.
        p.cc(&["vi", "repair", "Acme"]);
        let (report, _) = p.verify("Acme", 0);
        assert_eq!(report["ok"], true, "{what}: {report}");
        let shown = show(&p, "Acme");
        assert_eq!(shown["status"]["state"], "healthy", "{what}: {shown}");
        let glue = p.glue_views().await;
        let stored = &glue.iter().find(|(n, _)| n == "vi_acme").unwrap().1;
        assert_eq!(
            stored.trim(),
            ours,
            "{what}: the Athena view is CostCarve's again"
        );
        let billing = p
            .billing_views()
            .await
            .into_iter()
            .find(|v| v.name == "costcarve-Acme")
            .unwrap();
        assert_eq!(billing.accounts, set(&acme), "{what}");
        assert!(
            !billing.filter_other,
            "{what}: the filter is the account list alone"
        );
        p.cc(&["sql", "Acme", "SELECT count(*) FROM cur"]);
    }
    // Globex was never touched and stayed healthy throughout.
    assert_eq!(show(&p, "Globex")["status"]["state"], "healthy");
}

/// Issue 14 on Athena: the evaluation order cannot be forced there, so a
/// failed query's reason is the defence. Athena quotes the value a cast
/// failed on; through an integration the CLI names the failure and shows
/// no account id or name. The app's own time limit stops a slow query on
/// Athena too.
#[tokio::test]
async fn athena_failures_show_no_values_and_the_time_limit_stops_the_query() {
    let p = Payer::up(&["--accounts", "4", "--health-delay-seconds", "0.2"]);
    let accounts: Vec<Value> = serde_json::from_str(&p.cc(&["accounts", "--json"]).0).unwrap();
    let ids = p.customer_accounts(&customer_of(&accounts, 0));
    p.cc(&["vi", "create", "Acme", "--accounts", &ids.join(",")]);
    let values: Vec<String> = accounts
        .iter()
        .flat_map(|a| [a["id"].as_str(), a["name"].as_str()])
        .flatten()
        .filter(|v| !v.is_empty())
        .map(String::from)
        .collect();

    let query = "SELECT CAST(line_item_usage_account_id AS INT) AS n FROM cur";
    let err = p.fails(&["sql", "Acme", query], 1);
    assert!(err.contains("a CAST to INT failed"), "{err}");
    let shown: Vec<&String> = values.iter().filter(|v| err.contains(v.as_str())).collect();
    assert!(shown.is_empty(), "{err} shows {shown:?}");
    // What Athena said quoted an account id.
    let conf = sdk_config(&p.emu.env["COSTCARVE_EMU_MOTO_URL"]).await;
    let athena = aws_sdk_athena::Client::new(&conf);
    let listed = athena
        .list_query_executions()
        .work_group("costcarve")
        .send()
        .await
        .unwrap();
    let mut raw = None;
    for id in listed.query_execution_ids() {
        let q = athena
            .get_query_execution()
            .query_execution_id(id)
            .send()
            .await
            .unwrap();
        let q = q.query_execution().unwrap();
        if q.query()
            .unwrap_or_default()
            .contains("CAST(line_item_usage_account_id AS INT)")
        {
            raw = q
                .status()
                .and_then(|s| s.state_change_reason())
                .map(String::from);
        }
    }
    let raw = raw.expect("the failed execution");
    assert!(
        raw.starts_with("INVALID_CAST_ARGUMENT: Cannot cast '") && raw.ends_with("' to INT"),
        "{raw}"
    );
    assert!(values.iter().any(|v| raw.contains(v.as_str())), "{raw}");

    // A slow query ends at the app's time limit; Athena is told to stop.
    p.moto(
        "POST",
        "/moto-api/costcarve/athena-faults",
        r#"{"match": "count\\(\\*\\)", "times": 1, "running_ms": 20000}"#,
    );
    let started = Instant::now();
    let err = p.fails(
        &["sql", "Acme", "SELECT count(*) FROM cur", "--timeout", "2"],
        1,
    );
    assert!(err.contains("timed out after 2 s"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    let states: Vec<String> = p
        .athena_executions()
        .await
        .into_iter()
        .filter(|(q, _)| q.contains("count(*)"))
        .map(|(_, state)| state)
        .collect();
    assert_eq!(states, ["CANCELLED"]);
}

/// Issue 10: `vi verify` on a healthy integration exits 0, and its evidence
/// is what the CUR itself says: the accounts with rows through each path and
/// the monthly totals, summed independently (`cur_sums.py`); the month Cost
/// Explorer still marks estimated is named; the requests said before are
/// the ones made (and logged by the emulator with the billing view).
#[tokio::test]
async fn verify_shows_evidence_an_independent_reading_of_the_cur_confirms() {
    let p = Payer::up(&["--accounts", "12", "--health-delay-seconds", "0.2"]);
    let (acme, _) = create(&p, "Acme", 0, 3).await;
    create(&p, "Globex", 1, 2).await;
    let arn = show(&p, "Acme")["billing_view_arn"]
        .as_str()
        .unwrap()
        .to_string();
    // The last closed month is still estimated in Cost Explorer.
    p.moto(
        "POST",
        "/moto-api/costcarve/ce-config",
        r#"{"estimated_until_day": 31}"#,
    );
    p.moto("DELETE", "/moto-api/costcarve/ce-requests", "");
    let (report, err) = p.verify("Acme", 0);
    assert!(
        err.contains("makes 2 Cost Explorer requests (USD 0.02)"),
        "said before: {err}"
    );
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["workspace"], "aws");
    assert_eq!(report["requests"]["planned"], 2);
    assert_eq!(report["requests"]["made"], 2);
    let sent = p.moto("GET", "/moto-api/costcarve/ce-requests", "");
    let sent = sent.as_array().unwrap();
    assert_eq!(sent.len(), 2, "{sent:?}");
    for r in sent {
        assert_eq!(r["params"]["BillingViewArn"], arn.as_str(), "{r}");
    }

    // Definitions: the three parts, exact.
    let parts = check(&report, "definitions")["evidence"]["parts"]
        .as_array()
        .unwrap()
        .clone();
    let names: Vec<&str> = parts.iter().map(|p| p["part"].as_str().unwrap()).collect();
    assert_eq!(names, ["athena_view", "billing_view", "secret"]);
    assert!(parts.iter().all(|p| p["ok"] == true), "{parts:?}");

    // Isolation: the accounts with rows in the whole CUR, through Athena.
    let members: BTreeSet<String> = acme.iter().cloned().collect();
    let accounts_with_rows = |from: &str, to: &str| -> Vec<String> {
        let sums = p.cur_sums(&[
            "--accounts",
            &acme.join(","),
            "--from",
            from,
            "--to",
            to,
            "--granularity",
            "none",
            "--group-by",
            "account",
        ]);
        let mut ids: Vec<String> = sums["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pt| pt["keys"][0].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let whole = accounts_with_rows(&month_start(&p, months_seeded(&p) - 1), &after_cur(&p));
    assert!(!whole.is_empty());
    let athena = &check(&report, "isolation_line_items")["evidence"];
    assert_eq!(athena["seen"], json!(whole), "{athena}");
    assert_eq!(athena["members"], json!(members), "{athena}");
    assert_eq!(athena["outside"], 0);
    // Through Cost Explorer: the last twelve months and this one, to today.
    // The day the app verified on (its own clock).
    let today = chrono::NaiveDate::parse_from_str(
        &report["checked_at"].as_str().unwrap()[..10],
        "%Y-%m-%d",
    )
    .unwrap();
    let open = today.with_day(1).unwrap();
    let from = (open - chrono::Months::new(12)).to_string();
    let shown = &check(&report, "isolation_shown")["evidence"];
    assert_eq!(
        shown["seen"],
        json!(accounts_with_rows(&from, &today.to_string())),
        "{shown}"
    );
    assert_eq!(shown["outside"], 0);

    // Reconciliation: the last three closed months, both sides equal to
    // the independent monthly sums; the last one marked estimated.
    let first = (open - chrono::Months::new(3)).to_string();
    let sums = p.cur_sums(&[
        "--accounts",
        &acme.join(","),
        "--from",
        &first,
        "--to",
        &open.to_string(),
        "--granularity",
        "monthly",
    ]);
    let evidence = &check(&report, "reconciliation")["evidence"];
    let months = evidence["months"].as_array().unwrap();
    assert_eq!(months.len(), 3, "{evidence}");
    for (i, m) in months.iter().enumerate() {
        let month = (open - chrono::Months::new(3 - i as u32))
            .format("%Y-%m")
            .to_string();
        assert_eq!(m["month"], month.as_str());
        let want: f64 = sums["points"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|pt| pt["period"].as_str().unwrap().starts_with(&month))
            .map(|pt| pt["amount"].as_f64().unwrap())
            .sum();
        for side in ["shown", "line_items"] {
            let got = num(&m[side]);
            assert!(
                (got - want).abs() < 0.006,
                "{month} {side}: {got} vs {want}"
            );
        }
        assert_eq!(m["estimated"], i == 2, "{m}");
        assert_eq!(m["ok"], true, "{m}");
    }
    assert!(
        check(&report, "reconciliation")["summary"]
            .as_str()
            .unwrap()
            .contains(&format!(
                "still estimated (may be restated, not judged): {}",
                (open - chrono::Months::new(1)).format("%Y-%m")
            )),
        "{report}"
    );
    // Nothing of Globex's anywhere in the report.
    let text = report.to_string();
    for id in p.customer_accounts(&customer_of(
        &serde_json::from_str::<Vec<Value>>(&p.cc(&["accounts", "--json"]).0).unwrap(),
        1,
    )) {
        assert!(!text.contains(&id), "Globex's {id} in {text}");
    }
}

/// Issue 10: the integration secret is part of health. Gone from this
/// computer's keyring (another computer on the payer, a wiped keychain),
/// the integration needs repair and answers nothing; `vi verify` names the
/// secret; `vi repair` stores a new one without touching the views.
#[tokio::test]
async fn an_integration_whose_secret_is_gone_needs_repair_and_repair_stores_one() {
    let p = Payer::up(&["--accounts", "4", "--health-delay-seconds", "0.2"]);
    let (_, id) = create(&p, "Acme", 0, 2).await;
    let before = secret(&id).expect("create stored the secret");
    let revision = show(&p, "Acme")["integration"]["revision"].clone();
    assert!(Keyring.delete(&SecretKey::integration(PAYER, &id)).unwrap());

    let shown = show(&p, "Acme");
    assert_eq!(shown["status"]["state"], "needs_repair", "{shown}");
    assert!(
        shown["status"]["reason"]
            .as_str()
            .unwrap()
            .contains("secret is not in this computer's keyring"),
        "{shown}"
    );
    let err = p.fails(&["sql", "Acme", "SELECT count(*) FROM cur"], 1);
    assert!(err.contains("is not healthy"), "{err}");
    let (report, _) = p.verify("Acme", 4);
    let parts = check(&report, "definitions")["evidence"]["parts"].clone();
    let secret_part = parts
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["part"] == "secret")
        .unwrap();
    assert_eq!(secret_part["ok"], false, "{parts}");

    p.cc(&["vi", "repair", "Acme"]);
    let after = secret(&id).expect("repair stored a secret");
    assert_ne!(after, before, "a fresh secret");
    let shown = show(&p, "Acme");
    assert_eq!(shown["status"]["state"], "healthy", "{shown}");
    assert_eq!(
        shown["integration"]["revision"], revision,
        "the views were not rewritten"
    );
    p.verify("Acme", 0);
}

/// Every custom billing view, read from outside with boto3's stock
/// `billing` client: arn, name, the filter's accounts, sources, tags, health.
fn billing_outside(p: &Payer) -> Vec<Value> {
    let out = p.emu.boto3(
        r#"
b = boto3.client('billing')
out, token = [], None
while True:
    page = b.list_billing_views(billingViewTypes=['CUSTOM'], **({'nextToken': token} if token else {}))
    for v in page['billingViews']:
        d = b.get_billing_view(arn=v['arn'])['billingView']
        dims = (d.get('dataFilterExpression') or {}).get('dimensions') or {}
        src = b.list_source_views_for_billing_view(arn=v['arn'])['sourceViews']
        tags = {t['key']: t.get('value') for t in b.list_tags_for_resource(resourceArn=v['arn'])['resourceTags']}
        out.append({'arn': v['arn'], 'name': d['name'], 'accounts': sorted(dims.get('values', [])),
                    'sources': src, 'tags': tags, 'health': d['healthStatus']['statusCode']})
    token = page.get('nextToken')
    if not token:
        break
print(json.dumps(out))
"#,
    );
    out.as_array().unwrap().clone()
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

/// Accounts whose OU path (as `accounts --json` lists it) is `path` or below.
fn accounts_under(p: &Payer, path: &str) -> BTreeSet<String> {
    let all: Vec<Value> = serde_json::from_str(&p.cc(&["accounts", "--json"]).0).unwrap();
    all.iter()
        .filter(|a| {
            let unit = a["unit"].as_str().unwrap();
            unit == path || unit.starts_with(&format!("{path}/"))
        })
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

/// Moves `account` (or a new account, when `None`) into the OU at `path`
/// with boto3's `organizations` client; returns the account id.
fn move_with_boto3(p: &Payer, account: Option<&str>, path: &str) -> String {
    let code = format!(
        r#"
o = boto3.client('organizations')
root = o.list_roots()['Roots'][0]['Id']
unit = root
for name in {path:?}.split('/'):
    units = o.list_organizational_units_for_parent(ParentId=unit)['OrganizationalUnits']
    unit = next(u['Id'] for u in units if u['Name'] == name)
account = {account:?}
if account == 'new':
    made = o.create_account(Email='vended-{stamp}@msp.example.com', AccountName='Vended prod {stamp}')
    account = o.describe_create_account_status(CreateAccountRequestId=made['CreateAccountStatus']['Id'])['CreateAccountStatus']['AccountId']
parent = o.list_parents(ChildId=account)['Parents'][0]['Id']
o.move_account(AccountId=account, SourceParentId=parent, DestinationParentId=unit)
print(json.dumps(account))
"#,
        account = account.unwrap_or("new"),
        stamp = std::process::id(),
    );
    p.emu.boto3(&code).as_str().unwrap().to_string()
}

/// The billing views of one integration (its id tag), from outside.
fn views_of(p: &Payer, integration_id: &str) -> Vec<Value> {
    billing_outside(p)
        .into_iter()
        .filter(|v| v["tags"]["costcarve-integration-id"] == integration_id)
        .collect()
}

#[tokio::test]
async fn rules_follow_the_organization_and_import_makes_one_integration_per_customer_ou() {
    let p = Payer::up(&["--accounts", "30", "--health-delay-seconds", "0.2"]);
    let all: Vec<Value> = serde_json::from_str(&p.cc(&["accounts", "--json"]).0).unwrap();
    let customers: BTreeSet<String> = all
        .iter()
        .filter_map(|a| a["unit"].as_str().unwrap().strip_prefix("Customers/"))
        .map(|rest| rest.split('/').next().unwrap().to_string())
        .collect();
    assert!(customers.len() >= 3, "{customers:?}");

    // A dry run makes nothing in AWS.
    let (out, _) = p.cc(&["vi", "import", "--from-ou", "Customers", "--dry-run"]);
    assert!(out.contains("nothing was created (--dry-run)"), "{out}");
    assert!(billing_outside(&p).is_empty());

    // One healthy integration per customer OU, each view filtering exactly
    // the accounts under it.
    let (_, progress) = p.cc(&["vi", "import", "--from-ou", "Customers"]);
    assert!(
        progress.contains(&format!("[{n}/{n}] created", n = customers.len())),
        "{progress}"
    );
    let list: Vec<Value> = serde_json::from_str(&p.cc(&["vi", "list", "--json"]).0).unwrap();
    assert_eq!(list.len(), customers.len());
    for m in &list {
        assert_eq!(m["status"]["state"], "healthy", "{m}");
    }
    let outside = billing_outside(&p);
    let glue = p.glue_views().await;
    for c in &customers {
        let want = accounts_under(&p, &format!("Customers/{c}"));
        let view = outside
            .iter()
            .find(|v| v["name"] == format!("costcarve-{c}"))
            .unwrap_or_else(|| panic!("{c}: {outside:?}"));
        assert_eq!(strings(&view["accounts"]), want, "{c}");
        let sql = &glue
            .iter()
            .find(|(n, _)| *n == format!("vi_{}", c.to_lowercase().replace(' ', "_")))
            .unwrap()
            .1;
        assert_eq!(accounts_in(sql), want, "{c}");
    }
    // Again: nothing is made, and it says so.
    let creates = p.billing_calls("CreateBillingView");
    let (out, _) = p.cc(&["vi", "import", "--from-ou", "Customers"]);
    assert!(out.contains("nothing to import"), "{out}");
    assert_eq!(p.billing_calls("CreateBillingView"), creates);
    // A CSV with one bad row creates nothing.
    let csv = p.home.path().join("more.csv");
    std::fs::write(
        &csv,
        "name,ous,accounts\nSandbox,Sandbox,\nTypo,Customers/Nobody,\n",
    )
    .unwrap();
    let err = p.fails(&["vi", "import", csv.to_str().unwrap()], 2);
    assert!(
        err.contains("line 3 (Typo): no OU 'Customers/Nobody'"),
        "{err}"
    );
    assert_eq!(p.billing_calls("CreateBillingView"), creates);
    assert_eq!(billing_outside(&p).len(), customers.len());

    // A new account vended into a customer's OU joins it at the next sync;
    // a dry run changes nothing in AWS.
    let first = customers.iter().next().unwrap().clone();
    let path = format!("Customers/{first}");
    let vended = move_with_boto3(&p, None, &format!("{path}/prod"));
    let before = billing_outside(&p);
    let (out, _) = p.cc(&["vi", "sync", "--dry-run", "--json"]);
    let plan: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(plan["out_of_date"], 1, "{plan}");
    assert_eq!(billing_outside(&p), before, "--dry-run changed nothing");
    let (out, _) = p.cc(&["vi", "sync"]);
    assert!(
        out.contains("1 of 1 out of date brought up to date"),
        "{out}"
    );
    let want = accounts_under(&p, &path);
    assert!(want.contains(&vended));
    let view = billing_outside(&p)
        .into_iter()
        .find(|v| v["name"] == format!("costcarve-{first}"))
        .unwrap();
    assert_eq!(strings(&view["accounts"]), want);
    let sql = p
        .glue_views()
        .await
        .into_iter()
        .find(|(n, _)| *n == format!("vi_{}", first.to_lowercase().replace(' ', "_")))
        .unwrap()
        .1;
    assert_eq!(accounts_in(&sql), want);
    // An account moved out is dropped at the next sync.
    let leaving = want.iter().find(|a| **a != vended).unwrap().clone();
    move_with_boto3(&p, Some(&leaving), "Sandbox");
    p.cc(&["vi", "sync"]);
    let view = billing_outside(&p)
        .into_iter()
        .find(|v| v["name"] == format!("costcarve-{first}"))
        .unwrap();
    assert!(!strings(&view["accounts"]).contains(&leaving));
    assert_eq!(strings(&view["accounts"]), accounts_under(&p, &path));
    let (report, _) = p.verify(&first, 0);
    assert_eq!(report["ok"], true, "{report}");
    // A second desktop reads the rules back from the payer.
    let shown: Value =
        serde_json::from_str(&p.cc_on("b", &["vi", "show", &first, "--json"]).0).unwrap();
    assert_eq!(
        shown["integration"]["rules"]["units"][0],
        path.as_str(),
        "{shown}"
    );
}

#[tokio::test]
async fn a_customer_of_450_accounts_is_one_aggregate_view_over_source_views() {
    let p = Payer::up(&[
        "--accounts",
        "1000",
        "--customers",
        "2",
        "--health-delay-seconds",
        "0.2",
    ]);
    let all: Vec<Value> =
        serde_json::from_str(&p.cc(&["accounts", "--refresh", "--json"]).0).unwrap();
    let first = all
        .iter()
        .filter_map(|a| a["unit"].as_str().unwrap().strip_prefix("Customers/"))
        .map(|rest| rest.split('/').next().unwrap().to_string())
        .min()
        .unwrap();
    let path = format!("Customers/{first}");
    let under: Vec<String> = accounts_under(&p, &path).into_iter().collect();
    assert!(under.len() > 450, "{}", under.len());
    let excluded = &under[450..];
    let want: BTreeSet<String> = under[..450].iter().cloned().collect();
    p.cc(&[
        "vi",
        "create",
        "Big",
        "--ou",
        &path,
        "--exclude",
        &excluded.join(","),
    ]);
    let shown = show(&p, "Big");
    assert_eq!(shown["status"]["state"], "healthy", "{shown}");
    let arn = shown["billing_view_arn"].as_str().unwrap().to_string();
    let id = shown["integration"]["id"].as_str().unwrap().to_string();

    // From outside: the integration's view filters nothing itself and is
    // derived from source views of at most 200 accounts whose union is
    // exactly the 450.
    let views = views_of(&p, &id);
    let main = views.iter().find(|v| v["arn"] == arn.as_str()).unwrap();
    assert!(main["accounts"].as_array().unwrap().is_empty(), "{main}");
    let sources = strings(&main["sources"]);
    assert_eq!(sources.len(), 3, "{main}");
    let mut union = BTreeSet::new();
    for v in views.iter().filter(|v| v["arn"] != arn.as_str()) {
        assert!(sources.contains(v["arn"].as_str().unwrap()), "{v}");
        assert!(v["accounts"].as_array().unwrap().len() <= 200, "{v}");
        assert_eq!(v["tags"]["costcarve-role"], "part", "{v}");
        union.extend(strings(&v["accounts"]));
    }
    assert_eq!(union, want);
    assert_eq!(accounts_in(&p.glue_views().await[0].1), want);

    // Costs are asked through the one aggregate ARN and are the CUR's.
    let (from, to) = (month_start(&p, 3), month_start(&p, 1));
    p.moto("DELETE", "/moto-api/costcarve/ce-requests", "");
    let (out, _) = p.cc(&["cost", "Big", "--from", &from, "--to", &to, "--json"]);
    let series: Value = serde_json::from_str(&out).unwrap();
    let ids = want.iter().cloned().collect::<Vec<_>>().join(",");
    let independent = p.cur_sums(&["--accounts", &ids, "--from", &from, "--to", &to]);
    assert!(independent["rows"].as_u64().unwrap() > 0);
    assert_same_figures("monthly", &series, &independent);
    let sent = p.moto("GET", "/moto-api/costcarve/ce-requests", "");
    assert!(!sent.as_array().unwrap().is_empty());
    for r in sent.as_array().unwrap() {
        assert_eq!(r["params"]["BillingViewArn"], arn.as_str(), "{r}");
    }
    let (report, _) = p.verify("Big", 0);
    assert_eq!(report["ok"], true, "{report}");

    // Shared with one of its accounts: the share holds the aggregate view.
    let customer_account = want.iter().last().unwrap().clone();
    p.cc(&["vi", "share", "Big", "--with", &customer_account]);
    assert_eq!(shares_outside(&p)[0]["resources"], json!([arn]));

    // 260 fewer: back to one view filtering the 190.
    let removed: Vec<String> = want.iter().take(260).cloned().collect();
    p.cc(&["vi", "update", "Big", "--remove", &removed.join(",")]);
    let rest: BTreeSet<String> = want.iter().skip(260).cloned().collect();
    let views = views_of(&p, &id);
    assert_eq!(views.len(), 1, "{views:?}");
    assert_eq!(strings(&views[0]["accounts"]), rest);
    assert_eq!(
        views[0]["sources"][0],
        format!("arn:aws:billing::{PAYER}:billingview/primary")
    );
    assert_eq!(show(&p, "Big")["billing_view_arn"], views[0]["arn"]);
    // The share now holds the new view, for the same account.
    let shares = shares_outside(&p);
    assert_eq!(shares[0]["resources"], json!([views[0]["arn"]]));
    assert_eq!(shares[0]["principals"], json!([customer_account]));
    // The 201st account makes it an aggregate again.
    let back: Vec<String> = removed.iter().take(11).cloned().collect();
    p.cc(&["vi", "update", "Big", "--add", &back.join(",")]);
    let views = views_of(&p, &id);
    assert_eq!(
        views.len(),
        3,
        "an aggregate over two source views: {views:?}"
    );
    let shown = show(&p, "Big");
    assert_eq!(shown["status"]["state"], "healthy", "{shown}");
    assert_eq!(
        shown["integration"]["accounts"].as_array().unwrap().len(),
        201
    );
    // A second desktop sees the aggregate as one healthy integration.
    let list: Vec<Value> =
        serde_json::from_str(&p.cc_on("b", &["vi", "list", "--json"]).0).unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["status"]["state"], "healthy", "{list:?}");
    p.cc(&["vi", "delete", "Big"]);
    assert!(billing_outside(&p).is_empty());
}

/// A payer of 300 accounts whose one customer (its OU name returned) has
/// more than 200 of them.
fn one_big_customer() -> (Payer, String) {
    let p = Payer::up(&[
        "--accounts",
        "300",
        "--customers",
        "1",
        "--health-delay-seconds",
        "0.2",
    ]);
    let all: Vec<Value> = serde_json::from_str(&p.cc(&["accounts", "--json"]).0).unwrap();
    let customer = all
        .iter()
        .find_map(|a| a["unit"].as_str().unwrap().strip_prefix("Customers/"))
        .map(|rest| rest.split('/').next().unwrap().to_string())
        .unwrap();
    (p, customer)
}

#[tokio::test]
async fn an_aggregate_view_is_made_whole_or_not_at_all_and_its_source_views_drift_and_repair() {
    let (p, customer) = one_big_customer();
    let path = format!("Customers/{customer}");
    let under = accounts_under(&p, &path);
    assert!(under.len() > 200 && under.len() <= 400, "{}", under.len());
    let fault = |op: &str, nth: u32| {
        format!(
            r#"{{"kind": "error", "operation": "{op}", "nth": {nth}, "error_type": "InternalServerException", "status": 500, "message": "injected"}}"#
        )
    };

    // The aggregate view cannot be made (the third create, after its two
    // source views): nothing is left, not even the source views.
    p.billing("POST", "/_emulator/faults", &fault("CreateBillingView", 3));
    let err = p.fails(&["vi", "create", "Big", "--ou", &path], 1);
    assert!(err.contains("nothing was left behind"), "{err}");
    assert!(billing_outside(&p).is_empty(), "{:?}", billing_outside(&p));
    assert!(p.glue_views().await.is_empty());

    p.cc(&["vi", "create", "Big", "--ou", &path]);
    let shown = show(&p, "Big");
    let arn = shown["billing_view_arn"].as_str().unwrap().to_string();
    let id = shown["integration"]["id"].as_str().unwrap().to_string();
    let union = |views: &[Value]| -> BTreeSet<String> {
        views.iter().flat_map(|v| strings(&v["accounts"])).collect()
    };
    let views = views_of(&p, &id);
    assert_eq!(views.len(), 3, "{views:?}");
    assert_eq!(union(&views), under);

    // A source view's filter changed outside CostCarve: drift, refused,
    // and repaired.
    let part = views.iter().find(|v| v["arn"] != arn.as_str()).unwrap();
    let mut fewer: Vec<String> = strings(&part["accounts"]).into_iter().collect();
    let dropped = fewer.pop().unwrap();
    billing_filter_outside(&p, part["arn"].as_str().unwrap(), linked_accounts(&fewer)).await;
    let shown = show(&p, "Big");
    assert_eq!(shown["status"]["state"], "drift", "{shown}");
    assert!(
        shown["status"]["detail"]
            .as_str()
            .unwrap()
            .contains(&dropped),
        "{shown}"
    );
    let (from, to) = (month_start(&p, 2), month_start(&p, 1));
    let err = p.fails(&["cost", "Big", "--from", &from, "--to", &to, "--json"], 1);
    assert!(err.contains("not healthy"), "{err}");
    p.cc(&["vi", "repair", "Big"]);
    let views = views_of(&p, &id);
    assert_eq!(union(&views), under);
    assert_eq!(show(&p, "Big")["status"]["state"], "healthy");

    // A source view deleted outside CostCarve: the integration needs
    // repair, and repair makes its accounts whole again.
    let part = views.iter().find(|v| v["arn"] != arn.as_str()).unwrap();
    p.emu.boto3(&format!(
        "boto3.client('billing').delete_billing_view(arn={:?}, force=True)\nprint('null')",
        part["arn"].as_str().unwrap()
    ));
    let shown = show(&p, "Big");
    assert_ne!(shown["status"]["state"], "healthy", "{shown}");
    p.cc(&["vi", "repair", "Big"]);
    let views = views_of(&p, &id);
    assert_eq!(union(&views), under);
    assert!(views.iter().all(|v| v["health"] == "HEALTHY"), "{views:?}");
    assert_eq!(show(&p, "Big")["status"]["state"], "healthy");

    // Going back under 200 fails at the new single view: the aggregate
    // stands as it was, with the same ARN, and nothing else is left.
    let removed: Vec<String> = under.iter().take(under.len() - 150).cloned().collect();
    p.billing("POST", "/_emulator/faults", &fault("CreateBillingView", 1));
    let err = p.fails(&["vi", "update", "Big", "--remove", &removed.join(",")], 1);
    assert!(err.contains("restored"), "{err}");
    let views = views_of(&p, &id);
    assert_eq!(views.len(), 3, "{views:?}");
    assert_eq!(union(&views), under);
    let shown = show(&p, "Big");
    assert_eq!(shown["billing_view_arn"], arn.as_str());
    assert_eq!(shown["status"]["state"], "healthy", "{shown}");
    assert_eq!(accounts_in(&p.glue_views().await[0].1), under);
    // Without the fault it folds to one view.
    p.cc(&["vi", "update", "Big", "--remove", &removed.join(",")]);
    let views = views_of(&p, &id);
    assert_eq!(views.len(), 1, "{views:?}");
    assert_eq!(strings(&views[0]["accounts"]).len(), 150);
}

#[tokio::test]
async fn a_crash_during_an_import_or_a_change_of_layout_is_undone_or_finished() {
    let (p, customer) = one_big_customer();
    let under: Vec<String> = accounts_under(&p, &format!("Customers/{customer}"))
        .into_iter()
        .collect();
    let slow = |on: bool| {
        p.billing(
            "POST",
            "/_emulator/config",
            if on {
                r#"{"health_delay_seconds": 60}"#
            } else {
                r#"{"health_delay_seconds": 0.2}"#
            },
        );
        if !on {
            p.billing("POST", "/_emulator/settle", "{}");
        }
    };

    // An import killed once its customer's views exist: the next start
    // removes what it had begun.
    slow(true);
    crash_during(&p, &["vi", "import", "--from-ou", "Customers"], || async {
        billing_outside(&p).len() >= 3 && !p.glue_views().await.is_empty()
    })
    .await;
    slow(false);
    let (out, note) = p.cc(&["vi", "list"]);
    assert!(
        note.contains(&format!(
            "an import was interrupted; what it had begun of '{customer}' was removed"
        )),
        "{note}"
    );
    assert!(!out.contains(&customer), "{out}");
    assert!(billing_outside(&p).is_empty());
    assert!(p.glue_views().await.is_empty());

    // A change from one view to an aggregate (the 201st account), killed
    // while the new views wait to be healthy: the next start finishes it,
    // and no second set of views is left.
    p.cc(&["vi", "create", "Big", "--accounts", &under[..200].join(",")]);
    let id = show(&p, "Big")["integration"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    slow(true);
    crash_during(
        &p,
        &["vi", "update", "Big", "--add", &under[200]],
        || async { views_of(&p, &id).len() >= 4 },
    )
    .await;
    slow(false);
    let (_, note) = p.cc(&["vi", "list"]);
    assert!(
        note.contains("updating 'Big' was interrupted and has now been finished (201 accounts)"),
        "{note}"
    );
    let views = views_of(&p, &id);
    assert_eq!(
        views.len(),
        3,
        "an aggregate and its two source views: {views:?}"
    );
    let union: BTreeSet<String> = views.iter().flat_map(|v| strings(&v["accounts"])).collect();
    let want: BTreeSet<String> = under[..201].iter().cloned().collect();
    assert_eq!(union, want);
    assert_eq!(accounts_in(&p.glue_views().await[0].1), want);
    assert_eq!(show(&p, "Big")["status"]["state"], "healthy");
}

/// Every active resource share of the payer, read from outside with boto3's
/// stock `ram` client, and the resource policy of each view it shares.
fn shares_outside(p: &Payer) -> Vec<Value> {
    let out = p.emu.boto3(
        r#"
r = boto3.client('ram', region_name='us-east-1')
b = boto3.client('billing')
out = []
for s in r.get_resource_shares(resourceOwner='SELF', resourceShareStatus='ACTIVE')['resourceShares']:
    arn = s['resourceShareArn']
    res = [x['arn'] for x in r.list_resources(resourceOwner='SELF', resourceShareArns=[arn])['resources']]
    who = [x['id'] for x in r.list_principals(resourceOwner='SELF', resourceShareArns=[arn])['principals']]
    policies = [b.get_resource_policy(resourceArn=v).get('policy') for v in res]
    out.append({'arn': arn, 'tags': {t['key']: t['value'] for t in s.get('tags', [])},
                'external': s['allowExternalPrincipals'], 'resources': res, 'principals': sorted(who),
                'policies': policies})
print(json.dumps(out))
"#,
    );
    out.as_array().unwrap().clone()
}

fn ram_outside(p: &Payer, call: &str) {
    p.emu.boto3(&format!(
        "r = boto3.client('ram', region_name='us-east-1')\n{call}\nprint('null')"
    ));
}

#[tokio::test]
async fn a_view_is_shared_only_with_its_own_accounts_and_the_share_follows_the_integration() {
    let p = Payer::up(&["--accounts", "12", "--health-delay-seconds", "0.2"]);
    let (acme, id) = create(&p, "Acme", 0, 3).await;
    let accounts: Vec<Value> = serde_json::from_str(&p.cc(&["accounts", "--json"]).0).unwrap();
    let globex = p.customer_accounts(&customer_of(&accounts, 1));
    let arn = show(&p, "Acme")["billing_view_arn"]
        .as_str()
        .unwrap()
        .to_string();

    // The connection test says whether RAM sharing with the organization
    // is on (and how to turn it on); it is optional, so the test passes.
    let sharing_check = || -> Value {
        let report: Value =
            serde_json::from_str(&p.ok(&["connection", "test", "emu", "--json"])).unwrap();
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| {
                c["name"]
                    .as_str()
                    .unwrap()
                    .starts_with("sharing with customers")
            })
            .cloned()
            .unwrap()
    };
    let check_now = sharing_check();
    assert_eq!(check_now["ok"], false, "{check_now}");
    assert_eq!(check_now["optional"], true, "{check_now}");
    assert!(
        check_now["fix"]
            .as_str()
            .unwrap()
            .contains("enable-sharing-with-aws-organization")
            && check_now["fix"]
                .as_str()
                .unwrap()
                .contains("billing:PutResourcePolicy"),
        "{check_now}"
    );
    ram_outside(&p, "r.enable_sharing_with_aws_organization()");
    assert_eq!(sharing_check()["ok"], true);

    // Another customer's account: refused, nothing shared.
    let err = p.fails(&["vi", "share", "Acme", "--with", &globex[0]], 2);
    assert!(err.contains("not in 'Acme'"), "{err}");
    assert!(shares_outside(&p).is_empty());

    // One share, holding the view and the member; the view's policy names
    // exactly that member.
    let (out, _) = p.cc(&["vi", "share", "Acme", "--with", &acme[0]]);
    assert!(
        out.contains(&format!("'Acme' is shared with {}", acme[0])),
        "{out}"
    );
    let shares = shares_outside(&p);
    assert_eq!(shares.len(), 1, "{shares:?}");
    let share = &shares[0];
    assert_eq!(share["tags"]["costcarve-integration-id"], id.as_str());
    assert_eq!(share["external"], false);
    assert_eq!(share["resources"], json!([arn]));
    assert_eq!(share["principals"], json!([acme[0]]));
    let policy = share["policies"][0].as_str().unwrap();
    assert!(
        policy.contains(&format!("arn:aws:iam::{}:root", acme[0])),
        "{policy}"
    );
    for other in acme[1..].iter().chain(&globex) {
        assert!(!policy.contains(other.as_str()), "{policy}");
    }
    let shown = show(&p, "Acme");
    assert_eq!(shown["shared_with"], json!([acme[0]]));
    assert_eq!(shown["status"]["state"], "healthy", "{shown}");
    let share_part = |report: &Value| {
        check(report, "definitions")["evidence"]["parts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["part"] == "resource_share")
            .cloned()
            .unwrap()
    };
    let (report, _) = p.verify("Acme", 0);
    let part = share_part(&report);
    assert_eq!(part["ok"], true, "{part}");
    assert!(
        part["detail"].as_str().unwrap().contains(&acme[0]),
        "{part}"
    );

    // The principal removed in RAM from outside: drift; repair restores it.
    let share_arn = share["arn"].as_str().unwrap().to_string();
    ram_outside(
        &p,
        &format!(
            "r.disassociate_resource_share(resourceShareArn={share_arn:?}, principals=[{:?}])",
            acme[0]
        ),
    );
    let shown = show(&p, "Acme");
    assert_eq!(shown["status"]["state"], "drift", "{shown}");
    p.cc(&["vi", "repair", "Acme"]);
    assert_eq!(shares_outside(&p)[0]["principals"], json!([acme[0]]));
    // Another customer's account added outside: drift; repair takes it out.
    ram_outside(
        &p,
        &format!(
            "r.associate_resource_share(resourceShareArn={share_arn:?}, principals=[{:?}])",
            globex[0]
        ),
    );
    let shown = show(&p, "Acme");
    assert_eq!(shown["status"]["state"], "drift", "{shown}");
    let (report, _) = p.verify("Acme", 4);
    assert_eq!(share_part(&report)["ok"], false, "{report}");
    p.cc(&["vi", "repair", "Acme"]);
    assert_eq!(shares_outside(&p)[0]["principals"], json!([acme[0]]));
    assert_eq!(show(&p, "Acme")["status"]["state"], "healthy");

    // The share deleted outside: drift; repair makes it again.
    ram_outside(
        &p,
        &format!("r.delete_resource_share(resourceShareArn={share_arn:?})"),
    );
    let shown = show(&p, "Acme");
    assert_eq!(shown["status"]["state"], "drift", "{shown}");
    assert!(
        shown["status"]["detail"]
            .as_str()
            .unwrap()
            .contains("deleted outside CostCarve"),
        "{shown}"
    );
    p.cc(&["vi", "repair", "Acme"]);
    let shares = shares_outside(&p);
    assert_eq!(shares.len(), 1, "{shares:?}");
    assert_eq!(shares[0]["principals"], json!([acme[0]]));
    assert_eq!(shares[0]["resources"], json!([arn]));

    // The shared member leaves the integration: it loses the view first.
    p.cc(&["vi", "update", "Acme", "--remove", &acme[0]]);
    assert!(shares_outside(&p).is_empty(), "{:?}", shares_outside(&p));
    assert_eq!(show(&p, "Acme")["shared_with"], json!([]));

    // A fault at each step leaves the sharing as it was.
    p.moto(
        "POST",
        "/moto-api/costcarve/ram-faults",
        r#"{"operation": "CreateResourceShare", "nth": 1}"#,
    );
    p.fails(&["vi", "share", "Acme", "--with", &acme[1]], 1);
    assert!(shares_outside(&p).is_empty());
    assert_eq!(show(&p, "Acme")["shared_with"], json!([]));
    p.cc(&["vi", "share", "Acme", "--with", &acme[1]]);
    p.moto(
        "POST",
        "/moto-api/costcarve/ram-faults",
        r#"{"operation": "AssociateResourceShare", "nth": 1}"#,
    );
    p.fails(&["vi", "share", "Acme", "--with", &acme[2]], 1);
    assert_eq!(shares_outside(&p)[0]["principals"], json!([acme[1]]));
    assert_eq!(show(&p, "Acme")["shared_with"], json!([acme[1]]));
    // Recording the sharing on the billing view fails: RAM is put back.
    p.billing(
        "POST",
        "/_emulator/faults",
        r#"{"kind": "error", "operation": "TagResource", "nth": 1, "error_type": "InternalServerException", "status": 500, "message": "injected"}"#,
    );
    p.fails(&["vi", "share", "Acme", "--with", &acme[2]], 1);
    assert_eq!(shares_outside(&p)[0]["principals"], json!([acme[1]]));
    assert_eq!(show(&p, "Acme")["shared_with"], json!([acme[1]]));
    p.cc(&["vi", "share", "Acme", "--with", &acme[2]]);
    p.moto(
        "POST",
        "/moto-api/costcarve/ram-faults",
        r#"{"operation": "DisassociateResourceShare", "nth": 1}"#,
    );
    p.fails(&["vi", "unshare", "Acme", "--with", &acme[2]], 1);
    assert_eq!(
        shares_outside(&p)[0]["principals"],
        json!([acme[1], acme[2]])
    );
    p.cc(&["vi", "unshare", "Acme", "--with", &acme[2]]);
    p.moto(
        "POST",
        "/moto-api/costcarve/ram-faults",
        r#"{"operation": "DeleteResourceShare", "nth": 1}"#,
    );
    p.fails(&["vi", "unshare", "Acme", "--with", &acme[1]], 1);
    assert_eq!(shares_outside(&p)[0]["principals"], json!([acme[1]]));
    let shown = show(&p, "Acme");
    assert_eq!(shown["shared_with"], json!([acme[1]]));
    assert_eq!(shown["status"]["state"], "healthy", "{shown}");

    // Delete leaves no resource share behind.
    p.cc(&["vi", "delete", "Acme"]);
    assert!(shares_outside(&p).is_empty());
}

#[tokio::test]
async fn a_crash_while_sharing_is_finished_on_the_next_start() {
    let p = Payer::up(&["--accounts", "8", "--health-delay-seconds", "0.2"]);
    let (acme, _) = create(&p, "Acme", 0, 2).await;
    // Killed after RAM made the share, while the billing view's record of
    // it is being written (slow): the next start finishes it.
    p.billing(
        "POST",
        "/_emulator/faults",
        r#"{"kind": "delay", "operation": "TagResource", "delay_ms": 5000, "nth": 1, "times": 1}"#,
    );
    crash_during(&p, &["vi", "share", "Acme", "--with", &acme[0]], || async {
        !shares_outside(&p).is_empty()
    })
    .await;
    let (_, note) = p.cc(&["vi", "list"]);
    assert!(
        note.contains("sharing 'Acme' was interrupted and has now been finished"),
        "{note}"
    );
    let shares = shares_outside(&p);
    assert_eq!(shares.len(), 1, "{shares:?}");
    assert_eq!(shares[0]["principals"], json!([acme[0]]));
    let shown = show(&p, "Acme");
    assert_eq!(shown["shared_with"], json!([acme[0]]));
    assert_eq!(shown["status"]["state"], "healthy", "{shown}");
}

#[tokio::test]
async fn an_import_row_that_fails_leaves_nothing_and_the_same_import_makes_it_later() {
    let p = Payer::up(&["--accounts", "30", "--health-delay-seconds", "0.2"]);
    let customers: BTreeSet<String> =
        serde_json::from_str::<Vec<Value>>(&p.cc(&["accounts", "--json"]).0)
            .unwrap()
            .iter()
            .filter_map(|a| a["unit"].as_str().unwrap().strip_prefix("Customers/"))
            .map(|rest| rest.split('/').next().unwrap().to_string())
            .collect();
    // The second billing view made fails: that row fails and leaves
    // nothing; the others are made.
    p.billing(
        "POST",
        "/_emulator/faults",
        r#"{"kind": "error", "operation": "CreateBillingView", "nth": 2, "error_type": "InternalServerException", "status": 500, "message": "injected"}"#,
    );
    let out = p.run_on(
        "a",
        &[
            "--connection",
            "emu",
            "vi",
            "import",
            "--from-ou",
            "Customers",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let outcomes = report["outcomes"].as_array().unwrap();
    let failed: Vec<&Value> = outcomes
        .iter()
        .filter(|o| o["outcome"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(outcomes.len(), customers.len());
    let failed_name = failed[0]["name"].as_str().unwrap().to_string();
    let views = billing_outside(&p);
    assert_eq!(views.len(), customers.len() - 1, "{views:?}");
    assert!(!views
        .iter()
        .any(|v| v["name"] == format!("costcarve-{failed_name}")));
    assert!(!p
        .glue_views()
        .await
        .iter()
        .any(|(n, _)| *n == format!("vi_{}", failed_name.to_lowercase().replace(' ', "_"))));
    // The same import again makes only the one that failed.
    let (out, _) = p.cc(&["vi", "import", "--from-ou", "Customers"]);
    assert!(
        out.contains(&format!(
            "1 created, {} unchanged, 0 failed",
            customers.len() - 1
        )),
        "{out}"
    );
    let list: Vec<Value> = serde_json::from_str(&p.cc(&["vi", "list", "--json"]).0).unwrap();
    assert_eq!(list.len(), customers.len());
    assert!(
        list.iter().all(|m| m["status"]["state"] == "healthy"),
        "{list:?}"
    );
}

/// Sums of the emulated CUR per product code in one month, for `accounts`.
fn month_by_code(
    p: &Payer,
    accounts: &[String],
    month: &str,
    metric: &str,
) -> BTreeMap<String, f64> {
    let to = (chrono::NaiveDate::parse_from_str(month, "%Y-%m-%d").unwrap()
        + chrono::Months::new(1))
    .to_string();
    let sums = p.cur_sums(&[
        "--accounts",
        &accounts.join(","),
        "--from",
        month,
        "--to",
        &to,
        "--granularity",
        "none",
        "--group-by",
        "product_code",
        "--metric",
        metric,
        "--exclude",
        "Tax",
    ]);
    sums["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pt| {
            (
                pt["keys"][0].as_str().unwrap().to_string(),
                num(&pt["amount"]),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_review_pack_on_a_payer_says_its_cost_first_reads_list_prices_from_the_cur_and_holds_no_one_else(
) {
    use crate::review::{assert_cent, csv_rows, pdf_text, twelve_digit_runs};
    let p = Payer::up(&["--accounts", "12", "--health-delay-seconds", "0.2"]);
    let (acme, _) = create(&p, "Acme", 0, 3).await;
    create(&p, "Globex", 1, 2).await;
    p.cc(&[
        "vi",
        "profile",
        "Acme",
        "--display-name",
        "Acme Corp GmbH",
        "--basis",
        "public_on_demand",
        "--exclude",
        "Tax",
    ]);
    // Saved in the payer: a second desktop sees it.
    let shown: Value =
        serde_json::from_str(&p.cc_on("b", &["vi", "show", "Acme", "--json"]).0).unwrap();
    assert_eq!(
        shown["integration"]["profile"]["display_name"], "Acme Corp GmbH",
        "{shown}"
    );
    assert_eq!(
        shown["integration"]["profile"]["basis"],
        "public_on_demand_cost"
    );
    assert_eq!(shown["integration"]["profile"]["exclude"], json!(["Tax"]));

    // List prices come from the CUR through Athena, equal to the data.
    let month = month_start(&p, 1);
    let month_ym = &month[..7];
    let want = month_by_code(&p, &acme, &month, "public_on_demand");
    assert!(want.values().sum::<f64>() > 0.0);
    p.moto("DELETE", "/moto-api/costcarve/ce-requests", "");
    let dir = p.home.path().join("pack");
    let (stdout, stderr) = p.cc(&[
        "review",
        "Acme",
        "--month",
        month_ym,
        "--out",
        dir.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        stderr.contains("will spend: 4 Athena queries scanning at most"),
        "said before: {stderr}"
    );
    let written: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(written["ce_requests"], 0, "{written}");
    assert_eq!(written["athena_queries"], 4, "{written}");
    assert!(written["athena_bytes"].as_u64().unwrap() > 0);
    let sent = p.moto("GET", "/moto-api/costcarve/ce-requests", "");
    assert_eq!(
        sent.as_array().unwrap().len(),
        0,
        "no Cost Explorer request: {sent}"
    );
    let services = csv_rows(&dir.join(format!("Acme-{month_ym}-services.csv")));
    let got: BTreeMap<String, f64> = services
        .iter()
        .map(|r| (r["service_code"].clone(), crate::review::num(&r["month"])))
        .collect();
    for (code, w) in &want {
        assert_cent(code, got.get(code).copied().unwrap_or(0.0), *w);
    }
    let pdf = PathBuf::from(written["pdf"].as_str().unwrap());
    let text = pdf_text(&pdf);
    assert!(text.contains("Acme Corp GmbH"));
    assert!(text.contains("Public on-demand cost (AWS list prices); tax left out."));
    assert!(
        text.contains("Amazon Athena"),
        "the appendix says where the figures come from"
    );
    let total: f64 = want.values().sum();
    let total_text = costcarve_core::presentation::money(
        rust_decimal::Decimal::from_f64_retain(total).unwrap(),
        "USD",
    );
    assert!(text.contains(&total_text), "{total_text} not in the PDF");
    let members: BTreeSet<String> = acme.iter().cloned().collect();
    let mut texts = vec![text];
    for csv in written["csvs"].as_array().unwrap() {
        texts.push(std::fs::read_to_string(csv.as_str().unwrap()).unwrap());
    }
    for t in &texts {
        for id in twelve_digit_runs(t) {
            assert!(members.contains(&id), "{id} (not Acme's) in the pack");
        }
        assert!(!t.contains("Globex"));
    }

    // Closed months are kept: the same pack again spends nothing.
    let (_, stderr) = p.cc(&[
        "review",
        "Acme",
        "--month",
        month_ym,
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(
        stderr.contains("will spend: Nothing: every figure is in the cache."),
        "{stderr}"
    );

    // On a Cost Explorer basis: requests said first, all through the view.
    p.cc(&["vi", "profile", "Acme", "--basis", "unblended"]);
    p.moto("DELETE", "/moto-api/costcarve/ce-requests", "");
    let (stdout, stderr) = p.cc(&[
        "review",
        "Acme",
        "--month",
        month_ym,
        "--out",
        p.home.path().join("pack2").to_str().unwrap(),
        "--json",
    ]);
    assert!(
        stderr.contains("will spend: At least 4 Cost Explorer requests (USD 0.04)."),
        "{stderr}"
    );
    let written: Value = serde_json::from_str(&stdout).unwrap();
    let sent = p.moto("GET", "/moto-api/costcarve/ce-requests", "");
    let sent = sent.as_array().unwrap();
    assert_eq!(written["ce_requests"].as_u64().unwrap(), sent.len() as u64);
    let arn = show(&p, "Acme")["billing_view_arn"]
        .as_str()
        .unwrap()
        .to_string();
    for r in sent {
        assert_eq!(r["params"]["BillingViewArn"], arn.as_str(), "{r}");
    }
}
