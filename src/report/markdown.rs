//! Markdown table rows. A table crate (comfy-table, tabled) pads every cell to its column's
//! width; these rows stay compact (`| a | b |`), which is what readers grep and diff.

/// A cell's text with the characters that would break a table row escaped (`|`, line breaks).
pub fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// One table row from cells that are already escaped: `| a | b |`.
pub fn row<S: AsRef<str>>(cells: &[S]) -> String {
    let mut s = String::from("|");
    for c in cells {
        s.push(' ');
        s.push_str(c.as_ref());
        s.push_str(" |");
    }
    s
}

/// The header row and the separator of a table with these column titles.
pub fn header(titles: &[&str]) -> String {
    format!("{}\n|{}", row(titles), "---|".repeat(titles.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_escape_pipes_and_line_breaks() {
        assert_eq!(row(&[cell("a|b"), cell("c\nd")]), "| a\\|b | c d |");
        assert_eq!(header(&["x", "y"]), "| x | y |\n|---|---|");
    }
}
