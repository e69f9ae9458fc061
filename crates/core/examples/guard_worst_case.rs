//! How long the guard takes on the worst inputs we can construct, each of
//! them as long as a query may be (Athena's 262,144 bytes) or nested as deep
//! as the guard allows. Prints one line per input and the slowest; exits
//! non-zero if any takes 100 ms or more.
//!
//! ```text
//! cargo run --release -p costcarve-core --example guard_worst_case
//! ```

use std::time::{Duration, Instant};

use costcarve_core::guard::{confine, Target, MAX_QUERY_BYTES, MAX_TOKENS};
use sqlparser::dialect::GenericDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

/// Tokens other than whitespace, as the guard counts them.
fn tokens(sql: &str) -> usize {
    Tokenizer::new(&GenericDialect {}, sql)
        .tokenize()
        .map(|t| {
            t.iter()
                .filter(|t| !matches!(t, Token::Whitespace(_) | Token::EOF))
                .count()
        })
        .unwrap_or(0)
}

/// Repeats `unit` (joined by `sep`) between `head` and `tail` as often as
/// the guard's limits allow: Athena's bytes and the guard's tokens.
fn fill(head: &str, unit: &str, sep: &str, tail: &str) -> String {
    let room = MAX_QUERY_BYTES - head.len() - tail.len();
    let by_bytes = (room + sep.len()) / (unit.len() + sep.len());
    let fixed = tokens(head) + tokens(tail);
    let per = tokens(unit) + tokens(sep);
    let by_tokens = (MAX_TOKENS - fixed + tokens(sep)) / per.max(1);
    let n = by_bytes.min(by_tokens);
    format!("{head}{}{tail}", vec![unit; n].join(sep))
}

