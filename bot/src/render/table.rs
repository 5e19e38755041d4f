//! Tables as aligned monospace lines, for renderers that show them in a code
//! block (Slack, Telegram): columns padded to their widest cell, two spaces
//! apart, a rule under the header.

/// The header, a rule of `rule` characters, and the rows, each line trimmed at the end.
pub fn aligned_lines(header: &[String], rows: &[Vec<String>], rule: char) -> Vec<String> {
    let cols = header.len().max(rows.iter().map(Vec::len).max().unwrap_or(0));
    let mut widths = vec![0usize; cols];
    for row in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let mut s = String::new();
        for (i, w) in widths.iter().enumerate() {
            let cell = cells.get(i).map_or("", String::as_str);
            s.push_str(cell);
            if i + 1 < cols {
                s.push_str(&" ".repeat(w.saturating_sub(cell.chars().count()) + 2));
            }
        }
        s.trim_end().to_string()
    };
    let mut out = Vec::new();
    if !header.is_empty() {
        out.push(line(header));
        out.push(line(&widths.iter().map(|w| rule.to_string().repeat(*w)).collect::<Vec<_>>()));
    }
    out.extend(rows.iter().map(|r| line(r)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_columns_and_rules_the_header() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let lines = aligned_lines(&s(&["#", "state"]), &[s(&["0", "running"]), s(&["10", "up"])], '-');
        assert_eq!(lines, ["#   state", "--  -------", "0   running", "10  up"]);
    }
}
