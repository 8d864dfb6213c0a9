//! Stage one of loading: the `dialogues/` files exactly as written, checked only by serde.
//!
//! Every struct denies unknown fields so a typo in a key is an error naming the file, not a
//! silently missing text. Stage two ([`super::Content::from_files`]) turns these into a validated [`super::Content`].

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::knowledge::{
    AcneKind, CareHabit, DentShape, FollowUp, LumpShape, ScarKind, ScarRisk, Topic, Treatment,
};

/// `dialogues/knowledge.toml`: what is true in every language. Relations and citations.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Knowledge {
    pub format_version: u32,
    /// Source id → citation (an article section or a published reference).
    pub sources: BTreeMap<String, String>,
    pub scars: BTreeMap<ScarKind, ScarFacts>,
    pub acne: BTreeMap<AcneKind, AcneFacts>,
    pub treatments: BTreeMap<Treatment, TreatmentFacts>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScarFacts {
    /// Clinic treatments the article recommends for this kind, in the order to show them.
    pub treatments: Vec<Treatment>,
    /// Lumps: the treatments when the self-check found a keloid (a subset of `treatments`).
    #[serde(default)]
    pub keloid_treatments: Vec<Treatment>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcneFacts {
    pub risk: ScarRisk,
    /// Clinic treatments the article names for this acne kind.
    pub treatments: Vec<Treatment>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreatmentFacts {
    /// Scar kinds the article recommends it for (may be empty: acne-only treatments).
    pub for_scars: Vec<ScarKind>,
    /// Acne kinds the article names it for.
    pub for_acne: Vec<AcneKind>,
    /// A laser or a peel: wherever it is named, the darker-skin caution is shown with it.
    pub darker_skin_caution: bool,
}

/// One language: every file of `dialogues/<lang>/`.
#[derive(Debug)]
pub struct Language {
    pub sources: SourcesFile,
    pub ui: Ui,
    pub scars: BTreeMap<ScarKind, ScarText>,
    pub acne: AcneFile,
    pub treatments: BTreeMap<Treatment, TreatmentText>,
    pub care: CareFile,
    pub safety: SafetyFile,
    pub questions: QuestionsFile,
    pub pictures: PicturesFile,
}

/// `sources.toml`: how each source of `knowledge.toml` is cited in this language.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcesFile {
    pub citations: BTreeMap<String, String>,
}

/// `ui.toml`: the conversation's own words.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ui {
    /// The language's own name, shown on its /settings button.
    pub language_name: String,
    pub greeting: String,
    pub disclaimer: String,
    pub main_question: String,
    pub topics: BTreeMap<Topic, String>,
    pub buttons: Buttons,
    pub identify: IdentifyText,
    pub results: ResultsText,
    pub prevent_question: String,
    pub treatments_question: String,
    pub hints: Hints,
    pub commands: CommandTexts,
    pub card: CardHeadings,
    pub settings: SettingsText,
    pub share: ShareText,
    pub inline: InlineText,
    pub group: GroupText,
    pub profile: ProfileText,
    /// Words that work like the navigation buttons when typed.
    pub keywords: NavKeywords,
    /// The summary to bring to a dermatologist.
    pub doctor_summary: DoctorSummaryText,
}

