//! The pictures: drawings of what words describe badly, rendered to PNG for Telegram.
//!
//! Telling an icepick dent from a boxcar or a rolling one, or a raised scar from a keloid, is
//! hard from words alone, and the self-checks (press a glass, light from the side, stretch the
//! skin) are easier to follow when seen. So the guide has a few simple drawings.
//!
//! They are data, like the wording: SVG files in `dialogues/pictures/`, listed with the sources
//! they are drawn from in `dialogues/pictures/pictures.toml`, and shared by every language (no
//! words or numbers inside; captions and alt text live in each language's files). The folder is
//! compiled into the binary, and [`resvg`] renders it in pure Rust (no system libraries, no fonts:
//! there is no text to lay out). The bytes never change while the binary runs, so
//! [`Pictures::render_all`] renders each picture once at start-up and keeps the PNG.
//!
//! [`check`] lists every problem of the folder at once, phrased for the person drawing: a file
//! that does not parse, uses elements outside the small set every renderer agrees on, renders
//! empty or transparent, breaks Telegram's photo limits, cites a source `knowledge.toml` does not
//! define, or is missing or unlisted.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use include_dir::{Dir, include_dir};
use resvg::{tiny_skia, usvg};
use serde::Deserialize;
use strum::{EnumIter, EnumString, IntoStaticStr};

use crate::knowledge::ClosedSet;

/// `dialogues/pictures/`, compiled in so the binary runs standalone.
static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/dialogues/pictures");

/// The source ids live in `knowledge.toml`; pictures cite them like every statement does.
const KNOWLEDGE: &str = include_str!("../dialogues/knowledge.toml");

/// The list of pictures, inside `dialogues/pictures/`.
const MANIFEST: &str = "pictures.toml";

/// The folder as people editing it know it, for messages.
const FOLDER: &str = "dialogues/pictures";

/// Telegram's sendPhoto limit on the file: 10 MB.
pub const MAX_PHOTO_BYTES: usize = 10_000_000;

/// Telegram's sendPhoto limit: width and height together at most 10000 pixels.
pub const MAX_PHOTO_SIDES: u32 = 10_000;

/// Telegram's sendPhoto limit: the long side at most 20 times the short one.
pub const MAX_PHOTO_RATIO: u32 = 20;

/// The SVG elements a picture may use. Basic shapes and linear gradients render the same in
/// every viewer an editor might preview with; text would need fonts (and the pictures carry no
/// words), and filters, masks or images are where renderers disagree.
const ALLOWED_ELEMENTS: &[&str] = &[
    "svg",
    "g",
    "defs",
    "title",
    "desc",
    "path",
    "rect",
    "circle",
    "ellipse",
    "line",
    "polyline",
    "polygon",
    "linearGradient",
    "stop",
];

/// Every picture, one per file. The `snake_case` key is the table name in `pictures.toml` and
/// the key captions use in each language's files, so renaming a variant renames both.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, EnumIter, EnumString, IntoStaticStr,
)]
#[strum(serialize_all = "snake_case")]
pub enum Picture {
    /// The three dent shapes cut through the skin, left to right: icepick, boxcar, rolling.
    Dents,
    /// A raised (hypertrophic) scar within the original spot, then a keloid growing beyond it.
    Raised,
    /// A red mark fading under a pressed glass, then a brown mark staying brown.
    PressTest,
    /// A lamp lighting the face from the side; dents show as shadows (close-up of the cheek).
    SideLight,
    /// Two fingers stretching the skin: a rolling dent before, then flattened.
    Stretch,
    /// The face: temples, forehead and cheeks (craters), and the face line (adult acne).
    WhereFace,
    /// Front and back: lower jaw, upper chest, shoulders and shoulder blades (keloids).
    WhereBody,
}

impl Picture {
    /// The stable `snake_case` key of `pictures.toml` and of captions.
    pub fn key(self) -> &'static str {
        self.into()
    }

    /// All pictures, in declaration order.
    pub fn all() -> impl Iterator<Item = Self> {
        <Self as strum::IntoEnumIterator>::iter()
    }
}

impl ClosedSet for Picture {
    fn index(self) -> usize {
        self as usize
    }
    fn members() -> Vec<Self> {
        Self::all().collect()
    }
    fn key(self) -> &'static str {
        self.into()
    }
}

