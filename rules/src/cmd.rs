//! What cmd does to a command once it is read: `@` hides the echo, `rem` and `::`
//! are comments, `if …` and `for … do` run the command at their end, and switches
//! may be glued to the program or to each other (`rd/s/q`).

use crate::command::{Command, Word};

pub(crate) fn finish_command(cmd: &mut Command) {
    for _ in 0..cmd.words.len() + 1 {
        let Some(first) = cmd.words.first_mut() else {
            return;
        };
        if !first.quoted {
            if let Some(rest) = first.text.strip_prefix('@') {
                if rest.is_empty() {
                    cmd.words.remove(0);
                    continue;
                }
                first.text = rest.to_string();
            }
        }
        let lower = first.text.to_ascii_lowercase();
        if !first.quoted && (lower == "rem" || lower.starts_with("rem.") || lower.starts_with("::"))
        {
            cmd.words.clear();
            return;
        }
        if first.quoted {
            break;
        }
        match lower.as_str() {
            "if" => {
                let n = if_condition_len(&cmd.words);
                cmd.words.drain(..n.min(cmd.words.len()));
            }
            "for" => match cmd
                .words
                .iter()
                .position(|w| !w.quoted && w.text.eq_ignore_ascii_case("do"))
            {
                Some(i) => {
                    cmd.words.drain(..=i);
                }
                None => {
                    cmd.words.clear();
                    return;
                }
            },
            "else" => {
                cmd.words.remove(0);
            }
            _ => break,
        }
    }
    split_glued_switches(cmd);
}

/// How many words `if [/i] [not] CONDITION` takes before its command.
fn if_condition_len(words: &[Word]) -> usize {
    let lower = |i: usize| {
        words
            .get(i)
            .map(|w| w.text.to_ascii_lowercase())
            .unwrap_or_default()
    };
    let mut i = 1;
    if lower(i) == "/i" {
        i += 1;
    }
    if lower(i) == "not" {
        i += 1;
    }
    match lower(i).as_str() {
        "exist" | "defined" | "errorlevel" | "cmdextversion" => i + 2,
        w if w.contains("==") => {
            // `a==b`, or `a== b` / `a ==b` written apart.
            if w.ends_with("==") {
                i + 2
            } else {
                i + 1
            }
        }
        _ => {
            let op = lower(i + 1);
            if matches!(
                op.as_str(),
                "==" | "equ" | "neq" | "lss" | "leq" | "gtr" | "geq"
            ) {
                i + 3
            } else if op.starts_with("==") {
                i + 2
            } else {
                i + 1
            }
        }
    }
}

/// `rd/s/q x` is `rd /s /q x`; `del /s/q x` is `del /s /q x`.
fn split_glued_switches(cmd: &mut Command) {
    let mut out = Vec::with_capacity(cmd.words.len() + 2);
    for (i, w) in std::mem::take(&mut cmd.words).into_iter().enumerate() {
        if w.quoted {
            out.push(w);
            continue;
        }
        let (head, switches) = if i == 0 {
            match w.text.find('/') {
                Some(k) if k > 0 && w.text[..k].bytes().all(|b| b.is_ascii_alphanumeric()) => {
                    (Some(w.text[..k].to_string()), &w.text[k..])
                }
                _ => (None, ""),
            }
        } else {
            (None, w.text.as_str())
        };
        let parts: Vec<&str> = switches.split('/').skip(1).collect();
        let glued = parts.len() > 1 || head.is_some();
        // After the program only short switches split (`/s/q`), so `/home/ana` stays a path.
        let limit = if head.is_some() { 4 } else { 2 };
        let switch_like = parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= limit
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '?' || c == ':')
        });
        if !glued || !switch_like {
            out.push(w);
            continue;
        }
        if let Some(h) = head {
            out.push(Word {
                text: h,
                ..w.clone()
            });
        }
        out.extend(parts.iter().map(|p| Word {
            text: format!("/{p}"),
            ..w.clone()
        }));
    }
    cmd.words = out;
}
