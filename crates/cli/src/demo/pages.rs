//! What the demo merchant shows, in Norwegian bokmål and English. Plain HTML without script
//! (the iframe flow's pages, in `iframe.rs`, alone load a script file);
//! every value from the user or the provider goes through [`esc`]. Elements that tests (and the
//! browser tests to come) read have stable ids: `start-{flow}`, `claims`, `claim-{name}`,
//! `checks`, `check-{id}`, `access-token`, `userinfo`, `grant`, `refresh`, `introspect`,
//! `revoke`, `logout`, `action-result`, `error`, `error_description`, `logged-out`.

use super::flows::{Flow, IssuerKind};
use super::session::Completed;
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Nb,
    En,
}

impl Lang {
    pub fn parse(text: &str) -> Option<Lang> {
        match text.trim().to_ascii_lowercase().as_str() {
            "nb" | "no" | "nn" | "nb-no" | "no-no" | "nn-no" => Some(Lang::Nb),
            "en" | "en-gb" | "en-us" => Some(Lang::En),
            _ => None,
        }
    }

    /// The first language of an `Accept-Language` header that the demo speaks (weights are
    /// ignored: browsers list languages in order of preference).
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        header
            .split(',')
            .filter_map(|part| part.split(';').next())
            .find_map(|tag| Lang::parse(tag).or_else(|| Lang::parse(tag.split('-').next()?)))
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Nb => "nb",
            Lang::En => "en",
        }
    }

    /// The text in this language.
    pub fn t<'a>(self, nb: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Nb => nb,
            Lang::En => en,
        }
    }
}

