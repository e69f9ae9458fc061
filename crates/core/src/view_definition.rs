//! An integration's view, read back. A stored view is CostCarve's only when
//! its SQL, parsed, is the very statement [`view_select`] makes for some
//! source and account list — compared as syntax trees, not by searching the
//! text — so a view edited to `... IN (..) OR true`, to read another table,
//! to add a `UNION ALL`, other columns or another clause is told apart from
//! one CostCarve made, and what differs is named.

use std::collections::BTreeSet;

use sqlparser::ast::{Expr, SetExpr, Statement, TableFactor, Value};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

use crate::account::AccountId;

/// The `SELECT` an integration's view is made of: every column of `source`
/// (a trusted relation name such as `"db"."cur_table"`), for `accounts` only.
pub fn view_select(source: &str, accounts: &BTreeSet<AccountId>) -> String {
    let ids: Vec<String> = accounts.iter().map(|a| format!("'{a}'")).collect();
    format!(
        "SELECT * FROM {source} WHERE line_item_usage_account_id IN ({})",
        ids.join(", ")
    )
}

/// A view that is exactly one CostCarve makes: what it reads and for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewDefinition {
    /// The relation it reads, as written (`"db"."table"`).
    pub source: String,
    /// The accounts it keeps.
    pub accounts: BTreeSet<AccountId>,
}

/// Why a stored view is not one CostCarve made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotOurs(pub String);

fn not_ours(what: &str) -> NotOurs {
    NotOurs(what.to_string())
}

fn one_statement(sql: &str) -> Result<Statement, NotOurs> {
    let mut statements = Parser::parse_sql(&GenericDialect {}, sql)
        .map_err(|_| not_ours("its SQL does not parse"))?;
    match (statements.pop(), statements.is_empty()) {
        (Some(statement), true) => Ok(statement),
        _ => Err(not_ours("it is not one statement")),
    }
}

impl ViewDefinition {
    /// Reads a view's stored `SELECT`; refuses anything but the statement
    /// [`view_select`] makes, naming what differs.
    pub fn parse(select: &str) -> Result<Self, NotOurs> {
        let stored = one_statement(select)?;
        let Statement::Query(query) = &stored else {
            return Err(not_ours("it is not a query"));
        };
        let s = match query.body.as_ref() {
            SetExpr::Select(s) => s,
            SetExpr::SetOperation { op, .. } => {
                return Err(NotOurs(format!(
                    "it combines another query with {op} (rows CostCarve did not choose)"
                )))
            }
            _ => return Err(not_ours("it is not a plain SELECT")),
        };
        let source = match s.from.as_slice() {
            [only] if only.joins.is_empty() => match &only.relation {
                TableFactor::Table { name, .. } => name.to_string(),
                _ => return Err(not_ours("it reads from something other than a table")),
            },
            _ => return Err(not_ours("it reads more than one table")),
        };
        let list = match &s.selection {
            Some(Expr::InList {
                expr,
                list,
                negated: false,
            }) if matches!(expr.as_ref(), Expr::Identifier(i) if i.value == "line_item_usage_account_id") => {
                list
            }
            Some(_) => return Err(not_ours("its filter is more than the list of accounts")),
            None => return Err(not_ours("it has no account filter: it shows every account")),
        };
        let accounts = list
            .iter()
            .map(|item| match item {
                Expr::Value(v) => match &v.value {
                    Value::SingleQuotedString(s) => s.parse::<AccountId>().ok(),
                    _ => None,
                },
                _ => None,
            })
            .collect::<Option<BTreeSet<AccountId>>>()
            .ok_or_else(|| not_ours("its account list holds something other than account ids"))?;
        let ours = one_statement(&view_select(&source, &accounts))?;
        if stored != ours {
            return Err(not_ours(
                "it differs from the view CostCarve makes for its accounts (other columns, clauses or options)",
            ));
        }
        Ok(Self { source, accounts })
    }

    /// Reads the `CREATE VIEW` that made a view: its name and definition.
    pub fn parse_ddl(ddl: &str) -> Result<(String, Self), NotOurs> {
        let Statement::CreateView(create) = one_statement(ddl)? else {
            return Err(not_ours("it is not a CREATE VIEW"));
        };
        Ok((
            create.name.to_string(),
            Self::parse(&create.query.to_string())?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "\"cur\".\"data\"";

    fn accounts(ids: &[&str]) -> BTreeSet<AccountId> {
        ids.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn what_costcarve_makes_reads_back() {
        let want = accounts(&["111111111111", "222222222222"]);
        let def = ViewDefinition::parse(&view_select(SOURCE, &want)).unwrap();
        assert_eq!(def.source, SOURCE);
        assert_eq!(def.accounts, want);
        let ddl = format!(
            "CREATE OR REPLACE VIEW \"views\".\"vi_acme\" AS {}",
            view_select(SOURCE, &want)
        );
        let (name, def) = ViewDefinition::parse_ddl(&ddl).unwrap();
        assert_eq!(name, "\"views\".\"vi_acme\"");
        assert_eq!(def.accounts, want);
    }

    #[test]
    fn every_tamper_is_named() {
        let ours = view_select(SOURCE, &accounts(&["111111111111"]));
        for (tampered, why) in [
            (format!("{ours} OR true"), "more than the list"),
            (
                ours.replace("IN ('111111111111')", "IN ('111111111111') AND 1 = 1"),
                "more than the list",
            ),
            (ours.replace(SOURCE, "\"cur\".\"other\""), ""),
            (
                format!("{ours} UNION ALL SELECT * FROM {SOURCE}"),
                "combines another query",
            ),
            (format!("SELECT * FROM {SOURCE}"), "no account filter"),
            (ours.replace("SELECT *", "SELECT *, 1 AS x"), "differs"),
            (ours.replace(" IN ", " NOT IN "), "more than the list"),
            (format!("{ours} LIMIT 10"), "differs"),
            (
                ours.replace(
                    &format!("FROM {SOURCE}"),
                    &format!("FROM {SOURCE} JOIN \"cur\".\"x\" ON true"),
                ),
                "more than one table",
            ),
            (
                ours.replace("'111111111111'", "'111111111111', 'x'"),
                "other than account ids",
            ),
            (format!("{ours}; DROP VIEW v"), "not one statement"),
        ] {
            match ViewDefinition::parse(&tampered) {
                Ok(def) => assert!(
                    why.is_empty() && def.source != SOURCE,
                    "accepted: {tampered}"
                ),
                Err(e) => assert!(e.0.contains(why), "{tampered}: {e}"),
            }
        }
    }
}
