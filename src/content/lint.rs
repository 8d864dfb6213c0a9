//! Rules over the files as written that stage two does not hold: every language has every key
//! the default language has, no text is empty, Japanese text is Japanese, and no text gives a
//! dose or a concentration. Each rule reports every problem it finds, naming file, item and fix,
//! so `scar-guide check` lists them all at once.

use std::collections::{BTreeMap, BTreeSet};

use super::{ContentError, DEFAULT_LANGUAGE, html};

/// Citations of published papers, which stay as published whatever the reader's language.
const PUBLISHED_REFERENCES: &[&str] = &["citations.note_atrophic_subtypes"];

/// Every problem the rules find in `(path relative to dialogues/, text)` files. Files that do
/// not parse are left to stage two, which names the line.
pub fn lint(files: &[(String, String)]) -> Vec<ContentError> {
    // language → file name → parsed table
    let mut folders: BTreeMap<&str, BTreeMap<&str, toml::Value>> = BTreeMap::new();
    for (path, text) in files {
        let Some((lang, name)) = path.split_once('/') else {
            continue;
        };
        if super::NOT_LANGUAGES.contains(&lang) {
            continue;
        }
        if let Ok(value) = text.parse::<toml::Table>() {
            folders
                .entry(lang)
                .or_default()
                .insert(name, toml::Value::Table(value));
        }
    }
    let mut problems = Vec::new();
    let english = folders.get(DEFAULT_LANGUAGE).cloned().unwrap_or_default();
    for (lang, folder) in &folders {
        for (name, value) in folder {
            let file = format!("dialogues/{lang}/{name}");
            let report = |item: &str, problem: String, fix: &str| ContentError {
                file: file.clone(),
                item: item.to_owned(),
                problem,
                fix: fix.to_owned(),
            };
            let en_value = english.get(name);
            if let Some(en_value) = en_value.filter(|_| *lang != DEFAULT_LANGUAGE) {
                let (mut want, mut have) = (BTreeSet::new(), BTreeSet::new());
                key_paths(en_value, "", &mut want);
                key_paths(value, "", &mut have);
                for key in want.difference(&have) {
                    problems.push(report(
                        key,
                        "missing: the English has it".to_owned(),
                        "translate the English entry into this language",
                    ));
                }
            }
            let mut mine = BTreeMap::new();
            texts(value, "", &mut mine);
            let mut en_texts = BTreeMap::new();
            if let Some(en) = en_value {
                texts(en, "", &mut en_texts);
            }
            for (path, text) in &mine {
                if text.trim().is_empty() {
                    problems.push(report(path, "empty text".to_owned(), "write the text"));
                }
                if let Some(dose) = find_dose(text) {
                    problems.push(report(
                        path,
                        format!("a dose or concentration: …{dose}…"),
                        "name the kind of treatment only: no doses, strengths or schedules",
                    ));
                }
                if *lang == "ja" {
                    // Placeholders ("{kind}") are filled in by the code, not translated.
                    let plain = strip_placeholders(&html::to_plain(text));
                    let translatable = plain.chars().any(char::is_alphabetic)
                        && !(*name == "sources.toml"
                            && PUBLISHED_REFERENCES.contains(&path.as_str()));
                    if translatable && en_texts.get(path) == Some(text) {
                        problems.push(report(
                            path,
                            "is the English text".to_owned(),
                            "translate it into Japanese",
                        ));
                    } else if translatable && !plain.chars().any(is_japanese) {
                        problems.push(report(
                            path,
                            "has no Japanese".to_owned(),
                            "write it in Japanese",
                        ));
                    }
                }
            }
        }
    }
    problems
}

