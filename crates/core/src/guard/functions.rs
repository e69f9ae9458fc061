//! What a confined query may compute: a fail-closed allow-list of the
//! functions a cost analysis needs (scalar, aggregate and window, with
//! Athena's names where they differ from DataFusion's), of the types a
//! value may be cast to, and of window frame bounds.
//!
//! Everything else is refused before any engine sees it: functions that
//! build arrays or strings of a size the query chooses (`array_resize`,
//! `repeat`, `range`, ...), casts to engine-internal types (`arrow_cast`),
//! readers of files or URLs, and frames whose bounds an engine could
//! overflow on. A refusal names the function, type or bound.

use sqlparser::ast::{
    CastKind, DataType, ExactNumberInfo, Expr, Function, FunctionArg, FunctionArgExpr,
    FunctionArguments, ObjectNamePart, TimezoneInfo, Value, WindowFrame, WindowFrameBound,
    WindowType,
};

use super::GuardError;

/// Scalar functions: conditional, math, string, date and time, maps.
const SCALAR: &[&str] = &[
    // Conditional and null handling.
    "coalesce",
    "nullif",
    "nvl",
    "nvl2",
    "ifnull",
    "if",
    "greatest",
    "least",
    "try",
    // Math.
    "abs",
    "ceil",
    "ceiling",
    "floor",
    "round",
    "trunc",
    "truncate",
    "mod",
    "power",
    "pow",
    "sqrt",
    "cbrt",
    "exp",
    "ln",
    "log",
    "log2",
    "log10",
    "sign",
    "signum",
    "pi",
    "radians",
    "degrees",
    "is_nan",
    "isnan",
    "is_finite",
    "nanvl",
    "width_bucket",
    // Strings.
    "lower",
    "upper",
    "initcap",
    "length",
    "char_length",
    "character_length",
    "octet_length",
    "concat",
    "concat_ws",
    "substr",
    "substring",
    "left",
    "right",
    "trim",
    "ltrim",
    "rtrim",
    "btrim",
    "replace",
    "translate",
    "reverse",
    "strpos",
    "instr",
    "position",
    "starts_with",
    "ends_with",
    "split_part",
    "split",
    "regexp_like",
    "regexp_extract",
    "regexp_replace",
    "regexp_match",
    "regexp_count",
    "format_number",
    "md5",
    "to_hex",
    "ascii",
    "chr",
    "uuid",
    // Dates and times.
    "now",
    "current_date",
    "current_time",
    "current_timestamp",
    "localtime",
    "localtimestamp",
    "date_trunc",
    "date_part",
    "datepart",
    "datetrunc",
    "extract",
    "date_add",
    "date_diff",
    "date_format",
    "date_parse",
    "format_datetime",
    "parse_datetime",
    "from_iso8601_date",
    "from_iso8601_timestamp",
    "to_iso8601",
    "from_unixtime",
    "to_unixtime",
    "to_date",
    "to_timestamp",
    "to_timestamp_seconds",
    "to_timestamp_millis",
    "to_char",
    "to_unixtime",
    "make_date",
    "last_day_of_month",
    "year",
    "quarter",
    "month",
    "week",
    "week_of_year",
    "day",
    "day_of_month",
    "day_of_week",
    "dow",
    "day_of_year",
    "doy",
    "hour",
    "minute",
    "second",
    // Maps and arrays the CUR holds (tags, cost categories).
    "element_at",
    "map_extract",
    "map_keys",
    "map_values",
    "cardinality",
    "array_length",
    "array_contains",
    "contains",
    "array_has",
];

/// Aggregate functions.
const AGGREGATE: &[&str] = &[
    "count",
    "count_if",
    "sum",
    "avg",
    "mean",
    "min",
    "max",
    "max_by",
    "min_by",
    "arbitrary",
    "any_value",
    "first_value",
    "last_value",
    "bool_and",
    "bool_or",
    "every",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "variance",
    "var_pop",
    "var_samp",
    "corr",
    "covar_pop",
    "covar_samp",
    "regr_slope",
    "regr_intercept",
    "median",
    "approx_median",
    "approx_distinct",
    "approx_percentile",
    "approx_percentile_cont",
    "percentile_cont",
    "array_agg",
    "string_agg",
    "listagg",
];

/// Window functions (aggregates work over windows too).
const WINDOW: &[&str] = &[
    "row_number",
    "rank",
    "dense_rank",
    "percent_rank",
    "cume_dist",
    "ntile",
    "lag",
    "lead",
    "nth_value",
];

/// Functions whose second argument is the length of the string they make:
/// allowed when it is a number no larger than [`MAX_PAD`].
const PADDING: &[&str] = &["lpad", "rpad"];

/// Approximate percentiles: their optional centroid count sizes a buffer
/// the engine allocates up front (`approx_percentile_cont(x, 0.5,
/// 2147483647)` aborted the process), so only the value and the percentile
/// may be given.
const PERCENTILES: &[&str] = &["approx_percentile_cont", "approx_percentile"];

/// The longest string `lpad`/`rpad` may make.
const MAX_PAD: u64 = 1_000;

/// The farthest a window frame may reach, in rows (or in units of the
/// ordering value for RANGE frames).
pub(super) const MAX_FRAME_OFFSET: u64 = 1_000_000;

/// Every allowed function name, for messages and documentation.
pub fn allowed_functions() -> impl Iterator<Item = &'static str> {
    SCALAR
        .iter()
        .chain(AGGREGATE)
        .chain(WINDOW)
        .chain(PADDING)
        .copied()
}

fn refused_function(name: &str) -> GuardError {
    GuardError::Function(name.to_string())
}

