//! Every path of the pure conversation core, walked in every language with the library's own
//! [`Walk`] (breadth-first from `/start` and from every deep link, fewest taps first).
//!
//! Each test checks one property over every reached state, or every tap between them: the
//! limits of issue 10 (asserted both through `check_limits` and independently here), the
//! cautions, navigation, and typed input. Expected texts come from the same `Content` the bot
//! uses, never from copied sentences.

use std::sync::OnceLock;

use scar_guide::content::{Pack, html};
use scar_guide::conversation::walk::{
    MAX_FIRST_SCREEN, MAX_MESSAGE, MAX_TAPS, Walk, actions, check_limits, fewest_taps,
};
use scar_guide::conversation::{
    Action, Conversation, Detail, Input, LanguageCode, Marks, Outcome, State, View, back,
    card_links, view_of,
};
use scar_guide::knowledge::{
    AcneKind, CareHabit, DentShape, FollowUp, Link, LumpShape, RaisedAnswer, ScarKind, ScarRisk,
    Topic, Treatment,
};
use scar_guide::telegram::callback;

use crate::util::{LANGUAGES, conversation_in, pack_in, static_content};

/// The walk of one language, computed once.
fn walk_in(code: &str) -> &'static Walk {
    static WALKS: OnceLock<Vec<(&'static str, Walk)>> = OnceLock::new();
    let walks = WALKS.get_or_init(|| {
        LANGUAGES
            .iter()
            .map(|code| (*code, Walk::new(&conversation_in(code))))
            .collect()
    });
    &walks
        .iter()
        .find(|(c, _)| *c == code)
        .unwrap_or_else(|| panic!("no walk in {code}"))
        .1
}

/// Every language with its conversation, its pack and its walk.
fn every_language() -> impl Iterator<Item = (&'static str, Conversation<'static>, &'static Walk)> {
    LANGUAGES
        .iter()
        .map(|code| (*code, conversation_in(code), walk_in(code)))
}

/// The screen a state shows, as `/help` re-asks it.
fn shown(conv: &Conversation<'_>, state: &State) -> Outcome {
    conv.step(state, Input::Help)
}

fn screen_text(conv: &Conversation<'_>, state: &State) -> String {
    shown(conv, state)
        .screen
        .expect("every reached state has a screen")
        .text
}

/// The follow-up currently asked on a screen.
fn question_of(outcome: &Outcome) -> Option<FollowUp> {
    actions(outcome).into_iter().find_map(|a| match a {
        Action::Answer(q, _) => Some(q),
        _ => None,
    })
}

/// Taps `path` from `/start`, answering each follow-up with `answer(q)` when the path runs
/// out; returns the final outcome and the notices seen on the way.
fn walk_path(
    conv: &Conversation<'_>,
    path: &[Action],
    answer: impl Fn(FollowUp) -> Action,
) -> (Outcome, Vec<Option<String>>) {
    let mut outcome = conv.step(&State::Idle, Input::Start);
    let mut notices = Vec::new();
    let mut path = path.to_vec();
    path.reverse();
    loop {
        let action = match path.pop() {
            Some(a) => a,
            None => match question_of(&outcome) {
                Some(q) => answer(q),
                None => return (outcome, notices),
            },
        };
        assert!(
            actions(&outcome).contains(&action),
            "{}: {action:?} is not on the screen of {:?}",
            conv.pack.code,
            outcome.state
        );
        outcome = conv.step(&outcome.state, Input::Tap(action));
        notices.push(outcome.notice.clone());
    }
}

fn summary_text(outcome: &Outcome) -> &str {
    assert_eq!(
        view_of(&outcome.state),
        Some(View::Summary),
        "{:?}",
        outcome.state
    );
    &outcome.screen.as_ref().expect("an answer's screen").text
}

fn identify(kinds: &[ScarKind]) -> Vec<Action> {
    let mut path = vec![Action::Topic(Topic::Identify)];
    path.extend(kinds.iter().map(|k| Action::Toggle(*k)));
    path.push(Action::Done);
    path
}

fn no(q: FollowUp) -> Action {
    Action::Answer(q, false)
}

/// Where a hint after unexpected input leaves a state: a detail or the sources give way to the
/// answer's summary, which carries the hint; anything else stays.
fn reminded(state: &State) -> State {
    match view_of(state) {
        Some(view) if view != View::Summary => back(state),
        _ => state.clone(),
    }
}

fn answer_of(answers: &[(FollowUp, bool)], q: FollowUp) -> Option<bool> {
    answers.iter().find(|(a, _)| *a == q).map(|(_, yes)| *yes)
}

// --- Both languages, and the limits ------------------------------------------------------------

#[test]
fn english_and_japanese_both_exist() {
    let codes: Vec<&str> = static_content().packs().map(|p| p.code.as_str()).collect();
    for code in LANGUAGES {
        assert!(codes.contains(&code), "no {code} pack in {codes:?}");
        assert_eq!(pack_in(code).code, code);
    }
}

