//! The real `dialogues/`: it loads, it is fully sourced, it gives no doses, and the loader
//! refuses each kind of broken edit with an error that names the file, the item and the fix.
//!
//! Broken edits are made by string replacement on the real files read from disk, and every
//! replacement is asserted to have changed the text, so no test can pass on a no-op edit.

use std::collections::BTreeSet;

use scar_guide::content::{Content, ContentError, MAX_LABEL_CHARS, Pack, lint};
use scar_guide::conversation::walk::{MAX_FIRST_SCREEN, check_limits};
use scar_guide::knowledge::{ScarKind, Treatment};

use crate::util::{dialogue_files, dialogues_dir};

/// Every `.toml` file under `dialogues/`, as `(path relative to dialogues/, text)`.
fn real_files() -> Vec<(String, String)> {
    let files = dialogue_files();
    assert!(
        files.iter().any(|(p, _)| p == "knowledge.toml"),
        "no knowledge.toml"
    );
    files
}

/// The real files with `path` rewritten by `edit`, which must change it.
fn edited(path: &str, edit: impl FnOnce(&str) -> String) -> Vec<(String, String)> {
    let mut files = real_files();
    let entry = files
        .iter_mut()
        .find(|(p, _)| p == path)
        .unwrap_or_else(|| panic!("no {path} in dialogues/"));
    let changed = edit(&entry.1);
    assert_ne!(changed, entry.1, "the edit of {path} changed nothing");
    entry.1 = changed;
    files
}

/// Replaces the only occurrence of `from`; fails if there is none or several.
fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(
        text.matches(from).count(),
        1,
        "expected exactly one {from:?} in the file"
    );
    text.replacen(from, to, 1)
}

/// Replaces the first `from` inside the TOML table `[header]` (before the next table header).
fn replace_in_table(text: &str, header: &str, from: &str, to: &str) -> String {
    let start = text
        .find(&format!("\n[{header}]"))
        .unwrap_or_else(|| panic!("no [{header}] table"));
    let body_start = start + header.len() + 3;
    let end = text[body_start..]
        .find("\n[")
        .map_or(text.len(), |i| body_start + i);
    let at = text[body_start..end]
        .find(from)
        .unwrap_or_else(|| panic!("no {from:?} in [{header}]"));
    let at = body_start + at;
    format!("{}{to}{}", &text[..at], &text[at + from.len()..])
}

