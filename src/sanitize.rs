//! Untrusted text made safe to draw, and fitted to a display width.
//!
//! Every string that came from the catalog (an intake form, an ingest call,
//! the server's own error messages) passes through [`sanitize`] before it
//! reaches the terminal. It removes what a terminal would interpret instead
//! of print:
//!
//! * C0 controls (ESC, BEL, CR, …), DEL and the C1 controls U+0080–U+009F;
//! * whole escape sequences: an ESC- or C1-introduced CSI (`ESC [` / U+009B)
//!   loses its parameters and final byte; OSC, DCS, SOS, PM and APC strings
//!   (`ESC ]`, `ESC P`, …) lose their payload up to BEL or ST, so
//!   `"\x1b]52;c;ZXZpbA==\x07"` leaves nothing behind; an unterminated one
//!   swallows the rest of the value, as a terminal would;
//! * bidi controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C),
//!   which could make `"\u{202e}gnp.exe"` read as `exe.png`;
//! * zero-width characters (U+200B–U+200D, U+2060, U+FEFF), which hide text.
//!
//! Tabs, newlines and the Unicode line and paragraph separators become a
//! space so a value stays on its row. What is left contains none of the
//! characters above, so sanitizing twice changes nothing; printable text is
//! returned borrowed, without a copy.
//!
//! [`truncate`] and [`display_width`] measure by terminal columns (CJK and
//! most emoji take two), so wide or very long values cannot break a layout.

use std::borrow::Cow;
use std::fmt::Write as _;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

const ESC: char = '\u{1b}';
const BEL: char = '\u{07}';
/// C1 string terminator.
const ST: char = '\u{9c}';
/// C1 control sequence introducer.
const CSI: char = '\u{9b}';

/// The ellipsis that marks a cut value.
pub const ELLIPSIS: char = '…';

/// Characters removed outright (besides the C0 and C1 controls).
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{061c}'
            | '\u{200b}'..='\u{200d}'
            | '\u{2060}'
            | '\u{feff}'
    )
}

/// Characters that become a space.
fn is_space_like(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{2028}' | '\u{2029}')
}

/// Whether `c` may not reach the screen as it is.
fn needs_work(c: char) -> bool {
    c.is_control() || is_invisible(c) || is_space_like(c)
}

/// Text safe to draw: see the module documentation for what is removed.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    // Printable ASCII, nearly all text, is checked a byte at a time (the
    // loop vectorises); anything else a character at a time.
    if s.bytes().all(|b| (b' '..=b'~').contains(&b)) || !s.chars().any(needs_work) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ESC => match chars.peek().copied() {
                Some('[') => {
                    chars.next();
                    skip_csi(&mut chars);
                }
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    chars.next();
                    skip_string(&mut chars);
                }
                Some(next) if ('\u{20}'..='\u{2f}').contains(&next) => {
                    // nF sequences (charset designations and the like):
                    // intermediates, then one final byte.
                    while chars.next_if(|c| ('\u{20}'..='\u{2f}').contains(c)).is_some() {}
                    chars.next_if(|c| ('\u{30}'..='\u{7e}').contains(c));
                }
                Some(next) if ('\u{30}'..='\u{7e}').contains(&next) => {
                    // Two-character sequences such as ESC 7, ESC c, ESC \.
                    chars.next();
                }
                // A lone ESC, or ESC before something that is not part of a
                // sequence: drop the ESC, keep looking at what follows.
                _ => {}
            },
            CSI => skip_csi(&mut chars),
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            c if is_space_like(c) => out.push(' '),
            c if c.is_control() || is_invisible(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Skips a CSI's parameters (0x30–0x3F), intermediates (0x20–0x2F) and its
/// final byte (0x40–0x7E). Anything else ends the sequence unconsumed.
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while chars.next_if(|c| ('\u{20}'..='\u{3f}').contains(c)).is_some() {}
    chars.next_if(|c| ('\u{40}'..='\u{7e}').contains(c));
}

/// Skips a control string's payload and its terminator (BEL, ST or ESC \).
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            BEL | ST => return,
            ESC => {
                chars.next_if_eq(&'\\');
                return;
            }
            _ => {}
        }
    }
}

