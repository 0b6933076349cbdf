//! What a test reads from the provider's pages: their forms and the text of an element.

use scraper::{Html, Selector};

/// A form on a page: where it posts and its fields.
#[derive(Debug, Clone)]
pub struct Form {
    pub action: String,
    pub fields: Vec<(String, String)>,
    pub buttons: Vec<(String, String)>,
}

pub fn forms(html: &str) -> Vec<Form> {
    let doc = Html::parse_document(html);
    let form_sel = Selector::parse("form").unwrap();
    let input_sel = Selector::parse("input").unwrap();
    let button_sel = Selector::parse("button").unwrap();
    doc.select(&form_sel)
        .map(|form| Form {
            action: form.value().attr("action").unwrap_or("").to_owned(),
            fields: form
                .select(&input_sel)
                .filter_map(|i| {
                    Some((
                        i.value().attr("name")?.to_owned(),
                        i.value().attr("value").unwrap_or("").to_owned(),
                    ))
                })
                .collect(),
            buttons: form
                .select(&button_sel)
                .filter_map(|b| {
                    Some((
                        b.value().attr("name")?.to_owned(),
                        b.value().attr("value").unwrap_or("").to_owned(),
                    ))
                })
                .collect(),
        })
        .collect()
}

/// The text of the element with this id.
pub fn text_of(html: &str, id: &str) -> Option<String> {
    let doc = Html::parse_document(html);
    let sel = Selector::parse(&format!("#{id}")).unwrap();
    doc.select(&sel)
        .next()
        .map(|e| e.text().collect::<String>().trim().to_owned())
}
