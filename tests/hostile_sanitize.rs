//! Property tests of [`govdeck::sanitize`], the one gate between catalog text
//! and the terminal. Inputs are arbitrary strings and generated mixes of what
//! an attacker would send: CSI, OSC, DCS/APC/PM/SOS and nF escape sequences
//! (terminated, unterminated and truncated), C0 and C1 controls with the
//! 8-bit CSI 0x9B, bidi controls, zero-width characters, CR/LF/TAB, next to
//! printable ASCII, Latin-1, CJK and emoji.
//!
//! * `output_has_no_control_bidi_or_zero_width_characters`: nothing a
//!   terminal would interpret, reorder or hide survives.
//! * `sanitizing_twice_equals_once`: the second pass changes nothing and
//!   borrows.
//! * `printable_text_passes_unchanged_and_borrowed`: text with nothing to
//!   remove comes back as the same slice.
//! * `output_is_the_input_with_characters_removed`: sanitize only deletes
//!   (and turns tabs and newlines into spaces); it never invents text.
//! * `complete_escape_sequences_vanish_whole`: a well-formed sequence between
//!   printable text leaves exactly that text: no parameter, payload or
//!   terminator leaks (the OSC 52 base64, the OSC 8 URL, the `31m` of a
//!   C1 CSI).
//! * `fit_never_exceeds_the_width`: `fit` stays within its columns.

use std::borrow::Cow;

use govdeck::sanitize::{display_width, fit, sanitize};
use proptest::prelude::*;
use proptest::sample::select;

/// Bidi controls: embeddings and overrides, isolates, marks, the Arabic letter mark.
const BIDI: &[char] = &[
    '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
    '\u{200e}', '\u{200f}', '\u{061c}',
];

/// Zero-width characters that hide text.
const ZERO_WIDTH: &[char] = &['\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}'];

/// Payloads seen in the wild and in the issue.
const KNOWN_ATTACKS: &[&str] = &[
    "\x1b[2J",
    "\x1b[3J\x1b[H",
    "\x1b]52;c;ZXZpbA==\x07",
    "\x1b]0;pwned\x07",
    "\x1b]2;pwned\x1b\\",
    "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\",
    "\u{9b}31m",
    "\u{9d}0;pwned\u{9c}",
    "\x1bP+q544e\x1b\\",
    "\x1b[?1049l",
    "\x1b[6n",
    "\x1b[21t",
    "\x1bc",
    "\x1b(0",
    "a\rb",
    "\u{202e}gnp.exe",
    "zero\u{200b}width",
    "\x1b",
    "\x1b[",
    "\x1b]",
    "\u{9b}",
];

/// Whether `c` must never reach the screen from catalog text.
fn forbidden(c: char) -> bool {
    c.is_control()
        || BIDI.contains(&c)
        || ZERO_WIDTH.contains(&c)
        // Line and paragraph separators break a row like a newline.
        || c == '\u{2028}'
        || c == '\u{2029}'
}

/// What sanitize turns into a space rather than removing.
fn space_like(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{2028}' | '\u{2029}')
}

fn printable_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range(' ', '~'),
        1 => proptest::char::range('\u{a1}', '\u{24f}'),
        1 => proptest::char::range('\u{3040}', '\u{30ff}'),
        1 => proptest::char::range('\u{4e00}', '\u{9fff}'),
        1 => proptest::char::range('\u{ac00}', '\u{d7a3}'),
        1 => proptest::char::range('\u{1f300}', '\u{1f64f}'),
        1 => select(vec!['é', 'ß', 'Ω', 'ж', '€', '…', '—', '✓', '▶', '販']),
    ]
}

/// Text a terminal prints as it is.
fn printable_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(printable_char(), 0..40).prop_map(|chars| chars.into_iter().collect())
}

/// Printable ASCII without the bytes that end or continue escape sequences
/// ambiguously: safe as an OSC or DCS payload.
fn payload_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::char::range(' ', '~'), 0..24).prop_map(|chars| chars.into_iter().collect())
}

/// A CSI's parameter and intermediate bytes.
fn csi_params() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![proptest::char::range('0', '9'), select(vec![';', '?', ':', '<', '=', '>', ' ', '!', '$'])],
        0..10,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// A complete escape sequence: removing it whole leaves its neighbours untouched.
fn complete_sequence() -> impl Strategy<Value = String> {
    let terminator = select(vec!["\x07", "\x1b\\", "\u{9c}"]);
    let string_intro =
        select(vec!["\x1b]", "\x1bP", "\x1bX", "\x1b^", "\x1b_", "\u{9d}", "\u{90}", "\u{98}", "\u{9e}", "\u{9f}"]);
    prop_oneof![
        // CSI, 7-bit and 8-bit.
        (select(vec!["\x1b[", "\u{9b}"]), csi_params(), proptest::char::range('@', '~'))
            .prop_map(|(intro, params, fin)| format!("{intro}{params}{fin}")),
        // OSC, DCS, SOS, PM, APC with a payload and a terminator.
        (string_intro, payload_text(), terminator).prop_map(|(intro, payload, end)| format!("{intro}{payload}{end}")),
        // OSC 8 hyperlink around printable text (the text stays).
        Just("\x1b]8;;http://evil.example/x\x1b\\".to_string()),
        // nF: intermediates then a final byte.
        (proptest::collection::vec(proptest::char::range(' ', '/'), 1..3), proptest::char::range('0', '~'))
            .prop_map(|(mids, fin)| format!("\x1b{}{fin}", mids.into_iter().collect::<String>())),
        // Two-character sequences: ESC 7, ESC c, ESC \ ...
        proptest::char::range('0', '~')
            .prop_filter("not a sequence introducer", |c| !matches!(c, '[' | ']' | 'P' | 'X' | '^' | '_'))
            .prop_map(|c| format!("\x1b{c}")),
    ]
}

