//! Text a caller chose, as the programs write it into a log.

/// A character that a terminal or log viewer does not show as itself, though
/// it is not a control character: bidirectional overrides and isolates (so
/// that `U+202E` cannot make `txt.exe` read `exe.txt`), zero-width and other
/// invisible format characters, line and paragraph separators. Written
/// escaped wherever newgate writes text a caller chose into a log.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// `c` must be written escaped into a log line: a control character, or one
/// that does not show as itself.
pub fn needs_escape(c: char) -> bool {
    c.is_control() || is_invisible(c)
}