/// What `pictures.toml` says about one picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub picture: Picture,
    /// The SVG file, relative to `dialogues/pictures/`.
    pub file: String,
    /// The PNG's size in pixels.
    pub width: u32,
    pub height: u32,
    /// Source ids of `knowledge.toml [sources]` the drawing follows.
    pub sources: Vec<String>,
}

/// Why a picture could not be rendered. [`check`] reports the same problems, and more, with fixes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PictureError {
    #[error("{FOLDER}/{MANIFEST}: does not parse: {0}")]
    Manifest(String),
    #[error("{FOLDER}/{MANIFEST}: no [pictures.{0}] table")]
    NotListed(&'static str),
    #[error("{FOLDER}/{0}: not found")]
    MissingFile(String),
    #[error("{FOLDER}/{file}: does not parse: {problem}")]
    Svg { file: String, problem: String },
    #[error("{FOLDER}/{file}: cannot render at {width}x{height} pixels")]
    Size {
        file: String,
        width: u32,
        height: u32,
    },
    #[error("{FOLDER}/{file}: PNG encoding failed: {problem}")]
    Png { file: String, problem: String },
}

impl PictureError {
    /// The message without the file it is about, for [`check`]'s lines, which name it already.
    fn detail(&self) -> String {
        match self {
            Self::Manifest(problem) | Self::Svg { problem, .. } => {
                format!("does not parse: {problem}")
            }
            Self::NotListed(key) => format!("no [pictures.{key}] table"),
            Self::MissingFile(_) => "not found".to_owned(),
            Self::Size { width, height, .. } => {
                format!("cannot render at {width}x{height} pixels")
            }
            Self::Png { problem, .. } => format!("PNG encoding failed: {problem}"),
        }
    }
}

/// Every picture rendered once, kept for the life of the process.
#[derive(Clone)]
pub struct Pictures {
    /// One per picture in declaration order, so `Picture::index` finds it.
    rendered: Vec<(Spec, Vec<u8>)>,
}

impl Pictures {
    /// Renders every picture; at start-up, so a broken drawing stops the bot before any user
    /// waits on it, and sending never renders.
    pub fn render_all() -> Result<Self, PictureError> {
        let folder = Folder::embedded();
        let manifest = folder.manifest()?;
        let rendered = Picture::all()
            .map(|picture| {
                let spec = manifest.spec(picture)?;
                let png = folder.render(&spec)?;
                Ok((spec, png))
            })
            .collect::<Result<_, PictureError>>()?;
        Ok(Self { rendered })
    }

    /// The PNG bytes of `picture`.
    pub fn png(&self, picture: Picture) -> &[u8] {
        &self.slot(picture).1
    }

    /// What `pictures.toml` says about `picture` (size, sources).
    pub fn spec(&self, picture: Picture) -> &Spec {
        &self.slot(picture).0
    }

    fn slot(&self, picture: Picture) -> &(Spec, Vec<u8>) {
        // render_all fills one slot per picture in declaration order, so the index exists.
        &self.rendered[picture.index()]
    }
}

impl fmt::Debug for Pictures {
    // The PNG bytes would flood any log line; their sizes say enough.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.rendered
                    .iter()
                    .map(|(spec, png)| (spec.picture.key(), png.len())),
            )
            .finish()
    }
}

/// What `pictures.toml` says about `picture`.
pub fn spec(picture: Picture) -> Result<Spec, PictureError> {
    Folder::embedded().manifest()?.spec(picture)
}

/// Renders `picture` to PNG at the size `pictures.toml` gives. The same bytes every time, so a
/// cached upload (Telegram's file_id) stays valid across restarts.
pub fn render(picture: Picture) -> Result<Vec<u8>, PictureError> {
    let folder = Folder::embedded();
    let spec = folder.manifest()?.spec(picture)?;
    folder.render(&spec)
}

/// Every problem of `dialogues/pictures/` at once, each as
/// `file: item: problem. Fix: fix` (the shape of content errors); empty when all is well.
pub fn check() -> Vec<String> {
    Folder::embedded().check()
}

/// `pictures.toml` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    format_version: u32,
    pictures: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    file: String,
    width: u32,
    height: u32,
    sources: Vec<String>,
}

impl ManifestFile {
    fn spec(&self, picture: Picture) -> Result<Spec, PictureError> {
        let entry = self
            .pictures
            .get(picture.key())
            .ok_or(PictureError::NotListed(picture.key()))?;
        Ok(Spec {
            picture,
            file: entry.file.clone(),
            width: entry.width,
            height: entry.height,
            sources: entry.sources.clone(),
        })
    }
}

