//! Cost Explorer through a billing view, with the real aws-sdk-costexplorer
//! client against moto's canned results (moto ignores BillingViewArn, so what
//! is checked here is the request side, paging and the mapping of answers).

use chrono::NaiveDate;
use rust_decimal::Decimal;

use costcarve_aws::cost_explorer::{BillingViewArn, CostExplorer};
use costcarve_core::cost::{CostQuery, Dimension};

mod support;
use support::{post_json, Emulators};

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
    let page = |month: &str, next: Option<&str>, groups: &[(&str, &str)]| {
        let groups: Vec<String> = groups
            .iter()
            .map(|(k, v)| {
                format!(r#"{{"Keys": ["{k}"], "Metrics": {{"UnblendedCost": {{"Amount": "{v}", "Unit": "USD"}}}}}}"#)
            })
            .collect();
        let next = next
            .map(|t| format!(r#", "NextPageToken": "{t}""#))
            .unwrap_or_default();
        format!(
            r#"{{"ResultsByTime": [{{"TimePeriod": {{"Start": "{month}-01", "End": "{month}-28"}}, "Total": {{}}, "Groups": [{}], "Estimated": false}}]{next}}}"#,
            groups.join(", ")
        )
    };
    let results = format!(
        r#"{{"results": [{}, {}]}}"#,
        page(
            "2026-09",
            Some("page-2"),
            &[("AmazonEC2", "100.25"), ("AmazonS3", "3.5")]
        ),
        page("2026-10", None, &[("AmazonEC2", "120.00")]),
    );
    let reply = post_json(moto, "/moto-api/static/ce/cost-and-usage-results", &results);
    assert!(
        reply.starts_with("HTTP/1.1 201") || reply.starts_with("HTTP/1.1 200"),
        "{reply}"
    );

    let ce = CostExplorer::new(&emu.config().await);
    let view: BillingViewArn = "arn:aws:billing::123456789012:billingview/custom-abc"
        .parse()
        .unwrap();
    let mut q = CostQuery::new("Acme", d("2026-09-01"), d("2026-11-01"));
    q.group_by = vec![Dimension::Service];
    let series = ce.cost(&view, &q).await.unwrap();
    assert_eq!(ce.requests(), 2, "two pages, two paid requests");
    let got: Vec<(String, String, Decimal)> = series
        .points
        .iter()
        .map(|p| (p.period.to_string(), p.keys[0].clone(), p.amount))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "2026-09-01".into(),
                "AmazonEC2".into(),
                Decimal::new(10025, 2)
            ),
            ("2026-09-01".into(), "AmazonS3".into(), Decimal::new(35, 1)),
            (
                "2026-10-01".into(),
                "AmazonEC2".into(),
                Decimal::new(120, 0)
            ),
        ]
    );
    assert_eq!(series.total, Decimal::new(22375, 2));

    // Bad queries never cost a request.
    q.to = q.from;
    assert!(ce.cost(&view, &q).await.is_err());
    assert_eq!(ce.requests(), 2);
}
