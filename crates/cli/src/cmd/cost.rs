//! `costcarve cost`: an integration's costs as a table or JSON.

use costcarve_ops::core::cost::{CostQuery, Dimension};
use costcarve_ops::workspace::CostAnswer;
use costcarve_ops::{OpsError, Workspace};

use crate::flags::CostArgs;
use crate::output::{list_arg, out, print_json, print_table};

/// Says on stderr what a payer's answer cost in Cost Explorer requests.
pub(crate) fn report_requests(answer: &CostAnswer) {
    if let Some(r) = answer.requests {
        eprintln!(
            "Cost Explorer requests: {} (USD {:.2}); {} in total through this connection (USD {:.2})",
            r.made,
            r.made_usd(),
            r.total,
            r.total_usd()
        );
    }
}

pub(crate) async fn run(ws: &Workspace, args: &CostArgs) -> Result<(), OpsError> {
    let q = CostQuery {
        granularity: args.granularity.parse()?,
        metric: args.metric.parse()?,
        group_by: args
            .group_by
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::parse::<Dimension>)
            .collect::<Result<_, _>>()?,
        exclude_line_item_types: list_arg(args.exclude.as_deref().unwrap_or("")),
        ..CostQuery::new(ws.canonical_name(&args.name).await?, args.from, args.to)
    };
    q.validate()?;
    let answer = ws.cost(&q).await?;
    report_requests(&answer);
    let series = answer.series;
    if args.json {
        return print_json(&series);
    }
    let mut header = vec!["period".to_string()];
    header.extend(q.group_by.iter().map(|d| d.label()));
    header.push(format!("{:?} ({})", q.metric, series.currency));
    let rows: Vec<Vec<Option<String>>> = series
        .points
        .iter()
        .map(|p| {
            let mut r = vec![Some(p.period.to_string())];
            r.extend(p.keys.iter().cloned().map(Some));
            r.push(Some(format!("{:.2}", p.amount)));
            r
        })
        .collect();
    print_table(&header, &rows);
    out(&format!("total: {:.2} {}", series.total, series.currency));
    Ok(())
}
