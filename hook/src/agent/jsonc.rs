//! Editing an agent's JSON settings as text, so that everything backstop did not add
//! keeps its bytes: its key order, indentation, comments (JSONC, which Gemini and
//! Copilot accept) and the rest. A value is re-serialised nowhere; backstop's entry is
//! spliced in, and taken out again exactly. jsonc-parser reads the text; this
//! module keeps the spans and does the splicing.

/// A value and where it is in the text (`start..end`).
#[derive(Debug, Clone)]
pub struct Node {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Object(Vec<Member>),
    Array(Vec<Node>),
    String,
    Other,
}

#[derive(Debug, Clone)]
pub struct Member {
    pub key: String,
    pub key_start: usize,
    pub value: Node,
}

/// Where the text is not JSON: a byte offset and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// Parse a JSON document (comments and trailing commas allowed, as Gemini's and
/// VS Code's settings are) into spans. jsonc-parser reads it and bounds its nesting;
/// this keeps only what the splicing below needs.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let options = jsonc_parser::ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        // Beyond JSON with comments: none of the agents reads these.
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
    };
    let parsed = jsonc_parser::parse_to_ast(text, &Default::default(), &options).map_err(|e| {
        SyntaxError {
            line: e.line_display(),
            column: e.column_display(),
            message: e.kind().to_string(),
        }
    })?;
    let Some(value) = parsed.value else {
        return Err(SyntaxError {
            line: 1,
            column: 1,
            message: "the file holds no JSON value".into(),
        });
    };
    Ok(node(&value))
}

fn node(value: &jsonc_parser::ast::Value<'_>) -> Node {
    use jsonc_parser::ast::{ObjectPropName, Value};
    use jsonc_parser::common::Ranged as _;
    let range = value.range();
    let kind = match value {
        Value::Object(o) => Kind::Object(
            o.properties
                .iter()
                .map(|p| {
                    let (key, key_start) = match &p.name {
                        ObjectPropName::String(s) => (s.value.to_string(), s.range.start),
                        ObjectPropName::Word(w) => (w.value.to_string(), w.range.start),
                    };
                    Member {
                        key,
                        key_start,
                        value: node(&p.value),
                    }
                })
                .collect(),
        ),
        Value::Array(a) => Kind::Array(a.elements.iter().map(node).collect()),
        Value::StringLit(_) => Kind::String,
        _ => Kind::Other,
    };
    Node {
        start: range.start,
        end: range.end,
        kind,
    }
}

impl Node {
    pub fn member(&self, key: &str) -> Option<&Member> {
        match &self.kind {
            // The last of duplicate keys is the one JSON readers use.
            Kind::Object(m) => m.iter().rev().find(|m| m.key == key),
            _ => None,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Object(_) => "an object",
            Kind::Array(_) => "an array",
            Kind::String => "a string",
            Kind::Other => "a number, boolean or null",
        }
    }
}

/// How the file lays itself out, so that inserted text matches it.
#[derive(Debug, Clone)]
pub struct Style {
    /// One level of indentation (two spaces unless the file says otherwise).
    pub unit: String,
    /// Everything on one line.
    pub compact: bool,
}

impl Style {
    pub fn of(text: &str) -> Style {
        let unit = text
            .split('\n')
            .skip(1)
            .map(|l| &l[..l.len() - l.trim_start_matches([' ', '\t']).len()])
            .find(|w| !w.is_empty())
            .unwrap_or("  ")
            .to_string();
        Style {
            unit,
            compact: !text.trim().contains('\n'),
        }
    }

    fn indent(&self, depth: usize) -> String {
        self.unit.repeat(depth)
    }

    /// What separates items in a container whose items are at `depth`.
    fn break_at(&self, depth: usize) -> String {
        if self.compact {
            " ".into()
        } else {
            format!("\n{}", self.indent(depth))
        }
    }
}

