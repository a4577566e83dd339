//! What SQL does to data, read with a real SQL parser (`sqlparser`).
//!
//! Statements are parsed in the dialect of the client that runs them; what no
//! dialect parses is examined by keyword, so a parser gap never lets a `DROP` by.

use std::sync::OnceLock;

use regex::Regex;
use sqlparser::ast::{
    AlterTableOperation, BinaryOperator, Expr, FromTable, ObjectType, Query, SetExpr, Statement,
    TableFactor, TableObject, UnaryOperator, Value,
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
    split_statements(&text)
        .into_iter()
        .flat_map(keyword_effects)
        .collect()
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
        | Statement::DropSecret { .. }
        | Statement::DropConnector { .. }
        | Statement::DropOperator(_)
        | Statement::DropOperatorFamily(_)
        | Statement::DropOperatorClass(_) => vec![eff(SqlKind::DropOther, None, "object")],
        Statement::Truncate(t) => t
            .table_names
            .iter()
            .map(|n| eff(SqlKind::Truncate, Some(n.name.to_string()), "table"))
            .collect(),
        // A LIMIT without a WHERE still picks its rows arbitrarily: it counts as all.
        Statement::Delete(d) => {
            if d.selection.as_ref().is_some_and(|w| !always_true(w)) {
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
            if u.selection.as_ref().is_some_and(|w| !always_true(w)) {
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
        // `WITH x AS (…) UPDATE t …`, and PostgreSQL's `WITH d AS (DELETE FROM t) SELECT …`.
        Statement::Query(q) => query_effects(q),
        Statement::Insert(i) if i.overwrite => {
            let name = match &i.table {
                TableObject::TableName(n) => Some(n.to_string()),
                _ => None,
            };
            vec![eff(SqlKind::Overwrite, name, "table")]
        }
        // Hive's `INSERT OVERWRITE [LOCAL] DIRECTORY '/x' SELECT …` replaces a directory.
        Statement::Directory {
            overwrite: true, ..
        } => vec![eff(SqlKind::Overwrite, None, "directory")],
        Statement::LoadData {
            overwrite: true,
            table_name,
            ..
        } => vec![eff(
            SqlKind::Overwrite,
            Some(table_name.to_string()),
            "table",
        )],
        // External and dynamic tables hold no rows of their own.
        Statement::CreateTable(c) if c.or_replace && !c.external && !c.dynamic => {
            vec![eff(SqlKind::Overwrite, Some(c.name.to_string()), "table")]
        }
        Statement::CreateDatabase {
            or_replace: true,
            db_name,
            ..
        } => vec![eff(
            SqlKind::Overwrite,
            Some(db_name.to_string()),
            "database",
        )],
        Statement::CreateSchema {
            or_replace: true,
            schema_name,
            ..
        } => vec![eff(
            SqlKind::Overwrite,
            Some(schema_name.to_string()),
            "schema",
        )],
        _ => vec![],
    }
}

/// The data-changing statements inside a query: its body and its CTEs.
fn query_effects(q: &Query) -> Vec<SqlEffect> {
    let mut out: Vec<SqlEffect> = q
        .with
        .iter()
        .flat_map(|w| &w.cte_tables)
        .flat_map(|cte| query_effects(&cte.query))
        .collect();
    out.extend(set_expr_effects(&q.body));
    out
}

fn set_expr_effects(body: &SetExpr) -> Vec<SqlEffect> {
    match body {
        SetExpr::Update(s) | SetExpr::Delete(s) | SetExpr::Insert(s) => statement_effects(s),
        SetExpr::Query(q) => query_effects(q),
        SetExpr::SetOperation { left, right, .. } => {
            let mut out = set_expr_effects(left);
            out.extend(set_expr_effects(right));
            out
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

/// When no dialect parses a statement: classify it by its keywords. Names are taken as
/// written, up to a space, comma, parenthesis or `;`, so `$T` and `#tmp` count as names.
fn keyword_effects(sql: &str) -> Vec<SqlEffect> {
    struct Pattern {
        re: Regex,
        kind: SqlKind,
        object_kind: &'static str,
        /// Only when the statement has no WHERE clause.
        unfiltered: bool,
    }
    static RE: OnceLock<Vec<Pattern>> = OnceLock::new();
    const NAME: &str = r"([^\s;,()]+)";
    // Statement start, after any comments: `-- note\nDROP …`.
    const START: &str = r"\A(?:\s|--[^\n]*(?:\n|\z)|/\*.*?\*/)*";
    let table = RE.get_or_init(|| {
        let p = |re: String, kind, object_kind, unfiltered| Pattern {
            re: Regex::new(&format!("(?is){re}"))
                .expect("keyword patterns are literals covered by tests"),
            kind,
            object_kind,
            unfiltered,
        };
        vec![
            p(format!(r"\bdrop\s+database\s+(?:if\s+exists\s+)?{NAME}"), SqlKind::DropDatabase, "database", false),
            p(format!(r"\bdrop\s+schema\s+(?:if\s+exists\s+)?{NAME}"), SqlKind::DropSchema, "schema", false),
            p(format!(r"\bdrop\s+(?:temporary\s+|temp\s+)?table\s+(?:if\s+exists\s+)?{NAME}"), SqlKind::DropTable, "table", false),
            // Any other DROP at the start of a statement (operators, connectors, secrets …);
            // mid-statement `DROP x` is left to ALTER TABLE's pattern.
            p(format!(r"{START}drop\s+(?:if\s+exists\s+)?(?:persistent\s+|temporary\s+|materialized\s+)?(\w+)"), SqlKind::DropOther, "object", false),
            p(format!(r"\btruncate\s+(?:table\s+)?(?:only\s+)?{NAME}"), SqlKind::Truncate, "table", false),
            p(format!(r"\bdelete\s+from\s+{NAME}\s*(?:;|$)"), SqlKind::DeleteAll, "table", false),
            p(format!(r"{START}delete\s+(?:from\s+)?{NAME}"), SqlKind::DeleteAll, "table", true),
            p(format!(r"{START}update\s+(?:only\s+)?{NAME}\s.*\bset\b"), SqlKind::UpdateAll, "table", true),
            p(format!(r"\balter\s+table\s+(?:if\s+exists\s+)?{NAME}.*\bdrop\s+(?:column\b|partition\b)"), SqlKind::AlterDrop, "table", false),
            p(format!(r"\binsert\s+overwrite\s+(?:into\s+|table\s+)?{NAME}"), SqlKind::Overwrite, "table", false),
            p(format!(r"\bload\s+data\b.*?\boverwrite\s+into\s+table\s+{NAME}"), SqlKind::Overwrite, "table", false),
            p(format!(r"\bcreate\s+or\s+replace\s+(?:(?:transient|temporary|temp)\s+)?table\s+(?:if\s+not\s+exists\s+)?{NAME}"), SqlKind::Overwrite, "table", false),
            p(format!(r"\bcreate\s+or\s+replace\s+(?:transient\s+)?database\s+(?:if\s+not\s+exists\s+)?{NAME}"), SqlKind::Overwrite, "database", false),
            p(format!(r"\bcreate\s+or\s+replace\s+(?:transient\s+)?schema\s+(?:if\s+not\s+exists\s+)?{NAME}"), SqlKind::Overwrite, "schema", false),
        ]
    });
    static WHERE: OnceLock<Regex> = OnceLock::new();
    let filtered = WHERE
        .get_or_init(|| Regex::new(r"(?i)\bwhere\b").expect("literal pattern"))
        .is_match(sql);
    let mut out: Vec<SqlEffect> = Vec::new();
    for pat in table {
        if pat.unfiltered && filtered {
            continue;
        }
        for c in pat.re.captures_iter(sql) {
            let word = c.get(1).map_or("", |m| m.as_str());
            let object = match pat.kind {
                // The data-bearing DROPs have their own patterns.
                SqlKind::DropOther
                    if ["table", "database", "schema"]
                        .iter()
                        .any(|k| word.eq_ignore_ascii_case(k)) =>
                {
                    continue
                }
                SqlKind::DropOther => None,
                // `INSERT OVERWRITE ALL INTO t1 INTO t2 …`, `… LOCAL DIRECTORY '/x'`
                SqlKind::Overwrite
                    if ["all", "local", "directory"]
                        .iter()
                        .any(|k| word.eq_ignore_ascii_case(k)) =>
                {
                    None
                }
                _ => Some(word.to_string()).filter(|s| !s.is_empty()),
            };
            let e = SqlEffect {
                kind: pat.kind,
                object,
                object_kind: pat.object_kind,
            };
            if !out.contains(&e) {
                out.push(e);
            }
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
    fn limits_do_not_make_a_delete_selective() {
        assert_eq!(
            kinds("DELETE FROM customers LIMIT 100", "mysql"),
            vec![(SqlKind::DeleteAll, Some("customers".into()))]
        );
        assert_eq!(
            kinds("DELETE FROM foo LIMIT 99", "sqlite3")[0].0,
            SqlKind::DeleteAll
        );
        assert_eq!(kinds("DELETE FROM t WHERE id < 9 LIMIT 5", "mysql"), vec![]);
    }

    #[test]
    fn statements_inside_queries() {
        assert_eq!(
            kinds(
                "WITH x AS (SELECT 1) UPDATE t SET bar = (SELECT * FROM x)",
                "psql"
            ),
            vec![(SqlKind::UpdateAll, Some("t".into()))]
        );
        assert_eq!(
            kinds(
                "WITH gone AS (DELETE FROM logs RETURNING *) SELECT count(*) FROM gone",
                "psql"
            ),
            vec![(SqlKind::DeleteAll, Some("logs".into()))]
        );
        assert_eq!(
            kinds(
                "WITH x AS (SELECT 1) UPDATE t SET a = 1 WHERE id = 2",
                "psql"
            ),
            vec![]
        );
    }

    #[test]
    fn variables_and_temp_tables_are_names() {
        assert_eq!(
            kinds("DROP TABLE $T", "psql"),
            vec![(SqlKind::DropTable, Some("$T".into()))]
        );
        assert_eq!(
            kinds("DELETE FROM ${TABLE}", "psql"),
            vec![(SqlKind::DeleteAll, Some("${TABLE}".into()))]
        );
        assert_eq!(
            kinds("EXEC (@sql) DROP TABLE #tmp", "sqlcmd"),
            vec![(SqlKind::DropTable, Some("#tmp".into()))]
        );
    }

    #[test]
    fn unparsed_update_and_delete_need_a_where() {
        let k = kinds(
            "UPDATE t1 FROM (SELECT name, id FROM t1) AS t2 SET name = t2.name FROM (SELECT name from t2) AS t2",
            "psql",
        );
        assert_eq!(k[0].0, SqlKind::UpdateAll, "{k:?}");
        assert_eq!(
            keyword_effects("UPDATE t1 FROM x AS t2 SET a = 1 WHERE t1.id = t2.id"),
            vec![]
        );
        assert_eq!(keyword_effects("delete t frobnicate where id = 1"), vec![]);
    }

    #[test]
    fn any_drop_statement_is_at_least_drop_other() {
        for sql in [
            "DROP OPERATOR myschema.@@ (TEXT, TEXT)",
            "DROP CONNECTOR IF EXISTS my_connector",
            "DROP PERSISTENT SECRET IF EXISTS s FROM storage",
            "DROP OPERATOR FAMILY USING btree",
        ] {
            let k = kinds(sql, "psql");
            assert!(
                k.iter().any(|(kind, _)| *kind == SqlKind::DropOther),
                "{sql}: {k:?}"
            );
        }
        // ALTER TABLE … DROP of a projection or constraint is not a DROP statement.
        assert_eq!(
            kinds(
                "ALTER TABLE t0 DROP PROJECTION IF EXISTS p",
                "clickhouse-client"
            ),
            vec![]
        );
        assert_eq!(kinds("ALTER TABLE t0 DROP CONSTRAINT c", "psql"), vec![]);
    }

    #[test]
    fn overwrites() {
        for (sql, object) in [
            ("CREATE OR REPLACE TABLE t (a INT)", "t"),
            ("CREATE OR REPLACE TABLE a CLONE a_tmp", "a"),
            ("INSERT OVERWRITE TABLE db.new_table PARTITION (a = '1', b) SELECT a, b, c FROM db.t", "db.new_table"),
            ("INSERT OVERWRITE INTO schema.t SELECT a FROM b", "schema.t"),
            ("LOAD DATA INPATH '/x/data.txt' OVERWRITE INTO TABLE my_table", "my_table"),
            ("CREATE OR REPLACE DATABASE my_db", "my_db"),
        ] {
            let k = kinds(sql, "psql");
            assert_eq!(k, vec![(SqlKind::Overwrite, Some(object.into()))], "{sql}");
        }
        assert_eq!(
            kinds(
                "INSERT OVERWRITE ALL INTO t1 INTO t2 SELECT n1 FROM src",
                "psql"
            )[0]
            .0,
            SqlKind::Overwrite
        );
        assert_eq!(
            kinds(
                "INSERT OVERWRITE LOCAL DIRECTORY '/srv/out' SELECT * FROM t",
                "psql"
            ),
            vec![(SqlKind::Overwrite, None)]
        );
        assert_eq!(
            kinds("CREATE OR REPLACE VIEW v AS SELECT 1", "psql"),
            vec![]
        );
        assert_eq!(
            kinds(
                "CREATE OR REPLACE EXTERNAL TABLE t LOCATION 's3://x'",
                "psql"
            ),
            vec![]
        );
        assert_eq!(kinds("INSERT INTO t SELECT * FROM s", "psql"), vec![]);
        assert_eq!(
            kinds("CREATE TABLE IF NOT EXISTS t (a int)", "psql"),
            vec![]
        );
    }

    #[test]
    fn long_text_is_read_statement_by_statement() {
        let mut sql = "SELECT 1 FROM t WHERE a = 1;\n".repeat(MAX_PARSE / 20);
        sql.push_str("DELETE FROM audit;");
        let k = kinds(&sql, "psql");
        assert_eq!(k, vec![(SqlKind::DeleteAll, Some("audit".into()))]);
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