/// The summary for the dermatologist: one forwardable message of what was found and asked.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoctorSummaryText {
    /// The button under an identification's answer (plain, ≤ 40 characters).
    pub button: String,
    pub title: String,
    /// Before the kinds when they were ticked.
    pub picked: String,
    /// Before the kinds when the mirror self-checks found them.
    pub checked: String,
    /// Heading of the follow-up answers (only those asked).
    pub answers: String,
    /// Said after an answer given as "Not sure" (counted as yes).
    pub unsure: String,
    /// Heading of what to ask the clinic.
    pub ask: String,
    /// Which of the treatments suits the marks.
    pub ask_treatments: String,
    /// Sessions and downtime.
    pub ask_sessions: String,
    /// Cost: scar treatment is usually self-pay.
    pub ask_cost: String,
    /// Heading of the cautions to tell the clinic.
    pub tell: String,
    /// The last line: general information, not a diagnosis.
    pub footer: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Buttons {
    pub back: String,
    pub start_over: String,
    pub done: String,
    pub not_sure: String,
    /// Put before a selected option in the multi-select.
    pub selected_mark: String,
    pub yes: String,
    pub no: String,
    /// Opens one part's details; `{name}` is replaced by the part's short name.
    pub details: String,
    /// Opens the rest of an answer that has one part (an acne kind).
    pub more: String,
    /// Opens the citations of the answer on screen.
    pub sources: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifyText {
    pub question: String,
    pub none_selected: String,
    /// Not sure tapped with kinds ticked: the self-checks decide instead (a pop-up).
    pub not_sure_replaces: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultsText {
    pub next_question: String,
    /// Heading of the summary of an identification ("Your marks").
    pub title: String,
    /// Heading of the cautions that apply to this person before any clinic treatment.
    pub before_treatment_title: String,
    /// Heading of the home-care line said once for all kinds found.
    pub at_home: String,
    /// Heading before the clinic options on a summary line.
    pub clinic: String,
    /// After a red-flag Yes: the heading that puts a doctor's check ahead of everything.
    pub red_flag_title: String,
    /// After a red-flag Yes: what to do first.
    pub red_flag_text: String,
    /// After a red-flag Yes, in place of the clinic options on the summary.
    pub after_check: String,
    /// Heading of the list of citations (the Sources view).
    pub sources_title: String,
    /// Under a treatment explained: who decides whether it suits the person.
    pub treatment_doctor: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hints {
    pub unknown_text: String,
    pub media: String,
    pub edited: String,
    pub expired: String,
    pub invalid: String,
    pub group: String,
    pub console_prompt: String,
    /// The conversation store (Redis) is unreachable: the user should simply try again.
    pub busy: String,
    /// One chat sends faster than it can be answered: the excess is dropped, said once.
    pub flood: String,
    /// "Not sure" to a safety question: it is counted as yes, the safe answer, and said so.
    pub unsure_counted: String,
    /// Typed "not sure" on a mirror self-check: pick the closest answer.
    pub unsure_check: String,
}

/// `/settings`: the language choice.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsText {
    pub question: String,
    /// Said in the newly chosen language once it is set.
    pub changed: String,
}

/// The buttons under every advice card.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareText {
    /// Opens Telegram's share sheet with the card's link.
    pub button: String,
    /// Picks a chat and posts the card there through inline mode.
    pub inline_button: String,
    /// Follows the card's title in the shared one-line summary.
    pub tagline: String,
}

/// Inline mode (`@bot words` in any chat).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InlineText {
    /// The deep-link button under a posted card.
    pub open_full: String,
    /// The button above the results that opens the bot itself.
    pub open_bot: String,
}

/// Answers in group chats, where the questionnaire does not run.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupText {
    /// Answer to `/start@bot` and `/help@bot` in a group, above the topic buttons.
    pub intro: String,
    /// The deep-link button into the private chat.
    pub open_private: String,
    /// Pop-up for a group member pressing buttons someone else asked for.
    pub not_yours: String,
}

