//! Writing answers: tables, JSON, and a progress spinner on a terminal.
//! A closed pipe (`costcarve ... | head`) ends the program quietly.

use std::io::IsTerminal;

use indicatif::ProgressBar;

use costcarve_ops::core::error::ErrorCode;
use costcarve_ops::OpsError;

/// Writes a line to stdout; a closed pipe ends the program quietly instead
/// of panicking as `println!` would.
pub(crate) fn out(line: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{line}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing the output failed: {e}");
        std::process::exit(1);
    }
}

/// Prints `value` as pretty JSON.
pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> Result<(), OpsError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| OpsError::new(ErrorCode::Io, e.to_string()))?;
    out(&text);
    Ok(())
}

/// Prints rows under a header, columns padded (at most 60 wide).
pub(crate) fn print_table(header: &[String], rows: &[Vec<Option<String>>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            let n = c.as_deref().unwrap_or("NULL").chars().count();
            if i < widths.len() {
                widths[i] = widths[i].max(n).min(60);
            }
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{:<w$}", c, w = widths.get(i).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    out(&line(header.iter().map(String::as_str).collect()));
    for r in rows {
        out(&line(
            r.iter().map(|c| c.as_deref().unwrap_or("NULL")).collect(),
        ));
    }
}

/// The header names as owned strings.
pub(crate) fn header(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// A spinner on a terminal, nothing otherwise.
pub(crate) fn spinner() -> ProgressBar {
    if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    } else {
        ProgressBar::hidden()
    }
}

/// Splits `a,b,,c` into its non-empty items.
pub(crate) fn list_arg(list: &str) -> std::collections::BTreeSet<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}