/// Only the `[sources]` of `knowledge.toml`; the rest is the content loader's.
#[derive(Debug, Deserialize)]
struct KnowledgeSources {
    sources: BTreeMap<String, String>,
}

/// The inputs: the files of `dialogues/pictures/` and the text of `knowledge.toml`. A value
/// rather than the statics so tests can check a broken copy.
#[derive(Debug, Clone)]
struct Folder {
    files: BTreeMap<String, Vec<u8>>,
    knowledge: String,
}

/// The problems found so far, each phrased like [`crate::content::ContentError`].
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    /// `file` is relative to `dialogues/pictures/`, or `../` for `dialogues/` itself.
    fn add(&mut self, file: &str, item: &str, problem: String, fix: &str) {
        let path = match file.strip_prefix("../") {
            Some(file) => format!("dialogues/{file}"),
            None => format!("{FOLDER}/{file}"),
        };
        self.0
            .push(format!("{path}: {item}: {problem}. Fix: {fix}"));
    }
}

impl Folder {
    fn embedded() -> Self {
        let files = EMBEDDED
            .files()
            .map(|f| {
                (
                    f.path().to_string_lossy().replace('\\', "/"),
                    f.contents().to_vec(),
                )
            })
            .collect();
        Self {
            files,
            knowledge: KNOWLEDGE.to_owned(),
        }
    }

    fn manifest(&self) -> Result<ManifestFile, PictureError> {
        let text = self
            .files
            .get(MANIFEST)
            .ok_or_else(|| PictureError::MissingFile(MANIFEST.to_owned()))?;
        let text = std::str::from_utf8(text).map_err(|e| PictureError::Manifest(e.to_string()))?;
        toml::from_str(text).map_err(|e| PictureError::Manifest(e.message().trim().to_owned()))
    }

    fn render(&self, spec: &Spec) -> Result<Vec<u8>, PictureError> {
        let svg = self
            .files
            .get(&spec.file)
            .ok_or_else(|| PictureError::MissingFile(spec.file.clone()))?;
        encode(&rasterize(svg, spec)?, &spec.file)
    }

    fn check(&self) -> Vec<String> {
        let mut problems = Problems::default();

        let sources: Option<BTreeSet<String>> =
            match toml::from_str::<KnowledgeSources>(&self.knowledge) {
                Ok(k) => Some(k.sources.into_keys().collect()),
                Err(e) => {
                    problems.add(
                        "../knowledge.toml",
                        "[sources]",
                        format!("does not parse: {}", e.message().trim()),
                        "fix dialogues/knowledge.toml first (scar-guide check says how)",
                    );
                    None
                }
            };
        let manifest = match self.manifest() {
            Ok(m) => m,
            Err(e) => {
                problems.add(
                    MANIFEST,
                    "file",
                    e.detail(),
                    "match the fields described at the top of pictures.toml",
                );
                return problems.0;
            }
        };
        if manifest.format_version != 1 {
            problems.add(
                MANIFEST,
                "format_version",
                format!("is {}, this build reads 1", manifest.format_version),
                "set format_version = 1",
            );
        }

        for key in manifest.pictures.keys() {
            if key.parse::<Picture>().is_err() {
                problems.add(
                    MANIFEST,
                    &format!("[pictures.{key}]"),
                    "not a picture the bot knows".to_owned(),
                    "add a variant to Picture in src/pictures.rs, or remove the table",
                );
            }
        }
        let mut listed: BTreeMap<&str, &str> = BTreeMap::new();
        for picture in Picture::all() {
            let item = format!("[pictures.{}]", picture.key());
            let Some(entry) = manifest.pictures.get(picture.key()) else {
                problems.add(
                    MANIFEST,
                    &item,
                    "missing".to_owned(),
                    "add a table with file, width, height and sources",
                );
                continue;
            };
            if let Some(other) = listed.insert(entry.file.as_str(), picture.key()) {
                problems.add(
                    MANIFEST,
                    &item,
                    format!("uses {}, as [pictures.{other}] does", entry.file),
                    "give each picture its own file",
                );
            }
            if entry.sources.is_empty() {
                problems.add(
                    MANIFEST,
                    &item,
                    "cites no source".to_owned(),
                    "name the knowledge.toml [sources] ids the drawing follows",
                );
            }
            if let Some(known) = &sources {
                for source in entry.sources.iter().filter(|s| !known.contains(*s)) {
                    problems.add(
                        MANIFEST,
                        &item,
                        format!("source {source:?} is not a key of knowledge.toml [sources]"),
                        "cite an id defined under [sources] in dialogues/knowledge.toml",
                    );
                }
            }
            let limits = photo_limits(entry.width, entry.height);
            let sendable = limits.is_empty();
            for problem in limits {
                problems.add(
                    MANIFEST,
                    &item,
                    problem,
                    "choose a width and height within Telegram's photo limits",
                );
            }
            let Some(svg) = self.files.get(&entry.file) else {
                problems.add(
                    &entry.file,
                    "file",
                    format!("not found (listed by {item})"),
                    "add the SVG to dialogues/pictures/ or correct the file name",
                );
                continue;
            };
            let spec = Spec {
                picture,
                file: entry.file.clone(),
                width: entry.width,
                height: entry.height,
                sources: entry.sources.clone(),
            };
            for (item, problem, fix) in check_svg(svg, &spec, sendable) {
                problems.add(&entry.file, item, problem, fix);
            }
        }

        for file in self.files.keys().filter(|f| f.ends_with(".svg")) {
            if !listed.contains_key(file.as_str()) {
                problems.add(
                    file,
                    "file",
                    "not listed in pictures.toml".to_owned(),
                    "add a [pictures.<id>] table for it, or delete the file",
                );
            }
        }
        problems.0
    }
}