/// `open` nested `depth` times around `inner`, closed by `close`.
fn nest(open: &str, inner: &str, close: &str, depth: usize) -> String {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

/// A FROM item nested `depth` deep as a derived table joined in a
/// parenthesised join (the issue's exponential re-parse).
fn from_join_nest(depth: usize) -> String {
    let mut q = "SELECT * FROM cur".to_string();
    for i in 0..depth {
        q = format!("SELECT * FROM ((({q})) AS a{i} JOIN cur AS c{i} ON true)");
    }
    q
}

fn inputs() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = Vec::new();
    for depth in [8, 20, 32, 63] {
        v.push((
            format!("FROM-join nesting, {depth} deep"),
            from_join_nest(depth),
        ));
    }
    for depth in [20, 63] {
        v.push((
            format!("nested join parentheses, {depth} deep"),
            format!(
                "SELECT * FROM {}cur{}",
                "(".repeat(depth),
                " CROSS JOIN cur)".repeat(depth)
            ),
        ));
        v.push((
            format!("nested derived tables failing late, {depth} deep"),
            format!(
                "SELECT * FROM {}SELECT * FROM cur{} +",
                "(((SELECT * FROM ".repeat(depth),
                ")))".repeat(depth)
            ),
        ));
        v.push((
            format!("IN ((subquery) ...) nesting, {depth} deep"),
            nest(
                "SELECT 1 FROM cur WHERE 1 IN ((",
                "SELECT 1",
                ") + 1)",
                depth / 2,
            ),
        ));
        v.push((
            format!("parenthesised subqueries in expressions, {depth} deep"),
            nest("SELECT (", "SELECT 1", ") + 1", depth),
        ));
        v.push((
            format!("EXISTS nesting, {depth} deep"),
            nest(
                "SELECT 1 FROM cur WHERE EXISTS (",
                "SELECT 1",
                ")",
                depth / 2,
            ),
        ));
    }
    v.push((
        "POSITION nesting at the limit, failing".into(),
        nest("SELECT ", "1 +", "", 1).replace("1 +", &nest("POSITION(", "'a' IN 'b' +", ")", 2)),
    ));
    for (open, close) in [
        ("ARRAY[", "]"),
        ("CAST(", " AS INT)"),
        ("NOT (", ")"),
        ("SUBSTRING(", " FROM 1)"),
        ("CASE WHEN ", " THEN 1 END"),
        ("abs(", ")"),
        ("(", ")"),
    ] {
        v.push((
            format!("{open} nested 64 deep, failing"),
            format!("SELECT {} FROM cur", nest(open, "1 +", close, 64)),
        ));
        // Many shallow copies of a 10-deep failing-free nesting, to the limit.
        let unit = nest(open, "1", close, 10);
        v.push((
            format!("{open} nested 10 deep, repeated to the limit"),
            fill("SELECT ", &unit, ", ", " FROM cur"),
        ));
    }
    v.push((
        "8-deep FROM-join nestings, repeated to the limit".into(),
        fill(
            "SELECT 1 FROM ",
            &format!("({}) x", from_join_nest(8)),
            ", ",
            "",
        ),
    ));
    v.push((
        "backtracking IN ((subquery)) nestings, repeated to the limit".into(),
        fill(
            "SELECT 1 FROM cur WHERE ",
            &nest("1 IN ((", "SELECT 1", ") + 1)", 8),
            " OR ",
            "",
        ),
    ));
    v.push((
        "IN list to the limit".into(),
        fill(
            "SELECT count(*) FROM cur WHERE line_item_usage_account_id IN (",
            "'123456789012'",
            ",",
            ")",
        ),
    ));
    v.push((
        "select list of numbers to the limit".into(),
        fill("SELECT ", "1", ",", " FROM cur"),
    ));
    v.push((
        "one long string".into(),
        format!("SELECT '{}' FROM cur", "x".repeat(MAX_QUERY_BYTES - 20)),
    ));
    v.push((
        "CASE with WHENs to the limit".into(),
        fill("SELECT CASE x ", "WHEN 1 THEN 2", " ", " END FROM cur"),
    ));
    v.push((
        "function calls to the limit".into(),
        fill("SELECT ", "coalesce(a, b, c)", ", ", " FROM cur"),
    ));
    v.push((
        "subqueries in a select list to the limit".into(),
        fill("SELECT ", "(SELECT 1)", ", ", " FROM cur"),
    ));
    v.push((
        "derived tables in FROM to the limit".into(),
        fill("SELECT 1 FROM ", "((SELECT 1)) x", ", ", ""),
    ));
    v.push((
        "comma joins of nested joins to the limit".into(),
        fill("SELECT 1 FROM ", "((cur a CROSS JOIN cur b))", ", ", ""),
    ));
    v.push((
        "UNION ALL chain at the operator limit, then an IN list".into(),
        fill(
            &format!(
                "{} UNION ALL SELECT 1 FROM cur WHERE 1 IN (",
                vec!["SELECT 1 FROM cur"; 300].join(" UNION ALL ")
            ),
            "1",
            ",",
            ")",
        ),
    ));
    v.push(("CTEs to the limit".into(), {
        let n = MAX_TOKENS / 9;
        let ctes: Vec<String> = (0..n).map(|i| format!("a{i} AS (SELECT 1)")).collect();
        format!("WITH {} SELECT 1", ctes.join(", "))
    }));
    v.push((
        "window specs to the limit".into(),
        fill(
            "SELECT ",
            "sum(x) OVER (PARTITION BY a ORDER BY b ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)",
            ", ",
            " FROM cur",
        ),
    ));
    v.push((
        "unbalanced open parentheses to the limit".into(),
        fill("SELECT ", "(", "", ""),
    ));
    v.push((
        "comment to the limit".into(),
        format!("SELECT 1 -- {}", "x".repeat(MAX_QUERY_BYTES - 20)),
    ));
    v
}

fn main() {
    let target = match Target::new(["costcarve", "vi_bench"]) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let mut slowest = (Duration::ZERO, String::new());
    for (name, sql) in inputs() {
        // Best of three, to keep scheduler noise out of the figure.
        let mut best = Duration::MAX;
        let mut verdict = String::new();
        for _ in 0..3 {
            let started = Instant::now();
            let result = confine(&sql, &target);
            best = best.min(started.elapsed());
            verdict = match result {
                Ok(_) => "accepted".to_string(),
                Err(e) => {
                    let e = e.to_string();
                    format!("refused: {}", e.chars().take(70).collect::<String>())
                }
            };
        }
        println!(
            "{:>9.2} ms  {:>7} B  {name} — {verdict}",
            best.as_secs_f64() * 1000.0,
            sql.len()
        );
        if best > slowest.0 {
            slowest = (best, name);
        }
    }
    println!(
        "slowest: {:.2} ms ({})",
        slowest.0.as_secs_f64() * 1000.0,
        slowest.1
    );
    if slowest.0 >= Duration::from_millis(100) {
        std::process::exit(1);
    }
}
