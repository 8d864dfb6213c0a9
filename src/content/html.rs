//! The subset of Telegram HTML that `dialogues/` may use, and the helpers every face needs.
//!
//! Telegram rejects a whole message over one stray `<` or an unclosed tag, so every text is
//! checked at start-up rather than discovered broken in a user's chat.

/// Tags the content may use. Telegram supports more, but cards only need emphasis.
const ALLOWED_TAGS: &[&str] = &["b", "i", "u", "s", "code"];

/// Entities Telegram understands in HTML mode.
const ENTITIES: &[(&str, char)] = &[
    ("&amp;", '&'),
    ("&lt;", '<'),
    ("&gt;", '>'),
    ("&quot;", '"'),
];

/// Checks that `text` is well-formed Telegram HTML using only [`ALLOWED_TAGS`].
///
/// Returns a sentence describing the first problem, for the content error message.
pub fn check(text: &str) -> Result<(), String> {
    let mut open: Vec<&str> = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find(['<', '>', '&']) {
        let (before, at) = rest.split_at(pos);
        let _ = before;
        if at.starts_with('>') {
            return Err("a bare '>' (write &gt;)".to_owned());
        }
        if at.starts_with('&') {
            let Some((entity, _)) = ENTITIES.iter().find(|(e, _)| at.starts_with(e)) else {
                return Err("a bare '&' (write &amp;)".to_owned());
            };
            rest = &at[entity.len()..];
            continue;
        }
        let Some(end) = at.find('>') else {
            return Err("a '<' with no closing '>' (write &lt; for a literal '<')".to_owned());
        };
        let tag = &at[1..end];
        rest = &at[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            match open.pop() {
                Some(top) if top == name => {}
                Some(top) => return Err(format!("</{name}> closes <{top}>")),
                None => return Err(format!("</{name}> without an opening tag")),
            }
        } else {
            let Some(name) = ALLOWED_TAGS.iter().find(|t| **t == tag) else {
                return Err(format!(
                    "tag <{tag}> is not allowed (use one of: {})",
                    ALLOWED_TAGS.join(", ")
                ));
            };
            if open.contains(name) {
                return Err(format!("<{name}> nested inside itself"));
            }
            open.push(name);
        }
    }
    match open.last() {
        Some(top) => Err(format!("<{top}> is never closed")),
        None => Ok(()),
    }
}

/// Escapes text that did not come from `dialogues/` (anything a user typed) for HTML mode.
pub fn escape(text: &str) -> String {
    teloxide::utils::html::escape(text)
}

/// The text as a person sees it: tags removed, entities decoded. Used by the console and for
/// measuring length the way Telegram does (after entity parsing).
pub fn to_plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(['<', '&']) {
        out.push_str(&rest[..pos]);
        let at = &rest[pos..];
        if at.starts_with('<') {
            match at.find('>') {
                Some(end) => rest = &at[end + 1..],
                None => {
                    out.push_str(at);
                    rest = "";
                }
            }
        } else if let Some((entity, ch)) = ENTITIES.iter().find(|(e, _)| at.starts_with(e)) {
            out.push(*ch);
            rest = &at[entity.len()..];
        } else {
            out.push('&');
            rest = &at[1..];
        }
    }
    out.push_str(rest);
    out
}

/// Length as Telegram counts it for the 4096 limit: UTF-16 code units after entity parsing.
pub fn telegram_len(text: &str) -> usize {
    to_plain(text).encode_utf16().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_nested_distinct_tags_and_entities() {
        assert_eq!(check("<b>Red &amp; <i>pink</i></b> &lt;3"), Ok(()));
    }

    #[test]
    fn rejects_the_mistakes_telegram_rejects() {
        assert!(check("a < b").is_err());
        assert!(check("salt & pepper").is_err());
        assert!(check("<b>open").is_err());
        assert!(check("<b><i>x</b></i>").is_err());
        assert!(check("<script>x</script>").is_err());
        assert!(check("</b>").is_err());
        assert!(check("x > y").is_err());
    }

    #[test]
    fn plain_text_drops_tags_and_decodes_entities() {
        assert_eq!(to_plain("<b>A &amp; B</b> &lt;3"), "A & B <3");
        assert_eq!(telegram_len("<b>ab</b>"), 2);
        assert_eq!(escape("<b>&"), "&lt;b&gt;&amp;");
    }
}
