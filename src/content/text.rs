//! The text rules typed input and content keywords share: how text is normalized, and when
//! one normalized text mentions a phrase.
//!
//! Content validation checks that keywords are already normalized; the conversation matches
//! typed text and the inline search matches queries with the same two functions.

/// Lower case, punctuation to spaces, single spaces.
pub fn normalize(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '\'' {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether normalized `text` contains normalized `phrase` as whole words (plural "s"/"es"
/// allowed). Scripts written without spaces (Japanese) match as plain substrings. Keywords are
/// normalized when the content is validated, so this runs on every typed message without
/// allocating.
pub fn mentions(text: &str, phrase: &str) -> bool {
    if phrase.is_empty() {
        return false;
    }
    if !phrase.is_ascii() {
        return text.contains(phrase);
    }
    text.match_indices(phrase).any(|(at, _)| {
        let starts_a_word = text[..at].is_empty() || text[..at].ends_with(' ');
        let rest = &text[at + phrase.len()..];
        let ends_a_word = ["", "s", "es"].iter().any(|suffix| {
            rest.strip_prefix(suffix)
                .is_some_and(|r| r.is_empty() || r.starts_with(' '))
        });
        starts_a_word && ends_a_word
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_words_and_plurals_match() {
        assert!(mentions(&normalize("Brown spots!"), "brown"));
        assert!(mentions(&normalize("craters"), "crater"));
        assert!(mentions(&normalize("red and brown"), "red"));
        assert!(!mentions(&normalize("reduce"), "red"));
        assert!(!mentions(&normalize("bored"), "red"));
        assert!(mentions("赤みがあります", "赤み"));
        assert!(mentions(&normalize("boxes"), "box"));
        assert!(mentions(&normalize("icepick scars"), "icepick"));
        assert!(!mentions(&normalize("boxcar"), "box"));
        assert!(!mentions(&normalize("redness"), "red"));
    }
}
