//! What SQL does to data, read with a real SQL parser (`sqlparser`).
//!
//! Statements are parsed in the dialect of the client that runs them; what no
//! dialect parses is examined by keyword, so a parser gap never lets a `DROP` by.

use std::sync::OnceLock;

use regex::Regex;
use sqlparser::ast::{
    AlterTableOperation, BinaryOperator, Expr, FromTable, ObjectType, Statement, TableFactor,
    UnaryOperator, Value,
};
use sqlparser::dialect::{
    Dialect as SqlDialect, GenericDialect, MsSqlDialect, MySqlDialect, PostgreSqlDialect,
    SQLiteDialect,
};
use sqlparser::parser::Parser;

use crate::policy::SqlKind;

/// One destructive effect of a statement, with the object it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlEffect {
    pub kind: SqlKind,
    /// The table, database or schema named, as written.
    pub object: Option<String>,
    /// `table`, `database`, `schema` or the object type for drop-other.
    pub object_kind: &'static str,
}

/// The longest SQL text examined; longer input is examined by keyword only.
const MAX_PARSE: usize = 256 * 1024;

fn dialect_for(program: &str) -> Box<dyn SqlDialect> {
    match program {
        "psql" | "pgcli" | "cockroach" => Box::new(PostgreSqlDialect {}),
        "mysql" | "mariadb" | "mycli" => Box::new(MySqlDialect {}),
        "sqlite3" | "sqlite" | "litecli" => Box::new(SQLiteDialect {}),
        "sqlcmd" | "osql" | "invoke-sqlcmd" => Box::new(MsSqlDialect {}),
        _ => Box::new(GenericDialect {}),
    }
}

/// What SQL given as a command line does (`DROP TABLE t` typed at a prompt): only
/// statements a SQL parser accepts count, so `truncate -s 0 log` stays a coreutils call.
pub fn effects_if_sql(text: &str) -> Vec<SqlEffect> {
    if text.len() > MAX_PARSE {
        return Vec::new();
    }
    Parser::parse_sql(&GenericDialect {}, text)
        .map(|stmts| stmts.iter().flat_map(statement_effects).collect())
        .unwrap_or_default()
}

/// Everything destructive the SQL text does.
pub fn effects(sql: &str, program: &str) -> Vec<SqlEffect> {
    let text = strip_client_commands(sql);
    if text.trim().is_empty() {
        return Vec::new();
    }
    if text.len() <= MAX_PARSE {
        let dialect = dialect_for(program);
        if let Ok(stmts) = Parser::parse_sql(dialect.as_ref(), &text) {
            return stmts.iter().flat_map(statement_effects).collect();
        }
        // One statement the parser does not know should not hide the others.
        let mut out = Vec::new();
        for piece in split_statements(&text) {
            match Parser::parse_sql(dialect.as_ref(), piece)
                .or_else(|_| Parser::parse_sql(&GenericDialect {}, piece))
            {
                Ok(stmts) => out.extend(stmts.iter().flat_map(statement_effects)),
                Err(_) => out.extend(keyword_effects(piece)),
            }
        }
        return out;
    }
    keyword_effects(&text)
}

