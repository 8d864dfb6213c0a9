//! Search over the advice cards, and their compact form, for inline mode (`@bot keloid`).
//!
//! Pure: no Telegram here. The Telegram face ([`crate::telegram::inline`]) turns the links
//! found into inline results; each result posts [`Conversation::compact_card`] with a deep link
//! to the full card.

use std::borrow::Cow;

use super::{Conversation, View, mentions, normalize};
use crate::content::html;
use crate::knowledge::{CareHabit, Link, Topic};

/// Telegram shows at most this many inline results.
pub const MAX_SEARCH_RESULTS: usize = 50;

/// Longest one-line summary (an inline result's description), in characters.
pub const MAX_SUMMARY_CHARS: usize = 120;

/// Inline queries arrive while the person types: a last word of at least this many characters
/// also matches as the start of a word ("kelo" finds keloids). Shorter ones match too much.
const MIN_PREFIX_CHARS: usize = 3;

/// How well a card matches a query. Variants are in increasing order of relevance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Relevance {
    /// Every word but the last is in the card's text, and some word of the text starts with the
    /// last one (still being typed).
    TextPrefix,
    /// The query is the start of one of the card's names ("red mar" → "red marks").
    NamePrefix,
    /// Every word of the query is in the card's text.
    Text,
    /// Every word of the query is in the card's names ("laser" → "Dye laser").
    InName,
    /// The query mentions one of the card's names (keyword, title, label): the longer the
    /// phrase, the more specific the match ("red marks" beats "red").
    Named { longest: usize },
    /// The query is the card's title ("Red" is the red acne card, although "red" is also a
    /// keyword of red marks): the share button's "send to a chat" pre-fills it.
    Title,
}

impl Conversation<'_> {
    /// The cards a query finds, best first, at most [`MAX_SEARCH_RESULTS`].
    ///
    /// An empty or blank query lists every card in menu order: that is the list of main topics
    /// an inline query shows before anything is typed. Otherwise, in this order:
    /// 1. the card whose title the query is (the share button pre-fills a card's title);
    /// 2. cards whose names (keywords, title, label, treatment name) the query mentions as
    ///    whole words, the longest matching name first ("keloid" → raised lumps);
    /// 3. cards whose names contain every word of the query ("laser" → the three lasers);
    /// 4. cards whose text contains every word of the query ("sunscreen" → daily care and every
    ///    card that mentions sunscreen);
    /// 5. while typing, cards with a name or a word starting with the unfinished last word.
    ///
    /// Equal matches keep menu order. No match gives an empty list.
    pub fn search(&self, query: &str) -> Vec<Link> {
        let query = normalize(query);
        if query.is_empty() {
            return card_links().take(MAX_SEARCH_RESULTS).collect();
        }
        let mut found: Vec<(Link, Relevance)> = card_links()
            .filter_map(|link| Some((link, self.relevance(link, &query)?)))
            .collect();
        // Stable: equal relevance keeps menu order.
        found.sort_by_key(|(_, relevance)| std::cmp::Reverse(*relevance));
        found
            .into_iter()
            .map(|(link, _)| link)
            .take(MAX_SEARCH_RESULTS)
            .collect()
    }

    /// How well `link`'s card matches the normalized, non-empty `query`, if at all.
    fn relevance(&self, link: Link, query: &str) -> Option<Relevance> {
        if normalize(self.link_title(link)) == query {
            return Some(Relevance::Title);
        }
        let names = self.names(link);
        let longest = names
            .iter()
            .filter(|n| mentions(query, n))
            .map(|n| n.chars().count())
            .max();
        if let Some(longest) = longest {
            return Some(Relevance::Named { longest });
        }
        let words: Vec<&str> = query.split(' ').collect();
        if words.iter().all(|w| names.iter().any(|n| mentions(n, w))) {
            return Some(Relevance::InName);
        }
        let text = normalize(&html::to_plain(&self.full_card(link)?));
        if words.iter().all(|w| mentions(&text, w)) {
            return Some(Relevance::Text);
        }
        let (last, before) = words.split_last()?;
        if last.chars().count() < MIN_PREFIX_CHARS {
            return None;
        }
        if names.iter().any(|n| n.starts_with(query)) {
            return Some(Relevance::NamePrefix);
        }
        let typing = before.iter().all(|w| mentions(&text, w))
            && text.split(' ').any(|word| word.starts_with(last));
        typing.then_some(Relevance::TextPrefix)
    }

    /// The names a card is known by, normalized: its keywords (stored normalized), title,
    /// label or treatment name.
    fn names(&self, link: Link) -> Vec<Cow<'_, str>> {
        let p = self.pack;
        let normal = |s: &str| Cow::Owned(normalize(s));
        // Keywords are stored normalized (the content loader checks it).
        fn keywords(k: &[String]) -> Vec<Cow<'_, str>> {
            k.iter().map(|w| Cow::Borrowed(w.as_str())).collect()
        }
        let mut names = match link {
            Link::Scar(kind) => {
                let s = p.scars.get(kind);
                let mut names = keywords(&s.keywords);
                names.extend([normal(&s.title), normal(&s.label)]);
                names
            }
            Link::Acne(kind) => {
                let a = p.acne.get(kind);
                let mut names = keywords(&a.keywords);
                names.push(normal(&a.label));
                names
            }
            Link::Treatment(t) => {
                let tt = p.treatments.get(t);
                let mut names = keywords(&tt.keywords);
                names.push(normal(&tt.name));
                names
            }
            Link::Care => std::iter::once(normal(&p.care_title))
                .chain(std::iter::once(normal(p.topics.get(Topic::Care))))
                .chain(CareHabit::all().map(|h| normal(&p.habits.get(h).title)))
                .collect(),
            Link::NotSure | Link::Prevent | Link::Treatments => Vec::new(),
        };
        names.retain(|n| !n.is_empty());
        names
    }

    /// Everything a link's answer says, summary and every detail, for text search; `None`
    /// for links that open a question, not an answer.
    fn full_card(&self, link: Link) -> Option<String> {
        if !link.is_card() {
            return None;
        }
        let state = super::link_state(link);
        let mut text = self.screen(&state).text;
        for view in self.views_on(&state) {
            if view != View::Sources {
                text.push_str("\n\n");
                text.push_str(&self.screen(&super::with_view(&state, view)).text);
            }
        }
        Some(text)
    }

    /// A card's title, plain text ([`crate::content::Pack::link_title`]): the inline result's
    /// title and the query the "send to a chat" button pre-fills, which finds this card first.
    pub fn link_title(&self, link: Link) -> &str {
        self.pack.link_title(link)
    }

    /// One line of plain text saying what the card is about, at most [`MAX_SUMMARY_CHARS`]
    /// characters (cut at a word with "…"): the inline result's description.
    pub fn link_summary(&self, link: Link) -> String {
        let p = self.pack;
        let text = match link {
            Link::Scar(kind) => &p.scars.get(kind).summary,
            // The title is the bare label ("White"); the description says what it looks like.
            Link::Acne(kind) => &p.acne.get(kind).description,
            Link::Care => &p.care_intro,
            Link::Treatment(t) => &p.treatments.get(t).does,
            Link::NotSure => &p.self_check.intro,
            Link::Prevent => &p.ui.prevent_question,
            Link::Treatments => &p.ui.treatments_question,
        };
        shorten(&html::to_plain(text), MAX_SUMMARY_CHARS)
    }

    /// The card to post in any chat (Telegram HTML, within Telegram's limit): the first
    /// screen of the link's answer as a person who answered no question sees it, so every
    /// caution is there (the safe default). The details are one tap away (the deep link under
    /// the posted card). A link to a question posts the question's text.
    pub fn compact_card(&self, link: Link) -> String {
        self.screen(&super::link_state(link)).text
    }
}