/// Telegram's sendPhoto limits on the picture's size.
fn photo_limits(width: u32, height: u32) -> Vec<String> {
    let mut problems = Vec::new();
    if width == 0 || height == 0 {
        problems.push(format!("size {width}x{height} is empty"));
        return problems;
    }
    if width.saturating_add(height) > MAX_PHOTO_SIDES {
        problems.push(format!(
            "width + height is {}, over Telegram's {MAX_PHOTO_SIDES}",
            u64::from(width) + u64::from(height)
        ));
    }
    if u64::from(width.max(height)) > u64::from(width.min(height)) * u64::from(MAX_PHOTO_RATIO) {
        problems.push(format!(
            "{width}x{height} is more than {MAX_PHOTO_RATIO} times longer than wide"
        ));
    }
    problems
}

/// The problems of one SVG: `(item, problem, fix)`. Rendered only when `render` (a size Telegram
/// refuses is reported already, and could be huge).
fn check_svg(svg: &[u8], spec: &Spec, render: bool) -> Vec<(&'static str, String, &'static str)> {
    let mut problems = Vec::new();
    let Ok(text) = std::str::from_utf8(svg) else {
        problems.push(("file", "is not UTF-8".to_owned(), "save the SVG as UTF-8"));
        return problems;
    };
    match usvg::roxmltree::Document::parse(text) {
        Ok(doc) => {
            let used: BTreeSet<&str> = doc
                .descendants()
                .filter(|n| n.is_element())
                .map(|n| n.tag_name().name())
                .filter(|name| !ALLOWED_ELEMENTS.contains(name))
                .collect();
            if !used.is_empty() {
                problems.push((
                    "elements",
                    format!(
                        "uses <{}>",
                        used.into_iter().collect::<Vec<_>>().join(">, <")
                    ),
                    "draw with path, rect, circle, ellipse, line, polygon, g and linearGradient \
                     only (no text: captions carry the words)",
                ));
            }
        }
        Err(e) => {
            problems.push((
                "file",
                format!("does not parse: {e}"),
                "fix the XML (open it in a browser to see where)",
            ));
            return problems;
        }
    }
    let tree = match parse(svg, &spec.file) {
        Ok(tree) => tree,
        Err(e) => {
            problems.push(("file", e.detail(), "fix the SVG so a browser shows it"));
            return problems;
        }
    };
    let size = tree.size();
    let drawn = size.width() / size.height();
    let wanted = spec.width as f32 / spec.height as f32;
    if (drawn / wanted - 1.0).abs() > 0.005 {
        problems.push((
            "size",
            format!(
                "is drawn {}x{} but listed {}x{}, so it would be stretched",
                size.width(),
                size.height(),
                spec.width,
                spec.height
            ),
            "give pictures.toml the SVG's aspect ratio",
        ));
    }
    if !render {
        return problems;
    }
    let pixmap = match rasterize(svg, spec) {
        Ok(pixmap) => pixmap,
        Err(e) => {
            problems.push(("render", e.detail(), "check the size in pictures.toml"));
            return problems;
        }
    };
    let pixels = pixmap.pixels();
    if pixels.iter().all(|p| p.alpha() == 0) {
        problems.push(("render", "renders empty".to_owned(), "draw something"));
        return problems;
    }
    if pixels.iter().any(|p| p.alpha() < u8::MAX) {
        problems.push((
            "render",
            "has transparent pixels, which Telegram may show black or on a dark theme".to_owned(),
            "start with a full-size opaque <rect> as the background",
        ));
    }
    if pixels.iter().all(|p| *p == pixels[0]) {
        problems.push((
            "render",
            "renders one flat colour".to_owned(),
            "draw the picture over the background",
        ));
    }
    match encode(&pixmap, &spec.file) {
        Ok(png) if png.len() > MAX_PHOTO_BYTES => problems.push((
            "render",
            format!(
                "PNG is {} bytes, over Telegram's {MAX_PHOTO_BYTES}",
                png.len()
            ),
            "simplify the drawing or lower its size",
        )),
        Ok(_) => {}
        Err(e) => problems.push(("render", e.detail(), "report this as a bug")),
    }
    problems
}

