//! The `costcarve` command line, run as a user runs it: exit codes, messages
//! on stderr, JSON on stdout, files written.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

pub(crate) fn costcarve(ws: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_costcarve"))
        .arg("--workspace")
        .arg(ws)
        .args(args)
        .env_remove("COSTCARVE_WORKSPACE")
        .output()
        .expect("costcarve runs")
}

pub(crate) fn ok(ws: &Path, args: &[&str]) -> String {
    let out = costcarve(ws, args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub(crate) fn fails(ws: &Path, args: &[&str], code: i32) -> String {
    let out = costcarve(ws, args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}: stdout {} stderr {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("error: "), "{err}");
    err
}

pub(crate) fn demo() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    let out = Command::new(env!("CARGO_BIN_EXE_costcarve"))
        .args([
            "demo",
            "--rows",
            "20000",
            "--seed",
            "3",
            "--end-month",
            "2026-10",
            "--dir",
        ])
        .arg(&ws)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("13 billing periods (2025-10 to 2026-10)"),
        "{text}"
    );
    (tmp, ws)
}

pub(crate) fn ids_of(ws: &Path, customer: &str) -> Vec<String> {
    let accounts: Value = serde_json::from_str(&ok(ws, &["accounts", "--json"])).unwrap();
    accounts
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["tags"]["customer"] == customer)
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_whole_workflow_through_the_cli() {
    let (_tmp, ws) = demo();
    let acme = ids_of(&ws, "acme-retail");
    let borealis = ids_of(&ws, "borealis-health");
    assert!(acme.len() >= 5);

    let out = ok(
        &ws,
        &[
            "vi",
            "create",
            "Acme Retail",
            "--accounts",
            &acme[..4].join(","),
        ],
    );
    assert!(
        out.contains("created 'Acme Retail' with 4 accounts"),
        "{out}"
    );
    ok(
        &ws,
        &[
            "vi",
            "create",
            "Borealis",
            "--accounts",
            &borealis.join(","),
        ],
    );

    // accounts shows memberships
    let accounts: Value = serde_json::from_str(&ok(&ws, &["accounts", "--json"])).unwrap();
    let first = accounts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == acme[0].as_str())
        .unwrap();
    assert_eq!(first["integrations"], serde_json::json!(["Acme Retail"]));

    let out = ok(
        &ws,
        &[
            "vi",
            "update",
            "Acme Retail",
            "--add",
            &acme[4..].join(","),
            "--remove",
            &acme[0],
        ],
    );
    assert!(
        out.contains(&format!("{} accounts", acme.len() - 1)),
        "{out}"
    );

    let list: Value = serde_json::from_str(&ok(&ws, &["vi", "list", "--json"])).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    let show: Value =
        serde_json::from_str(&ok(&ws, &["vi", "show", "acme retail", "--json"])).unwrap();
    let members: Vec<&str> = show["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(!members.contains(&acme[0].as_str()));
    assert_eq!(show["revision"], 2);

    // Costs: JSON points add up to the total, only member accounts appear.
    let cost: Value = serde_json::from_str(&ok(
        &ws,
        &[
            "cost",
            "Acme Retail",
            "--from",
            "2026-01-01",
            "--to",
            "2026-11-01",
            "--group-by",
            "account,service",
            "--json",
        ],
    ))
    .unwrap();
    let points = cost["points"].as_array().unwrap();
    assert!(!points.is_empty());
    let sum: f64 = points
        .iter()
        .map(|p| p["amount"].as_str().unwrap().parse::<f64>().unwrap())
        .sum();
    let total: f64 = cost["total"].as_str().unwrap().parse().unwrap();
    assert!((sum - total).abs() < 0.01);
    for p in points {
        let account = p["keys"][0].as_str().unwrap();
        assert!(members.contains(&account), "foreign account {account}");
    }
    let months: std::collections::BTreeSet<&str> = points
        .iter()
        .map(|p| p["period"].as_str().unwrap())
        .collect();
    assert_eq!(months.len(), 10);

    // SQL total equals the cost total for the same range.
    let sql: Value = serde_json::from_str(&ok(
        &ws,
        &["sql", "Acme Retail", "SELECT sum(line_item_unblended_cost) FROM cur WHERE line_item_usage_start_date >= TIMESTAMP '2026-01-01 00:00:00' AND line_item_usage_start_date < TIMESTAMP '2026-11-01 00:00:00'", "--json"],
    ))
    .unwrap();
    let sql_total: f64 = sql["rows"][0][0].as_str().unwrap().parse().unwrap();
    assert!((sql_total - total).abs() < 0.01, "{sql_total} vs {total}");

    let explain = ok(
        &ws,
        &[
            "sql",
            "Acme Retail",
            "SELECT count(*) FROM Cur",
            "--explain",
        ],
    );
    assert_eq!(
        explain.trim(),
        "SELECT count(*) FROM \"costcarve\".\"vi_acme_retail\" AS cur"
    );

    // Charts.
    let png = ws.join("acme.png");
    let svg = ws.join("acme.svg");
    ok(
        &ws,
        &[
            "chart",
            "Acme Retail",
            "--out",
            png.to_str().unwrap(),
            "--from",
            "2025-10-01",
            "--to",
            "2026-11-01",
        ],
    );
    ok(
        &ws,
        &[
            "chart",
            "Acme Retail",
            "--kind",
            "account",
            "--out",
            svg.to_str().unwrap(),
            "--from",
            "2025-10-01",
            "--to",
            "2026-11-01",
        ],
    );
    assert_eq!(&std::fs::read(&png).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    assert!(svg_text.contains("<svg"));
    assert!(
        svg_text.contains(members[0]),
        "account chart names the accounts"
    );

    let out = ok(&ws, &["vi", "delete", "Acme Retail"]);
    assert!(out.contains("deleted 'Acme Retail'"), "{out}");
    let err = fails(&ws, &["vi", "show", "Acme Retail"], 2);
    assert!(err.contains("known integrations: Borealis"), "{err}");
}

#[test]
fn exit_codes_say_what_kind_of_failure_it_was() {
    let (_tmp, ws) = demo();
    let acme = ids_of(&ws, "acme-retail");
    ok(
        &ws,
        &["vi", "create", "Acme", "--accounts", &acme.join(",")],
    );

    // 0 and 4: verify passes on a fresh integration, and fails on a
    // damaged rollup, with the way forward.
    let report: Value = serde_json::from_str(&ok(
        &ws,
        &["vi", "verify", "Acme", "--json", "--months", "12"],
    ))
    .unwrap();
    assert_eq!(report["ok"], true, "{report}");
    let rollup = ws.join(".costcarve-cache/rollup-v2");
    std::fs::copy(
        rollup.join("billing_period=2026-08/part-00000.parquet"),
        rollup.join("billing_period=2026-09/part-00000.parquet"),
    )
    .unwrap();
    let err = fails(&ws, &["vi", "verify", "Acme", "--months", "12"], 4);
    assert!(
        err.contains("'Acme' failed verification: 1 of 4 checks failed (reconciliation)"),
        "{err}"
    );
    assert!(
        err.contains("hint: if the reconciliation failed, delete"),
        "{err}"
    );
    let err = fails(&ws, &["vi", "verify", "Acme", "--months", "13"], 2);
    assert!(err.contains("at most 12 closed months"), "{err}");
    std::fs::remove_dir_all(ws.join(".costcarve-cache")).unwrap();
    ok(&ws, &["vi", "verify", "Acme", "--months", "12"]);

    // 2: invalid input, with what to fix.
    let err = fails(&ws, &["vi", "create", "B", "--accounts", "12345"], 2);
    assert!(err.contains("exactly 12 digits"), "{err}");
    let err = fails(&ws, &["vi", "create", "B", "--accounts", "999999999999"], 2);
    assert!(err.contains("not in this organization"), "{err}");
    assert!(err.contains("hint: run `costcarve accounts`"), "{err}");
    let err = fails(&ws, &["vi", "create", "B", "--accounts", &acme[0]], 2);
    assert!(err.contains("--allow-shared"), "{err}");
    let err = fails(
        &ws,
        &["vi", "create", "Bad;Name", "--accounts", &acme[0]],
        2,
    );
    assert!(err.contains("';' is not allowed"), "{err}");
    let err = fails(
        &ws,
        &["cost", "Acme", "--from", "2026-02-01", "--to", "2026-01-01"],
        2,
    );
    assert!(err.contains("--to"), "{err}");
    let err = fails(
        &ws,
        &[
            "cost",
            "Acme",
            "--from",
            "2026-01-01",
            "--to",
            "2026-02-01",
            "--group-by",
            "service,account,region",
        ],
        2,
    );
    assert!(err.contains("at most 2"), "{err}");
    let err = fails(
        &ws,
        &[
            "cost",
            "Acme",
            "--from",
            "2026-01-01",
            "--to",
            "2026-02-01",
            "--group-by",
            "colour",
        ],
        2,
    );
    assert!(err.contains("unknown group-by dimension 'colour'"), "{err}");
    let err = fails(&ws, &["chart", "Acme", "--out", "/tmp/x.jpg"], 2);
    assert!(err.contains(".svg") && err.contains(".png"), "{err}");
    let err = fails(
        &ws,
        &[
            "cost",
            "Nobody",
            "--from",
            "2026-01-01",
            "--to",
            "2026-02-01",
        ],
        2,
    );
    assert!(err.contains("no integration named 'Nobody'"), "{err}");

    // 3: the guard refused the query, and says why.
    let err = fails(&ws, &["sql", "Acme", "SELECT * FROM cur_all"], 3);
    assert!(err.contains("only the table `cur`"), "{err}");
    let err = fails(&ws, &["sql", "Acme", "DROP TABLE cur"], 3);
    assert!(err.contains("DROP TABLE"), "{err}");
    let err = fails(&ws, &["sql", "Acme", "SELECT 1; SELECT 2"], 3);
    assert!(err.contains("one statement"), "{err}");

    // 1: anything else (here, an engine error in a query that passed the guard).
    let err = fails(&ws, &["sql", "Acme", "SELECT no_such_column FROM cur"], 1);
    assert!(err.contains("no_such_column"), "{err}");

    // A folder that is not a workspace.
    let tmp = tempfile::tempdir().unwrap();
    let err = fails(tmp.path(), &["accounts"], 2);
    assert!(err.contains("costcarve demo --dir"), "{err}");
    // No workspace at all.
    let out = Command::new(env!("CARGO_BIN_EXE_costcarve"))
        .arg("accounts")
        .env_remove("COSTCARVE_WORKSPACE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--workspace DIR"));
}

