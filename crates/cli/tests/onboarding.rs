//! Membership rules, `vi sync` and `vi import` on the local demo, as a user
//! runs them; every expected member set is computed independently from
//! `accounts --json` (the organization as the user sees it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::cli::{costcarve, demo, fails, ok};

/// The organization as `accounts --json` lists it: id → (unit path, tags).
fn accounts(ws: &Path) -> BTreeMap<String, (String, Value)> {
    let all: Vec<Value> = serde_json::from_str(&ok(ws, &["accounts", "--json"])).unwrap();
    all.into_iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_string(),
                (a["unit"].as_str().unwrap().to_string(), a["tags"].clone()),
            )
        })
        .collect()
}

/// Accounts whose unit is `path` or below it.
fn under(ws: &Path, path: &str) -> BTreeSet<String> {
    accounts(ws)
        .into_iter()
        .filter(|(_, (unit, _))| unit == path || unit.starts_with(&format!("{path}/")))
        .map(|(id, _)| id)
        .collect()
}

fn show(ws: &Path, name: &str) -> Value {
    serde_json::from_str(&ok(ws, &["vi", "show", name, "--json"])).unwrap()
}

fn members(ws: &Path, name: &str) -> BTreeSet<String> {
    show(ws, name)["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

fn names(ws: &Path) -> Vec<String> {
    let list: Vec<Value> = serde_json::from_str(&ok(ws, &["vi", "list", "--json"])).unwrap();
    list.iter()
        .map(|v| v["name"].as_str().unwrap().to_string())
        .collect()
}

/// Moves an account to the unit at `path` in the workspace's organization
/// file (what `organizations move-account` does to a payer).
fn move_account(ws: &Path, account: &str, path: &str) {
    let file = ws.join("organization.json");
    let mut org: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let units = org["units"].as_array().unwrap().clone();
    let path_of = |id: &str| {
        let mut names = Vec::new();
        let mut cur = units.iter().find(|u| u["id"] == id);
        while let Some(u) = cur {
            if u["parent_id"].is_null() {
                break;
            }
            names.push(u["name"].as_str().unwrap().to_string());
            cur = units.iter().find(|x| x["id"] == u["parent_id"]);
        }
        names.reverse();
        names.join("/")
    };
    let target = units
        .iter()
        .find(|u| path_of(u["id"].as_str().unwrap()) == path)
        .unwrap()["id"]
        .clone();
    for a in org["accounts"].as_array_mut().unwrap() {
        if a["id"] == account {
            a["parent_id"] = target.clone();
        }
    }
    std::fs::write(&file, serde_json::to_vec(&org).unwrap()).unwrap();
}

#[test]
fn one_integration_per_customer_ou_then_rules_follow_the_organization() {
    let (_tmp, ws) = demo();
    let customers: BTreeSet<String> = accounts(&ws)
        .values()
        .filter_map(|(unit, _)| unit.strip_prefix("Customers/"))
        .map(|rest| rest.split('/').next().unwrap().to_string())
        .collect();
    assert!(customers.len() >= 6, "{customers:?}");

    // A dry run checks everything and makes nothing.
    let out = ok(
        &ws,
        &["vi", "import", "--from-ou", "Customers", "--dry-run"],
    );
    assert!(out.contains("nothing was created (--dry-run)"), "{out}");
    assert!(names(&ws).is_empty());

    // One integration per customer OU, named after it, holding its subtree.
    let out = costcarve(&ws, &["vi", "import", "--from-ou", "Customers"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let progress = String::from_utf8(out.stderr).unwrap();
    assert!(
        progress.contains(&format!("[{n}/{n}] created", n = customers.len())),
        "{progress}"
    );
    assert_eq!(names(&ws), customers.iter().cloned().collect::<Vec<_>>());
    for c in &customers {
        assert_eq!(
            members(&ws, c),
            under(&ws, &format!("Customers/{c}")),
            "{c}"
        );
        let rules = &show(&ws, c)["rules"];
        assert_eq!(rules["units"][0], format!("Customers/{c}"), "{rules}");
    }
    // Again: nothing changes, and it says so.
    let before = std::fs::read(ws.join("integrations.json")).unwrap();
    let out = ok(&ws, &["vi", "import", "--from-ou", "Customers"]);
    assert!(out.contains("nothing to import"), "{out}");
    assert_eq!(std::fs::read(ws.join("integrations.json")).unwrap(), before);

    // An account moved into a customer's OU joins it at the next sync, and
    // leaves the customer it came from; a dry run changes nothing.
    let mut it = customers.iter();
    let (a, b) = (it.next().unwrap().clone(), it.next().unwrap().clone());
    let moving = under(&ws, &format!("Customers/{b}"))
        .into_iter()
        .next()
        .unwrap();
    move_account(&ws, &moving, &format!("Customers/{a}/prod"));
    let plan: Value =
        serde_json::from_str(&ok(&ws, &["vi", "sync", "--dry-run", "--json"])).unwrap();
    assert_eq!(plan["out_of_date"], 2, "{plan}");
    let change = |name: &str| {
        plan["integrations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(change(&a)["diff"]["added"][0], moving.as_str());
    assert_eq!(change(&b)["diff"]["removed"][0], moving.as_str());
    assert_eq!(std::fs::read(ws.join("integrations.json")).unwrap(), before);
    // Syncing one alone does not take an account the other still holds.
    let one: Value =
        serde_json::from_str(&ok(&ws, &["vi", "sync", &a, "--dry-run", "--json"])).unwrap();
    assert_eq!(one["out_of_date"], 0, "{one}");
    assert_eq!(
        one["integrations"][0]["diff"]["left_out"][0]["integration"],
        b.as_str(),
        "{one}"
    );
    let out = ok(&ws, &["vi", "sync"]);
    assert!(
        out.contains("2 of 2 out of date brought up to date"),
        "{out}"
    );
    assert!(members(&ws, &a).contains(&moving));
    assert!(!members(&ws, &b).contains(&moving));
    assert_eq!(members(&ws, &a), under(&ws, &format!("Customers/{a}")));
    let out = ok(&ws, &["vi", "sync"]);
    assert!(out.contains("every integration is up to date"), "{out}");
    // A suspended account leaves its customer at the next sync, reported.
    let suspended = members(&ws, &a).into_iter().find(|x| *x != moving).unwrap();
    let file = ws.join("organization.json");
    let mut org: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    for acct in org["accounts"].as_array_mut().unwrap() {
        if acct["id"] == suspended.as_str() {
            acct["status"] = "SUSPENDED".into();
        }
    }
    std::fs::write(&file, serde_json::to_vec(&org).unwrap()).unwrap();
    let out = costcarve(&ws, &["vi", "sync"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8(out.stderr).unwrap();
    assert!(
        said.contains(&format!("left out {suspended}: it is SUSPENDED")),
        "{said}"
    );
    assert!(!members(&ws, &a).contains(&suspended));
    // The moved account's costs now answer for its new customer.
    let sql =
        format!("SELECT COUNT(*) AS n FROM cur WHERE line_item_usage_account_id = '{moving}'");
    let rows: Value = serde_json::from_str(&ok(&ws, &["sql", &a, &sql, "--json"])).unwrap();
    assert_ne!(rows["rows"][0][0].to_string(), "0", "{rows}");
}

#[test]
fn rules_mix_ous_tags_ids_and_exclusions_and_bad_rules_create_nothing() {
    let (_tmp, ws) = demo();
    let all = accounts(&ws);
    let sandbox: Vec<String> = under(&ws, "Sandbox").into_iter().collect();
    let acme = under(&ws, "Customers/Acme Retail");
    let excluded = acme.iter().next().unwrap().clone();

    // OU + tag + id − exclusion, resolved exactly.
    let out = costcarve(
        &ws,
        &[
            "vi",
            "create",
            "Mixed",
            "--ou",
            "Customers/Acme Retail",
            "--tag",
            "env=shared",
            "--accounts",
            &sandbox[0],
            "--exclude",
            &excluded,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut want: BTreeSet<String> = acme.clone();
    want.remove(&excluded);
    want.insert(sandbox[0].clone());
    want.extend(
        all.iter()
            .filter(|(_, (_, tags))| tags["env"] == "shared")
            .map(|(id, _)| id.clone()),
    );
    assert_eq!(members(&ws, "Mixed"), want);
    let rules = show(&ws, "Mixed")["rules"].clone();
    assert_eq!(rules["exclude"][0], excluded.as_str(), "{rules}");
    assert_eq!(rules["tags"][0]["key"], "env", "{rules}");

    // Another integration over the same OU leaves out what Mixed holds,
    // and says so; with nothing left it is refused.
    let acme_prod = under(&ws, "Customers/Acme Retail/prod");
    let out = costcarve(
        &ws,
        &["vi", "create", "Acme", "--ou", "Customers/Acme Retail"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("it is already in 'Mixed'"), "{err}");
    assert_eq!(members(&ws, "Acme"), BTreeSet::from([excluded.clone()]));
    let err = fails(
        &ws,
        &["vi", "create", "Prod", "--ou", "Customers/Acme Retail/prod"],
        2,
    );
    assert!(
        err.contains("every account the rules name is left out"),
        "{err}"
    );
    assert!(err.contains("--allow-shared"), "{err}");
    ok(
        &ws,
        &[
            "vi",
            "create",
            "Prod",
            "--ou",
            "Customers/Acme Retail/prod",
            "--allow-shared",
        ],
    );
    assert_eq!(members(&ws, "Prod"), acme_prod);

    // Updating rules: drop the tag, remove an OU-named account (it becomes
    // an exclusion), add an OU.
    ok(&ws, &["vi", "delete", "Acme"]);
    let dropped = acme_prod.iter().next().unwrap().clone();
    ok(
        &ws,
        &[
            "vi",
            "update",
            "Mixed",
            "--remove-tag",
            "env=shared",
            "--remove",
            &dropped,
            "--add",
            &excluded,
        ],
    );
    let mut want = acme.clone();
    want.remove(&dropped);
    want.insert(sandbox[0].clone());
    assert_eq!(members(&ws, "Mixed"), want);
    assert_eq!(show(&ws, "Mixed")["rules"]["exclude"][0], dropped.as_str());

    // Bad rules: exit 2, what to fix, nothing made.
    let before = std::fs::read(ws.join("integrations.json")).unwrap();
    let err = fails(
        &ws,
        &["vi", "create", "X", "--ou", "Customers/Acme Retial"],
        2,
    );
    assert!(err.contains("no OU 'Customers/Acme Retial'"), "{err}");
    let err = fails(&ws, &["vi", "create", "X", "--ou", "Customers/Acme"], 2);
    assert!(
        err.contains("did you mean") && err.contains("Customers/Acme Retail"),
        "{err}"
    );
    let err = fails(&ws, &["vi", "create", "X", "--tag", "env"], 2);
    assert!(err.contains("KEY=VALUE"), "{err}");
    let err = fails(&ws, &["vi", "create", "X", "--tag", "env=nowhere"], 2);
    assert!(err.contains("name no active account"), "{err}");
    let err = fails(&ws, &["vi", "create", "X"], 2);
    assert!(err.contains("at least one account"), "{err}");
    // Sharing is a payer's: a local workspace says so.
    let err = fails(&ws, &["vi", "share", "Mixed", "--with", &sandbox[0]], 2);
    assert!(err.contains("open a payer"), "{err}");
    assert_eq!(std::fs::read(ws.join("integrations.json")).unwrap(), before);
}

#[test]
fn a_csv_import_checks_every_row_before_making_anything() {
    let (tmp, ws) = demo();
    let sandbox: Vec<String> = under(&ws, "Sandbox").into_iter().collect();
    let csv = tmp.path().join("customers.csv");
    let good = format!(
        "name,ous,tags,accounts,exclude\n\
         Acme,Customers/Acme Retail,,,\n\
         Shared,,env=shared,,\n\
         Lab,,,\"{};{}\",\n",
        sandbox[0], sandbox[1]
    );
    // One bad row (an OU that does not exist) and one clash: both named,
    // exit 2, nothing made.
    std::fs::write(
        &csv,
        format!("{good}Borealis,Customers/Borealis Helth,,,\nAcme,Customers/Cobalt Logistics,,,\n"),
    )
    .unwrap();
    let err = fails(&ws, &["vi", "import", csv.to_str().unwrap()], 2);
    assert!(err.contains("2 of 5 rows need to be fixed"), "{err}");
    assert!(
        err.contains("line 5 (Borealis): no OU 'Customers/Borealis Helth'"),
        "{err}"
    );
    assert!(
        err.contains("line 6 (Acme): the name is given twice"),
        "{err}"
    );
    assert!(names(&ws).is_empty());

    std::fs::write(&csv, &good).unwrap();
    let report: Value =
        serde_json::from_str(&ok(&ws, &["vi", "import", csv.to_str().unwrap(), "--json"])).unwrap();
    let outcomes = report["outcomes"].as_array().unwrap();
    assert_eq!(outcomes.len(), 3, "{report}");
    assert!(
        outcomes.iter().all(|o| o["outcome"] == "created"),
        "{report}"
    );
    assert_eq!(members(&ws, "Acme"), under(&ws, "Customers/Acme Retail"));
    assert_eq!(members(&ws, "Lab"), sandbox[..2].iter().cloned().collect());
    assert_eq!(members(&ws, "Shared"), under(&ws, "Shared services"));
    let out = ok(&ws, &["vi", "import", csv.to_str().unwrap()]);
    assert!(
        out.contains("nothing to import: all 3 integrations exist"),
        "{out}"
    );
    // The same name with other rules is not silently changed.
    std::fs::write(&csv, "name,ous\nAcme,Customers/Cobalt Logistics\n").unwrap();
    let err = fails(&ws, &["vi", "import", csv.to_str().unwrap()], 2);
    assert!(err.contains("exists already with other rules"), "{err}");
}
