//! `costcarve forecast`: an integration's costs from today (Cost Explorer).

use chrono::NaiveDate;

use costcarve_ops::{OpsError, Workspace};

use crate::output::{header, out, print_json, print_table};

pub(crate) async fn run(
    ws: &Workspace,
    name: &str,
    to: NaiveDate,
    granularity: &str,
    metric: &str,
    json: bool,
) -> Result<(), OpsError> {
    if !ws.is_payer() {
        return Err(OpsError::invalid(
            "forecasts come from Cost Explorer: use --connection NAME",
        ));
    }
    let (forecast, requests) = ws
        .forecast(name, to, granularity.parse()?, metric.parse()?)
        .await?;
    eprintln!(
        "Cost Explorer requests: {} (USD {:.2})",
        requests.made,
        requests.made_usd()
    );
    if json {
        return print_json(&forecast);
    }
    let rows: Vec<Vec<Option<String>>> = forecast
        .points
        .iter()
        .map(|p| {
            vec![
                Some(p.period.to_string()),
                Some(format!("{:.2}", p.mean)),
                p.lower.map(|v| format!("{v:.2}")),
                p.upper.map(|v| format!("{v:.2}")),
            ]
        })
        .collect();
    print_table(&header(&["period", "forecast", "low", "high"]), &rows);
    out(&format!("total: {:.2} USD", forecast.total));
    Ok(())
}