/// Removes the table `[name]` and its sub-tables `[name.…]`.
fn remove_table(text: &str, name: &str) -> String {
    let own = format!("[{name}]");
    let sub = format!("[{name}.");
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            skipping = trimmed.starts_with(&own) || trimmed.starts_with(&sub);
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn load_error(files: Vec<(String, String)>) -> ContentError {
    let err = Content::from_files(files).expect_err("the broken content was accepted");
    assert!(!err.fix.trim().is_empty(), "no fix in {err}");
    assert!(!err.problem.trim().is_empty(), "no problem in {err}");
    assert!(!err.item.trim().is_empty(), "no item in {err}");
    err
}

fn english_pack(content: &Content) -> &Pack {
    let pack = content.pack(Some("en"));
    assert_eq!(pack.code, "en");
    pack
}

#[test]
fn the_embedded_content_loads_with_english() {
    let content = Content::embedded().expect("dialogues/ is valid");
    assert!(content.packs().any(|p| p.code == "en"));
    assert_eq!(content.pack(None).code, "en");
    assert_eq!(
        content.pack(Some("xx")).code,
        "en",
        "unknown languages fall back"
    );
    assert_eq!(content.pack(Some("en-GB")).code, "en");
}

#[test]
fn the_files_on_disk_load_and_match_the_embedded_packs() {
    let disk = Content::from_files(real_files()).expect("dialogues/ on disk is valid");
    let embedded = Content::embedded().expect("embedded dialogues/ is valid");
    let codes = |c: &Content| c.packs().map(|p| p.code.clone()).collect::<Vec<_>>();
    assert_eq!(codes(&disk), codes(&embedded));
    assert_eq!(disk.knowledge.sources, embedded.knowledge.sources);
    let from_dir = Content::from_dir(&dialogues_dir()).expect("from_dir loads");
    assert_eq!(codes(&from_dir), codes(&embedded));
}

#[test]
fn a_missing_scar_kind_is_named_in_scars_toml() {
    for kind in ScarKind::all() {
        let files = edited("en/scars.toml", |t| remove_table(t, kind.key()));
        let err = load_error(files);
        assert_eq!(err.file, "dialogues/en/scars.toml", "{err}");
        assert!(err.problem.contains("missing"), "{err}");
        assert!(err.problem.contains(kind.key()), "{err}");
    }
}

#[test]
fn an_unknown_source_id_is_named_with_its_item() {
    let files = edited("en/scars.toml", |t| {
        replace_in_table(t, "dents", "sources = [", "sources = [\"no_such_source\", ")
    });
    let err = load_error(files);
    assert_eq!(err.file, "dialogues/en/scars.toml", "{err}");
    assert!(err.item.ends_with(".sources"), "{err}");
    assert!(err.item.starts_with("dents"), "{err}");
    assert!(err.problem.contains("no_such_source"), "{err}");
}

#[test]
fn an_unclosed_tag_is_an_html_problem() {
    let files = edited("en/ui.toml", |t| {
        replace_once(t, "\nmain_question = \"", "\nmain_question = \"<b>")
    });
    let err = load_error(files);
    assert_eq!(err.file, "dialogues/en/ui.toml", "{err}");
    assert_eq!(err.item, "main_question", "{err}");
    assert!(err.problem.contains("<b>"), "{err}");
    assert!(err.problem.contains("never closed"), "{err}");
}

#[test]
fn a_bare_ampersand_is_an_html_problem() {
    let files = edited("en/ui.toml", |t| {
        replace_once(
            t,
            "\nmain_question = \"",
            "\nmain_question = \"salt & pepper ",
        )
    });
    let err = load_error(files);
    assert_eq!(err.file, "dialogues/en/ui.toml", "{err}");
    assert_eq!(err.item, "main_question", "{err}");
    assert!(err.problem.contains('&'), "{err}");
    assert!(err.fix.contains("&amp;"), "{err}");
}

#[test]
fn an_unknown_field_is_a_serde_error_naming_the_file_and_line() {
    for (file, key) in [
        ("en/ui.toml", "greeting"),
        ("en/care.toml", "intro"),
        ("en/safety.toml", "text"),
    ] {
        let typo = format!("{key}x");
        let files = edited(file, |t| {
            t.replacen(&format!("\n{key} = "), &format!("\n{typo} = "), 1)
        });
        let err = load_error(files);
        assert_eq!(err.file, format!("dialogues/{file}"), "{err}");
        assert!(err.item.starts_with("line "), "{err}");
        assert!(err.problem.contains(&typo), "{err}");
    }
}

#[test]
fn an_unknown_field_in_knowledge_toml_names_it() {
    let files = edited("knowledge.toml", |t| {
        replace_once(t, "\nformat_version = ", "\nformat_versoin = ")
    });
    let err = load_error(files);
    assert_eq!(err.file, "dialogues/knowledge.toml", "{err}");
    assert!(err.problem.contains("format_versoin"), "{err}");
}

#[test]
fn a_keyword_shared_by_two_scar_kinds_is_refused() {
    let content = Content::embedded().expect("valid");
    let shared = english_pack(&content).scars.get(ScarKind::Redness).keywords[0].clone();
    let files = edited("en/scars.toml", |t| {
        replace_in_table(
            t,
            "dents",
            "keywords = [",
            &format!("keywords = [\"{shared}\", "),
        )
    });
    let err = load_error(files);
    assert_eq!(err.file, "dialogues/en/scars.toml", "{err}");
    assert!(err.item.contains("dents"), "{err}");
    assert!(err.problem.contains(&shared), "{err}");
    assert!(err.problem.contains("redness"), "{err}");
}

#[test]
fn a_keyword_with_capitals_or_punctuation_is_refused() {
    for bad in ["Ice Pick", "ice-pick", "ice  pick"] {
        let files = edited("en/scars.toml", |t| {
            replace_in_table(
                t,
                "dents",
                "keywords = [",
                &format!("keywords = [\"{bad}\", "),
            )
        });
        let err = load_error(files);
        assert_eq!(err.file, "dialogues/en/scars.toml", "{err}");
        assert!(err.item.contains("dents.keywords"), "{err}");
        assert!(err.problem.contains(bad), "{err}");
    }
}

#[test]
fn a_treatment_relation_listed_on_one_side_only_is_refused() {
    let content = Content::embedded().expect("valid");
    let t = Treatment::DyeLaser;
    let facts = content.knowledge.treatments.get(t);
    let kind = ScarKind::all()
        .find(|k| !facts.for_scars.contains(k))
        .expect("dye laser is not for every scar kind");
    let files = edited("knowledge.toml", |text| {
        replace_in_table(
            text,
            &format!("treatments.{}", t.key()),
            "for_scars = [",
            &format!("for_scars = [\"{}\", ", kind.key()),
        )
    });
    let err = load_error(files);
    assert_eq!(err.file, "dialogues/knowledge.toml", "{err}");
    assert_eq!(
        err.item,
        format!("treatments.{}.for_scars", t.key()),
        "{err}"
    );
    assert!(
        err.problem
            .contains(&format!("scars.{}.treatments", kind.key())),
        "{err}"
    );
}

#[test]
fn content_without_the_english_folder_is_refused() {
    let files: Vec<(String, String)> = real_files()
        .into_iter()
        .map(|(p, t)| match p.strip_prefix("en/") {
            Some(rest) => (format!("fr/{rest}"), t),
            None => (p, t),
        })
        .collect();
    assert!(files.iter().all(|(p, _)| !p.starts_with("en/")));
    assert!(files.iter().any(|(p, _)| p.starts_with("fr/")));
    let err = load_error(files);
    assert!(err.file.contains("en"), "{err}");
}

#[test]
fn a_missing_language_file_is_named() {
    let mut files = real_files();
    files.retain(|(p, _)| p != "en/care.toml");
    let err = load_error(files);
    assert_eq!(err.file, "dialogues/en/care.toml", "{err}");
}

#[test]
fn a_missing_knowledge_file_is_named() {
    let mut files = real_files();
    files.retain(|(p, _)| p != "knowledge.toml");
    let err = load_error(files);
    assert_eq!(err.file, "dialogues/knowledge.toml", "{err}");
}

#[test]
fn a_button_label_over_the_limit_is_refused() {
    let long = "x".repeat(MAX_LABEL_CHARS + 1);
    let files = edited("en/ui.toml", |t| {
        replace_once(t, "\nback = \"", &format!("\nback = \"{long} "))
    });
    let err = load_error(files);
    assert_eq!(err.file, "dialogues/en/ui.toml", "{err}");
    assert_eq!(err.item, "buttons.back", "{err}");
    assert!(err.problem.contains(&MAX_LABEL_CHARS.to_string()), "{err}");
}

#[test]
fn a_label_of_exactly_the_limit_is_accepted() {
    let content = Content::embedded().expect("valid");
    let current = english_pack(&content).ui.buttons.back.chars().count();
    assert!(current < MAX_LABEL_CHARS);
    let pad = "x".repeat(MAX_LABEL_CHARS - current);
    let files = edited("en/ui.toml", |t| {
        replace_once(t, "\nback = \"", &format!("\nback = \"{pad}"))
    });
    Content::from_files(files).expect("a label of exactly the limit is fine");
}

#[test]
fn the_error_message_names_file_item_and_fix() {
    let files = edited("en/ui.toml", |t| {
        replace_once(t, "\nmain_question = \"", "\nmain_question = \"<b>")
    });
    let err = load_error(files);
    let message = err.to_string();
    for part in [&err.file, &err.item, &err.problem, &err.fix] {
        assert!(message.contains(part.as_str()), "{message}");
    }
}

/// Every `sources` list of a pack, each with where it is.
fn cited_sources(pack: &Pack) -> Vec<(String, &[String])> {
    let mut all: Vec<(String, &[String])> = Vec::new();
    for kind in ScarKind::all() {
        let s = pack.scars.get(kind);
        all.push((format!("scars.{}", kind.key()), &s.sources));
        all.push((format!("scars.{}.clinic", kind.key()), &s.clinic_sources));
        for (shape, st) in &s.dent_shapes {
            all.push((format!("scars.dents.{}", shape.key()), &st.sources));
        }
        for (shape, st) in &s.lump_shapes {
            all.push((format!("scars.lumps.{}", shape.key()), &st.sources));
        }
    }
    for kind in scar_guide::knowledge::AcneKind::all() {
        all.push((format!("acne.{}", kind.key()), &pack.acne.get(kind).sources));
    }
    all.push(("acne.where".to_owned(), &pack.where_sources));
    for t in Treatment::all() {
        all.push((
            format!("treatments.{}", t.key()),
            &pack.treatments.get(t).sources,
        ));
    }
    for h in scar_guide::knowledge::CareHabit::all() {
        all.push((format!("care.{}", h.key()), &pack.habits.get(h).sources));
    }
    let s = &pack.safety;
    all.push(("safety.red_flags".to_owned(), &s.red_flags.sources));
    for (name, note) in [
        ("pregnancy", &s.pregnancy),
        ("darker_skin", &s.darker_skin),
        ("isotretinoin", &s.isotretinoin),
        ("active_acne", &s.active_acne),
        ("several_sessions", &s.several_sessions),
        ("setting", &s.setting),
    ] {
        all.push((format!("safety.{name}"), &note.sources));
    }
    all.push(("questions.self_check".to_owned(), &pack.self_check.sources));
    all
}

#[test]
fn every_defined_source_is_cited_by_the_english_pack() {
    let content = Content::embedded().expect("valid");
    let cited: BTreeSet<&str> = cited_sources(english_pack(&content))
        .into_iter()
        .flat_map(|(_, ids)| ids.iter().map(String::as_str))
        .collect();
    let unused: Vec<&String> = content
        .knowledge
        .sources
        .keys()
        .filter(|id| !cited.contains(id.as_str()))
        .collect();
    assert!(
        unused.is_empty(),
        "defined in knowledge.toml but never cited: {unused:?}"
    );
}

#[test]
fn every_cited_source_is_defined() {
    let content = Content::embedded().expect("valid");
    for pack in content.packs() {
        for (item, ids) in cited_sources(pack) {
            assert!(!ids.is_empty(), "{}: {item} cites nothing", pack.code);
            for id in ids {
                assert!(
                    content.knowledge.sources.contains_key(id),
                    "{}: {item} cites unknown {id}",
                    pack.code
                );
            }
        }
    }
}

#[test]
fn no_pack_gives_a_drug_dose() {
    let content = Content::embedded().expect("valid");
    for pack in content.packs() {
        // The Debug form holds every public text of the pack, so a new field is covered too.
        let everything = format!("{pack:?}");
        assert!(
            everything.contains(&pack.ui.language_name),
            "the Debug form shows the texts"
        );
        if let Some(found) = lint::find_dose(&everything) {
            panic!("{}: a dose or concentration: …{found}…", pack.code);
        }
    }
}

#[test]
fn a_language_missing_a_citation_is_refused_naming_the_source() {
    let files = edited("en/sources.toml", |t| {
        let line = t
            .lines()
            .find(|l| l.starts_with("article_salon = "))
            .expect("the salon citation");
        replace_once(t, &format!("{line}\n"), "")
    });
    let err = load_error(files);
    assert_eq!(err.file, "dialogues/en/sources.toml", "{err}");
    assert_eq!(err.item, "citations.article_salon", "{err}");
}

#[test]
fn cards_cite_sources_in_their_own_language() {
    let content = Content::embedded().expect("valid");
    for pack in content.packs() {
        for (id, reference) in &content.knowledge.sources {
            assert!(!pack.cite(id).is_empty(), "{}: {id}", pack.code);
            if pack.code == "en" {
                assert_eq!(
                    pack.cite(id),
                    reference,
                    "English cites the reference as written"
                );
            }
        }
    }
}

// --- The library's own checks: `lint` and `check_limits`, as `scar-guide check` runs them ---------

/// `text` with the line `key = …` at the top of the file (before any table) replaced by
/// `line`, or removed when `line` is `None`.
fn top_level_line(text: &str, key: &str, line: Option<&str>) -> String {
    let start = format!("{key} = ");
    let mut in_table = false;
    let mut done = false;
    let mut out = Vec::new();
    for l in text.lines() {
        in_table |= l.starts_with('[');
        if !in_table && !done && l.starts_with(&start) {
            done = true;
            out.extend(line.map(str::to_owned));
            continue;
        }
        out.push(l.to_owned());
    }
    assert!(done, "no top-level {key} line");
    out.join("\n") + "\n"
}

#[test]
fn the_real_files_pass_every_text_rule() {
    let problems: Vec<String> = lint::lint(&real_files())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn lint_reports_a_missing_key_english_text_and_a_dose_in_japanese_all_at_once() {
    let files = real_files();
    let en_ui = &files
        .iter()
        .find(|(p, _)| p == "en/ui.toml")
        .expect("en/ui.toml")
        .1;
    let en: toml::Table = en_ui.parse().expect("en/ui.toml parses");
    let english_greeting = en["greeting"].as_str().expect("a greeting");
    let english_greeting = format!(
        "\"{}\"",
        english_greeting.replace('\\', "\\\\").replace('"', "\\\"")
    );
    let files = {
        let mut files = files;
        let ja = &mut files
            .iter_mut()
            .find(|(p, _)| p == "ja/ui.toml")
            .expect("dialogues/ja/ui.toml exists")
            .1;
        let mut text = top_level_line(ja, "main_question", None);
        text = top_level_line(
            &text,
            "greeting",
            Some(&format!("greeting = {english_greeting}")),
        );
        text = top_level_line(
            &text,
            "disclaimer",
            Some("disclaimer = \"2%のクリームを毎日\""),
        );
        *ja = text;
        files
    };
    let problems = lint::lint(&files);
    let said: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let named = |item: &str, problem: &str| {
        problems.iter().any(|p| {
            p.file == "dialogues/ja/ui.toml" && p.item == item && p.problem.contains(problem)
        })
    };
    assert!(named("main_question", "missing"), "{said:#?}");
    assert!(named("greeting", "is the English text"), "{said:#?}");
    assert!(named("disclaimer", "a dose"), "{said:#?}");
    assert_eq!(problems.len(), 3, "only the three edits: {said:#?}");
    assert!(
        problems.iter().all(|p| !p.fix.is_empty()),
        "each names its fix"
    );
}

#[test]
fn japanese_without_kana_or_kanji_is_reported() {
    let files = edited("ja/ui.toml", |text| {
        top_level_line(
            text,
            "main_question",
            Some("main_question = \"Nani wo shimasu ka?\""),
        )
    });
    let problems = lint::lint(&files);
    assert!(
        problems
            .iter()
            .any(|p| p.item == "main_question" && p.problem == "has no Japanese"),
        "{problems:#?}"
    );
    assert!(lint::is_japanese('あ') && lint::is_japanese('跡') && !lint::is_japanese('a'));
}

#[test]
fn a_summary_over_the_first_screen_limit_is_named_by_check_limits() {
    let long = "word ".repeat(180);
    let files = edited("en/scars.toml", |text| {
        let mut table = String::new();
        let mut done = false;
        let lines: Vec<String> = text
            .lines()
            .map(|l| {
                if let Some(h) = l.strip_prefix('[') {
                    table = h.trim_end_matches(']').to_owned();
                }
                if table == "redness" && !done && l.starts_with("summary = ") {
                    done = true;
                    return format!("summary = \"{}\"", long.trim_end());
                }
                l.to_owned()
            })
            .collect();
        assert!(done, "no redness.summary line");
        lines.join("\n") + "\n"
    });
    let content = Content::from_files(files).expect("a long summary still loads");
    let problems = check_limits(&content);
    let said: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        problems.iter().any(|p| p.file == "dialogues/en"
            && p.item.contains("redness")
            && p.problem.contains(&MAX_FIRST_SCREEN.to_string())),
        "{said:#?}"
    );
    assert!(
        problems.iter().all(|p| p.file == "dialogues/en"),
        "only English changed: {said:#?}"
    );
}
