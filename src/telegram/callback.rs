//! Callback data: one typed, versioned value with one encoder and one parser.
//!
//! Format: `1:<tag>[:<key>[:<key>]]`, keys being the `snake_case` names from
//! [`crate::knowledge`]; a group button is `1:g:…`, bound to its asker by a keyed tag
//! ([`GroupTap`], [`ButtonKey`]). Anyone can read and forge callback data, so the parser accepts only
//! exact, known values; everything else is `None` and the handler answers it as invalid. The
//! version prefix lets a future format coexist with menus still open in people's chats.

pub use self::group::{ButtonKey, GroupData, GroupTap, encode_group, parse_group};

use crate::conversation::{Action, Detail, LanguageCode, View};
use crate::knowledge::{
    AcneKind, CareHabit, DentsAnswer, FlatAnswer, FollowUp, RaisedAnswer, ScarKind, Topic,
    Treatment,
};

mod group;

/// Bumped when the format changes incompatibly.
pub const VERSION: &str = "1";

/// Telegram's limit for callback data, in bytes.
pub const MAX_BYTES: usize = 64;

/// Encodes an action as callback data.
pub fn encode(action: Action) -> String {
    let body = match action {
        Action::Topic(t) => format!("topic:{}", t.key()),
        Action::Toggle(k) => format!("pick:{}", k.key()),
        Action::Done => "done".to_owned(),
        Action::NotSure => "unsure".to_owned(),
        Action::Flat(a) => format!("flat:{}", a.key()),
        Action::Dents(a) => format!("dents:{}", a.key()),
        Action::Raised(a) => format!("raised:{}", a.key()),
        Action::Answer(q, yes) => format!("ans:{}:{}", q.key(), if yes { "y" } else { "n" }),
        Action::Unsure(q) => format!("ans:{}:u", q.key()),
        Action::Show(View::Summary) => "show:sum".to_owned(),
        Action::Show(View::Sources) => "show:src".to_owned(),
        Action::Show(View::Details(Detail::Scar(k))) => format!("show:scar:{}", k.key()),
        Action::Show(View::Details(Detail::Habit(h))) => format!("show:habit:{}", h.key()),
        Action::Show(View::Details(Detail::More)) => "show:more".to_owned(),
        Action::ForDoctor => "doc".to_owned(),
        Action::Acne(a) => format!("acne:{}", a.key()),
        Action::Treatment(t) => format!("tr:{}", t.key()),
        Action::Language(code) => format!("lang:{}", code.as_str()),
        Action::Back => "back".to_owned(),
        Action::StartOver => "over".to_owned(),
    };
    format!("{VERSION}:{body}")
}

/// Parses callback data; `None` for anything [`encode`] would not produce.
pub fn parse(data: &str) -> Option<Action> {
    let body = data.strip_prefix(VERSION)?.strip_prefix(':')?;
    let mut parts = body.split(':');
    let tag = parts.next()?;
    let first = parts.next();
    let second = parts.next();
    if parts.next().is_some() {
        return None;
    }
    let action = match (tag, first, second) {
        ("topic", Some(k), None) => Action::Topic(k.parse::<Topic>().ok()?),
        ("pick", Some(k), None) => Action::Toggle(k.parse::<ScarKind>().ok()?),
        ("done", None, None) => Action::Done,
        ("unsure", None, None) => Action::NotSure,
        ("flat", Some(k), None) => Action::Flat(k.parse::<FlatAnswer>().ok()?),
        ("dents", Some(k), None) => Action::Dents(k.parse::<DentsAnswer>().ok()?),
        ("raised", Some(k), None) => Action::Raised(k.parse::<RaisedAnswer>().ok()?),
        ("ans", Some(k), Some("y")) => Action::Answer(k.parse::<FollowUp>().ok()?, true),
        ("ans", Some(k), Some("n")) => Action::Answer(k.parse::<FollowUp>().ok()?, false),
        ("ans", Some(k), Some("u")) => Action::Unsure(k.parse::<FollowUp>().ok()?),
        ("show", Some("sum"), None) => Action::Show(View::Summary),
        ("doc", None, None) => Action::ForDoctor,
        ("show", Some("src"), None) => Action::Show(View::Sources),
        ("show", Some("more"), None) => Action::Show(View::Details(Detail::More)),
        ("show", Some("scar"), Some(k)) => {
            Action::Show(View::Details(Detail::Scar(k.parse::<ScarKind>().ok()?)))
        }
        ("show", Some("habit"), Some(h)) => {
            Action::Show(View::Details(Detail::Habit(h.parse::<CareHabit>().ok()?)))
        }
        ("acne", Some(k), None) => Action::Acne(k.parse::<AcneKind>().ok()?),
        ("tr", Some(k), None) => Action::Treatment(k.parse::<Treatment>().ok()?),
        ("lang", Some(code), None) => Action::Language(LanguageCode::parse(code)?),
        ("back", None, None) => Action::Back,
        ("over", None, None) => Action::StartOver,
        _ => return None,
    };
    // Reject non-canonical spellings (strum parsing is exact, but be explicit about the rule).
    (encode(action) == data).then_some(action)
}

