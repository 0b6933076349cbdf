//! The user interface languages: Norwegian bokmål and English (`ui_locales`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    Nb,
    En,
}

impl Locale {
    /// The first supported language in a space-separated `ui_locales` preference list. Unknown
    /// tags are skipped, as OpenID Connect Core 3.1.2.1 asks (it is a preference, not a demand).
    pub fn from_ui_locales(ui_locales: &str) -> Option<Locale> {
        ui_locales.split(' ').find_map(|tag| {
            let primary = tag
                .split(['-', '_'])
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            match primary.as_str() {
                "nb" | "no" | "nn" => Some(Locale::Nb),
                "en" => Some(Locale::En),
                _ => None,
            }
        })
    }

    pub fn tag(self) -> &'static str {
        match self {
            Locale::Nb => "nb",
            Locale::En => "en",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_first_supported_language() {
        assert_eq!(Locale::from_ui_locales("de en nb"), Some(Locale::En));
        assert_eq!(Locale::from_ui_locales("nb-NO"), Some(Locale::Nb));
        assert_eq!(Locale::from_ui_locales("no"), Some(Locale::Nb));
        assert_eq!(Locale::from_ui_locales("fr de"), None);
    }
}
