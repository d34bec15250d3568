//! Diagnostics: errors and warnings located in the configuration file, and
//! their rendering in the style of a compiler (`error: ...`, `--> FILE:LINE:COL`,
//! the source line and a caret under the offending text).
//!
//! Locations are byte ranges into the source text; lines and columns are
//! computed when rendering (1-based, columns count characters, not bytes).
//! This module does not decide what is wrong; `validate` and the loaders do.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The configuration is usable but probably not what was meant.
    Warning,
    /// The configuration cannot be used.
    Error,
}

/// One located finding about the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What was wrong, in one sentence.
    pub message: String,
    /// Byte range in the source; `None` when the finding concerns the whole file.
    pub span: Option<Range<usize>>,
    /// What to do about it.
    pub help: Option<String>,
    /// A second location that explains the first (e.g. the earlier duplicate).
    pub note: Option<(String, Range<usize>)>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(span: Option<Range<usize>>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span,
            help: None,
            note: None,
        }
    }

    /// A warning at `span`.
    pub fn warning(span: Option<Range<usize>>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(span, message)
        }
    }

    /// Adds what the user should do.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a related location with a short label.
    #[must_use]
    pub fn with_note(mut self, label: impl Into<String>, span: Range<usize>) -> Self {
        self.note = Some((label.into(), span));
        self
    }
}

/// A 1-based line and column (in characters) in a source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineCol {
    /// Line number, from 1.
    pub line: usize,
    /// Column number in characters, from 1.
    pub col: usize,
}

/// Converts a byte offset of `src` into a line and column. Offsets past the
/// end, or inside a multi-byte character, are clamped rather than panicking.
pub fn line_col(src: &str, offset: usize) -> LineCol {
    let mut offset = offset.min(src.len());
    while !src.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = src.get(..offset).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before.get(line_start..).unwrap_or("").chars().count() + 1;
    LineCol { line, col }
}

/// All diagnostics found in one configuration file, with the text needed to
/// render them. Returned by [`crate::Config::load`] when the file has errors.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    /// The file name shown in `-->` lines.
    pub path: PathBuf,
    /// The file's text (empty when it could not be read).
    pub source: String,
    /// Findings in the order they were found, errors and warnings mixed.
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// An empty set for `source` read from `path`.
    pub fn new(path: &Path, source: &str) -> Self {
        Diagnostics {
            path: path.to_path_buf(),
            source: source.to_owned(),
            items: Vec::new(),
        }
    }

    /// Adds a finding.
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count()
    }

    /// True when at least one finding is an error.
    pub fn has_errors(&self) -> bool {
        self.error_count() > 0
    }

    /// Errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| d.severity == Severity::Error)
    }

    /// Warnings only.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Warning)
    }

    /// `FILE:LINE:COL` of a diagnostic, or just `FILE` when it has no span.
    pub fn location(&self, d: &Diagnostic) -> String {
        match &d.span {
            Some(s) => {
                let lc = line_col(&self.source, s.start);
                format!("{}:{}:{}", self.path.display(), lc.line, lc.col)
            }
            None => self.path.display().to_string(),
        }
    }

    /// Sorts findings by position in the file (findings without a span first),
    /// keeping the order of findings at the same position.
    pub fn sort(&mut self) {
        self.items
            .sort_by_key(|d| d.span.as_ref().map_or((0, 0), |s| (1, s.start)));
    }

    fn render_one(&self, d: &Diagnostic, out: &mut String) {
        let kind = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        out.push_str(&format!("{kind}: {}\n", d.message));
        out.push_str(&format!("  --> {}\n", self.location(d)));
        if let Some(span) = &d.span {
            self.render_snippet(span, out, "");
        }
        if let Some((label, span)) = &d.note {
            let lc = line_col(&self.source, span.start);
            out.push_str(&format!(
                "  note: {label} at {}:{}:{}\n",
                self.path.display(),
                lc.line,
                lc.col
            ));
            self.render_snippet(span, out, "");
        }
        if let Some(help) = &d.help {
            out.push_str(&format!("  help: {help}\n"));
        }
    }

    fn render_snippet(&self, span: &Range<usize>, out: &mut String, _label: &str) {
        let start = line_col(&self.source, span.start);
        let Some(text) = self.source.lines().nth(start.line - 1) else {
            return;
        };
        let width = start.line.to_string().len();
        // Underline to the end of the span or of the line, whichever is first.
        let line_chars = text.chars().count();
        let end = line_col(&self.source, span.end);
        let carets = if end.line == start.line {
            end.col.saturating_sub(start.col).max(1)
        } else {
            line_chars.saturating_sub(start.col - 1).max(1)
        };
        out.push_str(&format!("{:width$} |\n", ""));
        out.push_str(&format!("{} | {}\n", start.line, text));
        // Keep tabs in the padding so that the carets line up under them.
        let pad: String = text
            .chars()
            .take(start.col - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        out.push_str(&format!("{:width$} | {pad}{}\n", "", "^".repeat(carets)));
    }

    /// Renders every finding, then a one-line count, like a compiler.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for d in &self.items {
            self.render_one(d, &mut out);
            out.push('\n');
        }
        let (e, w) = (self.error_count(), self.warning_count());
        if e > 0 {
            out.push_str(&format!(
                "{}: {e} error{} and {w} warning{} found; the configuration was not accepted\n",
                self.path.display(),
                plural(e),
                plural(w)
            ));
        } else if w > 0 {
            out.push_str(&format!(
                "{}: {w} warning{}\n",
                self.path.display(),
                plural(w)
            ));
        }
        out
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one_in_chars() {
        let s = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_col(s, 0), LineCol { line: 1, col: 1 });
        assert_eq!(line_col(s, 6), LineCol { line: 2, col: 1 });
        // byte 9 is the space after "bé" (b is 1 byte, é is 2): column 3
        assert_eq!(line_col(s, 9), LineCol { line: 2, col: 3 });
        // inside the é: clamped back to its start
        assert_eq!(line_col(s, 8), LineCol { line: 2, col: 2 });
        assert_eq!(line_col(s, 1000), LineCol { line: 3, col: 1 });
    }

    #[test]
    fn carets_line_up_under_tabs() {
        let src = "[web]\n\tlisten = 5\n";
        let mut d = Diagnostics::new(Path::new("x.toml"), src);
        d.push(Diagnostic::error(Some(16..17), "bad"));
        let r = d.render();
        assert!(r.contains("2 | \tlisten = 5\n  | \t         ^\n"), "{r}");
    }

    #[test]
    fn render_has_location_source_line_and_caret() {
        let src = "[web]\nlisten = \"nope\"\n";
        let mut d = Diagnostics::new(Path::new("x.toml"), src);
        d.push(Diagnostic::error(Some(15..21), "bad listen address").with_help("use IP:PORT"));
        let r = d.render();
        assert!(
            r.contains("error: bad listen address\n  --> x.toml:2:10\n"),
            "{r}"
        );
        assert!(
            r.contains("2 | listen = \"nope\"\n  |          ^^^^^^\n"),
            "{r}"
        );
        assert!(r.contains("help: use IP:PORT"), "{r}");
        assert!(r.contains("1 error and 0 warnings"), "{r}");
    }
}
