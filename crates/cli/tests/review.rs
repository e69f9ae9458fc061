//! `costcarve review` on the local demo, checked as a customer and an
//! auditor would: the PDF opens (pdfinfo), its text (pdftotext) names the
//! customer, the month and the basis and holds the month's total as `cost`
//! gives it; every CSV figure equals a sum over the Parquet files read by
//! the parquet crate alone; no file holds another customer's id or name.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, TimestampMillisecondType};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

use costcarve_core::presentation::money;

use crate::cli::{demo, fails, ok};

/// One CUR line as the oracle sees it.
struct Line {
    account: String,
    item_type: String,
    service: String,
    day: NaiveDate,
    net: f64,
    unblended: f64,
    public: f64,
}

/// Every line of the workspace's CUR, read with the parquet crate alone.
fn lines(ws: &Path) -> Vec<Line> {
    let mut out = Vec::new();
    for period in fs::read_dir(ws.join("cur")).unwrap() {
        for f in fs::read_dir(period.unwrap().path()).unwrap() {
            let reader = ParquetRecordBatchReaderBuilder::try_new(
                fs::File::open(f.unwrap().path()).unwrap(),
            )
            .unwrap()
            .build()
            .unwrap();
            for batch in reader {
                let b = batch.unwrap();
                let col = |name: &str| b.column(b.schema().index_of(name).unwrap()).clone();
                let text = |name: &str| cast(&col(name), &DataType::Utf8).unwrap();
                let (account, item, service) = (
                    text("line_item_usage_account_id"),
                    text("line_item_line_item_type"),
                    text("line_item_product_code"),
                );
                let (account, item, service) = (
                    account.as_string::<i32>(),
                    item.as_string::<i32>(),
                    service.as_string::<i32>(),
                );
                let start = col("line_item_usage_start_date");
                let start = start.as_primitive::<TimestampMillisecondType>();
                let f64s = |name: &str| col(name);
                let (net, unblended, public) = (
                    f64s("line_item_net_unblended_cost"),
                    f64s("line_item_unblended_cost"),
                    f64s("pricing_public_on_demand_cost"),
                );
                let (net, unblended, public) = (
                    net.as_primitive::<Float64Type>(),
                    unblended.as_primitive::<Float64Type>(),
                    public.as_primitive::<Float64Type>(),
                );
                for i in 0..b.num_rows() {
                    out.push(Line {
                        account: account.value(i).to_string(),
                        item_type: item.value(i).to_string(),
                        service: service.value(i).to_string(),
                        day: chrono::DateTime::from_timestamp_millis(start.value(i))
                            .unwrap()
                            .date_naive(),
                        net: if net.is_null(i) {
                            unblended.value(i)
                        } else {
                            net.value(i)
                        },
                        unblended: unblended.value(i),
                        public: public.value(i),
                    });
                }
            }
        }
    }
    out
}

fn tool(name: &str) -> Command {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .unwrap();
    assert!(
        found.status.success(),
        "{name} is missing: install poppler-utils (scripts/setup-system does)"
    );
    Command::new(name)
}

pub(crate) fn pdf_text(pdf: &Path) -> String {
    let out = tool("pdftotext").arg(pdf).arg("-").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn pdf_info(pdf: &Path) -> String {
    let out = tool("pdfinfo").arg(pdf).output().unwrap();
    assert!(
        out.status.success(),
        "pdfinfo refuses {}: {}",
        pdf.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub(crate) fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = fs::read_to_string(path).unwrap();
    let mut it = text.lines();
    let header: Vec<String> = split_csv(it.next().unwrap());
    it.map(|l| header.iter().cloned().zip(split_csv(l)).collect())
        .collect()
}

/// A CSV line's fields (quoted fields may hold commas).
fn split_csv(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                out.last_mut().unwrap().push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            c => out.last_mut().unwrap().push(c),
        }
    }
    out
}

pub(crate) fn num(s: &str) -> f64 {
    s.parse()
        .unwrap_or_else(|_| panic!("'{s}' is not a number"))
}

pub(crate) fn assert_cent(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 0.0051,
        "{what}: the pack says {got}, the Parquet files {want}"
    );
}

/// Every run of exactly 12 digits in `text`.
pub(crate) fn twelve_digit_runs(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut run = String::new();
    for c in text.chars().chain([' ']) {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            if run.len() == 12 {
                out.insert(run.clone());
            }
            run.clear();
        }
    }
    out
}

fn month_of(d: NaiveDate) -> String {
    d.format("%Y-%m").to_string()
}

/// Runs `review` and returns its JSON answer and the folder.
fn review(ws: &Path, name: &str, month: &str, out: &Path) -> Value {
    serde_json::from_str(&ok(
        ws,
        &[
            "review",
            name,
            "--month",
            month,
            "--out",
            out.to_str().unwrap(),
            "--json",
        ],
    ))
    .unwrap()
}