/// `json` (text serde_json wrote) with every character [`sanitize`] would
/// remove or replace written as a `\uXXXX` escape, so JSON printed to a
/// terminal is inert and still decodes to the same values. serde_json
/// escapes only C0 controls; DEL, the C1 controls (U+009B is a CSI), bidi
/// and zero-width characters and U+2028/U+2029 it leaves raw. Outside
/// strings serde_json writes only ASCII, so every such character is inside
/// a string, where the escape is valid. Newlines (the pretty printer's) stay.
pub fn escape_json(json: &str) -> Cow<'_, str> {
    if !json.chars().any(|c| c != '\n' && needs_work(c)) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if c != '\n' && needs_work(c) {
            // Every character needs_work accepts is in the BMP: one escape.
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Width of `s` in terminal columns.
pub fn display_width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// `s` cut to at most `max_width` columns, ending in [`ELLIPSIS`] when cut.
/// A wide character that would straddle the edge is left out whole.
pub fn truncate(s: &str, max_width: usize) -> Cow<'_, str> {
    if display_width(s) <= max_width {
        return Cow::Borrowed(s);
    }
    if max_width == 0 {
        return Cow::Borrowed("");
    }
    let budget = max_width - 1;
    let mut used = 0;
    let mut out = String::new();
    for c in s.chars() {
        let w = UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > budget {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push(ELLIPSIS);
    Cow::Owned(out)
}

/// [`sanitize`] then [`truncate`]: the usual way a catalog value is drawn.
pub fn fit(s: &str, max_width: usize) -> String {
    truncate(&sanitize(s), max_width).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(s: &str) -> String {
        let once = sanitize(s).into_owned();
        assert_eq!(sanitize(&once), once, "sanitize must be idempotent for {s:?}");
        assert!(matches!(sanitize(&once), Cow::Borrowed(_)), "clean text is borrowed");
        once
    }

    #[test]
    fn printable_text_is_borrowed_unchanged() {
        for s in ["sales-quoting", "Quotes from the CRM (v2)", "販売見積もり", "🚀 launch", ""] {
            assert!(matches!(sanitize(s), Cow::Borrowed(b) if b == s));
        }
    }

    #[test]
    fn clear_screen_csi_is_removed_whole() {
        assert_eq!(clean("a\x1b[2Jb"), "ab");
        assert_eq!(clean("\x1b[1;31mred\x1b[0m"), "red");
        assert_eq!(clean("\x1b[?1049h"), "");
    }

    #[test]
    fn osc_payloads_are_removed_up_to_bel_or_st() {
        assert_eq!(clean("x\x1b]52;c;ZXZpbA==\x07y"), "xy");
        assert_eq!(clean("\x1b]0;pwned\x07title"), "title");
        assert_eq!(clean("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"), "link");
        assert_eq!(clean("\x1b]0;pwned\u{9c}after"), "after");
    }

    #[test]
    fn unterminated_osc_swallows_the_rest() {
        assert_eq!(clean("ok\x1b]52;c;ZXZpbA=="), "ok");
    }

    #[test]
    fn dcs_apc_and_pm_strings_are_removed() {
        assert_eq!(clean("a\x1bPq#0;2;0;0;0\x1b\\b"), "ab");
        assert_eq!(clean("a\x1b_payload\x1b\\b"), "ab");
        assert_eq!(clean("a\x1b^pm\x07b"), "ab");
    }

    #[test]
    fn c1_csi_and_osc_are_removed_with_their_parameters() {
        assert_eq!(clean("\u{9b}31mred"), "red");
        assert_eq!(clean("a\u{9d}0;t\u{9c}b"), "ab");
        assert_eq!(clean("a\u{85}b"), "ab");
    }

    #[test]
    fn other_escapes_and_lone_esc_are_removed() {
        assert_eq!(clean("a\x1b7b\x1b8"), "ab");
        assert_eq!(clean("a\x1b(Bb"), "ab");
        assert_eq!(clean("end\x1b"), "end");
        assert_eq!(clean("\x1b\x1b[31mx"), "x");
    }

    #[test]
    fn c0_controls_and_del_are_removed() {
        assert_eq!(clean("a\rb"), "ab");
        assert_eq!(clean("ding\x07dong"), "dingdong");
        assert_eq!(clean("back\x08space\x7f"), "backspace");
        assert_eq!(clean("nul\0l"), "null");
    }

    #[test]
    fn tabs_and_newlines_become_spaces() {
        assert_eq!(clean("a\tb\nc"), "a b c");
        assert_eq!(clean("line\u{2028}next"), "line next");
        assert_eq!(clean("crlf\r\nend"), "crlf end");
    }

    #[test]
    fn bidi_controls_are_removed() {
        assert_eq!(clean("\u{202e}gnp.exe"), "gnp.exe");
        assert_eq!(clean("a\u{2066}b\u{2069}c\u{200e}\u{200f}\u{061c}"), "abc");
        assert_eq!(clean("\u{202a}\u{202b}\u{202c}\u{202d}x"), "x");
    }

    #[test]
    fn zero_width_characters_are_removed() {
        assert_eq!(clean("zero\u{200b}width"), "zerowidth");
        assert_eq!(clean("\u{feff}bom\u{2060}\u{200c}\u{200d}"), "bom");
    }

    #[test]
    fn truncate_counts_columns_not_chars() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("exactly-10", 10), "exactly-10");
        assert_eq!(truncate("much-too-long", 8), "much-to…");
        // Each CJK character is two columns wide: 4 columns fit two of them.
        let cut = truncate("販売見積もり", 6);
        assert_eq!(cut, "販売…");
        assert!(display_width(&cut) <= 6);
        // A wide character that would straddle the edge is left out.
        assert_eq!(truncate("a販売", 3), "a…");
        assert_eq!(truncate("anything", 0), "");
        assert_eq!(truncate("ab", 1), "…");
    }

    #[test]
    fn json_escapes_what_a_terminal_would_act_on_and_still_decodes() {
        let value = "\x1b]0;t\x07\u{9b}31m\u{7f}\u{202e}gnp\u{200b}\u{2028}\t\n販";
        let json = serde_json::to_string_pretty(&serde_json::json!({ "name": value })).unwrap();
        let escaped = escape_json(&json);
        assert!(escaped.contains("\\u009b") && escaped.contains("\\u202e") && escaped.contains("\\u2028"));
        assert!(!escaped.chars().any(|c| c != '\n' && needs_work(c)), "{escaped:?}");
        let back: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back["name"], value);
        assert!(matches!(escape_json("{\n  \"a\": \"販\"\n}"), Cow::Borrowed(_)));
    }

    #[test]
    fn fit_sanitizes_before_measuring() {
        assert_eq!(fit("\x1b[31mred-and-long\x1b[0m", 6), "red-a…");
    }
}