/// Every key path of a TOML value (`a.b`), tables and their keys; arrays count as one key.
fn key_paths(value: &toml::Value, path: &str, out: &mut BTreeSet<String>) {
    if let toml::Value::Table(table) = value {
        for (key, value) in table {
            let path = join(path, key);
            out.insert(path.clone());
            key_paths(value, &path, out);
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Every string of a TOML value with its path (`a.b[2]`), leaving out source ids and keywords,
/// which are identifiers and search words rather than texts.
fn texts(value: &toml::Value, path: &str, out: &mut BTreeMap<String, String>) {
    let last = path.rsplit('.').next().unwrap_or(path);
    let last = last.split('[').next().unwrap_or(last);
    if last.ends_with("sources")
        || last == "keywords"
        || path.starts_with("keywords")
        || path == "format_version"
    {
        return;
    }
    match value {
        toml::Value::String(s) => {
            out.insert(path.to_owned(), s.clone());
        }
        toml::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                texts(item, &format!("{path}[{i}]"), out);
            }
        }
        toml::Value::Table(table) => {
            for (key, value) in table {
                texts(value, &join(path, key), out);
            }
        }
        _ => {}
    }
}

/// The text without its `{name}` placeholders.
fn strip_placeholders(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        match rest[open..].find('}') {
            Some(close) => rest = &rest[open + close + 1..],
            None => {
                rest = &rest[open..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Kana and the common CJK ideographs.
pub fn is_japanese(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30FF}' | '\u{4E00}'..='\u{9FFF}')
}

/// Finds a number followed by "mg", "ml" or "%" (a dose or a concentration) in `text`, with a
/// little of its context.
pub fn find_dose(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == ',') {
            i += 1;
        }
        let mut j = i;
        while j < chars.len() && (chars[j].is_whitespace() || chars[j] == '\u{a0}') {
            j += 1;
        }
        let unit: String = chars[j..chars.len().min(j + 2)]
            .iter()
            .collect::<String>()
            .to_lowercase();
        let after_unit = chars.get(j + 2).is_none_or(|c| !c.is_alphanumeric());
        let is_dose = chars.get(j) == Some(&'%')
            || chars.get(j) == Some(&'％')
            || ((unit == "mg" || unit == "ml") && after_unit);
        if is_dose {
            let from = start.saturating_sub(30);
            let to = chars.len().min(j + 30);
            return Some(chars[from..to].iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dose_finder_finds_doses_and_ignores_sizes() {
        assert!(find_dose("take 20 mg daily").is_some());
        assert!(find_dose("a 2% cream").is_some());
        assert!(find_dose("5ml twice").is_some());
        assert!(find_dose("about 1.5 to 4 mm across").is_none());
        assert!(find_dose("from about 50 cm away").is_none());
        assert!(find_dose("2 mild spots").is_none());
    }

    fn files(en: &str, ja: &str) -> Vec<(String, String)> {
        vec![
            ("en/ui.toml".to_owned(), en.to_owned()),
            ("ja/ui.toml".to_owned(), ja.to_owned()),
        ]
    }

    #[test]
    fn a_missing_key_english_text_and_a_dose_are_all_reported() {
        let problems = lint(&files(
            "greeting = \"Hi\"\ndisclaimer = \"Not a diagnosis\"\nnote = \"a 2% cream\"",
            "greeting = \"Hi\"\nnote = \"2%のクリーム\"",
        ));
        let said: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(
            said.iter()
                .any(|p| p.contains("dialogues/ja/ui.toml: disclaimer: missing")),
            "{said:?}"
        );
        assert!(
            said.iter()
                .any(|p| p.contains("dialogues/ja/ui.toml: greeting: is the English text")),
            "{said:?}"
        );
        assert!(
            said.iter()
                .any(|p| p.contains("dialogues/en/ui.toml: note: a dose")),
            "{said:?}"
        );
        assert!(
            said.iter()
                .any(|p| p.contains("dialogues/ja/ui.toml: note: a dose")),
            "{said:?}"
        );
        assert_eq!(problems.len(), 4, "{said:?}");
    }

    #[test]
    fn japanese_without_kana_or_kanji_is_reported() {
        let problems = lint(&files("greeting = \"Hi\"", "greeting = \"Konnichiwa\""));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].problem, "has no Japanese");
    }
}