/// Escapes text for HTML content and double-quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub const STYLESHEET: &str = "\
body{font-family:system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;line-height:1.5;color:#1a1a1a;background:#fff}
main{overflow-wrap:anywhere}
.test-banner{background:#fff3cd;border:2px solid #8a6d00;padding:.5rem 1rem;font-weight:bold}
nav{margin:.5rem 0}
ul.flows{list-style:none;padding:0}
ul.flows li{margin:.75rem 0}
button{font:inherit;padding:.5rem 1rem;min-width:16rem;text-align:left;cursor:pointer}
button[disabled]{cursor:not-allowed}
.note{margin:.25rem 0 0;color:#444;font-size:.95rem}
pre{background:#f4f4f4;padding:.75rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
.checks li{margin:.25rem 0}
.error{border-left:4px solid #b00020;padding-left:1rem}
.notice{border-left:4px solid #1b5e20;padding-left:1rem}
.actions form{display:inline-block;margin:0 .5rem .5rem 0}
.actions button{min-width:10rem}
dt{font-weight:bold}
dd{margin:0 0 .5rem 1rem;word-break:break-all}
:focus-visible{outline:3px solid #1a4dab;outline-offset:2px}
.iframe-start label{display:block;font-size:.95rem}
.iframe-start input{font:inherit;padding:.4rem;margin:0 .5rem .5rem 0;width:12rem;max-width:100%}
.iframe-flow{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}
.iframe-flow iframe{flex:1 1 22rem;max-width:32rem;width:100%;height:40rem;border:1px solid #888}
.iframe-flow .events{flex:1 1 16rem}
.iframe-flow .events h2{margin-top:0}
#events li{font-family:ui-monospace,monospace}
";

fn layout(lang: Lang, title: &str, path: &str, body: &str) -> String {
    layout_with_head(lang, title, path, "", body)
}

/// [`layout`] with more in `<head>` (the iframe page's script element), given as HTML.
pub fn layout_with_head(lang: Lang, title: &str, path: &str, head: &str, body: &str) -> String {
    let other = match lang {
        Lang::Nb => ("en", "English"),
        Lang::En => ("nb", "Norsk (bokmål)"),
    };
    format!(
        "<!doctype html>\n<html lang=\"{code}\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>{title} · {tool}</title>\n<link rel=\"stylesheet\" href=\"/static/demo.css\">\n{head}</head>\n<body>\n\
<header>\n<p class=\"test-banner\" id=\"test-banner\">{banner}</p>\n\
<nav aria-label=\"{langnav}\"><a href=\"{path}?lang={ocode}\" lang=\"{ocode}\" hreflang=\"{ocode}\" id=\"switch-lang\">{oname}</a> · <a href=\"/?lang={code}\" id=\"home\">{home}</a></nav>\n\
</header>\n<main>\n<h1>{title}</h1>\n{body}</main>\n</body>\n</html>\n",
        code = lang.code(),
        title = esc(title),
        tool = lang.t("Demobutikk", "Demo merchant"),
        banner = lang.t(
            "Testverktøy: en demobutikk mot en BankID-testleverandør. Ikke ekte BankID, bare syntetiske testbrukere.",
            "Test tool: a demo merchant against a BankID test provider. Not real BankID, synthetic test users only."
        ),
        langnav = lang.t("Språk", "Language"),
        path = esc(path),
        ocode = other.0,
        oname = other.1,
        home = lang.t("Til start", "Start page"),
    )
}

/// The label of a flow's button and what it shows.
fn flow_texts(lang: Lang, flow: Flow) -> (&'static str, &'static str) {
    match flow {
        Flow::Bid => (
            "BankID",
            lang.t(
                "Netcentric BankID hos realmen: fødselsnummer, engangskode, passord (login_hint=BID).",
                "Netcentric BankID at the realm: national identity number, one-time code, password (login_hint=BID).",
            ),
        ),
        Flow::Bim => (
            lang.t("BankID på mobil", "BankID on mobile"),
            lang.t(
                "Hos realmen: telefonnummer og fødselsdato, godkjenning på telefonen (login_hint=BIM).",
                "At the realm: phone number and birth date, approved on the phone (login_hint=BIM).",
            ),
        ),
        Flow::BisRealm => (
            lang.t("BankID med biometri (redirect)", "BankID with biometrics (redirect)"),
            lang.t(
                "Hos realmen med login_hint=BIS: godkjennes i den emulerte BankID-appen.",
                "At the realm with login_hint=BIS: approved in the emulated BankID app.",
            ),
        ),
        Flow::Bis => (
            lang.t("BankID med biometri hos BIS", "BankID with biometrics at BIS"),
            lang.t(
                "Hos BIS-utstederen (leverandørens /bis) med sub_nnin og sub_bankid.",
                "At the BIS issuer (the provider's /bis) with sub_nnin and sub_bankid.",
            ),
        ),
        Flow::Par => (
            lang.t("BankID med PAR", "BankID with PAR"),
            lang.t(
                "Forespørselen sendes fra butikkens server (pushed authorization request); URL-en har bare request_uri.",
                "The request goes from the merchant's server (pushed authorization request); the URL carries only request_uri.",
            ),
        ),
        Flow::Signed => (
            lang.t("BankID med signert request object", "BankID with a signed request object"),
            lang.t(
                "Parametrene i en JWT signert med demoens ES256-nøkkel. Krever at nøkkelen er registrert (se terminalen).",
                "The parameters in a JWT signed with the demo's ES256 key. Needs the key registered (see the terminal).",
            ),
        ),
        Flow::Encrypted => (
            lang.t("BankID med kryptert request object", "BankID with an encrypted request object"),
            lang.t(
                "Signert som over, og kryptert til leverandørens nøkkel (jwks_uri_enc).",
                "Signed as above, and encrypted to the provider's key (jwks_uri_enc).",
            ),
        ),
        Flow::Payment => (
            lang.t("Betaling med forhåndsregistrert tillatelse", "Payment with an upfront permission"),
            lang.t(
                "Maskintoken (permissions/client), en payment.v1-tillatelse på 149,50 NOK, innlogging hos BIS med login_hint_token, så den signerte godkjenningen (grant).",
                "A machine token (permissions/client), a payment.v1 permission of 149.50 NOK, a login at BIS with login_hint_token, then the signed grant.",
            ),
        ),
        Flow::Iframe => (
            lang.t("BankID med biometri i en iframe", "BankID with biometrics in an iframe"),
            lang.t(
                "Maskintoken (permissions/client permissions/iframe), en tillatelse med intent iframe, så leverandørens side i en iframe her, med analysehendelsene listet etter hvert som de kommer.",
                "A machine token (permissions/client permissions/iframe), a permission with the iframe intent, then the provider's page in an iframe here, its analytics events listed as they arrive.",
            ),
        ),
        Flow::Ciba => (
            "CIBA",
            lang.t(
                "Uten nettleser hos BIS (poll-modus): kundens fødselsnummer og en bindingsmelding, godkjent i appen.",
                "No browser, at BIS (poll mode): the customer's national identity number and a binding message, approved in the app.",
            ),
        ),
    }
}

/// A form that posts to the demo with the session's CSRF token.
fn post_button(action: &str, csrf: &str, fields: &[(&str, &str)], id: &str, label: &str) -> String {
    let mut out = format!(
        "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(action),
        esc(csrf)
    );
    for (name, value) in fields {
        let _ = write!(
            out,
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            esc(name),
            esc(value)
        );
    }
    let _ = write!(
        out,
        "<button type=\"submit\" id=\"{}\">{}</button></form>",
        esc(id),
        esc(label)
    );
    out
}

pub struct StartPage<'a> {
    pub lang: Lang,
    pub csrf: &'a str,
    pub provider: &'a str,
    pub logged_in: bool,
    pub logged_out: bool,
    pub key_command: &'a str,
}

pub fn start_page(p: &StartPage) -> String {
    let lang = p.lang;
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<p>{} <code>{}</code>.</p>",
        lang.t(
            "Hver knapp starter en innlogging mot leverandøren på",
            "Each button starts a login at the provider on"
        ),
        esc(p.provider)
    );
    if p.logged_out {
        let _ = writeln!(
            body,
            "<p class=\"notice\" id=\"logged-out\" role=\"status\">{}</p>",
            lang.t(
                "Du er logget ut hos leverandøren og i demobutikken.",
                "You are logged out at the provider and in the demo merchant."
            )
        );
    }
    if p.logged_in {
        let _ = writeln!(
            body,
            "<p class=\"notice\"><a href=\"/result\" id=\"current-login\">{}</a></p>",
            lang.t("Se gjeldende innlogging", "See the current login")
        );
    }
    body.push_str("<ul class=\"flows\">\n");
    for flow in Flow::ALL {
        let (label, note) = flow_texts(lang, flow);
        let id = format!("start-{}", flow.id());
        let note_id = format!("note-{}", flow.id());
        body.push_str("<li>");
        if flow.own_form() {
            body.push_str(&super::iframe::start_form(lang, p.csrf, label, &note_id));
        } else {
            body.push_str(&post_button(
                "/start",
                p.csrf,
                &[("flow", flow.id())],
                &id,
                label,
            ));
        }
        let _ = write!(body, "<p class=\"note\" id=\"{note_id}\">{}", esc(note));
        if flow.signs_request_object() {
            let _ = write!(body, " <code>{}</code>", esc(p.key_command));
        }
        body.push_str("</p></li>\n");
    }
    body.push_str("</ul>\n");
    let _ = writeln!(
        body,
        "<p>{}</p>",
        lang.t(
            "Testbrukere, engangskoder og passord skrives ut av <code>bankid-oidc serve</code>. BankID-appen emuleres på leverandørens /bis/app eller med <code>bankid-oidc app approve</code>.",
            "Test users, one-time codes and passwords are printed by <code>bankid-oidc serve</code>. The BankID app is emulated at the provider's /bis/app or with <code>bankid-oidc app approve</code>."
        )
    );
    layout(lang, lang.t("Demobutikk", "Demo merchant"), "/", &body)
}

fn json_block(id: &str, value: &serde_json::Value) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    format!("<pre id=\"{}\">{}</pre>\n", esc(id), esc(&text))
}

/// A claim name usable in an element id: letters, digits, `_` and `-` only.
fn id_safe(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub struct ResultPage<'a> {
    pub lang: Lang,
    pub csrf: &'a str,
    pub completed: &'a Completed,
    pub access_token: serde_json::Value,
    pub can_refresh: bool,
    pub can_introspect: bool,
    pub can_revoke: bool,
    pub can_logout: bool,
}

pub fn result_page(p: &ResultPage) -> String {
    let lang = p.lang;
    let c = p.completed;
    let mut body = String::new();
    let (label, _) = flow_texts(lang, c.flow);
    let issuer = match c.issuer() {
        IssuerKind::Realm => lang.t("realmen", "the realm"),
        IssuerKind::Bis => lang.t("BIS-utstederen", "the BIS issuer"),
    };
    let _ = writeln!(
        body,
        "<p class=\"notice\" role=\"status\" id=\"result-flow\" data-flow=\"{}\">{}: <strong>{}</strong> ({} <code>{}</code>)</p>",
        c.flow.id(),
        lang.t("Innlogget med", "Logged in with"),
        esc(label),
        issuer,
        esc(&c.claims.iss),
    );

    if let Some((name, lines)) = &c.action {
        let _ = write!(
            body,
            "<section id=\"action-result\" data-action=\"{}\" aria-live=\"polite\"><h2>{}: {}</h2>\n<dl>",
            esc(name),
            lang.t("Svar", "Answer"),
            esc(name)
        );
        for (k, v) in lines {
            let _ = write!(body, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
        }
        body.push_str("</dl></section>\n");
    }

    body.push_str("<section class=\"actions\"><h2>");
    body.push_str(lang.t("Handlinger", "Actions"));
    body.push_str("</h2>\n");
    let mut unavailable = Vec::new();
    for (allowed, action, id, nb, en) in [
        (
            p.can_refresh,
            "/refresh",
            "refresh",
            "Forny tokens",
            "Refresh tokens",
        ),
        (
            p.can_introspect,
            "/introspect",
            "introspect",
            "Introspekter",
            "Introspect",
        ),
        (p.can_revoke, "/revoke", "revoke", "Tilbakekall", "Revoke"),
        (p.can_logout, "/logout", "logout", "Logg ut", "Log out"),
    ] {
        if allowed {
            body.push_str(&post_button(action, p.csrf, &[], id, lang.t(nb, en)));
        } else {
            unavailable.push(lang.t(nb, en));
        }
    }
    if !unavailable.is_empty() {
        let _ = write!(
            body,
            "<p class=\"note\" id=\"actions-unavailable\">{}: {}</p>",
            lang.t(
                "Ikke tilbudt av denne utstederen (eller uten refresh token)",
                "Not offered by this issuer (or without a refresh token)"
            ),
            esc(&unavailable.join(", "))
        );
    }
    body.push_str("</section>\n");

    let _ = write!(
        body,
        "<section><h2>{}</h2>\n<p>{}</p>\n<ul class=\"checks\" id=\"checks\">",
        lang.t("Kontroller", "Checks"),
        lang.t(
            "bankid-oidc-client avviser innloggingen om én av disse feiler; alle besto.",
            "bankid-oidc-client refuses the login if any of these fails; all passed."
        )
    );
    for check in &c.checks {
        let _ = write!(
            body,
            "<li id=\"check-{}\"><strong>{}</strong>: {}</li>",
            esc(check.id),
            esc(check.name),
            esc(&check.detail)
        );
    }
    body.push_str("</ul></section>\n");

    let claims = serde_json::to_value(&c.claims).unwrap_or_default();
    let _ = write!(
        body,
        "<section><h2>{}</h2>\n<dl id=\"claim-list\">",
        lang.t(
            "ID-tokenets claims (validert)",
            "The ID token's claims (validated)"
        )
    );
    if let Some(map) = claims.as_object() {
        for (name, value) in map {
            let shown = match value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if id_safe(name) {
                let _ = write!(
                    body,
                    "<dt>{}</dt><dd id=\"claim-{}\">{}</dd>",
                    esc(name),
                    esc(name),
                    esc(&shown)
                );
            } else {
                let _ = write!(body, "<dt>{}</dt><dd>{}</dd>", esc(name), esc(&shown));
            }
        }
    }
    body.push_str("</dl>\n");
    body.push_str(&json_block("claims", &claims));
    body.push_str("</section>\n");

    if let Some(grant) = &c.grant {
        let _ = writeln!(
            body,
            "<section><h2>{}</h2>",
            lang.t(
                "Godkjenningen (grant, signatur verifisert)",
                "The grant (signature verified)"
            )
        );
        match grant {
            Ok(value) => body.push_str(&json_block("grant", value)),
            Err(e) => {
                let _ = write!(body, "<p class=\"error\" id=\"grant-error\">{}</p>", esc(e));
            }
        }
        body.push_str("</section>\n");
    }

    let _ = writeln!(
        body,
        "<section><h2>{}</h2>\n<p>{}</p>",
        lang.t("Tilgangstokenet, dekodet", "The access token, decoded"),
        lang.t(
            "Dekodet for visning, ikke validert: tilgangstokenet er for ressursserveren.",
            "Decoded for display, not validated: the access token is for the resource server."
        )
    );
    body.push_str(&json_block("access-token", &p.access_token));
    if let Some(scope) = &c.scope {
        let _ = write!(
            body,
            "<p>scope: <code id=\"token-scope\">{}</code></p>",
            esc(scope)
        );
    }
    body.push_str("</section>\n");

    body.push_str("<section><h2>Userinfo</h2>\n");
    match &c.userinfo {
        Ok(value) => body.push_str(&json_block("userinfo", value)),
        Err(e) => {
            let _ = write!(
                body,
                "<p class=\"error\" id=\"userinfo-error\">{}</p>",
                esc(e)
            );
        }
    }
    body.push_str("</section>\n");

    layout(lang, lang.t("Innlogget", "Logged in"), "/result", &body)
}

/// CIBA's first page: whom the terminal asks (an NNIN, the first test user's by default).
pub fn ciba_form_page(lang: Lang, csrf: &str, nnin: &str) -> String {
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<p>{}</p>",
        esc(lang.t(
            "Som en kundeterminal: demobutikken ber BIS om å spørre kunden i BankID-appen, uten nettleser (CIBA, poll-modus), og viser en bindingsmelding som appen også viser.",
            "As a customer terminal: the demo merchant asks BIS to ask the customer in the BankID app, with no browser (CIBA, poll mode), and shows a binding message the app shows too."
        ))
    );
    let _ = writeln!(
        body,
        "<form method=\"post\" action=\"/ciba\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
<p><label for=\"nnin\">{}</label><br><input type=\"text\" id=\"nnin\" name=\"nnin\" value=\"{}\" inputmode=\"numeric\" autocomplete=\"off\" required pattern=\"[0-9]{{11}}\"></p>\
<button type=\"submit\" id=\"ciba-submit\">{}</button></form>",
        esc(csrf),
        esc(lang.t(
            "Kundens fødselsnummer",
            "The customer's national identity number"
        )),
        esc(nnin),
        esc(lang.t("Spør kunden i appen", "Ask the customer in the app")),
    );
    layout(lang, "CIBA", "/ciba", &body)
}

/// CIBA's waiting page: the binding message to compare with the app's; it reloads itself
/// (the `Refresh` header) while the demo polls in the background.
pub fn ciba_wait_page(lang: Lang, nnin: &str, binding_message: &str) -> String {
    let body = format!(
        "<p>{}</p>\n<p class=\"notice\" id=\"binding-message\" role=\"status\"><strong>{}</strong></p>\n\
<p id=\"ciba-nnin\">{} <code>{}</code></p>\n<p>{} <a href=\"/ciba/wait\" id=\"ciba-check\">{}</a></p>\n",
        esc(lang.t(
            "Be kunden sjekke at appen viser samme melding, og godkjenne:",
            "Ask the customer to check that the app shows the same message, and approve:"
        )),
        esc(binding_message),
        esc(lang.t("Fødselsnummer:", "National identity number:")),
        esc(nnin),
        esc(lang.t(
            "Demobutikken spør leverandøren i bakgrunnen; siden lastes på nytt av seg selv.",
            "The demo merchant polls the provider in the background; the page reloads itself."
        )),
        esc(lang.t("Sjekk nå", "Check now")),
    );
    layout(
        lang,
        lang.t("CIBA: venter på appen", "CIBA: waiting for the app"),
        "/ciba/wait",
        &body,
    )
}

/// A refusal: the code in `id="error"`, the explanation in `id="error_description"`.
pub fn error_page(lang: Lang, title: &str, code: &str, description: &str, hint: &str) -> String {
    let mut body = format!(
        "<div class=\"error\" role=\"alert\"><p id=\"error\">{}</p><p id=\"error_description\">{}</p></div>\n",
        esc(code),
        esc(description)
    );
    if !hint.is_empty() {
        let _ = writeln!(body, "<p id=\"error_hint\">{}</p>", esc(hint));
    }
    let _ = writeln!(
        body,
        "<p><a href=\"/\">{}</a></p>",
        lang.t("Tilbake til start", "Back to the start page")
    );
    layout(lang, title, "/", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_both_quotes() {
        assert_eq!(
            esc("<a href=\"x\" onclick='y'>&</a>"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn the_language_comes_from_accept_language_in_order() {
        assert_eq!(
            Lang::from_accept_language("en-US,en;q=0.9,nb;q=0.8"),
            Some(Lang::En)
        );
        assert_eq!(
            Lang::from_accept_language("nb-NO,nb;q=0.9,en;q=0.5"),
            Some(Lang::Nb)
        );
        assert_eq!(Lang::from_accept_language("de-DE,fr"), None);
    }

    #[test]
    fn an_error_page_escapes_what_the_provider_sent() {
        let html = error_page(Lang::En, "Refused", "<script>", "\"x\"", "");
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<script>"));
    }
}
