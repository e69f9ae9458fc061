//! What a user is told when an engine fails on their confined query.
//!
//! Engines quote the values they fail on: DataFusion's `Cannot cast string
//! '<value>' to value of Int32 type`, Athena's `INVALID_CAST_ARGUMENT:
//! Cannot cast '<value>' to INT`. A value can be another customer's account
//! id or name (on Athena, where the view's filter and the user's predicate
//! run in an order the app cannot force), so the raw text never leaves the
//! adapter: it is turned into a message made only of fixed words and the
//! names of SQL or Arrow types, recognised from a closed list. Whatever is
//! not recognised becomes a generic message.

/// Types a message may name (SQL and Arrow spellings, compared ASCII
/// case-insensitively).
const TYPES: &[&str] = &[
    "tinyint",
    "smallint",
    "integer",
    "int",
    "bigint",
    "real",
    "double",
    "float",
    "decimal",
    "varchar",
    "char",
    "boolean",
    "date",
    "timestamp",
    "time",
    "interval",
    "varbinary",
    "json",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "utf8",
    "largeutf8",
    "utf8view",
    "binary",
    "date32",
    "date64",
    "decimal128",
    "decimal256",
    "null",
];

/// The type named right after `marker` in `raw` (e.g. `to INT`), if it is
/// one of [`TYPES`]. Parameters such as `(12, 2)` are dropped.
fn type_after(raw: &str, marker: &str) -> Option<String> {
    let lower = raw.to_ascii_lowercase();
    let at = lower.rfind(marker)? + marker.len();
    let word: String = raw[at..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    TYPES
        .iter()
        .any(|t| t.eq_ignore_ascii_case(&word))
        .then(|| word.to_ascii_uppercase())
}

fn cast_failed(target: Option<String>) -> String {
    match target {
        Some(t) => format!(
            "a CAST to {t} failed on a value of the data (the value is not shown); use TRY_CAST to get NULL instead"
        ),
        None => "a CAST failed on a value of the data (the value is not shown); use TRY_CAST to get NULL instead".to_string(),
    }
}

const DIVISION_BY_ZERO: &str =
    "division by zero in the data (use NULLIF(divisor, 0) to get NULL instead)";
const OVERFLOW: &str = "a number in the data is out of range for its type (arithmetic overflow)";
const BAD_ARGUMENT: &str =
    "a function was given a value of the data it cannot take (the value is not shown)";
const WITHHELD: &str =
    "the engine failed while running it (its message is not shown: it can quote values of the data)";

/// DataFusion's failure while running a confined query, told without data.
pub fn datafusion_failure(raw: &str) -> String {
    let lower = raw.to_ascii_lowercase();
    if lower.contains("resources exhausted") || lower.contains("memory") {
        return "the query needs more memory than the engine allows; aggregate earlier or filter more".to_string();
    }
    if lower.contains("divide by zero") || lower.contains("division by zero") {
        return DIVISION_BY_ZERO.to_string();
    }
    if lower.contains("overflow") {
        return OVERFLOW.to_string();
    }
    if lower.contains("regex") || lower.contains("regular expression") {
        return "a regular expression could not be compiled or failed on a value of the data"
            .to_string();
    }
    if lower.contains("cast") {
        let target = type_after(raw, "to value of ").or_else(|| type_after(raw, " to "));
        return cast_failed(target);
    }
    if lower.contains("parse") || lower.contains("parsing") {
        return "a value of the data could not be read as the type asked for (the value is not shown)".to_string();
    }
    if lower.contains("invalid") && lower.contains("argument") {
        return BAD_ARGUMENT.to_string();
    }
    WITHHELD.to_string()
}

/// Athena's reason for a FAILED confined query, told without data. Errors
/// Athena raises while analysing the query (syntax, unknown names, type
/// mismatches) quote only the query and are kept; errors raised while
/// running it are reduced to their kind.
pub fn athena_failure(raw: &str) -> String {
    let code: String = raw
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_uppercase() || *c == '_')
        .collect();
    let analysis = [
        "SYNTAX_ERROR",
        "COLUMN_NOT_FOUND",
        "TABLE_NOT_FOUND",
        "SCHEMA_NOT_FOUND",
        "FUNCTION_NOT_FOUND",
        "TYPE_MISMATCH",
        "AMBIGUOUS_NAME",
        "MISSING_GROUP_BY",
        "EXPRESSION_NOT_AGGREGATE",
        "INVALID_COLUMN_REFERENCE",
        "NOT_SUPPORTED",
        "MISSING_COLUMN_NAME",
        "DUPLICATE_COLUMN_NAME",
        "MISMATCHED_COLUMN_ALIASES",
        "INVALID_LITERAL",
        "PERMISSION_DENIED",
        "EXCEEDED_TIME_LIMIT",
        "QUERY_EXCEEDED_MAX_DATA_SCANNED",
    ];
    if !code.is_empty() && analysis.contains(&code.as_str()) {
        return raw.to_string();
    }
    match code.as_str() {
        "INVALID_CAST_ARGUMENT" => cast_failed(type_after(raw, " to ")),
        "DIVISION_BY_ZERO" => DIVISION_BY_ZERO.to_string(),
        "NUMERIC_VALUE_OUT_OF_RANGE" => OVERFLOW.to_string(),
        "INVALID_FUNCTION_ARGUMENT" | "INVALID_ARGUMENTS" => BAD_ARGUMENT.to_string(),
        "EXCEEDED_MEMORY_LIMIT" | "EXCEEDED_LOCAL_MEMORY_LIMIT" => {
            "the query needs more memory than Athena allows; aggregate earlier or filter more"
                .to_string()
        }
        "" => WITHHELD.to_string(),
        other => format!(
            "{other} (Athena's message is not shown because it can quote values of the data)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_never_survive() {
        let id = "123456789012";
        for raw in [
            format!("Arrow error: Cast error: Cannot cast string '{id}' to value of Int32 type"),
            format!("Execution error: Cannot cast string 'Borealis {id}' to value of Int64 type"),
            format!("Arrow error: Divide by zero error {id}"),
            format!("something else entirely: '{id}'"),
            format!("Parser error: Error parsing timestamp from '{id}'"),
        ] {
            let told = datafusion_failure(&raw);
            assert!(!told.contains(id) && !told.contains("Borealis"), "{told}");
        }
        assert!(
            datafusion_failure("Cast error: Cannot cast string 'x' to value of Int32 type")
                .contains("CAST to INT32")
        );
        for raw in [
            format!("INVALID_CAST_ARGUMENT: Cannot cast '{id}' to INT"),
            format!("DIVISION_BY_ZERO: Division by zero {id}"),
            format!("GENERIC_INTERNAL_ERROR: {id}"),
            id.to_string(),
        ] {
            let told = athena_failure(&raw);
            assert!(!told.contains(id), "{told}");
        }
        assert_eq!(
            athena_failure("INVALID_CAST_ARGUMENT: Cannot cast '1x' to INT"),
            cast_failed(Some("INT".into()))
        );
        let analysis = "COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved";
        assert!(athena_failure(analysis).starts_with("COLUMN_NOT_FOUND"));
        assert!(athena_failure(analysis).contains("cannot be resolved"));
    }
}