/// Every action there is, for exhaustive tests of the codec. Languages are those of the
/// content, so they are listed by the caller.
pub fn all_actions() -> Vec<Action> {
    let mut all = vec![
        Action::Done,
        Action::NotSure,
        Action::Back,
        Action::StartOver,
        Action::ForDoctor,
    ];
    all.extend(Topic::all().map(Action::Topic));
    all.extend(ScarKind::all().map(Action::Toggle));
    all.extend(FlatAnswer::all().map(Action::Flat));
    all.extend(DentsAnswer::all().map(Action::Dents));
    all.extend(RaisedAnswer::all().map(Action::Raised));
    for q in FollowUp::all() {
        all.extend([
            Action::Answer(q, true),
            Action::Answer(q, false),
            Action::Unsure(q),
        ]);
    }
    all.extend([
        Action::Show(View::Summary),
        Action::Show(View::Sources),
        Action::Show(View::Details(Detail::More)),
    ]);
    all.extend(ScarKind::all().map(|k| Action::Show(View::Details(Detail::Scar(k)))));
    all.extend(CareHabit::all().map(|h| Action::Show(View::Details(Detail::Habit(h)))));
    all.extend(AcneKind::all().map(Action::Acne));
    all.extend(Treatment::all().map(Action::Treatment));
    all
}

#[cfg(test)]
mod tests {
    use teloxide::types::UserId;

    use super::*;
    use crate::knowledge::Link;

    #[test]
    fn every_action_round_trips_within_64_bytes() {
        for action in all_actions() {
            let data = encode(action);
            assert!(data.len() <= MAX_BYTES, "{data}");
            assert_eq!(parse(&data), Some(action), "{data}");
        }
    }

    #[test]
    fn languages_and_group_taps_round_trip_within_64_bytes() {
        for code in ["en", "ja", "pt-br"] {
            let action = Action::Language(LanguageCode::parse(code).expect("valid code"));
            assert_eq!(parse(&encode(action)), Some(action));
        }
        let key = ButtonKey::from_token("123:secret");
        for link in Link::all() {
            let tap = GroupTap {
                asker: UserId(u64::MAX),
                link,
            };
            let data = encode_group(tap, &key);
            assert!(data.len() <= MAX_BYTES, "{data}");
            let parsed = parse_group(&data).expect("a group button");
            assert_eq!(parsed.tap, tap);
            assert_eq!(parsed.verified(&key), Some(tap));
            assert_eq!(parse(&data), None, "group taps are not conversation taps");
        }
    }

    #[test]
    fn a_group_button_is_bound_to_its_asker_and_its_bot() {
        let key = ButtonKey::from_token("123:secret");
        let ada = GroupTap {
            asker: UserId(1_001),
            link: Link::Scar(ScarKind::Redness),
        };
        let data = encode_group(ada, &key);
        // Another member's id in the asker's data, the tag kept.
        let forged = data.replacen("1001", "2002", 1);
        let parsed = parse_group(&forged).expect("well formed");
        assert_eq!(parsed.tap.asker, UserId(2_002));
        assert_eq!(parsed.verified(&key), None, "{forged}");
        // Another topic under the same tag.
        let other_topic = data.replacen("redness", "dents", 1);
        assert_eq!(
            parse_group(&other_topic).and_then(|d| d.verified(&key)),
            None
        );
        // Any changed digit of the tag.
        let tag_at = data.rfind(':').expect("a tag") + 1;
        for i in tag_at..data.len() {
            let mut bytes = data.clone().into_bytes();
            bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
            let tampered = String::from_utf8(bytes).expect("ascii");
            let verified = parse_group(&tampered).and_then(|d| d.verified(&key));
            assert_eq!(verified, None, "{tampered}");
        }
        // The same button of another bot (another token).
        let other_bot = ButtonKey::from_token("124:secret");
        assert_eq!(
            parse_group(&data).and_then(|d| d.verified(&other_bot)),
            None
        );
        assert_ne!(encode_group(ada, &other_bot), data);
        // Only the one spelling: uppercase, short or long tags are not group data.
        let (head, tag) = data.split_at(tag_at);
        for respelled in [
            format!("{head}{}", tag.to_ascii_uppercase()),
            format!("{head}{}", &tag[1..]),
            format!("{head}{tag}0"),
            format!("{head}+{}", &tag[1..]),
            format!("{data}:x"),
            data.replacen(":g:", ":g:0", 1),
        ] {
            if respelled != data {
                assert_eq!(parse_group(&respelled), None, "{respelled}");
            }
        }
        assert!(!format!("{key:?}").contains("secret"));
    }

    #[test]
    fn forged_data_is_rejected() {
        for forged in [
            "",
            "1",
            "1:",
            "2:done",
            "1:done:x",
            "1:pick:",
            "1:pick:purple",
            "1:ans:red_flag:maybe",
            "1:tr:laser",
            "1:topic:Identify",
            "1:pick:redness:extra",
            "done",
            "1:back ",
            "1:pick:redness\u{0}",
            "1:lang:",
            "1:lang:EN",
            "1:lang:toolonglanguage",
            "1:g:12:redness:x",
            "1:g:-:redness",
            "1:g:12:nose",
            "1:g:012:redness",
            "1:g:12:redness",
            "1:g:12:redness:",
            "1:g:12:redness:zzzzzzzzzzzzzzzz",
            "1:g:12:nose:0123456789abcdef",
            &"x".repeat(200),
        ] {
            assert_eq!(parse(forged), None, "{forged:?}");
            assert_eq!(parse_group(forged), None, "{forged:?}");
        }
    }
}
