//! End-to-end escape attempts against the SQL confinement guard.
//!
//! A small demo workspace holds two integrations, "Acme Retail" and
//! "Borealis Health", so the engine has the whole CUR (`cur_all`) and another
//! customer's view registered next to Acme's. Every attack runs through
//! `LocalWorkspace::sql("Acme Retail", ..)` and must either be refused by the
//! guard (with a reason) or run and show nothing but Acme's data: no cell may
//! name another account, and totals/counts must equal the same computation
//! over Acme's accounts alone, computed by an independent oracle (plain
//! DataFusion over the Parquet files, filtered to Acme's accounts). Each
//! accepted query's Athena text (`explain`) is also read the way Trino lexes
//! it: it may name no relation but `"costcarve"."vi_acme_retail"` and `cte_N`.
//!
//! Every problem is collected, so one run lists all of them.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};
use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use datafusion::sql::sqlparser::ast::visit_relations;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

use costcarve_core::account::AccountId;
use costcarve_core::guard::MAX_QUERY_BYTES;
use costcarve_core::integration::NewIntegration;
use costcarve_core::ports::FixedClock;
use costcarve_local::demo::{self, DemoSpec};
use costcarve_local::{LocalError, LocalWorkspace};

const SEED: u64 = 42;
const ROWS: u64 = 20_000;
const ACME: &str = "Acme Retail";
const BOREALIS: &str = "Borealis Health";
const MAX_ROWS: usize = 100_000;
/// What the Athena text may name as a relation besides `cte_N`.
const ACME_RELATION: &str = "\"costcarve\".\"vi_acme_retail\"";

type Rows = Vec<Vec<Option<String>>>;

/// A demo workspace with both integrations, and an oracle over the files.
struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    ws: LocalWorkspace,
    oracle: SessionContext,
    acme: BTreeSet<String>,
    borealis: BTreeSet<String>,
    /// Every account of the organization that is not Acme's.
    foreign: BTreeSet<String>,
    payer: String,
}

fn customer_accounts(org: &costcarve_core::account::Organization, slug: &str) -> Vec<AccountId> {
    org.accounts
        .iter()
        .filter(|a| a.tags.get("customer").map(String::as_str) == Some(slug))
        .map(|a| a.id.clone())
        .collect()
}

impl Fixture {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        let last_month = NaiveDate::from_ymd_opt(2026, 10, 1).expect("date");
        demo::generate(&root, &DemoSpec::new(ROWS, SEED, last_month), |_| {}).expect("demo");
        let org = demo::organization(SEED);
        let acme_ids = customer_accounts(&org, "acme-retail");
        let borealis_ids = customer_accounts(&org, "borealis-health");
        assert!(!acme_ids.is_empty() && !borealis_ids.is_empty());
        let clock = Arc::new(FixedClock(
            Utc.with_ymd_and_hms(2026, 10, 15, 12, 0, 0)
                .single()
                .expect("time"),
        ));
        let ws = LocalWorkspace::open(&root, clock).await.expect("open");
        for (name, accounts) in [(ACME, &acme_ids), (BOREALIS, &borealis_ids)] {
            ws.create_integration(NewIntegration {
                name: name.to_string(),
                accounts: accounts.clone(),
                allow_shared: false,
                ..Default::default()
            })
            .await
            .expect("create integration");
        }
        let acme: BTreeSet<String> = acme_ids.iter().map(ToString::to_string).collect();
        let borealis = borealis_ids.iter().map(ToString::to_string).collect();
        let foreign = org
            .accounts
            .iter()
            .map(|a| a.id.to_string())
            .filter(|id| !acme.contains(id))
            .collect();

        // The oracle: plain DataFusion over the same files, `cur` being the
        // rows of Acme's accounts. It never sees the guard.
        let oracle = SessionContext::new();
        oracle
            .register_parquet(
                "everything",
                format!("{}/", root.join("cur").display()),
                ParquetReadOptions::default()
                    .table_partition_cols(vec![("billing_period".to_string(), DataType::Utf8)]),
            )
            .await
            .expect("oracle table");
        let list: Vec<String> = acme.iter().map(|a| format!("'{a}'")).collect();
        oracle
            .sql(&format!(
                "CREATE VIEW cur AS SELECT * FROM everything WHERE line_item_usage_account_id IN ({})",
                list.join(", ")
            ))
            .await
            .expect("oracle view")
            .collect()
            .await
            .expect("oracle view");
        Self {
            _dir: dir,
            root,
            ws,
            oracle,
            acme,
            borealis,
            foreign,
            payer: org.management_account_id.to_string(),
        }
    }

    async fn oracle(&self, sql: &str) -> Result<Rows, String> {
        let df = self.oracle.sql(sql).await.map_err(|e| e.to_string())?;
        let batches = df.collect().await.map_err(|e| e.to_string())?;
        let mut rows = Vec::new();
        for b in &batches {
            rows.extend(batch_rows(b)?);
        }
        Ok(rows)
    }

    /// A Parquet file of the demo, by absolute path.
    fn parquet_file(&self) -> String {
        let period = self.root.join("cur").join("billing_period=2026-10");
        period
            .join("part-00000.snappy.parquet")
            .display()
            .to_string()
    }

    /// Cells that name an account other than Acme's (the payer is allowed
    /// in `bill_payer_account_id`, where every row of the CUR names it).
    fn foreign_ids(&self, columns: &[String], rows: &Rows) -> Vec<String> {
        let mut found = BTreeSet::new();
        for row in rows {
            for (i, cell) in row.iter().enumerate() {
                let Some(cell) = cell else { continue };
                let payer_column = columns.get(i).is_some_and(|c| c.contains("payer"));
                for id in twelve_digit_windows(cell) {
                    if self.foreign.contains(id) && !(payer_column && id == self.payer) {
                        found.insert(id.to_string());
                    }
                }
            }
        }
        found.into_iter().collect()
    }
}

/// Every 12-digit window of every run of at least 12 ASCII digits.
fn twelve_digit_windows(cell: &str) -> Vec<&str> {
    let bytes = cell.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        if !bytes[start].is_ascii_digit() {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        if end - start >= 12 {
            for s in start..=end - 12 {
                out.push(&cell[s..s + 12]);
            }
        }
        start = end;
    }
    out
}

