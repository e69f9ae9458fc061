//! Query confinement: a user's SQL for one virtual integration is parsed,
//! checked and rewritten so that the only data it can read is that
//! integration's view.
//!
//! The rules are strict on purpose. A query is accepted only when it is one
//! read-only `SELECT`/`VALUES` query whose base relations are all the logical
//! table `cur` (any case or quoting, optionally `db.` or `catalog.db.`
//! qualified), and whose other relations are CTEs visible where they are used,
//! scoped the way Trino scopes them (a CTE body sees only the CTEs before it;
//! a self or forward reference would mean a catalog table and is refused).
//! FROM may hold only tables, derived tables, joins and `UNNEST`. Names are
//! compared ASCII case-insensitively and nothing else, so Unicode lookalikes
//! never match.
//!
//! The rewrite renames every CTE to a canonical `cte_N` and replaces `cur` by
//! the target, so that no user-chosen name is left for an engine to resolve
//! differently. The rewritten statement is then printed, parsed again and
//! checked again in a mode that accepts only the target; only when the
//! re-parsed statement equals the rewritten one is the query confined. That
//! closes the printer's quote/backslash differentials: the text we would send
//! means exactly the AST we checked.

use std::ops::ControlFlow;

use serde::Serialize;
use sqlparser::ast::{
    Expr, Ident, ObjectName, ObjectNamePart, Query, Select, SelectFlavor, SetExpr, Statement,
    TableAlias, TableFactor, VisitMut, VisitorMut,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

/// The logical table users query.
pub const LOGICAL_TABLE: &str = "cur";
/// Athena's limit on a query string.
pub const MAX_QUERY_BYTES: usize = 262_144;
/// Deepest nesting accepted (parser recursion guard).
const MAX_DEPTH: usize = 64;

/// The relation `cur` is replaced by: a trusted, already-safe name such as
/// `vi_acme` (local engine) or `"costcarve"."vi_acme"` (Athena).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    parts: Vec<String>,
}

impl Target {
    /// A target from its name parts, e.g. `["costcarve", "vi_acme"]`.
    /// Each part must be a plain lowercase identifier.
    pub fn new<I, S>(parts: I) -> Result<Self, GuardError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let parts: Vec<String> = parts.into_iter().map(Into::into).collect();
        let plain = |p: &String| {
            !p.is_empty()
                && p.len() <= 255
                && p.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        if parts.is_empty() || parts.len() > 3 || !parts.iter().all(plain) {
            return Err(GuardError::BadTarget(parts.join(".")));
        }
        Ok(Self { parts })
    }

    fn object_name(&self) -> ObjectName {
        ObjectName(
            self.parts
                .iter()
                .map(|p| ObjectNamePart::Identifier(Ident::with_quote('"', p.clone())))
                .collect(),
        )
    }

    fn matches(&self, name: &ObjectName) -> bool {
        name.0.len() == self.parts.len()
            && name.0.iter().zip(&self.parts).all(|(part, want)| {
                matches!(part, ObjectNamePart::Identifier(id) if id.value == *want && id.quote_style == Some('"'))
            })
    }
}

/// A query that passed the guard: the checked statement and its text.
#[derive(Debug, Clone)]
pub struct ConfinedQuery {
    statement: Statement,
    text: String,
}

impl ConfinedQuery {
    /// The checked statement (re-parsed from [`Self::text`]).
    pub fn statement(&self) -> &Statement {
        &self.statement
    }

    /// Consumes the query, giving the checked statement.
    pub fn into_statement(self) -> Statement {
        self.statement
    }