/// The links that open an advice card, in menu order.
pub fn card_links() -> impl Iterator<Item = Link> {
    Link::all().filter(|l| l.is_card())
}

/// `text` on one line, at most `max` characters: cut at the last space that fits, with "…".
fn shorten(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= max {
        return line;
    }
    // Room for the ellipsis.
    let head: String = line.chars().take(max.saturating_sub(1)).collect();
    // Cut at a word boundary when there is one (scripts without spaces are cut anywhere).
    let cut = match head.rfind(' ') {
        Some(at) if at > 0 => &head[..at],
        _ => head.as_str(),
    };
    let cut = cut.trim_end_matches(|c: char| c.is_whitespace() || ",;:–-".contains(c));
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::Content;
    use crate::knowledge::{AcneKind, ScarKind, Treatment};

    fn content() -> Content {
        Content::embedded().expect("dialogues/ is valid")
    }

    fn english(content: &Content) -> Conversation<'_> {
        Conversation::new(content, content.pack(Some("en")))
    }

    #[test]
    fn an_empty_query_lists_every_card_in_menu_order() {
        let content = content();
        let c = english(&content);
        let all: Vec<Link> = card_links().collect();
        assert_eq!(
            all.len(),
            19,
            "4 scar kinds, 5 acne kinds, care, 9 treatments"
        );
        assert_eq!(c.search(""), all);
        assert_eq!(c.search("  \n "), all);
        assert_eq!(
            c.search("?!"),
            all,
            "punctuation only is blank once normalized"
        );
    }

    #[test]
    fn keywords_rank_first_and_longer_names_win() {
        let content = content();
        let c = english(&content);
        assert_eq!(c.search("keloid")[0], Link::Scar(ScarKind::Lumps));
        assert_eq!(c.search("Keloids?")[0], Link::Scar(ScarKind::Lumps));
        // "red marks" names the red marks; "red" alone also names red acne, ranked after.
        let red_marks = c.search("red marks");
        assert_eq!(red_marks[0], Link::Scar(ScarKind::Redness));
        assert_eq!(red_marks[1], Link::Acne(AcneKind::Red));
        assert_eq!(
            c.search("fractional laser")[0],
            Link::Treatment(Treatment::FractionalLaser)
        );
        assert_eq!(c.search("daily care")[0], Link::Care);
        // A word of a name ranks the card above cards that only mention it.
        let lasers: Vec<Link> = Treatment::all()
            .filter(|t| mentions(&normalize(&c.pack.treatments.get(*t).name), "laser"))
            .map(Link::Treatment)
            .collect();
        assert!(lasers.len() >= 2);
        assert_eq!(c.search("laser")[..lasers.len()], lasers[..]);
    }

    #[test]
    fn a_card_title_finds_that_card_first_in_every_language() {
        // The share button's "send to a chat" pre-fills the card's title as the inline query.
        let content = content();
        for pack in content.packs() {
            let c = Conversation::new(&content, pack);
            for link in card_links() {
                let title = html::to_plain(c.link_title(link));
                assert_eq!(c.search(&title).first(), Some(&link), "{pack}: {title:?}");
            }
        }
    }

    #[test]
    fn words_in_the_text_find_cards_that_mention_them() {
        let content = content();
        let c = english(&content);
        let found = c.search("sunscreen");
        assert!(found.contains(&Link::Care), "{found:?}");
        for link in &found {
            let text = normalize(&html::to_plain(&c.full_card(*link).unwrap()));
            assert!(mentions(&text, "sunscreen"), "{link:?}");
        }
        // Menu order among equals: the scar cards come before the care card.
        assert!(found[0] < Link::Care);
    }

    #[test]
    fn unfinished_words_match_while_typing() {
        let content = content();
        let c = english(&content);
        assert_eq!(c.search("kelo")[0], Link::Scar(ScarKind::Lumps));
        assert_eq!(c.search("red mar")[0], Link::Scar(ScarKind::Redness));
        assert!(c.search("sunscr").contains(&Link::Care));
        // Too short to complete: two letters would match nearly everything.
        assert!(c.search("zz").is_empty());
    }

    #[test]
    fn nonsense_finds_nothing() {
        let content = content();
        let c = english(&content);
        assert!(c.search("qwertyuiop").is_empty());
        // A name is enough: the other words may be anything.
        assert_eq!(
            c.search("keloid qwertyuiop"),
            vec![Link::Scar(ScarKind::Lumps)]
        );
    }

    /// Japanese is written without spaces: keywords match as substrings of the query. The
    /// real Japanese pack may not exist yet, so this uses a copy of English with one Japanese
    /// keyword.
    #[test]
    fn japanese_keywords_match_inside_a_query() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogues");
        let mut files = Vec::new();
        for dir in [root.clone(), root.join("en")] {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "toml") {
                    let rel = path.strip_prefix(&root).unwrap().to_string_lossy();
                    files.push((
                        rel.replace('\\', "/"),
                        std::fs::read_to_string(&path).unwrap(),
                    ));
                }
            }
        }
        let copies: Vec<(String, String)> = files
            .iter()
            .filter_map(|(p, t)| Some((format!("xx/{}", p.strip_prefix("en/")?), t.clone())))
            .map(|(p, mut t)| {
                if p == "xx/scars.toml" {
                    let lumps = t.find("[lumps]").expect("a [lumps] table");
                    let at = lumps + t[lumps..].find("keywords = [").expect("lumps keywords");
                    t.insert_str(at + "keywords = [".len(), "\"ケロイド\", ");
                }
                (p, t)
            })
            .collect();
        files.extend(copies);
        let content = Content::from_files(files).expect("the copy is valid");
        let c = Conversation::new(&content, content.pack(Some("xx")));
        assert_eq!(c.search("ケロイド")[0], Link::Scar(ScarKind::Lumps));
        assert_eq!(
            c.search("顔のケロイドが気になる")[0],
            Link::Scar(ScarKind::Lumps)
        );
    }

    #[test]
    fn compact_cards_are_first_screens_of_well_formed_html_in_every_language() {
        let content = content();
        for pack in content.packs() {
            let c = Conversation::new(&content, pack);
            for link in Link::all() {
                let card = c.compact_card(link);
                assert_eq!(html::check(&card), Ok(()), "{pack} {link:?}");
                assert!(
                    html::telegram_len(&card) <= crate::conversation::walk::MAX_FIRST_SCREEN,
                    "{pack} {link:?}"
                );
                if let Some(full) = c.full_card(link) {
                    assert!(card.contains(&pack.ui.card.disclaimer), "{pack} {link:?}");
                    // The first screen of the full answer, which the details extend.
                    assert!(
                        full.starts_with(&card),
                        "{pack} {link:?} is not the first screen"
                    );
                }
                let summary = c.link_summary(link);
                assert!(!summary.is_empty() && summary.chars().count() <= MAX_SUMMARY_CHARS);
                assert!(!summary.contains('\n') && html::to_plain(&summary) == summary);
                assert!(!c.link_title(link).is_empty());
            }
        }
    }

    #[test]
    fn summaries_are_cut_at_a_word() {
        assert_eq!(shorten("short  text\nhere", 120), "short text here");
        assert_eq!(shorten("one two three four", 12), "one two…");
        assert_eq!(shorten("one two, three", 10), "one two…");
        assert_eq!(shorten("あいうえおかきくけこ", 5), "あいうえ…");
        assert_eq!(shorten("abcdefghij", 5), "abcd…");
    }
}