/// psql meta-commands (`\c db`, `\i file`) are not SQL; drop those lines.
fn strip_client_commands(sql: &str) -> String {
    sql.lines()
        .filter(|l| !l.trim_start().starts_with('\\'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Split on `;` outside quotes.
fn split_statements(sql: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (i, c) in sql.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, ';') => {
                out.push(&sql[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&sql[start..]);
    out.into_iter().filter(|s| !s.trim().is_empty()).collect()
}

fn statement_effects(stmt: &Statement) -> Vec<SqlEffect> {
    let eff = |kind, object: Option<String>, object_kind| SqlEffect {
        kind,
        object,
        object_kind,
    };
    match stmt {
        Statement::Drop {
            object_type, names, ..
        } => {
            let (kind, ok) = match object_type {
                ObjectType::Table | ObjectType::ForeignTable => (SqlKind::DropTable, "table"),
                ObjectType::Database => (SqlKind::DropDatabase, "database"),
                ObjectType::Schema => (SqlKind::DropSchema, "schema"),
                ObjectType::View => (SqlKind::DropOther, "view"),
                ObjectType::MaterializedView => (SqlKind::DropOther, "materialized-view"),
                ObjectType::Index => (SqlKind::DropOther, "index"),
                ObjectType::Sequence => (SqlKind::DropOther, "sequence"),
                ObjectType::Role | ObjectType::User | ObjectType::Group => {
                    (SqlKind::DropOther, "role")
                }
                _ => (SqlKind::DropOther, "object"),
            };
            if names.is_empty() {
                vec![eff(kind, None, ok)]
            } else {
                names
                    .iter()
                    .map(|n| eff(kind, Some(n.to_string()), ok))
                    .collect()
            }
        }
        Statement::DropFunction(_)
        | Statement::DropProcedure { .. }
        | Statement::DropTrigger(_)
        | Statement::DropDomain(_)
        | Statement::DropPolicy(_)
        | Statement::DropRule(_)
        | Statement::DropExtension(_)
        | Statement::DropSecret { .. } => vec![eff(SqlKind::DropOther, None, "object")],
        Statement::Truncate(t) => t
            .table_names
            .iter()
            .map(|n| eff(SqlKind::Truncate, Some(n.name.to_string()), "table"))
            .collect(),
        Statement::Delete(d) => {
            if d.selection.as_ref().is_some_and(|w| !always_true(w)) || d.limit.is_some() {
                return vec![];
            }
            let tables = match &d.from {
                FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
            };
            let mut names: Vec<String> = tables
                .iter()
                .filter_map(|t| table_name(&t.relation))
                .collect();
            names.extend(d.tables.iter().map(|t| t.to_string()));
            if names.is_empty() {
                names.push(String::new());
            }
            names
                .into_iter()
                .map(|n| eff(SqlKind::DeleteAll, (!n.is_empty()).then_some(n), "table"))
                .collect()
        }
        Statement::Update(u) => {
            if u.selection.as_ref().is_some_and(|w| !always_true(w)) || u.limit.is_some() {
                return vec![];
            }
            vec![eff(
                SqlKind::UpdateAll,
                table_name(&u.table.relation),
                "table",
            )]
        }
        Statement::AlterTable(a) => {
            // Only columns and partitions hold data; indexes, keys, constraints and
            // projections are rebuilt from it.
            let drops = a.operations.iter().any(|op| {
                matches!(
                    op,
                    AlterTableOperation::DropColumn { .. }
                        | AlterTableOperation::DropPartitions { .. }
                )
            });
            if drops {
                vec![eff(SqlKind::AlterDrop, Some(a.name.to_string()), "table")]
            } else {
                vec![]
            }
        }
        _ => vec![],
    }
}

fn table_name(t: &TableFactor) -> Option<String> {
    match t {
        TableFactor::Table { name, .. } => Some(name.to_string()),
        _ => None,
    }
}

/// A WHERE clause that holds for every row: `1=1`, `TRUE`, `x = x`, `… OR 1=1`.
fn always_true(e: &Expr) -> bool {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Boolean(b) => *b,
            Value::Number(n, _) => n.parse::<f64>().is_ok_and(|x| x != 0.0),
            _ => false,
        },
        Expr::Nested(inner) => always_true(inner),
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::Or => always_true(left) || always_true(right),
            BinaryOperator::And => always_true(left) && always_true(right),
            BinaryOperator::Eq | BinaryOperator::GtEq | BinaryOperator::LtEq => {
                left.to_string() == right.to_string()
            }
            BinaryOperator::NotEq | BinaryOperator::Gt | BinaryOperator::Lt => {
                constant(left)
                    && constant(right)
                    && left.to_string() != right.to_string()
                    && *op == BinaryOperator::NotEq
            }
            _ => false,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => always_false(expr),
        _ => false,
    }
}

fn always_false(e: &Expr) -> bool {
    match e {
        Expr::Value(v) => {
            matches!(&v.value, Value::Boolean(false))
                || matches!(&v.value, Value::Number(n, _) if n.parse::<f64>() == Ok(0.0))
        }
        Expr::Nested(inner) => always_false(inner),
        _ => false,
    }
}

fn constant(e: &Expr) -> bool {
    matches!(e, Expr::Value(_))
}

/// When no dialect parses a statement: classify it by its leading keywords.
fn keyword_effects(sql: &str) -> Vec<SqlEffect> {
    static RE: OnceLock<Vec<(Regex, SqlKind, &'static str)>> = OnceLock::new();
    let table = RE.get_or_init(|| {
        let r = |p: &str| Regex::new(&format!("(?is){p}")).expect("keyword patterns are literals covered by tests");
        vec![
            (r(r"\bdrop\s+(?:database|schema)\s+(?:if\s+exists\s+)?([\w.`\x22\[\]]+)"), SqlKind::DropDatabase, "database"),
            (r(r"\bdrop\s+(?:temporary\s+)?table\s+(?:if\s+exists\s+)?([\w.`\x22\[\]]+)"), SqlKind::DropTable, "table"),
            (r(r"\bdrop\s+(?:view|index|function|procedure|trigger|sequence|type|role|user)\b()"), SqlKind::DropOther, "object"),
            (r(r"\btruncate\s+(?:table\s+)?([\w.`\x22\[\]]+)"), SqlKind::Truncate, "table"),
            (r(r"\bdelete\s+from\s+([\w.`\x22\[\]]+)\s*(?:;|$)"), SqlKind::DeleteAll, "table"),
            (r(r"\balter\s+table\s+([\w.`\x22\[\]]+).*\bdrop\s+(?:column\b|partition\b)"), SqlKind::AlterDrop, "table"),
        ]
    });
    let mut out = Vec::new();
    for (re, kind, ok) in table {
        for c in re.captures_iter(sql) {
            let object = c
                .get(1)
                .map(|m| m.as_str().to_string())
                .filter(|s| !s.is_empty());
            out.push(SqlEffect {
                kind: *kind,
                object,
                object_kind: ok,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str, program: &str) -> Vec<(SqlKind, Option<String>)> {
        effects(sql, program)
            .into_iter()
            .map(|e| (e.kind, e.object))
            .collect()
    }

    #[test]
    fn drops() {
        assert_eq!(
            kinds("DROP TABLE users", "psql"),
            vec![(SqlKind::DropTable, Some("users".into()))]
        );
        assert_eq!(
            kinds("drop database production;", "psql"),
            vec![(SqlKind::DropDatabase, Some("production".into()))]
        );
        assert_eq!(
            kinds("DROP SCHEMA app CASCADE", "psql"),
            vec![(SqlKind::DropSchema, Some("app".into()))]
        );
        assert_eq!(kinds("DROP INDEX i", "psql")[0].0, SqlKind::DropOther);
    }

    #[test]
    fn delete_and_update_without_where() {
        assert_eq!(
            kinds("DELETE FROM t", "mysql"),
            vec![(SqlKind::DeleteAll, Some("t".into()))]
        );
        assert_eq!(
            kinds("DELETE FROM t WHERE 1=1", "mysql")[0].0,
            SqlKind::DeleteAll
        );
        assert_eq!(kinds("DELETE FROM t WHERE id = 3", "mysql"), vec![]);
        assert_eq!(
            kinds("UPDATE t SET a = 1", "sqlite3"),
            vec![(SqlKind::UpdateAll, Some("t".into()))]
        );
        assert_eq!(
            kinds("UPDATE t SET a = 1 WHERE true OR id = 2", "psql")[0].0,
            SqlKind::UpdateAll
        );
        assert_eq!(kinds("UPDATE t SET a = 1 WHERE id = 2", "psql"), vec![]);
    }

    #[test]
    fn truncate_and_alter() {
        assert_eq!(
            kinds("TRUNCATE TABLE logs", "psql"),
            vec![(SqlKind::Truncate, Some("logs".into()))]
        );
        assert_eq!(
            kinds("ALTER TABLE t DROP COLUMN c", "psql"),
            vec![(SqlKind::AlterDrop, Some("t".into()))]
        );
        assert_eq!(kinds("ALTER TABLE t ADD COLUMN c int", "psql"), vec![]);
        assert_eq!(kinds("ALTER TABLE t DROP CONSTRAINT c", "psql"), vec![]);
        assert_eq!(kinds("ALTER TABLE t DROP INDEX i", "mysql"), vec![]);
        assert_eq!(kinds("ALTER TABLE t DROP PRIMARY KEY", "mysql"), vec![]);
    }

    #[test]
    fn benign_and_mixed() {
        assert_eq!(
            kinds("SELECT * FROM t; INSERT INTO t VALUES (1)", "psql"),
            vec![]
        );
        let k = kinds("SELECT 1; DROP TABLE a; \\c other\nTRUNCATE b", "psql");
        assert_eq!(k.len(), 2);
    }

    #[test]
    fn unparseable_sql_falls_back_to_keywords() {
        let k = kinds("DROP TABLE IF EXISTS x FROBNICATE; SELECT 1", "psql");
        assert!(
            k.iter().any(|(kind, _)| *kind == SqlKind::DropTable),
            "{k:?}"
        );
    }

    #[test]
    fn command_lines_count_only_when_they_parse() {
        assert_eq!(effects_if_sql("DROP TABLE t")[0].kind, SqlKind::DropTable);
        assert!(effects_if_sql("truncate -s 0 app.log").is_empty());
        assert!(effects_if_sql("delete old-report.txt").is_empty());
    }

    #[test]
    fn never_panics() {
        for s in [
            "",
            ";",
            "'",
            "DROP",
            "DELETE FROM",
            "\u{0}",
            &"(".repeat(5000),
        ] {
            let _ = effects(s, "psql");
        }
    }
}