    /// The text to send to an engine that takes text (Athena): printed from
    /// the rewritten statement, parsed again and checked again.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Why a query was refused. Every message says what is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum GuardError {
    /// The text is not SQL the parser understands.
    #[error("the query could not be parsed: {0}")]
    Syntax(String),
    /// Nothing to run.
    #[error("the query is empty")]
    Empty,
    /// More than the Athena limit.
    #[error("the query is {0} bytes; Athena accepts at most 262144")]
    TooLong(usize),
    /// Several statements.
    #[error("only one statement can run at a time; found {0}")]
    MultipleStatements(usize),
    /// A statement that is not a query.
    #[error("only read-only SELECT queries can run; this is a {0} statement")]
    NotAQuery(String),
    /// A construct outside the allowed subset.
    #[error("{0} is not allowed in a confined query")]
    Forbidden(String),
    /// A relation other than `cur` or a visible CTE.
    #[error("the query reads '{0}', but only the table `cur` (this integration's costs) and CTEs defined before their use can be read")]
    UnknownRelation(String),
    /// A CTE named like the logical table.
    #[error("a CTE cannot be named '{0}': that name is the integration's cost table")]
    ShadowsLogicalTable(String),
    /// Two CTEs with one name in one WITH.
    #[error("the WITH clause defines '{0}' twice")]
    DuplicateCte(String),
    /// A hidden or system column such as `"$path"`.
    #[error("the identifier '{0}' names a hidden column; `$` names are not allowed")]
    HiddenColumn(String),
    /// Nested too deep.
    #[error("the query nests subqueries more than {MAX_DEPTH} deep")]
    TooDeep,
    /// The rewritten query does not print back to itself.
    #[error("the query cannot be printed unambiguously for the engine (quote or escape ambiguity); simplify its string literals or identifiers")]
    Unprintable,
    /// Internal: a target that is not a plain identifier.
    #[error("internal error: '{0}' is not a valid target relation")]
    BadTarget(String),
}

/// Checks `sql` and confines it to `target`.
pub fn confine(sql: &str, target: &Target) -> Result<ConfinedQuery, GuardError> {
    if sql.len() > MAX_QUERY_BYTES {
        return Err(GuardError::TooLong(sql.len()));
    }
    let mut statement = parse_one(sql)?;
    run_checker(&mut statement, target, Mode::Rewrite)?;
    let text = statement.to_string();
    let mut reparsed = parse_one(&text).map_err(|_| GuardError::Unprintable)?;
    run_checker(&mut reparsed, target, Mode::Verify)?;
    if reparsed != statement {
        return Err(GuardError::Unprintable);
    }
    Ok(ConfinedQuery {
        statement: reparsed,
        text,
    })
}

fn parse_one(sql: &str) -> Result<Statement, GuardError> {
    let dialect = GenericDialect {};
    let mut statements = Parser::new(&dialect)
        .with_recursion_limit(MAX_DEPTH * 2)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| GuardError::Syntax(e.to_string()))?;
    match statements.len() {
        0 => Err(GuardError::Empty),
        1 => Ok(statements.remove(0)),
        n => Err(GuardError::MultipleStatements(n)),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// First pass: resolve `cur`, rename CTEs.
    Rewrite,
    /// Second pass over re-parsed text: only the target and canonical CTEs.
    Verify,
}

fn run_checker(statement: &mut Statement, target: &Target, mode: Mode) -> Result<(), GuardError> {
    let query = match statement {
        Statement::Query(q) => q,
        other => return Err(GuardError::NotAQuery(statement_kind(other))),
    };
    let mut checker = Checker {
        target,
        mode,
        frames: Vec::new(),
        next_cte: 0,
        approved_relation: None,
    };
    match query.visit(&mut checker) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(e) => Err(e),
    }
}

fn statement_kind(s: &Statement) -> String {
    let text = s.to_string();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    let kind = match words.as_slice() {
        [a, b]
            if ["CREATE", "DROP", "ALTER", "SHOW"].contains(&a.to_ascii_uppercase().as_str()) =>
        {
            format!("{a} {b}")
        }
        [a, ..] => (*a).to_string(),
        [] => "non-query".to_string(),
    };
    kind.to_ascii_uppercase()
}

/// A CTE name visible in a scope, and what it was renamed to.
#[derive(Debug, Clone)]
struct Binding {
    name: String,
    canonical: String,
}

#[derive(Debug)]
struct Frame {
    /// Names visible to this query from outside it.
    outer: Vec<Binding>,
    /// This query's own CTEs, in order, with the address of each body.
    ctes: Vec<(Binding, *const Query)>,
}

impl Frame {
    fn resolve(&self, name: &str) -> Option<&Binding> {
        self.ctes
            .iter()
            .map(|(b, _)| b)
            .rev()
            .chain(self.outer.iter().rev())
            .find(|b| b.name.eq_ignore_ascii_case(name))
    }
}