/// One piece of a hostile string.
fn hostile_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(KNOWN_ATTACKS).prop_map(str::to_string),
        3 => complete_sequence(),
        // Truncated sequences: a prefix of a complete one.
        1 => (complete_sequence(), any::<prop::sample::Index>()).prop_map(|(seq, cut)| {
            let chars: Vec<char> = seq.chars().collect();
            chars[..cut.index(chars.len() + 1)].iter().collect()
        }),
        2 => proptest::char::range('\0', '\u{1f}').prop_map(String::from),
        1 => Just("\u{7f}".to_string()),
        2 => proptest::char::range('\u{80}', '\u{9f}').prop_map(String::from),
        2 => select(BIDI).prop_map(String::from),
        2 => select(ZERO_WIDTH).prop_map(String::from),
        2 => select(vec!["\r", "\n", "\t", "\r\n", "\u{2028}", "\u{2029}"]).prop_map(str::to_string),
        4 => printable_text(),
        1 => any::<char>().prop_map(String::from),
    ]
}

/// A generated mix of hostile fragments.
fn hostile_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(hostile_fragment(), 0..16).prop_map(|parts| parts.concat())
}

/// Hostile mixes and arbitrary strings alike.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![3 => hostile_text(), 1 => any::<String>(), 1 => "\\PC*"]
}

/// The first forbidden character of `s` and where it is, for a failure message.
fn first_forbidden(s: &str) -> Option<(usize, char)> {
    s.char_indices().find(|&(_, c)| forbidden(c))
}

proptest! {
    #[test]
    fn output_has_no_control_bidi_or_zero_width_characters(input in any_text()) {
        let out = sanitize(&input);
        prop_assert_eq!(first_forbidden(&out), None, "input {:?} gave {:?}", input, out);
    }

    #[test]
    fn sanitizing_twice_equals_once(input in any_text()) {
        let once = sanitize(&input).into_owned();
        let twice = sanitize(&once);
        prop_assert!(matches!(twice, Cow::Borrowed(_)), "the second pass copied {:?} (from {:?})", once, input);
        prop_assert_eq!(twice.as_ref(), once.as_str(), "input {:?}", input);
    }

    #[test]
    fn printable_text_passes_unchanged_and_borrowed(input in printable_text()) {
        let out = sanitize(&input);
        prop_assert!(matches!(&out, Cow::Borrowed(b) if std::ptr::eq(*b, input.as_str())), "{:?} was copied", input);
        prop_assert_eq!(out.as_ref(), input.as_str());
    }

    #[test]
    fn output_is_the_input_with_characters_removed(input in any_text()) {
        // With tabs and newlines already spaces, the output must be a
        // subsequence of the input: nothing added, nothing reordered.
        let spaced: Vec<char> = input.chars().map(|c| if space_like(c) { ' ' } else { c }).collect();
        let out = sanitize(&input);
        let mut rest = spaced.iter();
        for c in out.chars() {
            prop_assert!(rest.any(|&d| d == c), "{:?} is not in order in {:?} (output {:?})", c, input, out);
        }
    }

    #[test]
    fn complete_escape_sequences_vanish_whole(
        before in printable_text(),
        sequences in proptest::collection::vec(complete_sequence(), 1..4),
        after in printable_text(),
    ) {
        let input = format!("{before}{}{after}", sequences.concat());
        let out = sanitize(&input);
        prop_assert_eq!(out.as_ref(), format!("{before}{after}"), "input {:?}", input);
    }

    #[test]
    fn fit_never_exceeds_the_width(input in any_text(), width in 0usize..40) {
        let out = fit(&input, width);
        prop_assert!(display_width(&out) <= width, "{:?} is wider than {} (from {:?})", out, width, input);
        prop_assert_eq!(first_forbidden(&out), None, "fit kept a forbidden character of {:?}", input);
    }
}

/// The payloads named in the issue, one by one, with what must be left.
#[test]
fn the_issue_payloads_leave_only_their_text() {
    for (input, expected) in [
        ("\x1b[2J", ""),
        ("\x1b]52;c;ZXZpbA==\x07", ""),
        ("\x1b]0;pwned\x07", ""),
        ("\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"),
        ("\u{9b}31m", ""),
        ("a\rb", "ab"),
        ("\u{202e}gnp.exe", "gnp.exe"),
        ("zero\u{200b}width", "zerowidth"),
    ] {
        assert_eq!(sanitize(input), expected, "{input:?}");
    }
}