/// Checks a function call: its name, the shape of its arguments and its
/// window.
pub(super) fn check_function(f: &Function) -> Result<(), GuardError> {
    let shown = f.name.to_string();
    let name = match f.name.0.as_slice() {
        [ObjectNamePart::Identifier(id)] if id.value.is_ascii() => id.value.to_ascii_lowercase(),
        _ => return Err(refused_function(&shown)),
    };
    if f.uses_odbc_syntax || !matches!(f.parameters, FunctionArguments::None) {
        return Err(refused_function(&shown));
    }
    let allowed = SCALAR.contains(&name.as_str())
        || AGGREGATE.contains(&name.as_str())
        || WINDOW.contains(&name.as_str())
        || PADDING.contains(&name.as_str());
    if !allowed {
        return Err(refused_function(&name));
    }
    if PADDING.contains(&name.as_str()) {
        check_padding(&name, &f.args)?;
    }
    if PERCENTILES.contains(&name.as_str()) {
        let given = match &f.args {
            FunctionArguments::List(list) => list.args.len(),
            _ => 0,
        };
        let most = if f.within_group.is_empty() { 2 } else { 1 };
        if given > most {
            return Err(GuardError::Forbidden(format!(
                "the centroid count of {name}() (it sizes memory up front; give only the value and the percentile)"
            )));
        }
    }
    if let FunctionArguments::List(list) = &f.args {
        for arg in &list.args {
            if let FunctionArg::Named { .. } | FunctionArg::ExprNamed { .. } = arg {
                return Err(GuardError::Forbidden(format!(
                    "a named argument to {name}()"
                )));
            }
        }
    }
    if let Some(WindowType::WindowSpec(spec)) = &f.over {
        if let Some(frame) = &spec.window_frame {
            check_frame(frame)?;
        }
    }
    Ok(())
}

fn check_padding(name: &str, args: &FunctionArguments) -> Result<(), GuardError> {
    let length = match args {
        FunctionArguments::List(list) => list.args.get(1),
        _ => None,
    };
    let small = match length {
        Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v)))) => match &v.value {
            Value::Number(n, false) => n.parse::<u64>().is_ok_and(|n| n <= MAX_PAD),
            _ => false,
        },
        _ => false,
    };
    if small {
        Ok(())
    } else {
        Err(GuardError::Forbidden(format!(
            "{name}() with a length that is not a number up to {MAX_PAD}"
        )))
    }
}

/// A window frame's bounds must be literal offsets within
/// [`MAX_FRAME_OFFSET`] (or a small INTERVAL for RANGE frames).
pub(super) fn check_frame(frame: &WindowFrame) -> Result<(), GuardError> {
    for bound in std::iter::once(&frame.start_bound).chain(frame.end_bound.as_ref()) {
        let offset = match bound {
            WindowFrameBound::CurrentRow
            | WindowFrameBound::Preceding(None)
            | WindowFrameBound::Following(None) => continue,
            WindowFrameBound::Preceding(Some(e)) | WindowFrameBound::Following(Some(e)) => e,
        };
        let ok = match offset.as_ref() {
            Expr::Value(v) => match &v.value {
                Value::Number(n, false) => n.parse::<u64>().is_ok_and(|n| n <= MAX_FRAME_OFFSET),
                _ => false,
            },
            Expr::Interval(interval) => match interval.value.as_ref() {
                Expr::Value(v) => match &v.value {
                    Value::SingleQuotedString(s) => {
                        s.trim().parse::<u64>().is_ok_and(|n| n <= MAX_FRAME_OFFSET)
                    }
                    Value::Number(n, false) => {
                        n.parse::<u64>().is_ok_and(|n| n <= MAX_FRAME_OFFSET)
                    }
                    _ => false,
                },
                _ => false,
            },
            _ => false,
        };
        if !ok {
            return Err(GuardError::WindowFrame(offset.to_string()));
        }
    }
    Ok(())
}

/// Casts only to the SQL types a cost analysis uses.
pub(super) fn check_cast(kind: &CastKind, data_type: &DataType) -> Result<(), GuardError> {
    if matches!(kind, CastKind::DoubleColon) {
        // Trino has no `::`; what Athena would run must read the same.
        return Err(GuardError::Forbidden(
            "a `::` cast (write CAST(x AS type))".to_string(),
        ));
    }
    check_type(data_type)
}

fn check_type(data_type: &DataType) -> Result<(), GuardError> {
    let precision_ok = |info: &ExactNumberInfo| match info {
        ExactNumberInfo::None => true,
        ExactNumberInfo::Precision(p) => *p <= 38,
        ExactNumberInfo::PrecisionAndScale(p, s) => {
            *p <= 38 && u64::try_from(*s).is_ok_and(|s| s <= *p)
        }
    };
    let ok = match data_type {
        DataType::Varchar(_)
        | DataType::CharacterVarying(_)
        | DataType::Char(_)
        | DataType::Character(_)
        | DataType::String(None)
        | DataType::Text
        | DataType::TinyInt(None)
        | DataType::SmallInt(None)
        | DataType::Int(None)
        | DataType::Integer(None)
        | DataType::BigInt(None)
        | DataType::Real
        | DataType::Double(ExactNumberInfo::None)
        | DataType::DoublePrecision
        | DataType::Float(ExactNumberInfo::None)
        | DataType::Boolean
        | DataType::Bool
        | DataType::Date => true,
        DataType::Decimal(info) | DataType::Numeric(info) | DataType::Dec(info) => {
            precision_ok(info)
        }
        DataType::Timestamp(precision, tz) => {
            precision.is_none_or(|p| p <= 9)
                && matches!(tz, TimezoneInfo::None | TimezoneInfo::WithoutTimeZone)
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(GuardError::Type(data_type.to_string()))
    }
}