#[test]
fn check_limits_finds_nothing_in_the_real_content() {
    let problems: Vec<String> = check_limits(static_content())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_first_screen_and_every_message_keeps_the_limits_in_both_languages() {
    for (code, conv, walk) in every_language() {
        let (mut longest_first, mut longest) = (0, 0);
        let mut summaries = 0;
        for (state, _) in &walk.states {
            let text = screen_text(&conv, state);
            let len = html::telegram_len(&text);
            assert_eq!(html::check(&text), Ok(()), "{code} {state:?}");
            assert!(len <= MAX_MESSAGE, "{code} {state:?}: {len} characters");
            longest = longest.max(len);
            if view_of(state) == Some(View::Summary) {
                summaries += 1;
                assert!(
                    len <= MAX_FIRST_SCREEN,
                    "{code} {state:?}: a first screen of {len} characters"
                );
                longest_first = longest_first.max(len);
            }
            // After typed nonsense the hint is glued above the screen: still one message.
            let hinted = conv.step(state, Input::Text("qwertyuiop".into()));
            let message = format!(
                "{}\n\n{}",
                hinted.notice.unwrap_or_default(),
                hinted.screen.expect("a screen").text
            );
            let len = html::telegram_len(&message);
            assert!(
                len <= MAX_MESSAGE,
                "{code} {state:?}: a hinted message of {len}"
            );
        }
        assert!(summaries > 0, "{code}: no answer reached");
        crate::util::note(&format!(
            "{code}: {} states, longest first screen {longest_first}, longest message {longest}",
            walk.states.len()
        ));
    }
}

#[test]
fn every_cards_answer_is_within_five_taps_of_start_in_both_languages() {
    for (code, conv, walk) in every_language() {
        for link in card_links() {
            let taps = fewest_taps(walk, link);
            assert!(
                taps.is_some_and(|t| t <= MAX_TAPS),
                "{code} {link:?}: {taps:?} taps"
            );
            // Independently: a state reached by taps shows this answer's first screen.
            let first = conv.compact_card(link);
            let by_taps = walk
                .states
                .iter()
                .filter(|(state, _)| match (link, state) {
                    (
                        Link::Scar(kind),
                        State::Results {
                            marks,
                            view: View::Summary,
                            ..
                        },
                    ) => marks.kinds() == [kind],
                    _ => screen_text(&conv, state) == first,
                })
                .filter_map(|(_, taps)| *taps)
                .min();
            assert!(
                by_taps.is_some_and(|t| t <= MAX_TAPS),
                "{code} {link:?}: its first screen needs {by_taps:?} taps"
            );
        }
    }
}

#[test]
fn the_walk_reaches_every_state_and_every_part_of_every_answer() {
    for (code, _, walk) in every_language() {
        let states: Vec<&State> = walk.states.iter().map(|(s, _)| s).collect();
        assert!(!states.contains(&&State::Idle), "{code}: taps never forget");
        let reaches = |what: &str, f: &dyn Fn(&State) -> bool| {
            assert!(
                states.iter().any(|s| f(s)),
                "{code}: nothing reaches {what}"
            );
        };
        reaches("Identify", &|s| matches!(s, State::Identify { .. }));
        reaches("SelfCheck", &|s| matches!(s, State::SelfCheck { .. }));
        reaches("FollowUps", &|s| matches!(s, State::FollowUps { .. }));
        reaches("Prevent", &|s| *s == State::Prevent);
        reaches("Treatments", &|s| *s == State::Treatments);
        for kind in ScarKind::all() {
            reaches(&format!("{kind:?} details"), &|s| {
                view_of(s) == Some(View::Details(Detail::Scar(kind)))
            });
        }
        for habit in CareHabit::all() {
            let view = View::Details(Detail::Habit(habit));
            reaches(&format!("{habit:?}"), &|s| *s == State::Care { view });
        }
        for acne in AcneKind::all() {
            for view in [View::Summary, View::Details(Detail::More), View::Sources] {
                reaches(&format!("{acne:?} {view:?}"), &|s| {
                    *s == State::PreventAdvice { acne, view }
                });
            }
        }
        for treatment in Treatment::all() {
            for view in [View::Summary, View::Sources] {
                reaches(&format!("{treatment:?} {view:?}"), &|s| {
                    *s == State::TreatmentInfo { treatment, view }
                });
            }
        }
        reaches("the sources of a result", &|s| {
            matches!(
                s,
                State::Results {
                    view: View::Sources,
                    ..
                }
            )
        });
    }
}

// --- What every answer says ------------------------------------------------------------------------

#[test]
fn every_summary_carries_the_disclaimer_and_says_when_to_see_a_dermatologist() {
    for (code, conv, walk) in every_language() {
        let pack = conv.pack;
        for (state, _) in &walk.states {
            if view_of(state) != Some(View::Summary) {
                continue;
            }
            let text = screen_text(&conv, state);
            assert!(
                text.contains(&pack.ui.card.disclaimer),
                "{code} {state:?}: no disclaimer"
            );
            let no_kind_found =
                matches!(state, State::Results { marks, .. } if marks.kinds().is_empty());
            if no_kind_found {
                // Nothing found: the signs to get checked for stand in for the doctor's line.
                assert!(
                    text.contains(&pack.safety.red_flags.title),
                    "{code} {state:?}"
                );
                continue;
            }
            let doctor = text
                .rsplit_once("\n\n🩺 ")
                .map(|(_, line)| line.trim())
                .unwrap_or_default();
            assert!(!doctor.is_empty(), "{code} {state:?}: no 🩺 line in {text}");
        }
    }
}

#[test]
fn a_scar_summary_says_each_kinds_doctor_line_and_its_details_the_full_one() {
    for (code, conv, walk) in every_language() {
        for (state, _) in &walk.states {
            let State::Results {
                marks,
                answers,
                view,
            } = state
            else {
                continue;
            };
            let text = screen_text(&conv, state);
            match view {
                View::Summary => {
                    // After a red-flag Yes the last word is the doctor's check instead.
                    let red_flag = answers.contains(&(FollowUp::RedFlag, true));
                    for kind in marks.kinds() {
                        let s = conv.pack.scars.get(kind);
                        let doctor = if red_flag {
                            &conv.pack.ui.results.after_check
                        } else {
                            &s.doctor_short
                        };
                        assert!(text.contains(doctor.as_str()), "{code} {state:?}");
                        assert!(text.contains(&s.summary), "{code} {state:?}");
                    }
                }
                View::Details(Detail::Scar(kind)) => {
                    assert_eq!(text, conv.scar_details(*kind, marks, answers), "{code}");
                    assert!(text.contains(&conv.pack.scars.get(*kind).doctor), "{code}");
                }
                _ => {}
            }
        }
    }
}

#[test]
fn the_screens_are_the_render_functions_of_their_answers() {
    for (code, conv, walk) in every_language() {
        for (state, _) in &walk.states {
            let expected = match state {
                State::Results {
                    marks,
                    answers,
                    view: View::Summary,
                } => conv.results_summary(marks, answers),
                State::PreventAdvice {
                    acne,
                    view: View::Summary,
                } => conv.acne_summary(*acne),
                State::PreventAdvice {
                    acne,
                    view: View::Details(Detail::More),
                } => conv.acne_details(*acne),
                State::Care {
                    view: View::Summary,
                } => conv.care_summary(),
                State::Care {
                    view: View::Details(Detail::Habit(h)),
                } => conv.habit_details(*h),
                State::TreatmentInfo {
                    treatment,
                    view: View::Summary,
                } => conv.treatment_summary(*treatment),
                _ => continue,
            };
            assert_eq!(screen_text(&conv, state), expected, "{code} {state:?}");
        }
    }
}

#[test]
fn the_self_check_path_names_every_dent_and_lump_shape() {
    for (code, conv, walk) in every_language() {
        let pack = conv.pack;
        let checked: Vec<String> = walk
            .states
            .iter()
            .filter(|(s, _)| {
                matches!(
                    s,
                    State::Results {
                        marks: Marks::Checked(_),
                        view: View::Summary,
                        ..
                    }
                )
            })
            .map(|(s, _)| screen_text(&conv, s))
            .collect();
        assert!(!checked.is_empty(), "{code}: the self-check never answers");
        let names = DentShape::all()
            .map(|d| pack.dent_shape(d).expect("every dent shape").name.clone())
            .chain(
                LumpShape::all()
                    .map(|l| pack.lump_shape(l).expect("every lump shape").name.clone()),
            );
        for name in names {
            assert!(
                checked.iter().any(|c| c.contains(&name)),
                "{code}: no self-check summary names {name:?}"
            );
        }
    }
}

// --- The held-out walks: the right advice ----------------------------------------------------------

#[test]
fn red_marks_lead_to_the_dye_laser() {
    for (code, conv, _) in every_language() {
        let (outcome, _) = walk_path(&conv, &identify(&[ScarKind::Redness]), no);
        let dye = &conv.pack.treatments.get(Treatment::DyeLaser).name;
        assert!(summary_text(&outcome).contains(dye.as_str()), "{code}");
    }
}

#[test]
fn dents_lead_to_the_fractional_laser() {
    for (code, conv, _) in every_language() {
        let (outcome, _) = walk_path(&conv, &identify(&[ScarKind::Dents]), no);
        let laser = &conv.pack.treatments.get(Treatment::FractionalLaser).name;
        assert!(summary_text(&outcome).contains(laser.as_str()), "{code}");
    }
}

#[test]
fn a_lump_beyond_the_spot_leads_to_the_acne_injection() {
    for (code, conv, _) in every_language() {
        let path = [
            Action::Topic(Topic::Identify),
            Action::NotSure,
            Action::Flat(scar_guide::knowledge::FlatAnswer::NoFlat),
            Action::Dents(scar_guide::knowledge::DentsAnswer::NoDents),
            Action::Raised(RaisedAnswer::Beyond),
        ];
        let (outcome, _) = walk_path(&conv, &path, no);
        let injection = &conv.pack.treatments.get(Treatment::AcneInjection).name;
        let keloid = &conv
            .pack
            .lump_shape(LumpShape::Keloid)
            .expect("keloid")
            .name;
        let summary = summary_text(&outcome);
        assert!(summary.contains(injection.as_str()), "{code}: {summary}");
        assert!(summary.contains(keloid.as_str()), "{code}: {summary}");
        let details = conv.step(
            &outcome.state,
            Input::Tap(Action::Show(View::Details(Detail::Scar(ScarKind::Lumps)))),
        );
        let details = details.screen.expect("the details").text;
        assert!(details.contains(injection.as_str()), "{code}: {details}");
    }
}

#[test]
fn red_acne_prevention_starts_with_calming_the_inflammation() {
    for (code, conv, _) in every_language() {
        let path = [Action::Topic(Topic::Prevent), Action::Acne(AcneKind::Red)];
        let (outcome, _) = walk_path(&conv, &path, no);
        let calm = &conv.pack.acne.get(AcneKind::Red).measures[0];
        assert!(summary_text(&outcome).contains(calm.as_str()), "{code}");
    }
}

#[test]
fn daily_care_names_sun_protection() {
    for (code, conv, _) in every_language() {
        let (outcome, _) = walk_path(&conv, &[Action::Topic(Topic::Care)], no);
        let uv = &conv.pack.habits.get(CareHabit::UvProtection).title;
        assert!(summary_text(&outcome).contains(uv.as_str()), "{code}");
    }
}

// --- Safety -------------------------------------------------------------------------------------

#[test]
fn a_red_flag_yes_puts_the_doctor_first_and_holds_back_the_clinic_options() {
    for (code, conv, _) in every_language() {
        let r = &conv.pack.ui.results;
        let clinic_line = format!("\n{}{}", r.clinic, conv.pack.ui.card.label_separator);
        let answer = |q| Action::Answer(q, q == FollowUp::RedFlag);
        let (flagged, _) = walk_path(&conv, &identify(&[ScarKind::Lumps]), answer);
        let (plain, _) = walk_path(&conv, &identify(&[ScarKind::Lumps]), no);
        let flagged = summary_text(&flagged);
        let first_kind = flagged
            .find(&conv.pack.scars.get(ScarKind::Lumps).summary)
            .expect("the kind is still named");
        let warning = flagged.find(&r.red_flag_title).expect("the red-flag title");
        assert!(
            warning < first_kind,
            "{code}: the check comes first: {flagged}"
        );
        assert!(!flagged.contains(&clinic_line), "{code}: {flagged}");
        assert!(flagged.contains(&r.after_check), "{code}");
        let plain = summary_text(&plain);
        assert!(!plain.contains(&r.red_flag_title), "{code}: {plain}");
        assert!(plain.contains(&clinic_line), "{code}: {plain}");
    }
}

/// The kinds that ask `q`, and the caution its yes shows on the summary.
fn asked_for(pack: &Pack, q: FollowUp) -> (Vec<ScarKind>, String) {
    match q {
        FollowUp::Pregnancy => (
            vec![ScarKind::Pigmentation],
            pack.safety.pregnancy.short.clone(),
        ),
        FollowUp::RedFlag => (
            vec![ScarKind::Lumps],
            pack.ui.results.red_flag_title.clone(),
        ),
        FollowUp::ActiveAcne => (vec![ScarKind::Dents], pack.safety.active_acne.short.clone()),
    }
}

#[test]
fn not_sure_on_a_safety_question_counts_as_yes_and_says_so() {
    for (code, conv, _) in every_language() {
        let hint = &conv.pack.ui.hints.unsure_counted;
        for q in [FollowUp::Pregnancy, FollowUp::RedFlag] {
            let (kinds, caution) = asked_for(conv.pack, q);
            let answer = |asked| {
                if asked == q {
                    Action::Unsure(q)
                } else {
                    no(asked)
                }
            };
            let (outcome, notices) = walk_path(&conv, &identify(&kinds), answer);
            let State::Results { answers, .. } = &outcome.state else {
                panic!("{code} {q:?}: {:?}", outcome.state)
            };
            assert_eq!(answer_of(answers, q), Some(true), "{code} {q:?}");
            assert!(
                notices.contains(&Some(hint.clone())),
                "{code} {q:?}: {notices:?}"
            );
            assert!(summary_text(&outcome).contains(&caution), "{code} {q:?}");
        }
    }
}

#[test]
fn typed_not_sure_on_a_safety_question_is_never_a_no() {
    let typed = [
        ("en", vec!["not sure", "no idea", "I have no idea"]),
        ("ja", vec!["わからない"]),
    ];
    for (code, words) in typed {
        let conv = conversation_in(code);
        let hint = &conv.pack.ui.hints.unsure_counted;
        for q in [FollowUp::Pregnancy, FollowUp::RedFlag] {
            let (kinds, caution) = asked_for(conv.pack, q);
            for word in &words {
                // Up to the question: the others answered No.
                let mut outcome = walk_path(&conv, &identify(&kinds), no).0;
                while let State::Results { .. } = outcome.state {
                    outcome = conv.step(&outcome.state, Input::Tap(Action::Back));
                    if question_of(&outcome) == Some(q) {
                        break;
                    }
                }
                assert_eq!(
                    question_of(&outcome),
                    Some(q),
                    "{code}: {:?}",
                    outcome.state
                );
                let typed = conv.step(&outcome.state, Input::Text((*word).to_owned()));
                assert_eq!(
                    typed.notice.as_ref(),
                    Some(hint),
                    "{code} {word:?} on {q:?}"
                );
                let tapped = conv.step(&outcome.state, Input::Tap(Action::Unsure(q)));
                assert_eq!(typed.state, tapped.state, "{code} {word:?} on {q:?}");
                let mut end = typed;
                while let Some(next) = question_of(&end) {
                    end = conv.step(&end.state, Input::Tap(no(next)));
                }
                let State::Results { answers, .. } = &end.state else {
                    panic!("{code}: {:?}", end.state)
                };
                assert_eq!(answer_of(answers, q), Some(true), "{code} {word:?}");
                assert!(summary_text(&end).contains(&caution), "{code} {word:?}");
            }
        }
    }
}

#[test]
fn the_cautions_appear_exactly_where_they_apply() {
    for (code, conv, walk) in every_language() {
        let safety = &conv.pack.safety;
        let r = &conv.pack.ui.results;
        for (state, _) in &walk.states {
            let State::Results {
                marks,
                answers,
                view: View::Summary,
            } = state
            else {
                continue;
            };
            if marks.kinds().is_empty() {
                continue;
            }
            let text = screen_text(&conv, state);
            let red_flag = answer_of(answers, FollowUp::RedFlag) == Some(true);
            assert_eq!(
                text.contains(&r.red_flag_title),
                red_flag,
                "{code} {state:?}"
            );
            let pregnancy = answer_of(answers, FollowUp::Pregnancy) != Some(false);
            assert_eq!(
                text.contains(&safety.pregnancy.short),
                pregnancy,
                "{code} {state:?}"
            );
            let active = answer_of(answers, FollowUp::ActiveAcne) != Some(false);
            assert_eq!(
                text.contains(&safety.active_acne.short),
                active,
                "{code} {state:?}"
            );
            assert!(
                text.contains(&safety.isotretinoin.short),
                "{code} {state:?}"
            );
        }
        // The unsure notice follows a Not sure tap, and nothing else.
        for (state, _) in &walk.states {
            for action in actions(&shown(&conv, state)) {
                let notice = conv.step(state, Input::Tap(action)).notice;
                let unsure = notice.as_ref() == Some(&conv.pack.ui.hints.unsure_counted);
                assert_eq!(
                    unsure,
                    matches!(action, Action::Unsure(_)),
                    "{code} {action:?} on {state:?}"
                );
            }
        }
    }
}

#[test]
fn inflamed_acne_summaries_show_the_red_flags_and_mild_ones_do_not() {
    for (code, conv, _) in every_language() {
        let rf = &conv.pack.safety.red_flags;
        assert!(!rf.acne.is_empty(), "{code}: no acne red flags");
        for acne in AcneKind::all() {
            let text = conv.acne_summary(acne);
            let inflamed = static_content().knowledge.acne.get(acne).risk != ScarRisk::Low;
            if matches!(acne, AcneKind::Red | AcneKind::Yellow | AcneKind::Purple) {
                assert!(inflamed, "{acne:?} is inflamed acne");
            }
            for flag in &rf.acne {
                assert_eq!(
                    text.contains(flag.as_str()),
                    inflamed,
                    "{code} {acne:?}: {text}"
                );
            }
            let opened = conv.open(Link::Acne(acne)).screen.expect("a screen").text;
            assert_eq!(opened, text, "{code} {acne:?}");
        }
    }
}

#[test]
fn every_screen_naming_a_laser_or_peel_shows_the_darker_skin_caution() {
    for (code, conv, walk) in every_language() {
        let safety = &conv.pack.safety;
        let cautioned: Vec<&str> = Treatment::all()
            .filter(|t| {
                static_content()
                    .knowledge
                    .treatments
                    .get(*t)
                    .darker_skin_caution
            })
            .map(|t| conv.pack.treatments.get(t).name.as_str())
            .collect();
        assert!(!cautioned.is_empty(), "{code}: no laser or peel");
        let mut checked = 0;
        let mut missing = Vec::new();
        for (state, _) in &walk.states {
            if matches!(view_of(state), None | Some(View::Sources)) {
                continue;
            }
            let text = screen_text(&conv, state);
            if !cautioned.iter().any(|name| text.contains(name)) {
                continue;
            }
            checked += 1;
            let caution = match view_of(state) {
                Some(View::Summary) => &safety.darker_skin.short,
                _ => &safety.darker_skin.text,
            };
            if !text.contains(caution.as_str()) && !text.contains(&safety.darker_skin.short) {
                missing.push(format!("{code} {state:?}"));
            }
        }
        assert!(checked > 0, "{code}: no screen names a laser or peel");
        assert!(
            missing.is_empty(),
            "screens naming a laser or peel without the darker-skin caution:\n{}",
            missing.join("\n")
        );
    }
}

#[test]
fn a_deep_linked_scar_answer_shows_every_caution_its_questions_could_add() {
    for (code, conv, _) in every_language() {
        let safety = &conv.pack.safety;
        for kind in ScarKind::all() {
            let text = conv.compact_card(Link::Scar(kind));
            assert!(text.contains(&safety.pregnancy.short), "{code} {kind:?}");
            assert!(text.contains(&safety.active_acne.short), "{code} {kind:?}");
            if kind == ScarKind::Lumps {
                assert!(text.contains(&safety.red_flags.title), "{code}: {text}");
            }
        }
    }
}

#[test]
fn a_compact_card_is_the_first_screen_of_its_links_answer() {
    for (code, conv, _) in every_language() {
        for link in card_links() {
            let opened = conv.step(&State::Idle, Input::Open(link));
            let screen = opened.screen.expect("a link opens a screen");
            assert_eq!(conv.compact_card(link), screen.text, "{code} {link:?}");
            assert_eq!(
                screen.share,
                Some(link),
                "{code} {link:?}: shared as itself"
            );
        }
    }
}

// --- Navigation -----------------------------------------------------------------------------------

#[test]
fn back_from_a_part_returns_to_the_summary_and_from_a_summary_to_the_question_before() {
    for (code, conv, walk) in every_language() {
        for (state, _) in &walk.states {
            let buttons = actions(&shown(&conv, state));
            if buttons.contains(&Action::Back) {
                let outcome = conv.step(state, Input::Tap(Action::Back));
                assert_eq!(outcome.state, back(state), "{code} Back on {state:?}");
                assert_eq!(outcome.notice, None, "{code} Back on {state:?}");
                match view_of(state) {
                    Some(View::Summary) => assert_eq!(
                        view_of(&outcome.state),
                        None,
                        "{code}: Back from a summary leaves the answer: {state:?}"
                    ),
                    Some(part) => {
                        assert_eq!(view_of(&outcome.state), Some(View::Summary), "{code}");
                        // The summary's button opens the same part again.
                        let again = conv.step(&outcome.state, Input::Tap(Action::Show(part)));
                        assert_eq!(again.state, *state, "{code} {part:?}");
                    }
                    None => {}
                }
            }
            if buttons.contains(&Action::StartOver) {
                let outcome = conv.step(state, Input::Tap(Action::StartOver));
                assert_eq!(outcome.state, State::MainMenu, "{code} {state:?}");
            }
        }
    }
}

#[test]
fn back_from_an_answer_reached_by_questions_undoes_the_last_answer() {
    for (code, conv, _) in every_language() {
        let (outcome, _) = walk_path(&conv, &identify(&[ScarKind::Lumps]), no);
        let State::Results { marks, answers, .. } = &outcome.state else {
            panic!("{code}: {:?}", outcome.state)
        };
        let before = conv.step(&outcome.state, Input::Tap(Action::Back)).state;
        assert_eq!(
            before,
            State::FollowUps {
                marks: marks.clone(),
                answers: answers[..answers.len() - 1].to_vec()
            },
            "{code}"
        );
        let info = State::TreatmentInfo {
            treatment: Treatment::ChemicalPeel,
            view: View::Summary,
        };
        assert_eq!(
            conv.step(&info, Input::Tap(Action::Back)).state,
            State::Treatments
        );
        let treatments = conv.step(
            &State::Treatments,
            Input::Tap(Action::Treatment(Treatment::ChemicalPeel)),
        );
        assert_eq!(
            treatments.state, info,
            "{code}: a treatment opens its answer"
        );
    }
}

#[test]
fn back_never_leaves_the_reached_states() {
    for (code, _, walk) in every_language() {
        let reached: Vec<&State> = walk.states.iter().map(|(s, _)| s).collect();
        for (state, _) in &walk.states {
            let previous = back(state);
            assert!(
                reached.contains(&&previous),
                "{code}: back({state:?}) = {previous:?}"
            );
        }
    }
}

#[test]
fn no_screen_is_a_dead_end() {
    for (code, conv, walk) in every_language() {
        for (state, _) in &walk.states {
            let acts = actions(&shown(&conv, state));
            assert!(!acts.is_empty(), "{code} {state:?}: no buttons");
            if *state != State::MainMenu {
                assert!(acts.contains(&Action::Back), "{code} {state:?}: no Back");
                assert!(acts.contains(&Action::StartOver), "{code} {state:?}");
            }
        }
    }
}

/// Off-screen taps other than the navigation pair, which `apply` accepts on every state.
#[test]
fn off_screen_taps_keep_the_state_and_say_the_menu_expired() {
    for (code, conv, walk) in every_language() {
        let expired = &conv.pack.ui.hints.expired;
        for (state, _) in &walk.states {
            let on_screen = actions(&shown(&conv, state));
            for action in callback::all_actions() {
                if on_screen.contains(&action) || matches!(action, Action::Back | Action::StartOver)
                {
                    continue;
                }
                let outcome = conv.step(state, Input::Tap(action));
                assert_eq!(outcome.state, *state, "{code} {action:?} on {state:?}");
                assert_eq!(outcome.notice.as_ref(), Some(expired), "{code} {action:?}");
            }
        }
        for action in [Action::Back, Action::StartOver] {
            let outcome = conv.step(&State::MainMenu, Input::Tap(action));
            assert_eq!(outcome.state, State::MainMenu, "{code} {action:?}");
            assert_eq!(outcome.notice.as_ref(), Some(expired), "{code} {action:?}");
        }
        for action in callback::all_actions() {
            let outcome = conv.step(&State::Idle, Input::Tap(action));
            assert_eq!(
                outcome.state,
                State::MainMenu,
                "{code} {action:?} when idle"
            );
            assert_eq!(outcome.notice.as_ref(), Some(expired), "{code} {action:?}");
        }
    }
}

#[test]
fn every_button_has_valid_round_tripping_callback_data() {
    for (code, conv, walk) in every_language() {
        for (state, _) in &walk.states {
            for button in shown(&conv, state)
                .screen
                .iter()
                .flat_map(|s| s.flat_buttons())
            {
                let data = callback::encode(button.action);
                assert!(data.len() <= callback::MAX_BYTES, "{code} {data:?}");
                assert_eq!(
                    callback::parse(&data),
                    Some(button.action),
                    "{code} {data:?}"
                );
                assert!(
                    !button.label.trim().is_empty(),
                    "{code} {state:?}: empty label"
                );
            }
        }
    }
}

// --- Typed input --------------------------------------------------------------------------------

#[test]
fn typing_a_button_number_equals_tapping_it() {
    for (code, conv, walk) in every_language() {
        for (state, _) in &walk.states {
            let on_screen = actions(&shown(&conv, state));
            for (i, action) in on_screen.iter().enumerate() {
                let tapped = conv.step(state, Input::Tap(*action));
                let typed = conv.step(state, Input::Text((i + 1).to_string()));
                assert_eq!(typed.state, tapped.state, "{code} {} on {state:?}", i + 1);
                assert_eq!(typed.screen, tapped.screen, "{code} {} on {state:?}", i + 1);
            }
            let beyond = conv.step(state, Input::Text((on_screen.len() + 1).to_string()));
            assert_eq!(
                beyond.state,
                reminded(state),
                "{code}: a number past the last button"
            );
        }
    }
}

#[test]
fn typing_a_button_label_equals_tapping_it() {
    for (code, conv, walk) in every_language() {
        let mark = &conv.pack.ui.buttons.selected_mark;
        let mut mismatches = Vec::new();
        for (state, _) in &walk.states {
            for button in shown(&conv, state)
                .screen
                .iter()
                .flat_map(|s| s.flat_buttons())
            {
                let label = button
                    .label
                    .strip_prefix(mark.as_str())
                    .unwrap_or(&button.label);
                let tapped = conv.step(state, Input::Tap(button.action));
                let typed = conv.step(state, Input::Text(label.to_owned()));
                if typed.state != tapped.state || typed.screen != tapped.screen {
                    mismatches.push(format!(
                        "{code}: typing {label:?} on {state:?}: {:?}, a tap gives {:?}",
                        typed.state, tapped.state
                    ));
                }
            }
        }
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    }
}

#[test]
fn nonsense_text_keeps_the_answer_with_the_unknown_text_hint() {
    for (code, conv, walk) in every_language() {
        let hint = &conv.pack.ui.hints.unknown_text;
        for (state, _) in &walk.states {
            let outcome = conv.step(state, Input::Text("qwertyuiop".into()));
            assert_eq!(outcome.state, reminded(state), "{code}");
            assert_eq!(outcome.notice.as_ref(), Some(hint), "{code} {state:?}");
        }
    }
}

#[test]
fn scar_words_on_the_main_menu_start_identification() {
    let conv = conversation_in("en");
    for (typed, kind) in [
        ("craters", ScarKind::Dents),
        ("keloid", ScarKind::Lumps),
        ("red marks", ScarKind::Redness),
        ("brown spots", ScarKind::Pigmentation),
    ] {
        let outcome = conv.step(&State::MainMenu, Input::Text(typed.into()));
        assert_eq!(
            outcome.state,
            State::Identify { picked: vec![kind] },
            "{typed:?}"
        );
    }
}

#[test]
fn acne_i_have_now_on_the_main_menu_opens_its_prevention() {
    for (code, conv, _) in every_language() {
        let active = &conv.pack.ui.keywords.active;
        assert!(!active.is_empty(), "{code}: no acne-now words");
        let red = &conv.pack.acne.get(AcneKind::Red).keywords;
        let typed = format!("{} {}", red[0], active[0]);
        let outcome = conv.step(&State::MainMenu, Input::Text(typed.clone()));
        assert_eq!(
            outcome.state,
            State::PreventAdvice {
                acne: AcneKind::Red,
                view: View::Summary
            },
            "{code} {typed:?}"
        );
        assert_eq!(outcome.screen, conv.open(Link::Acne(AcneKind::Red)).screen);
    }
    let outcome = conversation_in("en").step(&State::MainMenu, Input::Text("red pimples".into()));
    assert!(
        matches!(
            outcome.state,
            State::PreventAdvice {
                acne: AcneKind::Red,
                ..
            }
        ),
        "{:?}",
        outcome.state
    );
}

#[test]
fn an_acne_word_in_prevent_and_a_treatment_name_in_treatments_open_their_answers() {
    for (code, conv, _) in every_language() {
        let purple = &conv.pack.acne.get(AcneKind::Purple).label;
        let outcome = conv.step(&State::Prevent, Input::Text(purple.clone()));
        assert_eq!(
            outcome.screen,
            conv.open(Link::Acne(AcneKind::Purple)).screen,
            "{code}"
        );
        let laser = &conv.pack.treatments.get(Treatment::FractionalLaser).name;
        let outcome = conv.step(&State::Treatments, Input::Text(laser.clone()));
        assert_eq!(
            outcome.state,
            State::TreatmentInfo {
                treatment: Treatment::FractionalLaser,
                view: View::Summary
            },
            "{code}"
        );
        assert_eq!(
            outcome.screen.expect("a screen").text,
            conv.treatment_summary(Treatment::FractionalLaser)
        );
    }
}

// --- Commands -----------------------------------------------------------------------------------

#[test]
fn forget_leaves_no_screen_and_an_idle_state() {
    for (code, conv, walk) in every_language() {
        for (state, _) in &walk.states {
            let outcome = conv.step(state, Input::Forget);
            assert_eq!(outcome.state, State::Idle, "{code} {state:?}");
            assert_eq!(outcome.screen, None, "{code} {state:?}");
            assert_eq!(
                outcome.notice.as_ref(),
                Some(&conv.pack.ui.commands.forgotten)
            );
        }
    }
}

#[test]
fn notices_keep_the_state_and_re_ask_the_question() {
    for (code, conv, walk) in every_language() {
        let ui = &conv.pack.ui;
        // `true`: a hint glued above the screen, so a detail gives way to its summary.
        let inputs = [
            (Input::Media, &ui.hints.media, true),
            (Input::Edited, &ui.hints.edited, true),
            (Input::UnknownCommand, &ui.hints.unknown_text, true),
            (Input::Forged, &ui.hints.invalid, false),
            (Input::Stale, &ui.hints.expired, false),
            (Input::Help, &ui.commands.help, false),
            (Input::Privacy, &ui.commands.privacy, false),
        ];
        let states = std::iter::once(State::Idle).chain(walk.states.iter().map(|(s, _)| s.clone()));
        for state in states {
            let here = match &state {
                State::Idle => State::MainMenu,
                other => other.clone(),
            };
            for (input, notice, hint) in &inputs {
                let here = if *hint { reminded(&here) } else { here.clone() };
                let question = shown(&conv, &here).screen;
                let outcome = conv.step(&state, input.clone());
                assert_eq!(outcome.state, here, "{code} {input:?} on {state:?}");
                assert_eq!(outcome.notice.as_ref(), Some(*notice), "{code} {input:?}");
                assert_eq!(outcome.screen, question, "{code} {input:?} on {state:?}");
            }
            let start = conv.step(&state, Input::Start);
            assert_eq!(start.state, State::MainMenu);
            let greeting = start.notice.unwrap_or_default();
            assert!(greeting.contains(&ui.greeting) && greeting.contains(&ui.disclaimer));
        }
    }
}

#[test]
fn the_main_menu_offers_every_topic() {
    for (code, _, walk) in every_language() {
        let topics: Vec<Action> = Topic::all().map(Action::Topic).collect();
        assert_eq!(actions(&walk.start), topics, "{code}");
    }
}

#[test]
fn settings_returns_to_the_question_it_was_opened_from() {
    let conv = conversation_in("en");
    let here = State::Identify {
        picked: vec![ScarKind::Dents],
    };
    let in_settings = State::Settings {
        then: Box::new(here.clone()),
    };
    assert_eq!(conv.step(&here, Input::Settings).state, in_settings);
    assert_eq!(conv.step(&in_settings, Input::Settings).state, in_settings);
    assert_eq!(
        conv.step(&in_settings, Input::Tap(Action::Back)).state,
        here
    );
    for code in LANGUAGES {
        let pack = pack_in(code);
        let lang = LanguageCode::parse(code).expect("a valid code");
        let chosen = conv.step(&in_settings, Input::Tap(Action::Language(lang)));
        assert_eq!(chosen.state, here, "{code}");
        assert_eq!(chosen.language, Some(lang));
        assert_eq!(chosen.notice.as_ref(), Some(&pack.ui.settings.changed));
        let there = conversation_in(code).step(&here, Input::Help);
        assert_eq!(
            chosen.screen, there.screen,
            "{code}: the question in the new language"
        );
    }
}
