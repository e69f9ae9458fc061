//! Cost Explorer through a billing view, with the real aws-sdk-costexplorer
//! client against the emulated payer (Cost Explorer computed from the seeded
//! CUR through the billing emulator's view): the figures, page by page, equal
//! an independent sum over the CUR for exactly the view's accounts.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use costcarve_aws::cost_explorer::{BillingViewArn, CostExplorer};
use costcarve_core::cost::{CostQuery, Dimension};

use crate::support::{post_json, Emulators};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[test]
fn only_a_custom_billing_view_is_a_scope() {
    assert!("arn:aws:billing::123456789012:billingview/custom-3f9e-aa"
        .parse::<BillingViewArn>()
        .is_ok());
    for bad in [
        "arn:aws:billing::123456789012:billingview/primary",
        "arn:aws:billing::12345:billingview/custom-x",
        "arn:aws:billing::123456789012:billingview/custom-",
        "",
    ] {
        let e = bad.parse::<BillingViewArn>().unwrap_err();
        assert!(
            e.to_string().contains("never the payer's primary view"),
            "{e}"
        );
    }
}

#[tokio::test]
async fn costs_come_page_by_page_through_the_view_and_every_request_is_counted() {
    let emu = Emulators::up(&[]);
    let moto = &emu.env["COSTCARVE_EMU_MOTO_URL"];
    let state = emu.state();
    let accounts: Vec<String> = state["seed"]["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .take(2)
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    let billing = aws_sdk_billing::Client::new(&emu.billing_config().await);
    let made = billing
        .create_billing_view()
        .name("acme")
        .source_views("arn:aws:billing::123456789012:billingview/primary")
        .data_filter_expression(
            aws_sdk_billing::types::Expression::builder()
                .dimensions(
                    aws_sdk_billing::types::DimensionValues::builder()
                        .key(aws_sdk_billing::types::Dimension::LinkedAccount)
                        .set_values(Some(accounts.clone()))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    emu.billing_control("/_emulator/settle", "{}");
    // Three groups a page, so the answer comes in several pages.
    let reply = post_json(moto, "/moto-api/costcarve/ce-config", r#"{"page_size": 3}"#);
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");

    let ce = CostExplorer::new(&emu.config().await);
    let view: BillingViewArn = made.arn().parse().unwrap();
    let (from, to) = (emu.month_start(3), emu.month_start(1));
    let mut q = CostQuery::new("Acme", d(&from), d(&to));
    q.group_by = vec![Dimension::Service];
    let series = ce.cost(&view, &q).await.unwrap();
    let pages = series.points.len().div_ceil(3) as u64;
    assert!(pages > 1, "{} points", series.points.len());
    assert_eq!(ce.requests(), pages, "one paid request a page");

    let want = emu.cur_sums(&[
        "--accounts",
        &accounts.join(","),
        "--from",
        &from,
        "--to",
        &to,
        "--group-by",
        "service",
    ]);
    let want: Vec<(String, String, f64)> = want["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["period"].as_str().unwrap().to_string(),
                p["keys"][0].as_str().unwrap().to_string(),
                p["amount"].as_f64().unwrap(),
            )
        })
        .collect();
    let got: Vec<(String, String, f64)> = series
        .points
        .iter()
        .map(|p| {
            (
                p.period.to_string(),
                p.keys[0].clone(),
                p.amount.to_string().parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!((&g.0, &g.1), (&w.0, &w.1));
        assert!((g.2 - w.2).abs() < 1e-6, "{g:?} vs the CUR's {w:?}");
    }
    let total: f64 = want.iter().map(|w| w.2).sum();
    assert!((series.total.to_string().parse::<f64>().unwrap() - total).abs() < 1e-5);
    assert!(series.total > Decimal::ZERO);

    // Bad queries never cost a request.
    q.to = q.from;
    assert!(ce.cost(&view, &q).await.is_err());
    assert_eq!(ce.requests(), pages);
}