/// Reads what the terminal shows until `want` appears (or 20 s pass).
fn read_until(from: &std::sync::mpsc::Receiver<u8>, seen: &mut Vec<u8>, want: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !String::from_utf8_lossy(seen).contains(want) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match from.recv_timeout(left) {
            Ok(b) => seen.push(b),
            Err(_) => panic!("'{want}' never appeared: {}", String::from_utf8_lossy(seen)),
        }
    }
}

/// Waits (at most 10 s) until the terminal `script` made for its child no
/// longer echoes: a prompt is written before echo is turned off, and a
/// person types after reading it. A terminal that keeps echoing is left as
/// it is, and what is typed then shows on the screen.
fn until_echo_off(script: u32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        let children = std::fs::read_to_string(format!("/proc/{script}/task/{script}/children"))
            .unwrap_or_default();
        for child in children.split_whitespace() {
            let Ok(tty) = std::fs::read_link(format!("/proc/{child}/fd/0")) else {
                continue;
            };
            let Ok(out) = Command::new("stty").arg("-F").arg(&tty).arg("-a").output() else {
                continue;
            };
            if String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .any(|w| w == "-echo")
            {
                return;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn the_secret_typed_at_a_terminal_is_not_shown() {
    use std::io::{Read, Write};
    crate::support::private_keyring();
    let home = tempfile::tempdir().unwrap();
    // `script` gives the CLI a real terminal (a pty) whose screen is its
    // stdout; what a user types is echoed there unless the prompt hides it.
    let cli = format!(
        "{} connection add by-keys --access-key-id AKIAEXAMPLE --region us-east-1 \
         --cur-table cur.data --workgroup primary --results s3://bucket/results/",
        env!("CARGO_BIN_EXE_costcarve")
    );
    let mut child = Command::new("script")
        .args(["-qec", &cli, "/dev/null"])
        .env("COSTCARVE_CONFIG_DIR", home.path().join("config"))
        .env("COSTCARVE_DATA_DIR", home.path().join("data"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs");
    let mut stdout = child.stdout.take().unwrap();
    let (tx, screen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut b = [0u8; 1];
        while stdout.read(&mut b).map(|n| n == 1).unwrap_or(false) {
            if tx.send(b[0]).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let mut keys = child.stdin.take().unwrap();
    read_until(&screen, &mut seen, "secret access key");
    until_echo_off(child.id());
    keys.write_all(b"wJalrXUtnFEMIsecretKEY\n").unwrap();
    read_until(&screen, &mut seen, "session token");
    until_echo_off(child.id());
    keys.write_all(b"\n").unwrap();
    drop(keys);
    let status = child.wait().unwrap();
    while let Ok(b) = screen.recv_timeout(std::time::Duration::from_millis(200)) {
        seen.push(b);
    }
    let shown = String::from_utf8_lossy(&seen);
    assert!(status.success(), "{shown}");
    assert!(!shown.contains("wJalrXUtnFEMIsecretKEY"), "{shown}");
    let saved = std::fs::read_to_string(home.path().join("config/connections.json")).unwrap();
    assert!(!saved.contains("wJalrXUtnFEMIsecretKEY"), "{saved}");
}

/// Without a Secret Service (no desktop session, nothing on the bus) saving
/// access keys fails with what to do, and names the entry, not the secret.
#[cfg(target_os = "linux")]
#[test]
fn without_a_secret_service_saving_keys_says_what_to_do() {
    use std::io::Write;
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_costcarve"))
        .args([
            "connection",
            "add",
            "no-bus",
            "--access-key-id",
            "AKIAEXAMPLE",
            "--region",
            "us-east-1",
            "--cur-table",
            "cur.data",
            "--workgroup",
            "primary",
            "--results",
            "s3://bucket/results/",
        ])
        .env("COSTCARVE_CONFIG_DIR", home.path().join("config"))
        .env("COSTCARVE_DATA_DIR", home.path().join("data"))
        // A session bus nobody listens on: no keychain can be reached.
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", home.path().join("no-bus").display()),
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"wJalrXUtnFEMInoBusSecret\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("'connection/no-bus'")
            && err.contains("Secret Service")
            && err.contains("unlock")
            && err.contains("gnome-keyring-daemon --unlock"),
        "{err}"
    );
    assert!(!err.contains("wJalrXUtnFEMInoBusSecret"), "{err}");
    assert!(
        !home.path().join("config/connections.json").exists(),
        "nothing saved when the keys could not be"
    );
}
