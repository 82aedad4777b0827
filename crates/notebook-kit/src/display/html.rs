//! `Html`: a table or text that shows as HTML in a notebook and as plain text elsewhere.

use std::fmt;

use super::evcxr;

/// HTML for the notebook, with a plain-text twin for terminals and logs (`Display`).
#[derive(Clone, PartialEq, Eq)]
pub struct Html {
    html: String,
    text: String,
}

impl Html {
    pub fn new(html: impl Into<String>, text: impl Into<String>) -> Html {
        Html {
            html: html.into(),
            text: text.into(),
        }
    }

    pub fn html(&self) -> &str {
        &self.html
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Shows the HTML inline in a Jupyter notebook (called by evcxr on a cell's value).
    pub fn evcxr_display(&self) {
        evcxr::emit("text/html", &self.html);
    }
}

impl fmt::Display for Html {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Html {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Escapes text for use inside HTML elements and attribute values.
pub(crate) fn escape(text: &str) -> String {
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
