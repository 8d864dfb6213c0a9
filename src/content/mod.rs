//! Everything the bot says, loaded from `dialogues/` in two stages.
//!
//! Stage one ([`raw`]) is serde: the files as written. Stage two ([`Content::from_files`]) checks
//! what serde cannot: every enum key present, every source cited exists, every text well-formed
//! HTML, keywords unambiguous, relations consistent. Any problem stops start-up with a
//! [`ContentError`] naming the file, the item and the fix, so a broken edit never reaches a user.
//!
//! `dialogues/knowledge.toml` holds what is true in every language (relations, citations);
//! each `dialogues/<lang>/` folder holds one language's wording. Adding a language is adding a
//! folder.

pub mod html;
pub mod lint;
pub mod raw;
pub mod text;
mod validate;

pub use validate::{MAX_CAPTION, MAX_LABEL_CHARS, PictureWords};
use validate::{validate_knowledge, validate_language};

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

use include_dir::{Dir, include_dir};
use serde::de::DeserializeOwned;

use crate::knowledge::{
    AcneKind, CareHabit, ClosedSet, DentShape, FollowUp, Link, LumpShape, ScarKind, Topic,
    Treatment,
};
use crate::pictures::Picture;

pub use raw::{
    AcneText, CardHeadings, HabitText, Note, QuestionsFile, SafetyFile, ScarText, ShapeText,
    TreatmentText, Ui,
};

/// The `dialogues/` folder, compiled into the binary so it runs standalone.
static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/dialogues");

/// The language used when a user's language has no folder.
pub const DEFAULT_LANGUAGE: &str = "en";

/// Folders of `dialogues/` that are not languages: the pictures, shared by every language.
pub const NOT_LANGUAGES: &[&str] = &["pictures"];

/// The files every language folder must have.
const LANGUAGE_FILES: &[&str] = &[
    "ui.toml",
    "scars.toml",
    "acne.toml",
    "treatments.toml",
    "care.toml",
    "safety.toml",
    "questions.toml",
    "sources.toml",
    "pictures.toml",
];

/// A problem in `dialogues/`, phrased for the person editing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {item}: {problem}. Fix: {fix}")]
pub struct ContentError {
    pub file: String,
    pub item: String,
    pub problem: String,
    pub fix: String,
}

