//! Just enough HTML reading to drive our login pages, which follow an automation contract
//! (README.md, "The login pages: an automation contract"): each step is one
//! `<form method="post" action="...">` whose `<input>`s carry everything it needs (`csrf`,
//! `step`) plus the field the person fills in (`nnin`, `otp`, `password`).
//!
//! A full HTML parser (html5ever) would cost the load generator more CPU than the page costs the
//! server, on a machine where both share the cores; the contract makes a tag scanner enough.

/// The first form of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// The `action` attribute, entity-decoded; empty when absent (post to the page itself).
    pub action: String,
    /// `method`, lower-cased; `get` when absent, as in HTML.
    pub method: String,
    /// Every named `<input>` in document order: (name, value).
    pub inputs: Vec<(String, String)>,
}

impl Form {
    pub fn input(&self, name: &str) -> Option<&str> {
        self.inputs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The first `<form>` of `html` with its inputs, or `None` if the page has none.
pub fn first_form(html: &str) -> Option<Form> {
    let lower = html.to_ascii_lowercase();
    let start = find_tag(&lower, 0, "form")?;
    let (attrs, after) = tag_attributes(html, start + "<form".len())?;
    let end = lower[after..]
        .find("</form")
        .map_or(html.len(), |i| after + i);
    let mut inputs = Vec::new();
    let mut at = after;
    while let Some(pos) = find_tag(&lower[..end], at, "input") {
        let Some((input, next)) = tag_attributes(html, pos + "<input".len()) else {
            break;
        };
        if let Some(name) = attr(&input, "name") {
            inputs.push((
                name.to_owned(),
                attr(&input, "value").unwrap_or("").to_owned(),
            ));
        }
        at = next;
    }
    Some(Form {
        action: attr(&attrs, "action").unwrap_or("").to_owned(),
        method: attr(&attrs, "method").unwrap_or("get").to_ascii_lowercase(),
        inputs,
    })
}

/// The text of the element with `id="error"` (a wrong value re-renders the step with it).
pub fn error_message(html: &str) -> Option<String> {
    let at = html.find("id=\"error\"")?;
    let open_end = at + html[at..].find('>')? + 1;
    let close = open_end + html[open_end..].find('<')?;
    Some(decode_entities(html[open_end..close].trim()))
}

/// Position of `<{name}` followed by whitespace, `/` or `>`, at or after `from`. `lower` is the
/// lower-cased document.
fn find_tag(lower: &str, mut from: usize, name: &str) -> Option<usize> {
    let needle = format!("<{name}");
    while let Some(i) = lower.get(from..)?.find(&needle) {
        let pos = from + i;
        match lower.as_bytes().get(pos + needle.len()) {
            Some(b) if b.is_ascii_whitespace() || *b == b'>' || *b == b'/' => return Some(pos),
            _ => from = pos + needle.len(),
        }
    }
    None
}

/// Reads attributes from `at` (just after the tag name) to the closing `>`; returns them with
/// the position after the tag. Names are lower-cased, values entity-decoded.
fn tag_attributes(html: &str, mut at: usize) -> Option<(Vec<(String, String)>, usize)> {
    let bytes = html.as_bytes();
    let mut attrs = Vec::new();
    loop {
        while at < bytes.len() && (bytes[at].is_ascii_whitespace() || bytes[at] == b'/') {
            at += 1;
        }
        if *bytes.get(at)? == b'>' {
            return Some((attrs, at + 1));
        }
        let name_start = at;
        while at < bytes.len()
            && !bytes[at].is_ascii_whitespace()
            && !matches!(bytes[at], b'=' | b'>' | b'/')
        {
            at += 1;
        }
        let name = html[name_start..at].to_ascii_lowercase();
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let mut value = String::new();
        if bytes.get(at) == Some(&b'=') {
            at += 1;
            while at < bytes.len() && bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            match bytes.get(at)? {
                quote @ (b'"' | b'\'') => {
                    let close = at + 1 + html[at + 1..].find(*quote as char)?;
                    value = decode_entities(&html[at + 1..close]);
                    at = close + 1;
                }
                _ => {
                    let start = at;
                    while at < bytes.len() && !bytes[at].is_ascii_whitespace() && bytes[at] != b'>'
                    {
                        at += 1;
                    }
                    value = decode_entities(&html[start..at]);
                }
            }
        }
        if !name.is_empty() {
            attrs.push((name, value));
        }
    }
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Decodes the character references a template engine writes: the five named ones and numeric
/// ones. Anything else stays as it is.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let decoded = rest.find(';').filter(|&end| end <= 10).and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let number = entity.strip_prefix('#')?;
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => number.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            }?;
            Some((c, end + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // The shape of crates/server/templates/login.html (the NNIN step).
    const NNIN_PAGE: &str = r#"<!doctype html><html><head><title>Logg inn</title></head><body>
<main><h1>BankID</h1>
<p class="error" role="alert" id="error">Ugyldig f&#xf8;dselsnummer &amp; pr&#248;v igjen</p>
<form method="post" action="/auth/realms/current/login/flow?id=abc&amp;x=1">
  <input type="hidden" name="csrf" value="q-7_Z&#x2B;/=">
  <input type="hidden" name="step" value="nnin">
  <label for="nnin">Fødselsnummer</label>
  <input id="nnin" name="nnin" inputmode="numeric" pattern="[0-9]{11}" maxlength="11" required autofocus>
  <div class="actions">
    <button type="submit" name="method" value="BID" class="primary">BankID</button>
    <button type="submit" name="action" value="cancel" formnovalidate>Avbryt</button>
  </div>
</form>
<form method="post" action="/other"><input name="ignored" value="1"></form>
</main></body></html>"#;

    #[test]
    fn reads_action_method_and_inputs_of_the_first_form() {
        let form = first_form(NNIN_PAGE).unwrap();
        assert_eq!(form.method, "post");
        assert_eq!(form.action, "/auth/realms/current/login/flow?id=abc&x=1");
        assert_eq!(
            form.inputs,
            vec![
                ("csrf".to_owned(), "q-7_Z+/=".to_owned()),
                ("step".to_owned(), "nnin".to_owned()),
                ("nnin".to_owned(), String::new()),
            ]
        );
        assert_eq!(form.input("step"), Some("nnin"));
        assert_eq!(form.input("ignored"), None);
    }

    #[test]
    fn tolerates_unquoted_single_quoted_and_self_closing_inputs() {
        let html = "<FORM METHOD=POST><Input name=csrf value=abc /><input name='step' value='otp' />\
                    <input disabled name=\"otp\"><inputx name=nope></FORM>";
        let form = first_form(html).unwrap();
        assert_eq!(form.method, "post");
        assert_eq!(form.action, "");
        assert_eq!(form.input("csrf"), Some("abc"));
        assert_eq!(form.input("step"), Some("otp"));
        assert_eq!(form.input("otp"), Some(""));
        assert_eq!(form.input("nope"), None);
    }

    #[test]
    fn a_page_without_a_form_has_none() {
        assert_eq!(first_form("<html><p>formal</p><formation></html>"), None);
    }

    #[test]
    fn reads_the_error_message() {
        assert_eq!(
            error_message(NNIN_PAGE).as_deref(),
            Some("Ugyldig fødselsnummer & prøv igjen")
        );
        assert_eq!(error_message("<p>fine</p>"), None);
    }

    #[test]
    fn decodes_entities_and_leaves_stray_ampersands() {
        assert_eq!(
            decode_entities("a &amp; b &lt;&gt; &quot;&#39;"),
            "a & b <> \"'"
        );
        assert_eq!(
            decode_entities("AT&T &unknown; &#xZZ;"),
            "AT&T &unknown; &#xZZ;"
        );
    }
}