fn batch_rows(b: &RecordBatch) -> Result<Rows, String> {
    let opts = FormatOptions::default();
    let mut cols = Vec::new();
    for c in b.columns() {
        let f = ArrayFormatter::try_new(c.as_ref(), &opts).map_err(|e| e.to_string())?;
        cols.push(
            (0..c.len())
                .map(|i| (!c.is_null(i)).then(|| f.value(i).to_string()))
                .collect::<Vec<_>>(),
        );
    }
    Ok((0..b.num_rows())
        .map(|r| cols.iter().map(|c| c[r].clone()).collect())
        .collect())
}

/// Rows equal as multisets; numbers equal within a relative 1e-9 (sums of
/// floats depend on the order the engine adds them in).
fn same_rows(got: &Rows, want: &Rows) -> bool {
    fn cell_eq(a: &Option<String>, b: &Option<String>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) => match (a.parse::<f64>(), b.parse::<f64>()) {
                (Ok(x), Ok(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
                _ => a == b,
            },
            (None, None) => true,
            _ => false,
        }
    }
    let mut got = got.clone();
    let mut want = want.clone();
    got.sort();
    want.sort();
    got.len() == want.len()
        && got
            .iter()
            .zip(&want)
            .all(|(g, w)| g.len() == w.len() && g.iter().zip(w).all(|(a, b)| cell_eq(a, b)))
}

fn preview(rows: &Rows) -> String {
    let shown: Vec<String> = rows
        .iter()
        .take(3)
        .map(|r| {
            r.iter()
                .map(|c| c.as_deref().unwrap_or("NULL"))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    format!("{} rows [{}]", rows.len(), shown.join("; "))
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

// ---------------------------------------------------------------------------
// Reading the Athena text the way Trino's lexer reads it.

#[derive(Debug, PartialEq)]
enum TrinoToken {
    /// An identifier: unquoted (ASCII-lowercased) or quoted (as written).
    Ident(String),
    Str,
    Comment,
    Other,
}

/// Trino's lexical rules: `'...'` strings with `''` and no backslash
/// escapes, `"..."` identifiers with `""`, backquoted identifiers, `--` and
/// non-nested `/* */` comments, identifiers of ASCII letters, digits and `_`.
fn trino_tokens(text: &str) -> Result<Vec<TrinoToken>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let quoted = |i: &mut usize, q: char| -> Result<String, String> {
        let mut value = String::new();
        *i += 1;
        loop {
            match chars.get(*i) {
                None => return Err(format!("unterminated {q}-quoted token")),
                Some(&c) if c == q => {
                    if chars.get(*i + 1) == Some(&q) {
                        value.push(q);
                        *i += 2;
                    } else {
                        *i += 1;
                        return Ok(value);
                    }
                }
                Some(&c) => {
                    value.push(c);
                    *i += 1;
                }
            }
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            out.push(TrinoToken::Comment);
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
            out.push(TrinoToken::Comment);
        } else if c == '\'' {
            quoted(&mut i, '\'')?;
            out.push(TrinoToken::Str);
        } else if (c == 'U' || c == 'u') && next == Some('&') && chars.get(i + 2) == Some(&'\'') {
            i += 2;
            quoted(&mut i, '\'')?;
            out.push(TrinoToken::Str);
        } else if (c == 'X' || c == 'x') && next == Some('\'') {
            i += 1;
            quoted(&mut i, '\'')?;
            out.push(TrinoToken::Str);
        } else if c == '"' || c == '`' {
            out.push(TrinoToken::Ident(quoted(&mut i, c)?));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            out.push(TrinoToken::Ident(word.to_ascii_lowercase()));
        } else if c.is_ascii_digit() {
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            out.push(TrinoToken::Other);
        } else {
            i += 1;
            out.push(TrinoToken::Other);
        }
    }
    Ok(out)
}

/// Problems with an accepted query's Athena text.
fn explain_problems(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    match trino_tokens(text) {
        Err(e) => problems.push(format!("Trino would not lex the Athena text ({e})")),
        Ok(tokens) => {
            for t in &tokens {
                match t {
                    TrinoToken::Comment => {
                        problems.push("Trino reads a comment in the Athena text".to_string())
                    }
                    TrinoToken::Ident(id) => {
                        let lower = id.to_ascii_lowercase();
                        if ["cur_all", "vi_borealis_health", "information_schema"]
                            .contains(&lower.as_str())
                            || (lower.starts_with("vi_") && lower != "vi_acme_retail")
                        {
                            problems
                                .push(format!("Trino reads the name {id:?} in the Athena text"));
                        }
                        if id.contains('$') {
                            problems
                                .push(format!("the Athena text names the hidden column {id:?}"));
                        }
                    }
                    TrinoToken::Str | TrinoToken::Other => {}
                }
            }
        }
    }
    match Parser::parse_sql(&GenericDialect {}, text) {
        Err(e) => problems.push(format!("the Athena text does not parse: {e}")),
        Ok(statements) => {
            let _ = visit_relations(&statements, |name| {
                let shown = name.to_string();
                let cte = shown
                    .strip_prefix("cte_")
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
                if shown != ACME_RELATION && !cte {
                    problems.push(format!("the Athena text reads the relation {shown}"));
                }
                ControlFlow::<()>::Continue(())
            });
        }
    }
    problems
}

// ---------------------------------------------------------------------------
// The attack table.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Refused, or run and confined.
    Either,
    /// Must be refused by the guard.
    Reject,
    /// Must run (a legitimate query or a harmless spelling).
    Accept,
}

struct Case {
    name: String,
    sql: String,
    verdict: Verdict,
    /// When it runs, the result must equal this query's on the oracle.
    same_as: Option<String>,
}

fn case(verdict: Verdict, name: &str, sql: impl Into<String>) -> Case {
    Case {
        name: name.to_string(),
        sql: sql.into(),
        verdict,
        same_as: None,
    }
}

fn either(name: &str, sql: impl Into<String>) -> Case {
    case(Verdict::Either, name, sql)
}

fn reject(name: &str, sql: impl Into<String>) -> Case {
    case(Verdict::Reject, name, sql)
}

fn accept(name: &str, sql: impl Into<String>) -> Case {
    case(Verdict::Accept, name, sql)
}

impl Case {
    /// When it runs, it must give what `sql` gives on the oracle.
    fn same_as(mut self, sql: &str) -> Self {
        self.same_as = Some(sql.to_string());
        self
    }

    /// When it runs, it must give what it gives itself on the oracle.
    fn oracle(mut self) -> Self {
        self.same_as = Some(self.sql.clone());
        self
    }
}

const COUNT: &str = "SELECT count(*) AS n FROM cur";
const IDS: &str = "SELECT DISTINCT line_item_usage_account_id FROM cur";
const TOTAL: &str = "SELECT round(sum(line_item_unblended_cost), 6) AS total FROM cur";

/// Names of the whole CUR and of Borealis' view, in every spelling.
fn foreign_relations() -> Vec<&'static str> {
    vec![
        "cur_all",
        "CUR_ALL",
        "Cur_All",
        "\"cur_all\"",
        "\"CUR_ALL\"",
        "`cur_all`",
        "public.cur_all",
        "datafusion.public.cur_all",
        "\"datafusion\".\"public\".\"cur_all\"",
        "costcarve.cur_all",
        "vi_borealis_health",
        "VI_BOREALIS_HEALTH",
        "\"vi_borealis_health\"",
        "\"Vi_Borealis_Health\"",
        "`vi_borealis_health`",
        "costcarve.vi_borealis_health",
        "\"costcarve\".\"vi_borealis_health\"",
        "datafusion.public.vi_borealis_health",
        "awsdatacatalog.costcarve.vi_borealis_health",
        "vi_acme_retail",
        "\"vi_acme_retail\"",
        "costcarve.vi_acme_retail",
    ]
}