impl ContentError {
    fn new(
        file: &str,
        item: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            file: file.to_owned(),
            item: item.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

/// A table with exactly one value for every member of a closed set.
///
/// Built only by validation, so looking a key up cannot miss.
#[derive(Debug, Clone)]
pub struct Complete<K, V> {
    values: Vec<V>,
    _key: PhantomData<K>,
}

impl<K: ClosedSet, V> Complete<K, V> {
    /// Takes `map`, or says which keys are missing.
    fn from_map(map: BTreeMap<K, V>, file: &str, table: &str) -> Result<Self, ContentError> {
        let missing: Vec<&str> = K::members()
            .into_iter()
            .filter(|k| !map.contains_key(k))
            .map(K::key)
            .collect();
        if !missing.is_empty() {
            return Err(ContentError::new(
                file,
                table,
                format!("missing {}", missing.join(", ")),
                format!("add an entry under [{table}] for each of them"),
            ));
        }
        // BTreeMap iterates in key order, which is declaration order for closed sets, so the
        // position of each value is its key's index.
        Ok(Self {
            values: map.into_values().collect(),
            _key: PhantomData,
        })
    }

    /// The value for `key`; every key has one by construction.
    pub fn get(&self, key: K) -> &V {
        &self.values[key.index()]
    }
}

/// Facts shared by every language.
#[derive(Debug)]
pub struct Knowledge {
    pub sources: BTreeMap<String, String>,
    pub scars: Complete<ScarKind, raw::ScarFacts>,
    pub acne: Complete<AcneKind, raw::AcneFacts>,
    pub treatments: Complete<Treatment, raw::TreatmentFacts>,
}

/// One language's validated wording.
#[derive(Debug)]
pub struct Pack {
    pub code: String,
    pub ui: Ui,
    pub topics: Complete<Topic, String>,
    pub scars: Complete<ScarKind, ScarText>,
    pub where_scars_form: String,
    pub where_sources: Vec<String>,
    pub acne: Complete<AcneKind, AcneText>,
    pub treatments: Complete<Treatment, TreatmentText>,
    pub care_title: String,
    pub care_intro: String,
    pub care_doctor: String,
    pub habits: Complete<CareHabit, HabitText>,
    pub safety: SafetyFile,
    pub follow_ups: Complete<FollowUp, raw::FollowUpText>,
    pub self_check: raw::SelfCheckText,
    /// The words of every picture: its caption (sources included) and alt text.
    pub pictures: Complete<Picture, PictureWords>,
    /// Every source id of `knowledge.toml`, cited in this language.
    pub citations: BTreeMap<String, String>,
}

impl Pack {
    pub fn dent_shape(&self, shape: DentShape) -> Option<&ShapeText> {
        self.scars.get(ScarKind::Dents).dent_shapes.get(&shape)
    }

    pub fn lump_shape(&self, shape: LumpShape) -> Option<&ShapeText> {
        self.scars.get(ScarKind::Lumps).lump_shapes.get(&shape)
    }

    /// The citation for a source id in this language (ids are validated to exist).
    pub fn cite<'a>(&'a self, id: &'a str) -> &'a str {
        self.citations.get(id).map_or(id, String::as_str)
    }

    /// The title of the topic a link opens (HTML, as written in the content).
    pub fn link_title(&self, link: Link) -> &str {
        match link {
            Link::Scar(kind) => &self.scars.get(kind).title,
            Link::NotSure => &self.ui.buttons.not_sure,
            Link::Prevent => self.topics.get(Topic::Prevent),
            Link::Acne(acne) => &self.acne.get(acne).label,
            Link::Care => &self.care_title,
            Link::Treatments => self.topics.get(Topic::Treatments),
            Link::Treatment(t) => &self.treatments.get(t).name,
        }
    }
}

/// All of `dialogues/`, validated.
#[derive(Debug)]
pub struct Content {
    pub knowledge: Knowledge,
    /// The default language, held apart so a lookup always has a pack to fall back to.
    default: Pack,
    /// The other languages by code.
    others: BTreeMap<String, Pack>,
}

impl Content {
    /// The copy of `dialogues/` compiled into the binary.
    pub fn embedded() -> Result<Self, ContentError> {
        Self::from_files(Self::embedded_files())
    }

    /// The files of the copy of `dialogues/` compiled into the binary, as
    /// `(path relative to dialogues/, text)`.
    pub fn embedded_files() -> Vec<(String, String)> {
        let mut files = Vec::new();
        collect_embedded(&EMBEDDED, &mut files);
        files
    }

    /// A `dialogues/` folder on disk, so content editors can try an edit without rebuilding.
    pub fn from_dir(dir: &Path) -> Result<Self, ContentError> {
        Self::from_files(Self::dir_files(dir)?)
    }

    /// The files of a `dialogues/` folder on disk.
    pub fn dir_files(dir: &Path) -> Result<Vec<(String, String)>, ContentError> {
        let mut files = Vec::new();
        collect_disk(dir, dir, &mut files).map_err(|e| {
            ContentError::new(
                &dir.display().to_string(),
                "folder",
                e.to_string(),
                "pass the path of a dialogues/ folder",
            )
        })?;
        Ok(files)
    }

    /// Validates a set of `(path relative to dialogues/, text)` pairs; the first problem stops.
    pub fn from_files(files: Vec<(String, String)>) -> Result<Self, ContentError> {
        Self::validate(files, false).map(|(content, _)| content)
    }

    /// Every problem of the files' texts at once (for `scar-guide check`), with the content
    /// when its structure still loads. A missing file, table or field still stops the rest of
    /// its language, since what depends on it cannot be checked.
    pub fn check_files(files: Vec<(String, String)>) -> (Option<Self>, Vec<ContentError>) {
        match Self::validate(files, true) {
            Ok((content, problems)) if problems.is_empty() => (Some(content), problems),
            Ok((_, problems)) => (None, problems),
            Err(err) => (None, vec![err]),
        }
    }

    fn validate(
        files: Vec<(String, String)>,
        collect: bool,
    ) -> Result<(Self, Vec<ContentError>), ContentError> {
        let find = |path: &str| {
            files
                .iter()
                .find(|(p, _)| p == path)
                .map(|(_, t)| t.as_str())
        };
        let kpath = "knowledge.toml";
        let ktext = find(kpath).ok_or_else(|| {
            ContentError::new(
                &format!("dialogues/{kpath}"),
                "file",
                "not found",
                "restore dialogues/knowledge.toml",
            )
        })?;
        let knowledge = validate_knowledge(parse(kpath, ktext)?)?;

        let codes: BTreeSet<String> = files
            .iter()
            .filter_map(|(p, _)| p.split_once('/').map(|(dir, _)| dir.to_owned()))
            .filter(|dir| !NOT_LANGUAGES.contains(&dir.as_str()))
            .collect();
        let mut packs = BTreeMap::new();
        let mut problems = Vec::new();
        for code in codes {
            let text_of = |name: &str| {
                let path = format!("{code}/{name}");
                find(&path).map(|t| (path.clone(), t)).ok_or_else(|| {
                    ContentError::new(
                        &format!("dialogues/{path}"),
                        "file",
                        "not found",
                        format!("every language folder needs {}", LANGUAGE_FILES.join(", ")),
                    )
                })
            };
            let load = text_of;
            let raw = {
                let (p, t) = load("ui.toml")?;
                let ui: Ui = parse(&p, t)?;
                let (p, t) = load("scars.toml")?;
                let scars = parse(&p, t)?;
                let (p, t) = load("acne.toml")?;
                let acne = parse(&p, t)?;
                let (p, t) = load("treatments.toml")?;
                let treatments = parse(&p, t)?;
                let (p, t) = load("care.toml")?;
                let care = parse(&p, t)?;
                let (p, t) = load("safety.toml")?;
                let safety = parse(&p, t)?;
                let (p, t) = load("questions.toml")?;
                let questions = parse(&p, t)?;
                let (p, t) = load("sources.toml")?;
                let sources = parse(&p, t)?;
                let (p, t) = load("pictures.toml")?;
                let pictures = parse(&p, t)?;
                raw::Language {
                    sources,
                    ui,
                    scars,
                    acne,
                    treatments,
                    care,
                    safety,
                    questions,
                    pictures,
                }
            };
            let (pack, found) = validate_language(&code, raw, &knowledge, collect)?;
            problems.extend(found);
            packs.insert(code, pack);
        }
        let Some(default) = packs.remove(DEFAULT_LANGUAGE) else {
            return Err(ContentError::new(
                &format!("dialogues/{DEFAULT_LANGUAGE}/"),
                "folder",
                "the default language is missing",
                "restore the English folder; other languages fall back to it",
            ));
        };
        let content = Self {
            knowledge,
            default,
            others: packs,
        };
        Ok((content, problems))
    }

    /// The pack for a Telegram `language_code` ("en", "ja", "en-GB"), falling back to English.
    pub fn pack(&self, language_code: Option<&str>) -> &Pack {
        let wanted =
            language_code.map(|c| c.split(['-', '_']).next().unwrap_or(c).to_ascii_lowercase());
        wanted
            .and_then(|c| self.others.get(&c))
            .unwrap_or(&self.default)
    }

    /// Every language, the default first, for checks and menus that cover all of them.
    pub fn packs(&self) -> impl Iterator<Item = &Pack> {
        std::iter::once(&self.default).chain(self.others.values())
    }
}

fn collect_embedded(dir: &Dir<'_>, out: &mut Vec<(String, String)>) {
    for file in dir.files() {
        if let Some(text) = file.contents_utf8() {
            out.push((
                file.path().to_string_lossy().replace('\\', "/"),
                text.to_owned(),
            ));
        }
    }
    for sub in dir.dirs() {
        collect_embedded(sub, out);
    }
}

fn collect_disk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_disk(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, std::fs::read_to_string(&path)?));
        }
    }
    Ok(())
}

fn parse<T: DeserializeOwned>(path: &str, text: &str) -> Result<T, ContentError> {
    toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
        ContentError::new(
            &format!("dialogues/{path}"),
            line.map_or("file".to_owned(), |l| format!("line {l}")),
            e.message().trim().to_owned(),
            "match the field names and types in src/content/raw.rs",
        )
    })
}

impl fmt::Display for Pack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.ui.language_name, self.code)
    }
}
