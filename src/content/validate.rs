//! Stage two of loading: what serde cannot check. Every enum key present, every source cited
//! exists, every text well-formed HTML, keywords unambiguous, relations consistent, captions
//! within Telegram's limit. Start-up stops at the first problem; `scar-guide check` collects
//! them all ([`super::Content::check_files`]).

use super::*;

pub(super) fn validate_knowledge(raw: raw::Knowledge) -> Result<Knowledge, ContentError> {
    let file = "dialogues/knowledge.toml";
    if raw.format_version != 1 {
        return Err(ContentError::new(
            file,
            "format_version",
            format!("{} is not supported", raw.format_version),
            "set format_version = 1",
        ));
    }
    for (id, cite) in &raw.sources {
        if cite.trim().is_empty() {
            return Err(ContentError::new(
                file,
                format!("sources.{id}"),
                "empty citation",
                "name the article section or the reference",
            ));
        }
    }
    let scars = Complete::from_map(raw.scars, file, "scars")?;
    for kind in ScarKind::all() {
        let facts = scars.get(kind);
        let subset = facts
            .keloid_treatments
            .iter()
            .all(|t| facts.treatments.contains(t));
        if !subset || (kind != ScarKind::Lumps && !facts.keloid_treatments.is_empty()) {
            return Err(ContentError::new(
                file,
                format!("scars.{}.keloid_treatments", kind.key()),
                "not a subset of the lumps' treatments",
                "list keloid treatments under [scars.lumps] only, each also in its treatments",
            ));
        }
    }
    let acne = Complete::from_map(raw.acne, file, "acne")?;
    let treatments = Complete::from_map(raw.treatments, file, "treatments")?;
    // The treatment catalogue and the per-kind lists must say the same thing.
    for t in Treatment::all() {
        let facts = treatments.get(t);
        for s in ScarKind::all() {
            let listed = scars.get(s).treatments.contains(&t);
            if listed != facts.for_scars.contains(&s) {
                return Err(ContentError::new(
                    file,
                    format!("treatments.{}.for_scars", t.key()),
                    format!("disagrees with scars.{}.treatments", s.key()),
                    "list the pair on both sides or on neither",
                ));
            }
        }
        for a in AcneKind::all() {
            let listed = acne.get(a).treatments.contains(&t);
            if listed != facts.for_acne.contains(&a) {
                return Err(ContentError::new(
                    file,
                    format!("treatments.{}.for_acne", t.key()),
                    format!("disagrees with acne.{}.treatments", a.key()),
                    "list the pair on both sides or on neither",
                ));
            }
        }
    }
    Ok(Knowledge {
        sources: raw.sources,
        scars,
        acne,
        treatments,
    })
}

/// Collects the per-text checks of one language so each error can name its item.
struct Checker<'a> {
    code: &'a str,
    sources: &'a BTreeMap<String, String>,
    /// `Some` when checking collects every problem (`scar-guide check`); `None` when the first
    /// one stops loading (start-up).
    collected: Option<RefCell<Vec<ContentError>>>,
}

