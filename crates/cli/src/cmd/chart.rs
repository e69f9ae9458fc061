//! `costcarve chart`: an integration's costs drawn to an SVG or PNG file.

use costcarve_ops::chart::{self, ChartSpec};
use costcarve_ops::core::ports::{Clock, SystemClock};
use costcarve_ops::{OpsError, Workspace};

use crate::cmd::cost::report_requests;
use crate::flags::Command;
use crate::output::list_arg;

pub(crate) async fn run(ws: &Workspace, cmd: &Command) -> Result<(), OpsError> {
    let Command::Chart {
        name,
        out,
        kind,
        from,
        to,
        title,
        width,
        height,
        large,
        exclude,
    } = cmd
    else {
        return Ok(());
    };
    let spec = ChartSpec {
        kind: kind.parse()?,
        from: *from,
        to: *to,
        group_by: None,
        exclude: exclude.as_deref().map(list_arg),
    };
    let q = spec.query(
        ws.canonical_name(name).await?,
        SystemClock.now().date_naive(),
    )?;
    let answer = ws.cost(&q).await?;
    report_requests(&answer);
    let opts = costcarve_charts::ChartOptions::new(
        spec.kind,
        title.clone().unwrap_or_else(|| chart::title(spec.kind, &q)),
    )
    .with_size(*width, *height)
    .with_large_type(*large);
    costcarve_charts::render_to_file(&answer.series, &opts, out)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}