fn parse(svg: &[u8], file: &str) -> Result<usvg::Tree, PictureError> {
    // Default options: no fonts are loaded (the `text` feature is off) and no files are read,
    // since the allowed elements cannot refer to any.
    usvg::Tree::from_data(svg, &usvg::Options::default()).map_err(|e| PictureError::Svg {
        file: file.to_owned(),
        problem: e.to_string(),
    })
}

/// Draws the SVG scaled to the listed size.
fn rasterize(svg: &[u8], spec: &Spec) -> Result<tiny_skia::Pixmap, PictureError> {
    let tree = parse(svg, &spec.file)?;
    let mut pixmap =
        tiny_skia::Pixmap::new(spec.width, spec.height).ok_or_else(|| PictureError::Size {
            file: spec.file.clone(),
            width: spec.width,
            height: spec.height,
        })?;
    let size = tree.size();
    let transform = tiny_skia::Transform::from_scale(
        spec.width as f32 / size.width(),
        spec.height as f32 / size.height(),
    );
    resvg::render(&tree, transform, &mut pixmap.as_mut());
    Ok(pixmap)
}

fn encode(pixmap: &tiny_skia::Pixmap, file: &str) -> Result<Vec<u8>, PictureError> {
    pixmap.encode_png().map_err(|e| PictureError::Png {
        file: file.to_owned(),
        problem: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::*;

    /// Rendering is the slow part of these tests, so they share one set.
    fn rendered() -> &'static Pictures {
        static RENDERED: OnceLock<Pictures> = OnceLock::new();
        RENDERED.get_or_init(|| Pictures::render_all().expect("every picture renders"))
    }

    /// Width and height from the IHDR chunk, which a PNG must start with.
    fn png_size(png: &[u8]) -> (u32, u32) {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
        assert_eq!(&png[12..16], b"IHDR", "IHDR comes first");
        let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().expect("4 bytes"));
        (be(16), be(20))
    }

    #[test]
    fn every_picture_renders_to_a_png_of_its_listed_size() {
        let pictures = rendered();
        for picture in Picture::all() {
            let png = pictures.png(picture);
            let spec = pictures.spec(picture);
            assert_eq!(spec.picture, picture);
            assert!(png.len() > 1000, "{picture:?} is a tiny PNG");
            assert!(
                png.len() <= MAX_PHOTO_BYTES,
                "{picture:?} is too big for Telegram"
            );
            assert_eq!(png_size(png), (spec.width, spec.height), "{picture:?}");
            assert_eq!(spec.file, format!("{}.svg", picture.key()));
        }
    }

    #[test]
    fn rendering_is_deterministic() {
        for picture in Picture::all() {
            let again = render(picture).expect("renders");
            assert!(
                again == rendered().png(picture),
                "{picture:?} rendered differently"
            );
        }
    }

    #[test]
    fn the_real_folder_has_no_problems() {
        assert_eq!(check(), Vec::<String>::new());
    }

    #[test]
    fn keys_match_the_manifest_and_round_trip() {
        for picture in Picture::all() {
            assert_eq!(picture.key().parse::<Picture>().ok(), Some(picture));
            assert_eq!(spec(picture).expect("listed").picture, picture);
        }
        assert_eq!(Picture::PressTest.key(), "press_test");
        assert_eq!(Picture::members().len(), Picture::all().count());
    }

    #[test]
    fn check_reports_a_broken_svg() {
        let mut folder = Folder::embedded();
        folder.files.insert(
            "dents.svg".into(),
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"".to_vec(),
        );
        let problems = folder.check();
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(problems[0].starts_with("dialogues/pictures/dents.svg: file: does not parse"));
        assert!(matches!(
            folder.render(&spec(Picture::Dents).expect("listed")),
            Err(PictureError::Svg { .. })
        ));
    }

    #[test]
    fn check_reports_an_unknown_source_id() {
        let mut folder = Folder::embedded();
        let manifest = String::from_utf8(folder.files[MANIFEST].clone()).expect("UTF-8");
        let broken = manifest.replacen(
            "sources = [\"article_places\"]",
            "sources = [\"article_nowhere\"]",
            1,
        );
        assert_ne!(manifest, broken, "the test edits where_face's sources");
        folder.files.insert(MANIFEST.into(), broken.into_bytes());
        let problems = folder.check();
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(
            problems[0].contains("[pictures.where_face]"),
            "{}",
            problems[0]
        );
        assert!(
            problems[0].contains("\"article_nowhere\" is not a key"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn check_reports_missing_unlisted_empty_words_and_limits() {
        let mut folder = Folder::embedded();
        folder.files.remove("stretch.svg");
        folder.files.insert("extra.svg".into(), b"<svg/>".to_vec());
        folder.files.insert(
            "raised.svg".into(),
            br#"<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="800"><text>Hi</text></svg>"#
                .to_vec(),
        );
        let manifest = String::from_utf8(folder.files[MANIFEST].clone()).expect("UTF-8");
        let manifest = manifest.replacen(
            "file = \"press_test.svg\"\nwidth = 1200\nheight = 800",
            "file = \"press_test.svg\"\nwidth = 9800\nheight = 400",
            1,
        );
        folder.files.insert(MANIFEST.into(), manifest.into_bytes());
        let problems = folder.check().join("\n");
        for expected in [
            "stretch.svg: file: not found",
            "extra.svg: file: not listed",
            "raised.svg: elements: uses <text>",
            "raised.svg: render: renders empty",
            "[pictures.press_test]: width + height is 10200",
            "[pictures.press_test]: 9800x400 is more than 20 times",
            "press_test.svg: size: is drawn 1200x800 but listed 9800x400",
        ] {
            assert!(
                problems.contains(expected),
                "{expected:?} not in\n{problems}"
            );
        }
    }

    #[test]
    fn check_reports_a_manifest_that_does_not_parse() {
        let mut folder = Folder::embedded();
        folder.files.insert(
            MANIFEST.into(),
            b"format_version = 1\n[pictures.dents]\nfile = 3\n".to_vec(),
        );
        let problems = folder.check();
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(
            problems[0].starts_with("dialogues/pictures/pictures.toml: file: does not parse: "),
            "{}",
            problems[0]
        );
        assert!(matches!(render_in(&folder), Err(PictureError::Manifest(_))));

        folder.knowledge = "[sources\n".to_owned();
        let problems = folder.check();
        assert!(
            problems[0].starts_with("dialogues/knowledge.toml: [sources]: does not parse"),
            "{problems:#?}"
        );
    }

    fn render_in(folder: &Folder) -> Result<Vec<u8>, PictureError> {
        folder.render(&folder.manifest()?.spec(Picture::Dents)?)
    }

    #[test]
    fn telegram_photo_limits() {
        assert!(photo_limits(1200, 800).is_empty());
        assert!(photo_limits(5000, 5000).is_empty());
        assert_eq!(photo_limits(5001, 5000).len(), 1);
        assert!(photo_limits(2000, 100).is_empty());
        assert_eq!(photo_limits(2001, 100).len(), 1);
        assert_eq!(photo_limits(0, 100).len(), 1);
    }

    /// Writes every PNG for a person to look at:
    /// `cargo test --lib pictures -- --ignored` (to `PICTURES_OUT`, or the temp folder's
    /// `pictures/`).
    #[test]
    #[ignore = "writes files; run it to look at the pictures"]
    fn write_pngs_for_review() {
        let dir = std::env::var_os("PICTURES_OUT")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("pictures"));
        std::fs::create_dir_all(&dir).expect("create the folder");
        for picture in Picture::all() {
            let path = dir.join(format!("{}.png", picture.key()));
            std::fs::write(&path, rendered().png(picture)).expect("write the PNG");
            println!("{}", path.display());
        }
    }
}