impl Checker<'_> {
    /// A problem: the error that stops loading, or one more problem collected.
    fn fail(&self, problem: ContentError) -> Result<(), ContentError> {
        match &self.collected {
            Some(all) => {
                all.borrow_mut().push(problem);
                Ok(())
            }
            None => Err(problem),
        }
    }

    fn file(&self, name: &str) -> String {
        format!("dialogues/{}/{name}", self.code)
    }

    fn text(&self, name: &str, item: &str, text: &str) -> Result<(), ContentError> {
        if text.trim().is_empty() {
            return self.fail(ContentError::new(
                &self.file(name),
                item,
                "empty text",
                "write the text or remove the item",
            ));
        }
        match html::check(text) {
            Ok(()) => Ok(()),
            Err(p) => self.fail(ContentError::new(&self.file(name), item, p, "Telegram HTML allows only <b>, <i>, <u>, <s>, <code> and the entities &amp; &lt; &gt; &quot;")),
        }
    }

    fn list(&self, name: &str, item: &str, texts: &[String]) -> Result<(), ContentError> {
        if texts.is_empty() {
            return self.fail(ContentError::new(
                &self.file(name),
                item,
                "empty list",
                "add at least one entry",
            ));
        }
        for (i, t) in texts.iter().enumerate() {
            self.text(name, &format!("{item}[{i}]"), t)?;
        }
        Ok(())
    }

    /// Texts Telegram shows without parsing (buttons, pop-ups, the profile): no tags or entities.
    fn plain(&self, name: &str, item: &str, text: &str) -> Result<(), ContentError> {
        self.text(name, item, text)?;
        if html::to_plain(text) != text {
            return self.fail(ContentError::new(
                &self.file(name),
                item,
                "this text is shown as plain text and cannot use tags or entities",
                "write plain text",
            ));
        }
        Ok(())
    }

    /// Button labels are plain text and must fit a phone.
    fn label(&self, name: &str, item: &str, text: &str) -> Result<(), ContentError> {
        self.plain(name, item, text)?;
        if text.chars().count() > MAX_LABEL_CHARS {
            return self.fail(ContentError::new(
                &self.file(name),
                item,
                format!("longer than {MAX_LABEL_CHARS} characters"),
                "shorten it to fit a phone button",
            ));
        }
        Ok(())
    }

    fn sources(&self, name: &str, item: &str, ids: &[String]) -> Result<(), ContentError> {
        if ids.is_empty() {
            return self.fail(ContentError::new(
                &self.file(name),
                format!("{item}.sources"),
                "no source",
                "cite an article section or a reference id from dialogues/knowledge.toml",
            ));
        }
        for id in ids {
            if !self.sources.contains_key(id) {
                return self.fail(ContentError::new(
                    &self.file(name),
                    format!("{item}.sources"),
                    format!("unknown source id '{id}'"),
                    "define it under [sources] in dialogues/knowledge.toml",
                ));
            }
        }
        Ok(())
    }

    /// Keywords are normalized (lower case, no punctuation) and no keyword may select two items
    /// of the same menu.
    fn keywords<'k>(
        &self,
        name: &str,
        items: impl Iterator<Item = (&'k str, &'k [String])>,
    ) -> Result<(), ContentError> {
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        for (item, words) in items {
            if words.is_empty() {
                return self.fail(ContentError::new(
                    &self.file(name),
                    format!("{item}.keywords"),
                    "no keywords",
                    "add the words a person would type for it",
                ));
            }
            for w in words {
                // Typed text is matched in normalized form, so keywords must already be in it.
                // A keyword of symbols only ("?") matches when typed exactly, so it may stay.
                let normal = text::normalize(w);
                if w.trim().is_empty() || (!normal.is_empty() && *w != normal) {
                    return self.fail(ContentError::new(
                        &self.file(name),
                        format!("{item}.keywords"),
                        format!("'{w}' is empty, not lower-case, or has punctuation"),
                        "write keywords in lower case, words separated by single spaces",
                    ));
                }
                if let Some(other) = seen.insert(w.clone(), item) {
                    return self.fail(ContentError::new(
                        &self.file(name),
                        format!("{item}.keywords"),
                        format!("'{w}' also selects {other}"),
                        "keep each keyword on one item",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Longest button label accepted; longer ones are cut off on narrow phones.
pub const MAX_LABEL_CHARS: usize = 40;

pub(super) fn validate_language(
    code: &str,
    raw: raw::Language,
    knowledge: &Knowledge,
    collect: bool,
) -> Result<(Pack, Vec<ContentError>), ContentError> {
    let c = Checker {
        code,
        sources: &knowledge.sources,
        collected: collect.then(RefCell::default),
    };
    let citations = validate_citations(&c, raw.sources.citations)?;
    let ui = raw.ui;
    let f = "ui.toml";
    for (item, text) in [
        ("greeting", &ui.greeting),
        ("disclaimer", &ui.disclaimer),
        ("main_question", &ui.main_question),
        ("identify.question", &ui.identify.question),
        ("identify.none_selected", &ui.identify.none_selected),
        ("results.next_question", &ui.results.next_question),
        ("results.title", &ui.results.title),
        (
            "results.before_treatment_title",
            &ui.results.before_treatment_title,
        ),
        ("results.at_home", &ui.results.at_home),
        ("results.clinic", &ui.results.clinic),
        ("results.red_flag_title", &ui.results.red_flag_title),
        ("results.red_flag_text", &ui.results.red_flag_text),
        ("results.after_check", &ui.results.after_check),
        ("results.sources_title", &ui.results.sources_title),
        ("results.treatment_doctor", &ui.results.treatment_doctor),
        ("prevent_question", &ui.prevent_question),
        ("treatments_question", &ui.treatments_question),
        ("hints.unknown_text", &ui.hints.unknown_text),
        ("hints.media", &ui.hints.media),
        ("hints.edited", &ui.hints.edited),
        ("hints.expired", &ui.hints.expired),
        ("hints.invalid", &ui.hints.invalid),
        ("hints.group", &ui.hints.group),
        ("hints.console_prompt", &ui.hints.console_prompt),
        ("hints.busy", &ui.hints.busy),
        ("hints.flood", &ui.hints.flood),
        ("hints.unsure_counted", &ui.hints.unsure_counted),
        ("hints.unsure_check", &ui.hints.unsure_check),
        ("identify.not_sure_replaces", &ui.identify.not_sure_replaces),
        ("commands.help", &ui.commands.help),
        ("commands.privacy", &ui.commands.privacy),
        ("commands.forgotten", &ui.commands.forgotten),
        ("settings.question", &ui.settings.question),
        ("settings.changed", &ui.settings.changed),
        ("group.intro", &ui.group.intro),
        ("doctor_summary.title", &ui.doctor_summary.title),
        ("doctor_summary.picked", &ui.doctor_summary.picked),
        ("doctor_summary.checked", &ui.doctor_summary.checked),
        ("doctor_summary.answers", &ui.doctor_summary.answers),
        ("doctor_summary.unsure", &ui.doctor_summary.unsure),
        ("doctor_summary.ask", &ui.doctor_summary.ask),
        (
            "doctor_summary.ask_treatments",
            &ui.doctor_summary.ask_treatments,
        ),
        (
            "doctor_summary.ask_sessions",
            &ui.doctor_summary.ask_sessions,
        ),
        ("doctor_summary.ask_cost", &ui.doctor_summary.ask_cost),
        ("doctor_summary.tell", &ui.doctor_summary.tell),
        ("doctor_summary.footer", &ui.doctor_summary.footer),
    ] {
        c.text(f, item, text)?;
    }
    c.label(f, "doctor_summary.button", &ui.doctor_summary.button)?;
    // Plain texts with Telegram's own limits: the profile, pop-ups and the share summary.
    for (item, text, max) in [
        ("profile.description", &ui.profile.description, 512),
        (
            "profile.short_description",
            &ui.profile.short_description,
            120,
        ),
        ("group.not_yours", &ui.group.not_yours, 200),
        ("share.tagline", &ui.share.tagline, 120),
    ] {
        c.plain(f, item, text)?;
        if text.chars().count() > max {
            c.fail(ContentError::new(
                &c.file(f),
                item,
                format!("longer than {max} characters"),
                "shorten it: Telegram refuses longer texts there",
            ))?;
        }
    }
    for (item, text) in [
        ("share.button", &ui.share.button),
        ("share.inline_button", &ui.share.inline_button),
        ("inline.open_full", &ui.inline.open_full),
        ("inline.open_bot", &ui.inline.open_bot),
        ("group.open_private", &ui.group.open_private),
    ] {
        c.label(f, item, text)?;
    }
    // Callback answers (where hints also appear) are limited to 200 characters.
    for (item, text) in [
        ("hints.expired", &ui.hints.expired),
        ("hints.invalid", &ui.hints.invalid),
        ("hints.unsure_counted", &ui.hints.unsure_counted),
        ("identify.none_selected", &ui.identify.none_selected),
        ("identify.not_sure_replaces", &ui.identify.not_sure_replaces),
    ] {
        if html::telegram_len(text) > 200 {
            c.fail(ContentError::new(
                &c.file(f),
                item,
                "longer than 200 characters",
                "shorten it: it is also shown as a pop-up notice",
            ))?;
        }
    }
    let d = &ui.commands.descriptions;
    for (item, text) in [
        ("start", &d.start),
        ("help", &d.help),
        ("cancel", &d.cancel),
        ("privacy", &d.privacy),
        ("forget", &d.forget),
        ("settings", &d.settings),
    ] {
        c.label(f, &format!("commands.descriptions.{item}"), text)?;
    }
    let b = &ui.buttons;
    for (item, text) in [
        ("back", &b.back),
        ("start_over", &b.start_over),
        ("done", &b.done),
        ("not_sure", &b.not_sure),
        ("yes", &b.yes),
        ("no", &b.no),
        ("details", &b.details),
        ("more", &b.more),
        ("sources", &b.sources),
    ] {
        c.label(f, &format!("buttons.{item}"), text)?;
    }
    if !b.details.contains("{name}") {
        c.fail(ContentError::new(
            &c.file(f),
            "buttons.details",
            "has no {name}",
            "put {name} where the kind's short name goes",
        ))?;
    }
    let h = &ui.card;
    for (item, text) in [
        ("disclaimer", &h.disclaimer),
        ("what", &h.what),
        ("fades", &h.fades),
        ("where_", &h.where_),
        ("where_scars", &h.where_scars),
        ("home", &h.home),
        ("clinic", &h.clinic),
        ("sessions", &h.sessions),
        ("downtime", &h.downtime),
        ("salon", &h.salon),
        ("doctor", &h.doctor),
        ("sources", &h.sources),
        ("does", &h.does),
        ("helps_with", &h.helps_with),
        ("acne_kinds", &h.acne_kinds),
        ("clinic_only", &h.clinic_only),
        ("risk", &h.risk),
        ("measures", &h.measures),
        ("your_shape", &h.your_shape),
        ("list_separator", &h.list_separator),
        ("label_separator", &h.label_separator),
        ("with_shape", &h.with_shape),
    ] {
        c.text(f, &format!("card.{item}"), text)?;
    }
    let k = &ui.keywords;
    c.keywords(
        f,
        [
            ("keywords.back", k.back.as_slice()),
            ("keywords.start_over", &k.start_over),
            ("keywords.done", &k.done),
            ("keywords.not_sure", &k.not_sure),
        ]
        .into_iter(),
    )?;
    c.keywords(
        f,
        [("keywords.yes", k.yes.as_slice()), ("keywords.no", &k.no)].into_iter(),
    )?;
    c.keywords(
        f,
        [
            ("keywords.active", k.active.as_slice()),
            ("keywords.marks", &k.marks),
        ]
        .into_iter(),
    )?;
    if !(h.with_shape.contains("{kind}") && h.with_shape.contains("{shape}")) {
        c.fail(ContentError::new(
            &c.file(f),
            "card.with_shape",
            "needs both {kind} and {shape}",
            "write where the kind's name and the shape's name go",
        ))?;
    }
    let topics = Complete::from_map(ui.topics.clone(), &c.file(f), "topics")?;
    for t in Topic::all() {
        c.label(f, &format!("topics.{}", t.key()), topics.get(t))?;
    }

    let f = "scars.toml";
    let scars = Complete::from_map(raw.scars, &c.file(f), "scars")?;
    for kind in ScarKind::all() {
        let s = scars.get(kind);
        let k = kind.key();
        c.label(f, &format!("{k}.label"), &s.label)?;
        c.plain(f, &format!("{k}.short"), &s.short)?;
        for (item, text) in [
            ("title", &s.title),
            ("summary", &s.summary),
            ("home_first", &s.home_first),
            ("doctor_short", &s.doctor_short),
            ("what", &s.what),
            ("fades", &s.fades),
            ("salon", &s.salon),
            ("doctor", &s.doctor),
        ] {
            c.text(f, &format!("{k}.{item}"), text)?;
        }
        if let Some(w) = &s.where_ {
            c.text(f, &format!("{k}.where"), w)?;
        }
        c.list(f, &format!("{k}.home"), &s.home)?;
        c.sources(f, k, &s.sources)?;
        c.sources(f, &format!("{k}.clinic"), &s.clinic_sources)?;
        // One clinic line per treatment the knowledge lists for this kind, and no other.
        let listed = &knowledge.scars.get(kind).treatments;
        if listed.len() != s.clinic.len() || listed.iter().any(|t| !s.clinic.contains_key(t)) {
            c.fail(ContentError::new(
                &c.file(f),
                format!("{k}.clinic"),
                "does not match the treatments of knowledge.toml [scars.{k}]",
                "write one line for each treatment listed there, and none for others",
            ))?;
        }
        for (t, line) in &s.clinic {
            c.text(f, &format!("{k}.clinic.{}", t.key()), line)?;
        }
        let (needs_dents, needs_lumps) = (kind == ScarKind::Dents, kind == ScarKind::Lumps);
        if needs_dents == s.dent_shapes.is_empty() || needs_lumps == s.lump_shapes.is_empty() {
            c.fail(ContentError::new(
                &c.file(f),
                k,
                "shapes in the wrong place",
                "dent_shapes belong to dents only, lump_shapes to lumps only",
            ))?;
        }
        let dent_keys: Vec<&str> = s.dent_shapes.keys().map(|x| x.key()).collect();
        if needs_dents && dent_keys.len() != DentShape::all().count() {
            c.fail(ContentError::new(
                &c.file(f),
                "dents.dent_shapes",
                "not every shape is described",
                "describe icepick, boxcar and rolling",
            ))?;
        }
        if needs_lumps && s.lump_shapes.len() != LumpShape::all().count() {
            c.fail(ContentError::new(
                &c.file(f),
                "lumps.lump_shapes",
                "not every shape is described",
                "describe raised and keloid",
            ))?;
        }
        for (shape, st) in s
            .dent_shapes
            .iter()
            .map(|(k, v)| (k.key(), v))
            .chain(s.lump_shapes.iter().map(|(k, v)| (k.key(), v)))
        {
            let item = format!("{k}.{shape}");
            c.text(f, &format!("{item}.name"), &st.name)?;
            c.text(f, &format!("{item}.text"), &st.text)?;
            c.sources(f, &item, &st.sources)?;
        }
    }
    c.keywords(
        f,
        ScarKind::all().map(|k| (k.key(), scars.get(k).keywords.as_slice())),
    )?;
    // Each self-check question is its own menu: shape keywords must tell its shapes apart.
    for kind in [ScarKind::Dents, ScarKind::Lumps] {
        let s = scars.get(kind);
        c.keywords(
            f,
            s.dent_shapes
                .iter()
                .map(|(k, v)| (k.key(), v.keywords.as_slice()))
                .chain(
                    s.lump_shapes
                        .iter()
                        .map(|(k, v)| (k.key(), v.keywords.as_slice())),
                ),
        )?;
    }

    let f = "acne.toml";
    c.text(f, "where_scars_form", &raw.acne.where_scars_form)?;
    c.sources(f, "where", &raw.acne.where_sources)?;
    let acne = Complete::from_map(raw.acne.kinds, &c.file(f), "kinds")?;
    for kind in AcneKind::all() {
        let a = acne.get(kind);
        let k = format!("kinds.{}", kind.key());
        c.label(f, &format!("{k}.label"), &a.label)?;
        for (item, text) in [
            ("title", &a.title),
            ("description", &a.description),
            ("risk", &a.risk),
            ("doctor", &a.doctor),
        ] {
            c.text(f, &format!("{k}.{item}"), text)?;
        }
        c.list(f, &format!("{k}.measures"), &a.measures)?;
        c.sources(f, &k, &a.sources)?;
    }
    c.keywords(
        f,
        AcneKind::all().map(|k| (k.key(), acne.get(k).keywords.as_slice())),
    )?;

    let f = "treatments.toml";
    let treatments = Complete::from_map(raw.treatments, &c.file(f), "treatments")?;
    for t in Treatment::all() {
        let tt = treatments.get(t);
        let k = t.key();
        c.label(f, &format!("{k}.name"), &tt.name)?;
        for (item, text) in [
            ("does", &tt.does),
            ("downtime", &tt.downtime),
            ("sessions", &tt.sessions),
        ] {
            c.text(f, &format!("{k}.{item}"), text)?;
        }
        c.sources(f, k, &tt.sources)?;
    }
    c.keywords(
        f,
        Treatment::all().map(|k| (k.key(), treatments.get(k).keywords.as_slice())),
    )?;

    let f = "care.toml";
    let care = raw.care;
    for (item, text) in [
        ("title", &care.title),
        ("intro", &care.intro),
        ("doctor", &care.doctor),
    ] {
        c.text(f, item, text)?;
    }
    let habits = Complete::from_map(care.habits, &c.file(f), "habits")?;
    for h in CareHabit::all() {
        let ht = habits.get(h);
        let k = format!("habits.{}", h.key());
        c.label(f, &format!("{k}.title"), &ht.title)?;
        c.text(f, &format!("{k}.short"), &ht.short)?;
        c.text(f, &format!("{k}.text"), &ht.text)?;
        c.sources(f, &k, &ht.sources)?;
    }

    let f = "safety.toml";
    let s = &raw.safety;
    c.text(f, "red_flags.title", &s.red_flags.title)?;
    c.list(f, "red_flags.scar", &s.red_flags.scar)?;
    c.list(f, "red_flags.acne", &s.red_flags.acne)?;
    c.sources(f, "red_flags", &s.red_flags.sources)?;
    for (item, note) in [
        ("pregnancy", &s.pregnancy),
        ("darker_skin", &s.darker_skin),
        ("isotretinoin", &s.isotretinoin),
        ("active_acne", &s.active_acne),
        ("several_sessions", &s.several_sessions),
        ("setting", &s.setting),
    ] {
        c.text(f, &format!("{item}.short"), &note.short)?;
        c.text(f, &format!("{item}.text"), &note.text)?;
        c.sources(f, item, &note.sources)?;
    }

    let f = "questions.toml";
    let q = raw.questions;
    let follow_ups = Complete::from_map(q.follow_ups, &c.file(f), "follow_ups")?;
    for fu in FollowUp::all() {
        let t = follow_ups.get(fu);
        c.text(f, &format!("follow_ups.{}.question", fu.key()), &t.question)?;
        c.text(f, &format!("follow_ups.{}.why", fu.key()), &t.why)?;
    }
    let sc = &q.self_check;
    c.text(f, "self_check.intro", &sc.intro)?;
    c.text(f, "self_check.no_match", &sc.no_match)?;
    c.sources(f, "self_check", &sc.sources)?;
    for (item, text) in [
        ("flat.question", &sc.flat.question),
        ("dents.question", &sc.dents.question),
        ("raised.question", &sc.raised.question),
    ] {
        c.text(f, &format!("self_check.{item}"), text)?;
    }
    for (item, text) in [
        ("flat.fades", &sc.flat.fades),
        ("flat.stays", &sc.flat.stays),
        ("flat.both", &sc.flat.both),
        ("flat.none", &sc.flat.none),
        ("dents.icepick", &sc.dents.icepick),
        ("dents.boxcar", &sc.dents.boxcar),
        ("dents.rolling", &sc.dents.rolling),
        ("dents.none", &sc.dents.none),
        ("raised.within", &sc.raised.within),
        ("raised.beyond", &sc.raised.beyond),
        ("raised.none", &sc.raised.none),
    ] {
        c.label(f, &format!("self_check.{item}"), text)?;
    }

    let separator = &ui.card.label_separator;
    let pictures = validate_pictures(&c, raw.pictures, &citations, separator)?;

    let problems = c.collected.map(RefCell::into_inner).unwrap_or_default();
    let pack = Pack {
        code: code.to_owned(),
        ui,
        topics,
        scars,
        where_scars_form: raw.acne.where_scars_form,
        where_sources: raw.acne.where_sources,
        acne,
        treatments,
        care_title: care.title,
        care_intro: care.intro,
        care_doctor: care.doctor,
        habits,
        safety: raw.safety,
        follow_ups,
        self_check: q.self_check,
        pictures,
        citations,
    };
    Ok((pack, problems))
}

/// Telegram's limit on a photo's caption, in characters after entity parsing.
pub const MAX_CAPTION: usize = 1024;

/// One picture's words in one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PictureWords {
    /// Sent under the photo (Telegram HTML, within [`MAX_CAPTION`]): the caption as written,
    /// then "Drawn from: " and the citations of the sources `dialogues/pictures/pictures.toml`
    /// gives the picture, so a picture names its sources like every statement does.
    pub caption: String,
    /// The picture in words (plain text).
    pub alt: String,
}

/// `pictures.toml`: every picture has a caption and alt text, every caption with its sources
/// line fits Telegram's caption limit, and no caption is for a picture the bot does not have.
fn validate_pictures(
    c: &Checker<'_>,
    raw: raw::PicturesFile,
    citations: &BTreeMap<String, String>,
    separator: &str,
) -> Result<Complete<Picture, PictureWords>, ContentError> {
    let f = "pictures.toml";
    c.plain(f, "drawn_from", &raw.drawn_from)?;
    let mut words = BTreeMap::new();
    for (key, text) in raw.captions {
        let item = format!("captions.{key}");
        let Ok(picture) = key.parse::<Picture>() else {
            c.fail(ContentError::new(
                &c.file(f),
                &item,
                "not a picture of dialogues/pictures/pictures.toml",
                "use the id of a [pictures.<id>] table there, or remove the table",
            ))?;
            continue;
        };
        c.text(f, &format!("{item}.caption"), &text.caption)?;
        c.plain(f, &format!("{item}.alt"), &text.alt)?;
        // The sources are the drawing's, listed once for every language beside the SVG.
        let sources = crate::pictures::spec(picture)
            .map(|spec| spec.sources)
            .unwrap_or_default();
        let cited: Vec<&str> = sources
            .iter()
            .map(|id| citations.get(id).map_or(id.as_str(), String::as_str))
            .collect();
        let caption = format!(
            "{}\n<i>{}{}{}</i>",
            text.caption.trim_end(),
            raw.drawn_from,
            separator,
            cited.join("; ")
        );
        let len = html::telegram_len(&caption);
        if len > MAX_CAPTION {
            c.fail(ContentError::new(
                &c.file(f),
                format!("{item}.caption"),
                format!("{len} characters with the sources line, over {MAX_CAPTION}"),
                "shorten the caption",
            ))?;
        }
        words.insert(
            picture,
            PictureWords {
                caption,
                alt: text.alt,
            },
        );
    }
    Complete::from_map(words, &c.file(f), "captions")
}

/// Every source of `knowledge.toml` must be cited in the language, and nothing else.
fn validate_citations(
    c: &Checker<'_>,
    citations: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ContentError> {
    let f = "sources.toml";
    if let Some(id) = c.sources.keys().find(|id| !citations.contains_key(*id)) {
        c.fail(ContentError::new(
            &c.file(f),
            format!("citations.{id}"),
            "missing",
            "cite every source id of dialogues/knowledge.toml in this language",
        ))?;
    }
    for (id, text) in &citations {
        if !c.sources.contains_key(id) {
            c.fail(ContentError::new(
                &c.file(f),
                format!("citations.{id}"),
                "not a source id of dialogues/knowledge.toml",
                "remove it, or add the source to knowledge.toml first",
            ))?;
        }
        c.text(f, &format!("citations.{id}"), text)?;
    }
    Ok(citations)
}