/// A JSON value to insert, with its keys in the order given.
#[derive(Debug, Clone)]
pub enum J {
    Str(String),
    Num(u64),
    Bool(bool),
    Obj(Vec<(&'static str, J)>),
    Arr(Vec<J>),
}

impl J {
    /// The value as text for a place at `depth` (its first line is not indented).
    pub fn render(&self, style: &Style, depth: usize) -> String {
        match self {
            J::Str(s) => serde_json::Value::String(s.clone()).to_string(),
            J::Num(n) => n.to_string(),
            J::Bool(b) => b.to_string(),
            J::Obj(members) if members.is_empty() => "{}".into(),
            J::Arr(items) if items.is_empty() => "[]".into(),
            J::Obj(members) => {
                let inner: Vec<String> = members
                    .iter()
                    .map(|(k, v)| {
                        format!(
                            "{}: {}",
                            serde_json::Value::String((*k).to_string()),
                            v.render(style, depth + 1)
                        )
                    })
                    .collect();
                wrap('{', '}', &inner, style, depth)
            }
            J::Arr(items) => {
                let inner: Vec<String> = items.iter().map(|v| v.render(style, depth + 1)).collect();
                wrap('[', ']', &inner, style, depth)
            }
        }
    }
}

impl J {
    /// Whether the value `node` of `text` is this one, however it is laid out.
    pub fn same_as(&self, text: &str, node: &Node) -> bool {
        let here = &text[node.start..node.end];
        match (self, &node.kind) {
            (J::Str(s), Kind::String) => {
                serde_json::from_str::<String>(here).is_ok_and(|v| &v == s)
            }
            (J::Num(n), Kind::Other) => here == n.to_string(),
            (J::Bool(b), Kind::Other) => here == b.to_string(),
            (J::Obj(want), Kind::Object(have)) => {
                want.len() == have.len()
                    && want
                        .iter()
                        .zip(have)
                        .all(|((k, v), m)| *k == m.key && v.same_as(text, &m.value))
            }
            (J::Arr(want), Kind::Array(have)) => {
                want.len() == have.len() && want.iter().zip(have).all(|(v, n)| v.same_as(text, n))
            }
            _ => false,
        }
    }
}

fn wrap(open: char, close: char, inner: &[String], style: &Style, depth: usize) -> String {
    if style.compact {
        return format!("{open}{}{close}", inner.join(", "));
    }
    let sep = format!(",{}", style.break_at(depth + 1));
    format!(
        "{open}{}{}{}{close}",
        style.break_at(depth + 1),
        inner.join(&sep),
        style.break_at(depth)
    )
}

/// Text with `insert` spliced into the container `node` (at nesting `depth`) as its
/// last item: after the last item with a comma, or first inside the brackets of an
/// empty one, whose own text (spaces, comments) stays after it.
pub fn append(text: &str, node: &Node, depth: usize, insert: &str, style: &Style) -> String {
    let last_end = match &node.kind {
        Kind::Object(m) => m.last().map(|m| m.value.end),
        Kind::Array(items) => items.last().map(|n| n.end),
        _ => None,
    };
    match last_end {
        Some(end) => format!(
            "{},{}{insert}{}",
            &text[..end],
            style.break_at(depth + 1),
            &text[end..]
        ),
        None => {
            let inner = &text[node.start + 1..node.end - 1];
            // Laid out as `J::render` would write a new container holding `insert`, the
            // text would be the same as if the container had not been there, and
            // uninstall could not tell which it was: then it is laid out otherwise.
            let as_if_new = if style.compact {
                // The top-level object is never new in a compact file.
                depth > 0 && inner.is_empty()
            } else {
                inner == style.break_at(depth)
            };
            let lead = match (style.compact, as_if_new) {
                (true, false) => String::new(),
                (true, true) => " ".into(),
                (false, false) => style.break_at(depth + 1),
                (false, true) => String::new(),
            };
            format!(
                "{}{lead}{insert}{}",
                &text[..=node.start],
                &text[node.start + 1..]
            )
        }
    }
}

/// Text without item `index` of the container `node`: from the end of the item before
/// it (taking the comma `append` put there), or, for the first item, up to the next
/// item (or, when it was the only one, from the bracket: what `append` put before it).
pub fn remove(text: &str, node: &Node, index: usize) -> String {
    let spans: Vec<(usize, usize)> = match &node.kind {
        Kind::Object(m) => m.iter().map(|m| (m.key_start, m.value.end)).collect(),
        Kind::Array(items) => items.iter().map(|n| (n.start, n.end)).collect(),
        _ => return text.to_string(),
    };
    let Some(&(_, end)) = spans.get(index) else {
        return text.to_string();
    };
    let (from, to) = if index > 0 {
        (spans[index - 1].1, end)
    } else if let Some(&(next, _)) = spans.get(1) {
        (spans[0].0, next)
    } else {
        // The only item: a trailing comma after it (`[x,]`) goes too, or `[,]` is left.
        let after = end + blank_len(&text[end..]);
        if text[after..].starts_with(',') {
            return format!(
                "{}{}{}",
                &text[..node.start + 1],
                &text[end..after],
                &text[after + 1..]
            );
        }
        (node.start + 1, end)
    };
    format!("{}{}", &text[..from], &text[to..])
}

/// How many bytes of whitespace and comments `text` starts with.
fn blank_len(text: &str) -> usize {
    let mut rest = text;
    loop {
        let trimmed = rest.trim_start();
        rest = if let Some(c) = trimmed.strip_prefix("//") {
            c.find('\n').map_or("", |i| &c[i..])
        } else if let Some(c) = trimmed.strip_prefix("/*") {
            c.find("*/").map_or("", |i| &c[i + 2..])
        } else {
            return text.len() - trimmed.len();
        };
    }
}

/// Text with the value `node` replaced.
pub fn replace(text: &str, node: &Node, with: &str) -> String {
    format!("{}{with}{}", &text[..node.start], &text[node.end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> J {
        J::Obj(vec![("matcher", J::Str("Bash".into())), ("n", J::Num(3))])
    }

    #[test]
    fn append_then_remove_gives_the_same_bytes() {
        let files = [
            "{\n  \"a\": [\n    1,\n    2\n  ]\n}\n",
            "{\"a\": []}",
            "{\n    \"a\": [] // note\n}",
            "{\n\t\"a\": [\n\t\t{\"x\": \"y\"}, /* c */\n\t]\n}\n",
        ];
        for original in files {
            let root = parse(original).unwrap();
            let style = Style::of(original);
            let arr = root.member("a").unwrap().value.clone();
            let added = append(original, &arr, 1, &entry().render(&style, 2), &style);
            let again = parse(&added).unwrap_or_else(|e| panic!("{e}: {added}"));
            let arr2 = again.member("a").unwrap().value.clone();
            let Kind::Array(items) = &arr2.kind else {
                panic!()
            };
            assert!(added[items.last().unwrap().start..].starts_with("{"));
            let back = remove(&added, &arr2, items.len() - 1);
            assert_eq!(back, original, "after adding:\n{added}");
        }
    }

    #[test]
    fn members_come_and_go_exactly() {
        let original = "{\n  \"model\": \"x\"\n}\n";
        let root = parse(original).unwrap();
        let style = Style::of(original);
        let member = format!("\"hooks\": {}", entry().render(&style, 1));
        let added = append(original, &root, 0, &member, &style);
        assert_eq!(
            added,
            "{\n  \"model\": \"x\",\n  \"hooks\": {\n    \"matcher\": \"Bash\",\n    \"n\": 3\n  }\n}\n"
        );
        let again = parse(&added).unwrap();
        assert_eq!(remove(&added, &again, 1), original);
        assert_eq!(
            remove(
                "{\"a\": 1, \"b\": 2}",
                &parse("{\"a\": 1, \"b\": 2}").unwrap(),
                0
            ),
            "{\"b\": 2}"
        );
    }

    #[test]
    fn bad_json_names_line_and_column() {
        let e = parse("{\n  \"a\": [1,, 2]\n}").unwrap_err();
        assert_eq!((e.line, e.column), (2, 11), "{e}");
        assert!(parse("{\"a\": 1} x").is_err());
        assert!(
            parse("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[").is_err()
        );
        let text = r#"{"k\u00e9y": "v\"q"}"#;
        let v = parse(text).unwrap().member("kéy").unwrap().value.clone();
        assert_eq!(&text[v.start..v.end], r#""v\"q""#);
    }
}