struct Checker<'t> {
    target: &'t Target,
    mode: Mode,
    frames: Vec<Frame>,
    next_cte: usize,
    /// The relation the last table factor resolved (address of its name),
    /// so that no relation is ever visited without being resolved.
    approved_relation: Option<*const ObjectName>,
}

fn forbid<T>(what: &str) -> ControlFlow<GuardError, T> {
    ControlFlow::Break(GuardError::Forbidden(what.to_string()))
}

impl Checker<'_> {
    fn check_query_shape(&self, q: &Query) -> ControlFlow<GuardError> {
        if !q.locks.is_empty() {
            return forbid("FOR UPDATE/SHARE");
        }
        if q.for_clause.is_some() {
            return forbid("a FOR clause");
        }
        if q.settings.is_some() {
            return forbid("SETTINGS");
        }
        if q.format_clause.is_some() {
            return forbid("FORMAT");
        }
        if !q.pipe_operators.is_empty() {
            return forbid("a pipe operator");
        }
        if let Some(with) = &q.with {
            if with.recursive {
                return forbid("WITH RECURSIVE");
            }
            for cte in &with.cte_tables {
                if cte.from.is_some() {
                    return forbid("CTE ... FROM");
                }
            }
        }
        self.check_set_expr(&q.body)
    }

    fn check_set_expr(&self, body: &SetExpr) -> ControlFlow<GuardError> {
        match body {
            SetExpr::Select(s) => self.check_select(s),
            SetExpr::Query(_) => ControlFlow::Continue(()),
            SetExpr::SetOperation { left, right, .. } => {
                self.check_set_expr(left)?;
                self.check_set_expr(right)
            }
            SetExpr::Values(_) => ControlFlow::Continue(()),
            SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) => {
                forbid("changing data")
            }
            SetExpr::Table(_) => forbid("TABLE <name>"),
        }
    }

    fn check_select(&self, s: &Select) -> ControlFlow<GuardError> {
        if s.into.is_some() {
            return forbid("SELECT ... INTO");
        }
        if !s.lateral_views.is_empty() {
            return forbid("LATERAL VIEW");
        }
        if s.prewhere.is_some() {
            return forbid("PREWHERE");
        }
        if !s.connect_by.is_empty() {
            return forbid("CONNECT BY");
        }
        if !s.cluster_by.is_empty() || !s.distribute_by.is_empty() || !s.sort_by.is_empty() {
            return forbid("CLUSTER/DISTRIBUTE/SORT BY");
        }
        if s.top.is_some() {
            return forbid("TOP");
        }
        if s.exclude.is_some() {
            return forbid("EXCLUDE");
        }
        if s.qualify.is_some() {
            return forbid("QUALIFY");
        }
        if s.value_table_mode.is_some() {
            return forbid("SELECT AS VALUE/STRUCT");
        }
        if !s.optimizer_hints.is_empty() || s.select_modifiers.is_some() {
            return forbid("optimizer hints or SELECT modifiers");
        }
        if s.flavor != SelectFlavor::Standard {
            return forbid("FROM-first SELECT");
        }
        ControlFlow::Continue(())
    }

    fn enter_query(&mut self, q: &mut Query) -> ControlFlow<GuardError> {
        if self.frames.len() >= MAX_DEPTH {
            return ControlFlow::Break(GuardError::TooDeep);
        }
        self.check_query_shape(q)?;
        let me = q as *const Query;
        let outer = match self.frames.last() {
            None => Vec::new(),
            Some(parent) => {
                let mut visible = parent.outer.clone();
                match parent.ctes.iter().position(|(_, ptr)| *ptr == me) {
                    // A CTE body sees only the CTEs defined before it.
                    Some(k) => visible.extend(parent.ctes[..k].iter().map(|(b, _)| b.clone())),
                    None => visible.extend(parent.ctes.iter().map(|(b, _)| b.clone())),
                }
                visible
            }
        };
        let mut ctes: Vec<(Binding, *const Query)> = Vec::new();
        if let Some(with) = &mut q.with {
            for cte in &mut with.cte_tables {
                let name = cte.alias.name.value.clone();
                if name.eq_ignore_ascii_case(LOGICAL_TABLE) {
                    return ControlFlow::Break(GuardError::ShadowsLogicalTable(name));
                }
                if ctes.iter().any(|(b, _)| b.name.eq_ignore_ascii_case(&name)) {
                    return ControlFlow::Break(GuardError::DuplicateCte(name));
                }
                let canonical = match self.mode {
                    Mode::Rewrite => {
                        let c = format!("cte_{}", self.next_cte);
                        self.next_cte += 1;
                        cte.alias.name = Ident::new(c.clone());
                        c
                    }
                    Mode::Verify => {
                        if cte.alias.name.quote_style.is_some() || !is_canonical_cte(&name) {
                            return ControlFlow::Break(GuardError::Unprintable);
                        }
                        name.clone()
                    }
                };
                ctes.push((Binding { name, canonical }, &*cte.query as *const Query));
            }
        }
        self.frames.push(Frame { outer, ctes });
        ControlFlow::Continue(())
    }

    fn resolve_table(&mut self, factor: &mut TableFactor) -> ControlFlow<GuardError> {
        let TableFactor::Table {
            name,
            alias,
            args,
            with_hints,
            version,
            with_ordinality,
            partitions,
            json_path,
            sample,
            index_hints,
        } = factor
        else {
            return ControlFlow::Continue(());
        };
        if args.is_some() {
            return forbid("a table function");
        }
        if !with_hints.is_empty() || !index_hints.is_empty() {
            return forbid("a table hint");
        }
        if version.is_some() {
            return forbid("time travel (FOR VERSION/TIMESTAMP AS OF)");
        }
        if *with_ordinality || !partitions.is_empty() || json_path.is_some() {
            return forbid("WITH ORDINALITY, PARTITION or a JSON path on a table");
        }
        if sample.is_some() {
            return forbid("TABLESAMPLE");
        }
        let mut idents = Vec::with_capacity(name.0.len());
        for part in &name.0 {
            match part {
                ObjectNamePart::Identifier(id) => idents.push(id.clone()),
                ObjectNamePart::Function(_) => return forbid("a computed table name"),
            }
        }
        let shown = name.to_string();
        let frame = self.frames.last();
        if self.mode == Mode::Verify && self.target.matches(name) {
            self.approved_relation = Some(name as *const ObjectName);
            return ControlFlow::Continue(());
        }
        if let [single] = idents.as_slice() {
            if let Some(binding) = frame.and_then(|f| f.resolve(&single.value)) {
                if self.mode == Mode::Verify && single.quote_style.is_some() {
                    return ControlFlow::Break(GuardError::Unprintable);
                }
                let canonical = binding.canonical.clone();
                *name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(canonical))]);
                self.approved_relation = Some(name as *const ObjectName);
                return ControlFlow::Continue(());
            }
        }
        let is_cur = idents.len() <= 3
            && idents
                .last()
                .is_some_and(|id| id.value.eq_ignore_ascii_case(LOGICAL_TABLE));
        if self.mode == Mode::Rewrite && is_cur {
            if alias.is_none() {
                // Keep `cur.col` column references working.
                let last = idents.last().map(|i| i.value.clone()).unwrap_or_default();
                *alias = Some(TableAlias {
                    explicit: true,
                    name: Ident::new(last.to_ascii_lowercase()),
                    columns: vec![],
                    at: None,
                });
            }
            *name = self.target.object_name();
            self.approved_relation = Some(name as *const ObjectName);
            return ControlFlow::Continue(());
        }
        ControlFlow::Break(GuardError::UnknownRelation(shown))
    }
}