fn files_text(written: &Value) -> Vec<(PathBuf, String)> {
    let mut out = vec![{
        let pdf = PathBuf::from(written["pdf"].as_str().unwrap());
        let text = pdf_text(&pdf);
        (pdf, text)
    }];
    for csv in written["csvs"].as_array().unwrap() {
        let p = PathBuf::from(csv.as_str().unwrap());
        let text = fs::read_to_string(&p).unwrap();
        out.push((p, text));
    }
    out
}

#[test]
fn a_review_pack_holds_this_customers_figures_on_its_basis_and_nothing_of_the_others() {
    let (tmp, ws) = demo();
    ok(&ws, &["vi", "import", "--from-ou", "Customers"]);
    let list: Vec<Value> = serde_json::from_str(&ok(&ws, &["vi", "list", "--json"])).unwrap();
    let show: Value =
        serde_json::from_str(&ok(&ws, &["vi", "show", "Acme Retail", "--json"])).unwrap();
    let members: BTreeSet<String> = show["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    let others: Vec<String> = list
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_string())
        .filter(|n| n != "Acme Retail")
        .collect();
    assert!(others.len() >= 5, "{others:?}");
    let accounts: Vec<Value> = serde_json::from_str(&ok(&ws, &["accounts", "--json"])).unwrap();
    let foreign_names: Vec<String> = accounts
        .iter()
        .filter(|a| !members.contains(a["id"].as_str().unwrap()))
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect();

    // The profile: bad input says what to fix, and changes nothing.
    let err = fails(
        &ws,
        &["vi", "profile", "Acme Retail", "--exclude", "Credits"],
        2,
    );
    assert!(
        err.contains("'Credits' is not a line item type") && err.contains("Credit,"),
        "{err}"
    );
    let err = fails(
        &ws,
        &["vi", "profile", "Acme Retail", "--basis", "list-ish"],
        2,
    );
    assert!(err.contains("public_on_demand"), "{err}");
    ok(
        &ws,
        &[
            "vi",
            "profile",
            "Acme Retail",
            "--display-name",
            "Acme Corp GmbH",
            "--basis",
            "net_unblended",
            "--exclude",
            "credit,Tax",
        ],
    );
    let shown = ok(&ws, &["vi", "show", "Acme Retail"]);
    assert!(
        shown.contains(
            "'Acme Corp GmbH': Net unblended cost (after discounts); credits and tax left out."
        ),
        "{shown}"
    );

    // Bad months.
    let err = fails(
        &ws,
        &["review", "Acme Retail", "--month", "2026-13", "--out", "x"],
        2,
    );
    assert!(err.contains("YYYY-MM"), "{err}");
    let err = fails(
        &ws,
        &["review", "Acme Retail", "--month", "2999-01", "--out", "x"],
        2,
    );
    assert!(err.contains("has not begun"), "{err}");

    // vi verify first: the pack then says how its figures are checked.
    ok(&ws, &["vi", "verify", "Acme Retail", "--months", "2"]);
    let month = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
    let prev = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
    let out = tmp.path().join("pack");
    let written = review(&ws, "Acme Retail", "2026-10", &out);
    let pages: Vec<&str> = written["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(
        pages,
        [
            "cover",
            "total",
            "trend",
            "services",
            "movers",
            "accounts",
            "daily",
            "verification",
            "appendix"
        ]
    );
    let pdf = PathBuf::from(written["pdf"].as_str().unwrap());
    assert_eq!(pdf, out.join("Acme-Retail-2026-10.pdf"));
    let info = pdf_info(&pdf);
    assert!(info.contains("Acme Corp GmbH"), "{info}");
    let text = pdf_text(&pdf);
    let basis = "Net unblended cost (after discounts); credits and tax left out.";
    for page in text.split('\u{c}').filter(|p| !p.trim().is_empty()) {
        assert!(
            page.contains(basis),
            "a page does not state its basis: {page}"
        );
    }
    assert!(text.contains("Acme Corp GmbH") && text.contains("October 2026"));
    assert!(text.contains("How these figures are confined and checked"));

    // The month's total, as `cost` gives it on that basis, to the cent.
    let cost: Value = serde_json::from_str(&ok(
        &ws,
        &[
            "cost",
            "Acme Retail",
            "--from",
            "2026-10-01",
            "--to",
            "2026-11-01",
            "--metric",
            "net_unblended",
            "--exclude",
            "Credit,Tax",
            "--json",
        ],
    ))
    .unwrap();
    let total: rust_decimal::Decimal = cost["total"].as_str().unwrap().parse().unwrap();
    let total_text = money(total, "USD");
    assert!(
        text.contains(&total_text),
        "the month's total {total_text} is not in the PDF"
    );

    // The CSVs against the Parquet files.
    let all = lines(&ws);
    let kept =
        |l: &&Line| members.contains(&l.account) && l.item_type != "Credit" && l.item_type != "Tax";
    let mine: Vec<&Line> = all.iter().filter(kept).collect();
    let in_month = |l: &Line, m: NaiveDate| month_of(l.day) == month_of(m);
    let oracle_total: f64 = mine
        .iter()
        .filter(|l| in_month(l, month))
        .map(|l| l.net)
        .sum();
    assert_cent("the month's total", num(&total.to_string()), oracle_total);
    let csv = |id: &str| out.join(format!("Acme-Retail-2026-10-{id}.csv"));
    let services = csv_rows(&csv("services"));
    assert!(services.len() >= 5);
    for row in &services {
        let code = &row["service_code"];
        for (col, m) in [("month", month), ("previous_month", prev)] {
            let want: f64 = mine
                .iter()
                .filter(|l| &l.service == code && in_month(l, m))
                .map(|l| l.net)
                .sum();
            assert_cent(&format!("{code} {col}"), num(&row[col]), want);
        }
    }
    let trend = csv_rows(&csv("trend"));
    assert!(trend.len() >= 13 * 5);
    for row in &trend {
        let want: f64 = mine
            .iter()
            .filter(|l| l.service == row["service_code"] && month_of(l.day) == row["month"])
            .map(|l| l.net)
            .sum();
        assert_cent(&format!("trend {:?}", row), num(&row["amount"]), want);
    }
    let by_account = csv_rows(&csv("accounts"));
    let listed: BTreeSet<String> = by_account.iter().map(|r| r["account_id"].clone()).collect();
    assert_eq!(
        listed, members,
        "the accounts table lists exactly the members"
    );
    for row in &by_account {
        let want: f64 = mine
            .iter()
            .filter(|l| l.account == row["account_id"] && in_month(l, month))
            .map(|l| l.net)
            .sum();
        assert_cent(
            &format!("account {}", row["account_id"]),
            num(&row["month"]),
            want,
        );
        assert!(!row["account_name"].is_empty());
    }
    let movers = csv_rows(&csv("movers"));
    assert!(!movers.is_empty());
    for row in movers.iter().filter(|r| r["by"] == "account") {
        assert!(members.contains(&row["account_id"]));
    }
    let pngs = written["pngs"].as_array().unwrap();
    assert_eq!(pngs.len(), 2);
    for p in pngs {
        let bytes = fs::read(p.as_str().unwrap()).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
    }

    // Nothing of anyone else, in any file.
    for (path, text) in files_text(&written) {
        for id in twelve_digit_runs(&text) {
            assert!(
                members.contains(&id),
                "{} holds {id}, an account outside the integration",
                path.display()
            );
        }
        for name in others.iter().chain(&foreign_names) {
            assert!(
                !text.contains(name.as_str()),
                "{} holds '{name}', another customer's",
                path.display()
            );
        }
    }

    // A changed integration has not been verified: no such page then.
    let removed = members.iter().next().unwrap().clone();
    ok(&ws, &["vi", "update", "Acme Retail", "--remove", &removed]);
    let again = review(&ws, "Acme Retail", "2026-10", &tmp.path().join("pack2"));
    assert!(!again["pages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "verification"));
}

#[test]
fn list_price_figures_are_the_sum_of_public_on_demand_cost() {
    let (tmp, ws) = demo();
    ok(&ws, &["vi", "import", "--from-ou", "Customers"]);
    let all = lines(&ws);
    // The demo's list prices: usage costs no more than its list price;
    // what is not usage has none.
    let usage = ["Usage", "DiscountedUsage", "SavingsPlanCoveredUsage"];
    for l in &all {
        if usage.contains(&l.item_type.as_str()) {
            assert!(
                l.public + 1e-9 >= l.unblended,
                "{} {} {}",
                l.service,
                l.public,
                l.unblended
            );
        } else {
            assert_eq!(l.public, 0.0, "{} has a list price", l.item_type);
        }
    }
    assert!(
        all.iter().any(|l| l.public > l.unblended * 1.2),
        "covered usage is well below list"
    );

    ok(
        &ws,
        &[
            "vi",
            "profile",
            "Borealis Health",
            "--basis",
            "public_on_demand",
        ],
    );
    let show: Value =
        serde_json::from_str(&ok(&ws, &["vi", "show", "Borealis Health", "--json"])).unwrap();
    let members: BTreeSet<String> = show["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    let cost: Value = serde_json::from_str(&ok(
        &ws,
        &[
            "cost",
            "Borealis Health",
            "--from",
            "2025-10-01",
            "--to",
            "2026-11-01",
            "--metric",
            "public_on_demand",
            "--json",
        ],
    ))
    .unwrap();
    let oracle: f64 = all
        .iter()
        .filter(|l| members.contains(&l.account))
        .map(|l| l.public)
        .sum();
    assert_cent(
        "13 months at list price",
        num(cost["total"].as_str().unwrap()),
        oracle,
    );
    let out = tmp.path().join("pack");
    let written = review(&ws, "Borealis Health", "2026-09", &out);
    let text = pdf_text(Path::new(written["pdf"].as_str().unwrap()));
    assert!(text.contains("Public on-demand cost (AWS list prices); nothing left out."));
    let services = csv_rows(&out.join("Borealis-Health-2026-09-services.csv"));
    for row in &services {
        let want: f64 = all
            .iter()
            .filter(|l| {
                members.contains(&l.account)
                    && l.service == row["service_code"]
                    && month_of(l.day) == "2026-09"
            })
            .map(|l| l.public)
            .sum();
        assert_cent(&row["service_code"], num(&row["month"]), want);
    }
}