fn attacks(fx: &Fixture) -> Vec<Case> {
    let mut v = Vec::new();

    // Spellings of `cur`: all mean Acme's view, nothing else.
    for (name, rel) in [
        ("cur upper case", "CUR"),
        ("cur mixed case", "Cur"),
        ("cur quoted upper", "\"CUR\""),
        ("cur quoted mixed", "\"Cur\""),
        ("cur quoted", "\"cur\""),
        ("cur backticks", "`cur`"),
        ("cur db-qualified", "db.cur"),
        ("cur quoted db-qualified", "\"db\".\"CUR\""),
        ("cur catalog-qualified", "awsdatacatalog.db.cur"),
        ("cur qualified by cur_all", "cur_all.cur"),
        (
            "cur qualified by the other view",
            "datafusion.vi_borealis_health.cur",
        ),
    ] {
        v.push(
            accept(
                &format!("{name}: count"),
                format!("SELECT count(*) AS n FROM {rel}"),
            )
            .same_as(COUNT),
        );
        v.push(
            accept(
                &format!("{name}: accounts"),
                format!("SELECT DISTINCT line_item_usage_account_id FROM {rel}"),
            )
            .same_as(IDS),
        );
    }
    v.push(either(
        "cur four-part name",
        "SELECT count(*) FROM a.b.c.cur",
    ));
    v.push(either(
        "cur with trailing space",
        "SELECT count(*) FROM \"cur \"",
    ));

    // The whole CUR and the other customer's view, directly.
    for rel in foreign_relations() {
        v.push(either(
            &format!("direct {rel}"),
            format!("SELECT DISTINCT line_item_usage_account_id FROM {rel}"),
        ));
    }
    v.push(either(
        "direct cur_all in parentheses",
        "SELECT DISTINCT line_item_usage_account_id FROM (cur_all)",
    ));
    v.push(either(
        "nested join with cur_all",
        "SELECT DISTINCT b.line_item_usage_account_id FROM ((cur a) JOIN (cur_all b) ON true)",
    ));
    v.push(either(
        "comma join with cur_all",
        "SELECT DISTINCT b.line_item_usage_account_id FROM cur a, cur_all b",
    ));

    // Set operations.
    for op in ["UNION", "UNION ALL", "INTERSECT", "EXCEPT"] {
        for rel in [
            "cur_all",
            "\"CUR_ALL\"",
            "vi_borealis_health",
            "\"VI_BOREALIS_HEALTH\"",
        ] {
            v.push(either(
                &format!("{op} {rel}"),
                format!(
                    "SELECT line_item_usage_account_id FROM cur {op} SELECT line_item_usage_account_id FROM {rel}"
                ),
            ));
        }
    }
    v.push(
        accept(
            "UNION ALL of cur with itself counts twice",
            "SELECT count(*) AS n FROM (SELECT * FROM cur UNION ALL SELECT * FROM \"CUR\") t",
        )
        .same_as("SELECT count(*) * 2 AS n FROM (SELECT * FROM cur) t"),
    );
    v.push(either(
        "UNION with cur_all in a parenthesised branch",
        "(SELECT line_item_usage_account_id FROM cur) UNION (SELECT line_item_usage_account_id FROM cur_all)",
    ));

    // TABLE, table functions, files.
    v.push(reject("TABLE cur_all", "TABLE cur_all"));
    v.push(reject(
        "UNION TABLE cur_all",
        "SELECT * FROM cur UNION TABLE cur_all",
    ));
    v.push(reject(
        "subquery TABLE cur_all",
        "SELECT count(*) FROM cur WHERE EXISTS (TABLE cur_all)",
    ));
    v.push(reject(
        "TABLE(generate_series)",
        "SELECT * FROM TABLE(generate_series(1, 3))",
    ));
    v.push(reject(
        "generate_series",
        "SELECT * FROM generate_series(1, 3)",
    ));
    v.push(reject("range table function", "SELECT * FROM range(10)"));
    v.push(reject(
        "read_parquet of the CUR file",
        format!(
            "SELECT DISTINCT line_item_usage_account_id FROM read_parquet('{}')",
            fx.parquet_file()
        ),
    ));
    v.push(reject(
        "quoted file path as a table",
        format!(
            "SELECT DISTINCT line_item_usage_account_id FROM \"{}\"",
            fx.parquet_file()
        ),
    ));
    v.push(reject(
        "string file path as a table",
        format!(
            "SELECT DISTINCT line_item_usage_account_id FROM '{}'",
            fx.parquet_file()
        ),
    ));
    v.push(reject(
        "backticked file path as a table",
        format!(
            "SELECT DISTINCT line_item_usage_account_id FROM `{}`",
            fx.parquet_file()
        ),
    ));
    v.push(reject(
        "'file.parquet' as a table",
        "SELECT * FROM 'file.parquet'",
    ));
    v.push(reject(
        "Trino query passthrough",
        "SELECT * FROM TABLE(system.query(query => 'SELECT * FROM cur_all'))",
    ));
    v.push(reject(
        "table function on a table argument",
        "SELECT * FROM TABLE(exclude_columns(input => TABLE(cur_all), columns => DESCRIPTOR(x)))",
    ));

    // CTEs.
    v.push(reject(
        "CTE self reference",
        "WITH a AS (SELECT * FROM a) SELECT DISTINCT line_item_usage_account_id FROM a",
    ));
    v.push(reject(
        "CTE forward reference",
        "WITH a AS (SELECT * FROM b), b AS (SELECT * FROM cur) SELECT DISTINCT line_item_usage_account_id FROM a",
    ));
    v.push(reject(
        "CTE out of scope (defined in a subquery)",
        "SELECT DISTINCT a.line_item_usage_account_id FROM (WITH a AS (SELECT * FROM cur) SELECT * FROM a) x, a",
    ));
    v.push(reject(
        "CTE out of scope (defined in a CTE body)",
        "WITH a AS (WITH b AS (SELECT * FROM cur) SELECT * FROM b) SELECT DISTINCT line_item_usage_account_id FROM b",
    ));
    v.push(reject(
        "CTE out of scope (defined in a WHERE subquery)",
        "SELECT count(*) FROM cur WHERE EXISTS (WITH a AS (SELECT 1) SELECT * FROM a) UNION ALL SELECT count(*) FROM a",
    ));
    for name in ["cur", "CUR", "\"cur\"", "\"CUR\"", "`cur`"] {
        v.push(reject(
            &format!("CTE named {name}"),
            format!("WITH {name} AS (SELECT * FROM cur_all) SELECT DISTINCT line_item_usage_account_id FROM cur"),
        ));
    }
    v.push(
        accept(
            "CTE named \"CUR_ALL\" read as cur_all",
            "WITH \"CUR_ALL\" AS (SELECT * FROM cur) SELECT DISTINCT line_item_usage_account_id FROM cur_all",
        )
        .same_as(IDS),
    );
    v.push(
        accept(
            "CTE named cur_all read as \"CUR_ALL\"",
            "WITH cur_all AS (SELECT * FROM cur) SELECT count(*) AS n FROM \"CUR_ALL\"",
        )
        .same_as(COUNT),
    );
    v.push(
        accept(
            "CTE named like the other view",
            "WITH vi_borealis_health AS (SELECT * FROM cur) SELECT count(*) AS n FROM VI_BOREALIS_HEALTH",
        )
        .same_as(COUNT),
    );
    v.push(reject(
        "CTE cur_all reading cur_all",
        "WITH cur_all AS (SELECT * FROM cur_all) SELECT DISTINCT line_item_usage_account_id FROM cur_all",
    ));
    v.push(reject(
        "CTE qualified reference",
        "WITH a AS (SELECT * FROM cur) SELECT count(*) FROM public.a",
    ));
    v.push(
        accept(
            "CTE named like a canonical name",
            "WITH cte_1 AS (SELECT * FROM cur), x AS (SELECT 1 AS one) SELECT count(*) AS n FROM cte_1",
        )
        .same_as(COUNT),
    );
    v.push(reject(
        "canonical CTE name without a CTE",
        "SELECT count(*) FROM cte_0",
    ));
    v.push(
        accept(
            "CTE shadowed in a nested scope",
            "WITH a AS (SELECT * FROM cur) SELECT count(*) AS n FROM (WITH a AS (SELECT * FROM cur WHERE false) SELECT * FROM a) t",
        )
        .same_as("SELECT count(*) AS n FROM cur WHERE false"),
    );
    v.push(reject(
        "WITH RECURSIVE",
        "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r",
    ));
    v.push(reject(
        "WITH RECURSIVE over cur_all",
        "WITH RECURSIVE r AS (SELECT line_item_usage_account_id FROM cur_all) SELECT * FROM r",
    ));
    v.push(reject(
        "CTE then UNION with cur_all",
        "WITH a AS (SELECT * FROM cur) SELECT line_item_usage_account_id FROM a UNION ALL SELECT line_item_usage_account_id FROM cur_all",
    ));

    // Subqueries in every position.
    let spy = "(SELECT count(*) FROM cur_all)";
    v.push(reject(
        "subquery in SELECT list",
        format!("SELECT {spy} AS n FROM cur LIMIT 1"),
    ));
    v.push(reject(
        "subquery in WHERE IN",
        "SELECT count(*) FROM cur WHERE line_item_usage_account_id IN (SELECT line_item_usage_account_id FROM vi_borealis_health)",
    ));
    v.push(reject(
        "subquery in WHERE EXISTS",
        "SELECT count(*) FROM cur WHERE EXISTS (SELECT 1 FROM \"CUR_ALL\")",
    ));
    v.push(reject(
        "scalar subquery in WHERE",
        format!("SELECT count(*) FROM cur WHERE {spy} > 0"),
    ));
    v.push(reject(
        "subquery in HAVING",
        format!("SELECT line_item_usage_account_id FROM cur GROUP BY 1 HAVING count(*) < {spy}"),
    ));
    v.push(reject(
        "subquery in ORDER BY",
        format!("SELECT line_item_usage_account_id FROM cur ORDER BY {spy}"),
    ));
    v.push(reject(
        "subquery in JOIN ON",
        "SELECT count(*) FROM cur a JOIN cur b ON a.line_item_usage_account_id IN (SELECT line_item_usage_account_id FROM cur_all)",
    ));
    v.push(reject(
        "subquery in GROUP BY",
        format!("SELECT count(*) FROM cur GROUP BY {spy}"),
    ));
    v.push(reject(
        "subquery in LIMIT",
        format!("SELECT * FROM cur LIMIT {spy}"),
    ));
    v.push(reject(
        "subquery in a function argument",
        format!("SELECT coalesce(NULL, {spy}) FROM cur"),
    ));
    v.push(reject(
        "subquery in CASE",
        format!("SELECT CASE WHEN true THEN {spy} END FROM cur"),
    ));
    v.push(reject(
        "subquery in a window",
        format!("SELECT sum(1) OVER (ORDER BY {spy}) FROM cur"),
    ));
    v.push(reject(
        "subquery in VALUES",
        "VALUES ((SELECT count(*) FROM cur_all))",
    ));
    v.push(
        accept(
            "subquery of cur in WHERE",
            "SELECT count(*) AS n FROM cur WHERE line_item_usage_account_id IN (SELECT line_item_usage_account_id FROM \"CUR\" WHERE line_item_unblended_cost > 1)",
        )
        .same_as(
            "SELECT count(*) AS n FROM cur WHERE line_item_usage_account_id IN (SELECT line_item_usage_account_id FROM cur WHERE line_item_unblended_cost > 1)",
        ),
    );
    v.push(
        accept(
            "filter for the other customer's accounts finds nothing",
            format!(
                "SELECT count(*) AS n FROM cur WHERE line_item_usage_account_id IN ({})",
                fx.borealis
                    .iter()
                    .map(|a| format!("'{a}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .same_as("SELECT count(*) AS n FROM cur WHERE false"),
    );

    // LATERAL.
    v.push(reject(
        "LATERAL derived table over cur_all",
        "SELECT DISTINCT x.line_item_usage_account_id FROM cur, LATERAL (SELECT * FROM cur_all) x",
    ));
    v.push(reject(
        "LATERAL FLATTEN",
        "SELECT * FROM cur, LATERAL FLATTEN(input => cur.resource_tags) f",
    ));
    v.push(reject(
        "LATERAL VIEW explode",
        "SELECT * FROM cur LATERAL VIEW explode(resource_tags) t AS k, v",
    ));
    v.push(reject(
        "CROSS APPLY cur_all",
        "SELECT count(*) FROM cur CROSS APPLY (SELECT * FROM cur_all) x",
    ));
    v.push(either(
        "LATERAL derived table over cur",
        "SELECT count(*) AS n FROM cur, LATERAL (SELECT 1 AS one) x",
    ));

    // Several statements, comments.
    v.push(reject("two statements", "SELECT 1; SELECT * FROM cur_all"));
    v.push(reject(
        "statement then DROP",
        "SELECT count(*) FROM cur; DROP TABLE cur_all",
    ));
    v.push(accept("trailing semicolon", "SELECT count(*) AS n FROM cur;").same_as(COUNT));
    v.push(
        accept(
            "line comment hiding a statement",
            "SELECT count(*) AS n FROM cur -- ; SELECT * FROM cur_all",
        )
        .same_as(COUNT),
    );
    v.push(
        accept(
            "block comment hiding a UNION",
            "SELECT count(*) AS n FROM cur /* UNION ALL SELECT count(*) FROM cur_all */",
        )
        .same_as(COUNT),
    );
    v.push(
        either(
            "nested block comment (Trino does not nest comments)",
            "SELECT count(*) AS n FROM cur /* /* */ UNION ALL SELECT count(*) AS n FROM cur_all */",
        )
        .same_as(COUNT),
    );
    v.push(reject(
        "line comment ended by a newline",
        "SELECT count(*) AS n FROM cur --\nUNION ALL SELECT count(*) FROM cur_all",
    ));
    v.push(reject(
        "empty block comment before a UNION",
        "SELECT count(*) AS n FROM cur /**/ UNION ALL SELECT count(*) FROM cur_all",
    ));
    v.push(
        either(
            "comment splitting cur_all (reads cur AS _all)",
            "SELECT count(*) AS n FROM cur/**/_all",
        )
        .same_as(COUNT),
    );

    // Unicode lookalikes.
    for (name, rel) in [
        ("Cyrillic es in cur", "\u{0441}ur"),
        ("Cyrillic es in cur, quoted", "\"\u{0441}ur\""),
        ("fullwidth cur", "\u{ff43}\u{ff55}\u{ff52}"),
        ("fullwidth CUR quoted", "\"\u{ff23}\u{ff35}\u{ff32}\""),
        ("zero-width joiner in cur", "cu\u{200d}r"),
        ("zero-width joiner in cur, quoted", "\"cu\u{200d}r\""),
        ("zero-width space after cur, quoted", "\"cur\u{200b}\""),
        ("Cyrillic in cur_all", "\u{0441}ur_all"),
        (
            "dotless i in vi_borealis_health",
            "v\u{0131}_borealis_health",
        ),
    ] {
        v.push(reject(
            name,
            format!("SELECT DISTINCT line_item_usage_account_id FROM {rel}"),
        ));
    }
    v.push(reject(
        "fullwidth CTE over cur_all",
        "WITH \u{ff43}\u{ff55}\u{ff52} AS (SELECT * FROM cur_all) SELECT * FROM \u{ff43}\u{ff55}\u{ff52}",
    ));
    v.push(
        accept(
            "fullwidth CTE over cur",
            "WITH \u{ff58} AS (SELECT * FROM cur) SELECT count(*) AS n FROM \u{ff58}",
        )
        .same_as(COUNT),
    );

    // Quotes and backslashes.
    v.push(reject("backslash-escaped quote", "SELECT '\\'' FROM cur"));
    v.push(reject(
        "backslash quote then UNION",
        "SELECT 'a\\''' UNION SELECT line_item_usage_account_id FROM cur_all --' FROM cur",
    ));
    v.push(
        either(
            "backslash at the end of a string",
            "SELECT count(*) AS n FROM cur WHERE 'a\\' <> 'b'",
        )
        .same_as(COUNT),
    );
    v.push(
        either(
            "doubled quotes in a string",
            "SELECT count(*) AS n FROM cur WHERE 'it''s' <> ''''",
        )
        .same_as(COUNT),
    );
    v.push(reject(
        "E-string hiding a UNION from Trino",
        "SELECT E'\\' UNION SELECT line_item_usage_account_id FROM cur_all --' AS x FROM cur",
    ));
    v.push(reject(
        "Q-quoted string hiding a UNION from Trino",
        "SELECT Q'[' UNION SELECT line_item_usage_account_id FROM cur_all --]' AS x FROM cur",
    ));
    v.push(reject(
        "dollar-quoted string hiding a UNION",
        "SELECT $$ ' UNION SELECT line_item_usage_account_id FROM cur_all -- $$ AS x FROM cur",
    ));
    v.push(reject("national string", "SELECT N'x' AS x FROM cur"));
    v.push(reject("bit string", "SELECT B'0101' AS x FROM cur"));
    v.push(reject(
        "query parameters",
        "SELECT count(*) FROM cur WHERE line_item_usage_account_id = ? OR line_item_usage_account_id = $1",
    ));
    v.push(
        accept(
            "doubled quotes in an identifier",
            "SELECT count(*) AS \"n\"\"x\" FROM \"cur\"",
        )
        .same_as(COUNT),
    );
    v.push(reject(
        "doubled quotes making cur\"_all",
        "SELECT DISTINCT line_item_usage_account_id FROM \"cur\"\"_all\"",
    ));
    v.push(reject(
        "quoted identifier hiding a UNION",
        "SELECT DISTINCT line_item_usage_account_id FROM \"cur\"\" UNION SELECT line_item_usage_account_id FROM cur_all --\"",
    ));
    v.push(reject(
        "backslash in an identifier",
        "SELECT DISTINCT line_item_usage_account_id FROM \"cur\\\" UNION SELECT line_item_usage_account_id FROM cur_all --\"",
    ));

    // Statements that are not queries.
    for (name, sql) in [
        (
            "CREATE VIEW",
            "CREATE VIEW v AS SELECT * FROM cur_all".to_string(),
        ),
        (
            "CREATE TABLE AS",
            "CREATE TABLE t AS SELECT * FROM cur".to_string(),
        ),
        (
            "CREATE EXTERNAL TABLE",
            format!(
                "CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{}'",
                fx.root.join("cur").display()
            ),
        ),
        ("DROP TABLE", "DROP TABLE cur_all".to_string()),
        ("DROP VIEW", "DROP VIEW vi_borealis_health".to_string()),
        (
            "INSERT",
            "INSERT INTO cur SELECT * FROM cur_all".to_string(),
        ),
        (
            "UPDATE",
            "UPDATE cur SET line_item_unblended_cost = 0".to_string(),
        ),
        ("DELETE", "DELETE FROM cur".to_string()),
        (
            "MERGE",
            "MERGE INTO cur USING cur_all ON true WHEN MATCHED THEN DELETE".to_string(),
        ),
        ("TRUNCATE", "TRUNCATE TABLE cur_all".to_string()),
        (
            "COPY TO",
            "COPY cur_all TO '/tmp/costcarve-escape.parquet'".to_string(),
        ),
        (
            "COPY query TO",
            "COPY (SELECT * FROM cur) TO '/tmp/costcarve-escape.parquet'".to_string(),
        ),
        (
            "UNLOAD",
            "UNLOAD (SELECT * FROM cur_all) TO 's3://bucket/x/' WITH (format = 'PARQUET')"
                .to_string(),
        ),
        ("EXPLAIN", "EXPLAIN SELECT * FROM cur_all".to_string()),
        (
            "EXPLAIN ANALYZE",
            "EXPLAIN ANALYZE SELECT * FROM cur".to_string(),
        ),
        ("SHOW TABLES", "SHOW TABLES".to_string()),
        ("SHOW COLUMNS", "SHOW COLUMNS FROM cur_all".to_string()),
        ("DESCRIBE", "DESCRIBE cur_all".to_string()),
        (
            "SET",
            "SET datafusion.execution.target_partitions = 1".to_string(),
        ),
        ("PREPARE", "PREPARE p AS SELECT * FROM cur_all".to_string()),
        ("USE", "USE datafusion.public".to_string()),
    ] {
        v.push(reject(name, sql));
    }
    v.push(reject(
        "information_schema.tables",
        "SELECT table_name FROM information_schema.tables",
    ));
    v.push(reject(
        "information_schema.columns, qualified",
        "SELECT column_name FROM awsdatacatalog.information_schema.columns",
    ));
    v.push(reject(
        "Iceberg metadata table",
        "SELECT * FROM \"cur$files\"",
    ));
    v.push(reject("hidden column $path", "SELECT \"$path\" FROM cur"));
    v.push(reject(
        "hidden column, qualified",
        "SELECT DISTINCT cur.\"$path\" FROM cur",
    ));
    v.push(reject(
        "hidden column in a function",
        "SELECT count(DISTINCT \"$path\") FROM cur",
    ));
    v.push(reject(
        "hidden column in JOIN USING",
        "SELECT count(*) FROM cur a JOIN cur b USING (\"$path\")",
    ));
    v.push(reject(
        "hidden column unquoted",
        "SELECT count(DISTINCT $path) FROM cur",
    ));
    v.push(reject("SELECT INTO", "SELECT * INTO stolen FROM cur"));
    v.push(reject(
        "time travel FOR TIMESTAMP AS OF",
        "SELECT * FROM cur FOR TIMESTAMP AS OF TIMESTAMP '2026-01-01 00:00:00'",
    ));
    v.push(reject(
        "time travel FOR VERSION AS OF",
        "SELECT * FROM cur FOR VERSION AS OF 1",
    ));
    v.push(reject(
        "time travel FOR SYSTEM_TIME AS OF",
        "SELECT * FROM cur FOR SYSTEM_TIME AS OF '2026-01-01'",
    ));
    v.push(reject(
        "TABLESAMPLE",
        "SELECT * FROM cur TABLESAMPLE BERNOULLI (10)",
    ));
    v.push(reject("FROM-first", "FROM cur_all SELECT *"));
    v.push(reject(
        "pipe operator",
        "SELECT * FROM cur |> UNION ALL (SELECT * FROM cur_all)",
    ));
    v.push(reject("FOR UPDATE", "SELECT * FROM cur FOR UPDATE"));

    // VALUES-only queries are allowed.
    v.push(accept("VALUES", "VALUES (1, 'a'), (2, 'b')").oracle());
    v.push(
        accept(
            "VALUES as a table",
            "SELECT x FROM (VALUES (1), (2)) AS t(x)",
        )
        .oracle(),
    );
    v.push(
        accept(
            "VALUES with account-looking numbers of Acme",
            format!(
                "SELECT * FROM (VALUES ('{}')) AS t(x)",
                fx.acme.iter().next().cloned().unwrap_or_default()
            ),
        )
        .oracle(),
    );

    // Nesting, emptiness, length.
    let nested = |depth: usize| {
        let mut q = "SELECT count(*) AS n FROM cur".to_string();
        for i in 0..depth {
            q = format!("SELECT * FROM ({q}) t{i}");
        }
        q
    };
    v.push(accept("nested subqueries, 8 deep", nested(8)).same_as(COUNT));
    v.push(reject("nested subqueries, 100 deep", nested(100)));
    v.push(reject(
        "nested parentheses, 1000 deep",
        format!("SELECT {}1{} FROM cur", "(".repeat(1000), ")".repeat(1000)),
    ));
    v.push(reject(
        "nested ARRAY, 130 deep",
        format!(
            "SELECT {}1{} FROM cur",
            "ARRAY[".repeat(130),
            "]".repeat(130)
        ),
    ));
    v.push(reject(
        "nested CASE, 2000 deep",
        format!(
            "SELECT {}1{} FROM cur",
            "CASE WHEN true THEN ".repeat(2000),
            " END".repeat(2000)
        ),
    ));
    v.push(reject(
        "long operator chain, 50000 terms",
        format!("SELECT 1{} FROM cur", "+1".repeat(50_000)),
    ));
    v.push(reject(
        "long OR chain, 5000 terms",
        format!(
            "SELECT count(*) FROM cur WHERE {}",
            vec!["line_item_usage_account_id = '1'"; 5000].join(" OR ")
        ),
    ));
    v.push(reject(
        "long NOT chain",
        format!("SELECT {} true FROM cur", "NOT ".repeat(5000)),
    ));
    v.push(reject(
        "long unary minus chain",
        format!("SELECT {}1 FROM cur", "- ".repeat(5000)),
    ));
    v.push(reject("empty", ""));
    v.push(reject("blank", "  \n\t "));
    v.push(reject("only a semicolon", ";"));
    v.push(reject("only a comment", "-- SELECT * FROM cur_all"));
    v.push(reject(
        "only a block comment",
        "/* SELECT * FROM cur_all */",
    ));
    let padded = |total: usize| {
        let head = "SELECT count(*) AS n FROM cur WHERE '";
        let tail = "' <> ''";
        format!(
            "{head}{}{tail}",
            "x".repeat(total - head.len() - tail.len())
        )
    };
    v.push(accept("exactly the Athena limit", padded(MAX_QUERY_BYTES)).same_as(COUNT));
    v.push(reject(
        "one byte over the Athena limit",
        padded(MAX_QUERY_BYTES + 1),
    ));
    v.push(reject(
        "far over the Athena limit",
        format!(
            "SELECT count(*) FROM cur WHERE line_item_usage_account_id IN ({})",
            vec!["'123456789012'"; 40_000].join(",")
        ),
    ));
    v
}

/// Queries a user may run; each must be accepted and give the oracle's answer.
fn legitimate() -> Vec<Case> {
    vec![
        accept("count", COUNT).oracle(),
        accept("total", TOTAL).oracle(),
        accept(
            "join of cur with itself",
            "SELECT a.line_item_usage_account_id, count(*) AS n \
             FROM cur a JOIN cur b \
               ON a.line_item_usage_account_id = b.line_item_usage_account_id \
              AND a.line_item_usage_start_date = b.line_item_usage_start_date \
              AND a.line_item_usage_type = b.line_item_usage_type \
             WHERE a.line_item_line_item_type = 'Usage' \
             GROUP BY a.line_item_usage_account_id",
        )
        .oracle(),
        accept(
            "join of per-account aggregates",
            "SELECT a.acct, a.n, b.total \
             FROM (SELECT line_item_usage_account_id AS acct, count(*) AS n FROM cur GROUP BY 1) a \
             JOIN (SELECT line_item_usage_account_id AS acct, round(sum(line_item_unblended_cost), 4) AS total FROM cur GROUP BY 1) b \
               ON a.acct = b.acct",
        )
        .oracle(),
        accept(
            "CTE chain",
            "WITH by_day AS (\
                SELECT line_item_usage_account_id AS acct, date_trunc('month', line_item_usage_start_date) AS m, \
                       sum(line_item_unblended_cost) AS c FROM cur GROUP BY 1, 2), \
             by_month AS (SELECT acct, m, round(c, 4) AS c FROM by_day), \
             ranked AS (SELECT acct, count(*) AS months, round(sum(c), 2) AS total FROM by_month GROUP BY acct) \
             SELECT * FROM ranked WHERE months > 0",
        )
        .oracle(),
        accept(
            "CTE used in a subquery",
            "WITH big AS (SELECT line_item_usage_account_id AS acct FROM cur WHERE line_item_unblended_cost > 5) \
             SELECT count(*) AS n FROM cur WHERE line_item_usage_account_id IN (SELECT acct FROM big)",
        )
        .oracle(),
        accept(
            "UNNEST of an array literal",
            "SELECT x FROM UNNEST(ARRAY[1, 2, 3]) AS t(x)",
        )
        .same_as("SELECT * FROM (VALUES (1), (2), (3)) AS t(x)"),
        accept(
            "UNNEST joined with cur",
            "SELECT t.x, count(*) AS n FROM cur CROSS JOIN UNNEST(ARRAY[1, 2]) AS t(x) GROUP BY t.x",
        )
        .oracle(),
        accept(
            "GROUP BY with HAVING",
            "SELECT line_item_usage_account_id, line_item_product_code, count(*) AS n, \
                    round(sum(line_item_unblended_cost), 4) AS total \
             FROM cur GROUP BY line_item_usage_account_id, line_item_product_code \
             HAVING count(*) > 10 AND sum(line_item_unblended_cost) > 1",
        )
        .oracle(),
        accept(
            "cur.col qualified columns",
            "SELECT cur.line_item_usage_account_id, count(cur.line_item_resource_id) AS n \
             FROM cur WHERE cur.line_item_unblended_cost > 0 GROUP BY cur.line_item_usage_account_id",
        )
        .oracle(),
        accept(
            "alias-qualified columns",
            "SELECT c.line_item_product_code, round(sum(c.line_item_unblended_cost), 4) AS total \
             FROM cur AS c GROUP BY 1 ORDER BY 1",
        )
        .oracle(),
        accept(
            "correlated EXISTS",
            "SELECT count(*) AS n FROM cur a WHERE EXISTS (\
                SELECT 1 FROM cur b WHERE b.line_item_usage_account_id = a.line_item_usage_account_id \
                AND b.line_item_line_item_type = 'Tax')",
        )
        .oracle(),
        accept(
            "window function",
            "SELECT acct, total, rank() OVER (ORDER BY total DESC) AS r FROM (\
                SELECT line_item_usage_account_id AS acct, round(sum(line_item_unblended_cost), 4) AS total \
                FROM cur GROUP BY 1) t",
        )
        .oracle(),
        accept(
            "dates and strings",
            "SELECT EXTRACT(YEAR FROM line_item_usage_start_date) AS y, \
                    upper(line_item_product_code) AS p, count(*) AS n \
             FROM cur WHERE line_item_product_code LIKE 'Amazon%' GROUP BY 1, 2",
        )
        .oracle(),
        accept(
            "tags map",
            "SELECT resource_tags['env'] AS env, count(*) AS n FROM cur GROUP BY 1",
        )
        .oracle(),
        accept(
            "UNION ALL of two cur queries",
            "SELECT 'usage' AS k, count(*) AS n FROM cur WHERE line_item_line_item_type = 'Usage' \
             UNION ALL SELECT 'other', count(*) FROM cur WHERE line_item_line_item_type <> 'Usage'",
        )
        .oracle(),
        accept("select star", "SELECT * FROM cur").oracle(),
    ]
}

#[derive(Default)]
struct Tally {
    rejected: Vec<String>,
    confined: Vec<String>,
    failures: Vec<String>,
}

async fn run_case(fx: &Fixture, c: &Case, tally: &mut Tally) {
    let fail = |why: String| tally_fail(&c.name, &c.sql, why);
    let mut failures = Vec::new();
    let result = fx.ws.sql(ACME, &c.sql, MAX_ROWS).await;
    let explain = fx.ws.explain(ACME, &c.sql);
    // Whatever the local engine did, accepted text would go to Athena.
    if let Ok(text) = &explain {
        for p in explain_problems(text) {
            failures.push(fail(format!("{p}; Athena text: {}", clip(text, 300))));
        }
    }
    match result {
        Err(LocalError::Guard(reason)) => {
            let message = reason.to_string();
            if message.trim().is_empty() {
                failures.push(fail("refused without a reason".into()));
            }
            if c.verdict == Verdict::Accept {
                failures.push(fail(format!("refused a query that must run: {message}")));
            }
            match &explain {
                Err(LocalError::Guard(_)) => {}
                Ok(text) => failures.push(fail(format!(
                    "sql refused it but explain accepted it as: {}",
                    clip(text, 300)
                ))),
                Err(e) => failures.push(fail(format!("explain failed oddly: {e}"))),
            }
            tally
                .rejected
                .push(format!("{} — {}", c.name, clip(&message, 110)));
        }
        Err(e) => failures.push(fail(format!("neither refused nor run: {e}"))),
        Ok(res) => {
            if c.verdict == Verdict::Reject {
                failures.push(fail(format!(
                    "ran a query that must be refused: {}",
                    preview(&res.rows)
                )));
            }
            let foreign = fx.foreign_ids(&res.columns, &res.rows);
            if !foreign.is_empty() {
                failures.push(fail(format!(
                    "ESCAPE: the result names other accounts: {}",
                    foreign.join(", ")
                )));
            }
            if res.truncated {
                failures.push(fail("the result was truncated".into()));
            }
            if let Some(reference) = &c.same_as {
                match fx.oracle(reference).await {
                    Ok(want) if same_rows(&res.rows, &want) => {}
                    Ok(want) => failures.push(fail(format!(
                        "ESCAPE: got {} but Acme's own data gives {}",
                        preview(&res.rows),
                        preview(&want)
                    ))),
                    Err(e) => failures.push(fail(format!("the oracle failed on {reference}: {e}"))),
                }
            }
            if let Err(e) = &explain {
                failures.push(fail(format!("sql ran it but explain refused it: {e}")));
            }
            tally.confined.push(c.name.clone());
        }
    }
    tally.failures.extend(failures);
}

fn tally_fail(name: &str, sql: &str, why: String) -> String {
    format!("[{name}] {why}\n      sql: {}", clip(sql, 200))
}

fn report(title: &str, tally: &Tally) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{title}: {} refused, {} ran confined, {} failures",
        tally.rejected.len(),
        tally.confined.len(),
        tally.failures.len()
    );
    for r in &tally.rejected {
        let _ = writeln!(s, "  refused  {r}");
    }
    for c in &tally.confined {
        let _ = writeln!(s, "  confined {c}");
    }
    s
}

#[tokio::test]
async fn escape_attempts_are_refused_or_confined() {
    let fx = Fixture::new().await;

    // The harness can see an escape: the whole CUR differs from Acme's part,
    // the other customer has rows, and the id check flags foreign accounts.
    let all = fx
        .oracle("SELECT count(*) FROM everything")
        .await
        .expect("oracle");
    let acme = fx.oracle(COUNT).await.expect("oracle");
    assert_ne!(all, acme, "Acme must not be the whole CUR");
    let leak = fx
        .oracle("SELECT DISTINCT line_item_usage_account_id FROM everything")
        .await
        .expect("oracle");
    let flagged = fx.foreign_ids(&["line_item_usage_account_id".into()], &leak);
    assert!(
        fx.borealis.iter().all(|b| flagged.contains(b)),
        "the id check must flag Borealis' accounts"
    );
    let acme_ids = fx.oracle(IDS).await.expect("oracle");
    let acme_seen: BTreeSet<String> = acme_ids.iter().filter_map(|r| r[0].clone()).collect();
    assert_eq!(
        acme_seen, fx.acme,
        "the oracle sees exactly Acme's accounts"
    );

    let cases = attacks(&fx);
    assert!(cases.len() >= 45, "{} attacks", cases.len());
    let mut tally = Tally::default();
    for c in &cases {
        run_case(&fx, c, &mut tally).await;
    }
    println!("{}", report("attacks", &tally));
    assert!(
        tally.failures.is_empty(),
        "{} of {} attacks failed:\n{}",
        tally.failures.len(),
        cases.len(),
        tally.failures.join("\n")
    );
}

#[tokio::test]
async fn legitimate_queries_run_with_correct_answers() {
    let fx = Fixture::new().await;
    let cases = legitimate();
    let mut tally = Tally::default();
    for c in &cases {
        run_case(&fx, c, &mut tally).await;
    }
    // Acme sees all of its accounts and nothing else.
    match fx.ws.sql(ACME, IDS, MAX_ROWS).await {
        Ok(res) => {
            let seen: BTreeSet<String> = res.rows.iter().filter_map(|r| r[0].clone()).collect();
            if seen != fx.acme {
                tally.failures.push(format!(
                    "Acme sees accounts {seen:?}, expected {:?}",
                    fx.acme
                ));
            }
        }
        Err(e) => tally.failures.push(format!("the account list failed: {e}")),
    }
    println!("{}", report("legitimate", &tally));
    assert!(
        tally.failures.is_empty(),
        "{} problems:\n{}",
        tally.failures.len(),
        tally.failures.join("\n")
    );
}

/// Queries at the guard's own limits (63 nested subqueries, 64 nested
/// brackets, about 300 chained operators) are accepted, and in a debug build
/// DataFusion's recursive planner overflows a 2 MiB stack far below them
/// (about 15-20 nested subqueries, 30 nested calls, 100-150 chained
/// operators), which would abort the whole process. The engine plans and
/// runs confined queries on a thread with a large stack; this pins it.
#[tokio::test]
async fn queries_at_the_guard_limits_do_not_crash_the_engine() {
    let fx = Fixture::new().await;
    let mut nested = COUNT.to_string();
    for i in 0..60 {
        nested = format!("SELECT * FROM ({nested}) t{i}");
    }
    let queries = [
        nested,
        format!(
            "SELECT {}1{} AS x FROM cur",
            "abs(".repeat(60),
            ")".repeat(60)
        ),
        format!("SELECT {}1{} AS x FROM cur", "(".repeat(60), ")".repeat(60)),
        format!("SELECT 1{} AS x FROM cur", "+1".repeat(300)),
    ];
    for q in &queries {
        fx.ws.explain(ACME, q).expect("the guard accepts it");
        let res = fx.ws.sql(ACME, q, 10).await;
        assert!(res.is_ok(), "{}: {:?}", clip(q, 60), res.err());
    }
}