fn is_canonical_cte(name: &str) -> bool {
    name.strip_prefix("cte_")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

impl VisitorMut for Checker<'_> {
    type Break = GuardError;

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<Self::Break> {
        self.enter_query(query)
    }

    fn post_visit_query(&mut self, _query: &mut Query) -> ControlFlow<Self::Break> {
        self.frames.pop();
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<Self::Break> {
        match factor {
            TableFactor::Table { .. } => self.resolve_table(factor),
            TableFactor::Derived { sample, .. } => {
                if sample.is_some() {
                    forbid("TABLESAMPLE")
                } else {
                    ControlFlow::Continue(())
                }
            }
            TableFactor::UNNEST { .. } | TableFactor::NestedJoin { .. } => {
                ControlFlow::Continue(())
            }
            TableFactor::TableFunction { .. } => forbid("TABLE(function)"),
            TableFactor::Function { .. } => forbid("a table function (LATERAL FLATTEN and alike)"),
            TableFactor::JsonTable { .. } | TableFactor::OpenJsonTable { .. } => {
                forbid("JSON_TABLE")
            }
            TableFactor::Pivot { .. } | TableFactor::Unpivot { .. } => forbid("PIVOT/UNPIVOT"),
            TableFactor::MatchRecognize { .. } => forbid("MATCH_RECOGNIZE"),
            TableFactor::XmlTable { .. } => forbid("XMLTABLE"),
            _ => forbid("this kind of FROM item"),
        }
    }

    fn pre_visit_relation(&mut self, relation: &mut ObjectName) -> ControlFlow<Self::Break> {
        let me = relation as *const ObjectName;
        if self.approved_relation.take() == Some(me) {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(GuardError::UnknownRelation(relation.to_string()))
        }
    }

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<Self::Break> {
        let hidden = |id: &Ident| id.value.contains('$');
        match expr {
            Expr::Identifier(id) if hidden(id) => {
                ControlFlow::Break(GuardError::HiddenColumn(id.value.clone()))
            }
            Expr::CompoundIdentifier(ids) => match ids.iter().find(|i| hidden(i)) {
                Some(id) => ControlFlow::Break(GuardError::HiddenColumn(id.value.clone())),
                None => ControlFlow::Continue(()),
            },
            _ => ControlFlow::Continue(()),
        }
    }

    fn pre_visit_statement(&mut self, _statement: &mut Statement) -> ControlFlow<Self::Break> {
        // The top statement is not visited (we visit its query); any statement
        // met inside a query is a data change or a command.
        forbid("a statement inside a query")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> Target {
        Target::new(["vi_acme"]).unwrap()
    }

    fn ok(sql: &str) -> String {
        confine(sql, &local())
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .text()
            .to_string()
    }

    fn err(sql: &str) -> GuardError {
        match confine(sql, &local()) {
            Ok(q) => panic!("accepted {sql} as {}", q.text()),
            Err(e) => e,
        }
    }

    #[test]
    fn cur_is_replaced_in_every_spelling() {
        for sql in [
            "SELECT * FROM cur",
            "SELECT * FROM CUR",
            "SELECT * FROM \"Cur\"",
            "SELECT * FROM mydb.cur",
            "SELECT * FROM awsdatacatalog.mydb.\"CUR\"",
        ] {
            let text = ok(sql);
            assert!(text.contains("\"vi_acme\""), "{sql} -> {text}");
            assert!(!text.to_ascii_lowercase().contains("from cur"), "{text}");
        }
    }

    #[test]
    fn ctes_are_scoped_like_trino() {
        ok("WITH a AS (SELECT * FROM cur), b AS (SELECT * FROM a) SELECT * FROM b");
        assert!(matches!(
            err("WITH a AS (SELECT * FROM b), b AS (SELECT * FROM cur) SELECT * FROM a"),
            GuardError::UnknownRelation(_)
        ));
        assert!(matches!(
            err("WITH a AS (SELECT * FROM a) SELECT * FROM a"),
            GuardError::UnknownRelation(_)
        ));
        assert!(matches!(
            err("WITH cur AS (SELECT 1) SELECT * FROM cur"),
            GuardError::ShadowsLogicalTable(_)
        ));
        assert!(matches!(
            err("SELECT * FROM (WITH a AS (SELECT * FROM cur) SELECT * FROM a) x, a"),
            GuardError::UnknownRelation(_)
        ));
    }

    #[test]
    fn ctes_are_renamed_canonically() {
        let text = ok("WITH \"X\" AS (SELECT * FROM cur) SELECT * FROM x");
        assert!(text.contains("cte_0"), "{text}");
        assert!(!text.contains("\"X\""), "{text}");
    }
}