/// The bot's profile, set at start-up.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileText {
    /// setMyDescription: shown in an empty chat with the bot, at most 512 characters.
    pub description: String,
    /// setMyShortDescription: shown on the profile and with shared links, at most 120.
    pub short_description: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandTexts {
    /// Command descriptions for setMyCommands (at most 256 characters each).
    pub descriptions: CommandDescriptions,
    pub help: String,
    pub privacy: String,
    pub forgotten: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandDescriptions {
    pub start: String,
    pub help: String,
    pub cancel: String,
    pub privacy: String,
    pub forget: String,
    pub settings: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardHeadings {
    pub disclaimer: String,
    pub what: String,
    pub fades: String,
    pub where_: String,
    /// Above where acne scars form, on the acne details (not "where this acne forms").
    pub where_scars: String,
    pub home: String,
    pub clinic: String,
    pub sessions: String,
    pub downtime: String,
    pub salon: String,
    pub doctor: String,
    pub sources: String,
    pub does: String,
    pub helps_with: String,
    pub acne_kinds: String,
    pub clinic_only: String,
    pub risk: String,
    pub measures: String,
    pub your_shape: String,
    /// Between items of a list on one line: ", " in English, "、" in Japanese.
    pub list_separator: String,
    /// Between a name and what follows it: ": " in English, "：" in Japanese.
    pub label_separator: String,
    /// A kind's name with the shape the self-check found: `{kind}` and `{shape}` are replaced.
    pub with_shape: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NavKeywords {
    pub back: Vec<String>,
    pub start_over: Vec<String>,
    pub done: Vec<String>,
    pub not_sure: Vec<String>,
    pub yes: Vec<String>,
    pub no: Vec<String>,
    /// Words for acne a person has now ("pimples", "spots"): typed on the main menu with a
    /// colour ("red pimples") they open that acne's prevention rather than the red marks.
    pub active: Vec<String>,
    /// Words for marks left behind ("marks", "scars"): with one of them, "red acne marks" is
    /// about the marks, not the acne now.
    pub marks: Vec<String>,
}

/// One entry of `scars.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScarText {
    /// The option in "What do your marks look like?".
    pub label: String,
    pub title: String,
    /// Typed words that select this kind ("red", "crater").
    pub keywords: Vec<String>,
    /// The name on the summary and on its details button ("Red marks").
    pub short: String,
    /// The summary's line: what it is and whether it fades, in one sentence or two.
    pub summary: String,
    /// The one thing to do at home, said once on the summary for all kinds that share it.
    pub home_first: String,
    /// When to see a doctor, one line on the summary (kinds that share it say it once).
    pub doctor_short: String,
    pub what: String,
    pub fades: String,
    #[serde(default, rename = "where")]
    pub where_: Option<String>,
    pub home: Vec<String>,
    /// Per clinic treatment of `knowledge.toml [scars.<kind>]`: what it does for this kind,
    /// with sessions and downtime as the article gives them for this kind.
    pub clinic: BTreeMap<Treatment, String>,
    /// The article sections the clinic lines come from.
    pub clinic_sources: Vec<String>,
    pub salon: String,
    pub doctor: String,
    #[serde(default)]
    pub dent_shapes: BTreeMap<DentShape, ShapeText>,
    #[serde(default)]
    pub lump_shapes: BTreeMap<LumpShape, ShapeText>,
    pub sources: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShapeText {
    pub name: String,
    /// Words a person may type to pick this shape in the mirror self-check.
    pub keywords: Vec<String>,
    pub text: String,
    pub sources: Vec<String>,
}

/// `acne.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcneFile {
    /// Where scars tend to form, shown above the acne kinds.
    pub where_scars_form: String,
    pub where_sources: Vec<String>,
    pub kinds: BTreeMap<AcneKind, AcneText>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcneText {
    pub label: String,
    /// The heading: the source's colour name with the plain name ("Red acne (inflamed spots)").
    pub title: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub risk: String,
    pub measures: Vec<String>,
    pub doctor: String,
    pub sources: Vec<String>,
}

/// One entry of `treatments.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreatmentText {
    pub name: String,
    pub keywords: Vec<String>,
    pub does: String,
    pub downtime: String,
    pub sessions: String,
    pub sources: Vec<String>,
}

/// `care.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CareFile {
    pub title: String,
    pub intro: String,
    pub doctor: String,
    pub habits: BTreeMap<CareHabit, HabitText>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HabitText {
    pub title: String,
    /// One line on the daily-care summary.
    pub short: String,
    pub text: String,
    pub sources: Vec<String>,
}

/// `safety.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetyFile {
    pub red_flags: RedFlags,
    pub pregnancy: Note,
    pub darker_skin: Note,
    pub isotretinoin: Note,
    pub active_acne: Note,
    pub several_sessions: Note,
    /// Where scar treatment happens: cosmetic dermatology, usually self-pay; what salons can do.
    pub setting: Note,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedFlags {
    pub title: String,
    /// Signs about a mark or lump (shown with scar answers).
    pub scar: Vec<String>,
    /// Signs about active acne (shown wherever inflamed acne is discussed).
    pub acne: Vec<String>,
    pub sources: Vec<String>,
}

/// A caution: a short line for summaries and the full text for details.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    pub short: String,
    pub text: String,
    pub sources: Vec<String>,
}

/// `questions.toml`: the follow-ups and the mirror self-checks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionsFile {
    pub follow_ups: BTreeMap<FollowUp, FollowUpText>,
    pub self_check: SelfCheckText,
}

/// A follow-up question and, in a few words, why it is asked.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUpText {
    pub question: String,
    pub why: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelfCheckText {
    pub intro: String,
    pub flat: FlatCheck,
    pub dents: DentsCheck,
    pub raised: RaisedCheck,
    /// The card shown when no check found a mark.
    pub no_match: String,
    pub sources: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlatCheck {
    pub question: String,
    pub fades: String,
    pub stays: String,
    pub both: String,
    pub none: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DentsCheck {
    pub question: String,
    pub icepick: String,
    pub boxcar: String,
    pub rolling: String,
    pub none: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RaisedCheck {
    pub question: String,
    pub within: String,
    pub beyond: String,
    pub none: String,
}

/// `pictures.toml`: the words of the pictures in `dialogues/pictures/` (which have none inside).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PicturesFile {
    /// Before the citations of a picture's sources, which end every caption ("Drawn from").
    pub drawn_from: String,
    /// Picture key (`src/pictures.rs`, `pictures.toml`) → its words.
    pub captions: BTreeMap<String, PictureText>,
}

/// One picture's words.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PictureText {
    /// Under the photo (Telegram HTML): what the picture is on the first line, then what each
    /// numbered drawing is.
    pub caption: String,
    /// The picture in words, for anyone who cannot see it (plain text).
    pub alt: String,
}
