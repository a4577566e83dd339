//! Editing an agent's JSON settings as text, so that everything backstop did not add
//! keeps its bytes: its key order, indentation, comments (JSONC, which Gemini and
//! Copilot accept) and the rest. A value is re-serialised nowhere; backstop's entry is
//! spliced in, and taken out again exactly.

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

/// Deep enough for any settings file; deeper input is refused rather than recursed.
const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

/// Parse a JSON document (comments and trailing commas allowed) into spans.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    p.skip_ws()?;
    let node = p.value(0)?;
    p.skip_ws()?;
    if p.pos != p.bytes.len() {
        return Err(p.error("more text after the end of the JSON value"));
    }
    Ok(node)
}

impl Parser<'_> {
    fn error(&self, message: &str) -> SyntaxError {
        let before = self.text.get(..self.pos).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        SyntaxError {
            line,
            column,
            message: message.to_string(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) -> Result<(), SyntaxError> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.pos += 1,
                Some(b'/') if self.bytes.get(self.pos + 1) == Some(&b'/') => {
                    while self.peek().is_some_and(|b| b != b'\n') {
                        self.pos += 1;
                    }
                }
                Some(b'/') if self.bytes.get(self.pos + 1) == Some(&b'*') => {
                    let Some(end) = self.text[self.pos + 2..].find("*/") else {
                        return Err(self.error("a /* comment is not closed"));
                    };
                    self.pos += 2 + end + 2;
                }
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        let start = self.pos;
        let kind = match self.peek() {
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => {
                self.string()?;
                Kind::String
            }
            Some(b'-' | b'0'..=b'9') => {
                while self.peek().is_some_and(|b| {
                    b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')
                }) {
                    self.pos += 1;
                }
                Kind::Other
            }
            _ => {
                let rest = &self.text[self.pos..];
                let word = ["true", "false", "null"]
                    .into_iter()
                    .find(|w| rest.starts_with(w))
                    .ok_or_else(|| self.error("expected a value"))?;
                self.pos += word.len();
                Kind::Other
            }
        };
        Ok(Node {
            start,
            end: self.pos,
            kind,
        })
    }

    fn object(&mut self, depth: usize) -> Result<Kind, SyntaxError> {
        self.pos += 1;
        let mut members = Vec::new();
        loop {
            self.skip_ws()?;
            match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Kind::Object(members));
                }
                Some(b'"') => {}
                _ => return Err(self.error("expected a key in quotes or `}`")),
            }
            let key_start = self.pos;
            let key = self.string()?;
            self.skip_ws()?;
            if self.peek() != Some(b':') {
                return Err(self.error("expected `:` after the key"));
            }
            self.pos += 1;
            self.skip_ws()?;
            let value = self.value(depth + 1)?;
            members.push(Member {
                key,
                key_start,
                value,
            });
            self.skip_ws()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {}
                _ => return Err(self.error("expected `,` or `}`")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Kind, SyntaxError> {
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_ws()?;
            if self.peek() == Some(b']') {
                self.pos += 1;
                return Ok(Kind::Array(items));
            }
            items.push(self.value(depth + 1)?);
            self.skip_ws()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {}
                _ => return Err(self.error("expected `,` or `]`")),
            }
        }
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.peek() {
                None => return Err(self.error("a string is not closed")),
                Some(b'"') => break,
                Some(b'\\') => self.pos += 2,
                Some(_) => self.pos += 1,
            }
        }
        self.pos += 1;
        let raw = self.text.get(start..self.pos).unwrap_or_default();
        serde_json::from_str(raw).map_err(|e| {
            self.pos = start;
            self.error(&format!("not a valid string ({e})"))
        })
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
/// last item: after the last item with a comma, or alone between the brackets.
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
            let inside = if style.compact {
                insert.to_string()
            } else {
                format!(
                    "{}{insert}{}",
                    style.break_at(depth + 1),
                    style.break_at(depth)
                )
            };
            format!("{}{inside}{}", &text[..=node.start], &text[node.end - 1..])
        }
    }
}

/// Text without item `index` of the container `node`: from the end of the item before
/// it (taking the comma `append` put there), or, for the first item, up to the next
/// item (or, when it was the only one, everything between the brackets).
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
        (node.start + 1, node.end - 1)
    };
    format!("{}{}", &text[..from], &text[to..])
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
