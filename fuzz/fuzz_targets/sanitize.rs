//! `sanitize`, `fit` and `escape_json` on arbitrary text: the output holds no
//! control, bidi or zero-width character; sanitizing twice equals once and
//! borrows; `fit` stays within its width; escaped JSON holds none of them raw
//! and decodes back to the input.

#![no_main]

use std::borrow::Cow;

use govdeck::sanitize::{display_width, escape_json, fit, sanitize};
use libfuzzer_sys::fuzz_target;

fn forbidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
        || matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{2028}' | '\u{2029}')
}

fuzz_target!(|data: &[u8]| {
    let (width, bytes) = data.split_first().map_or((0, data), |(w, rest)| (usize::from(*w % 64), rest));
    let text = String::from_utf8_lossy(bytes);

    let once = sanitize(&text);
    if let Some(c) = once.chars().find(|&c| forbidden(c)) {
        panic!("sanitize kept {c:?} of {text:?}: {once:?}");
    }
    let twice = sanitize(&once);
    assert!(matches!(twice, Cow::Borrowed(_)), "the second pass copied {once:?}");
    assert_eq!(twice, once, "not idempotent for {text:?}");
    if !text.chars().any(|c| forbidden(c) || c == '\t') {
        assert!(matches!(sanitize(&text), Cow::Borrowed(_)), "printable {text:?} was copied");
    }

    let fitted = fit(&text, width);
    assert!(display_width(&fitted) <= width, "fit({text:?}, {width}) = {fitted:?} is too wide");
    assert!(!fitted.chars().any(forbidden), "fit kept a forbidden character of {text:?}");

    let json = serde_json::to_string_pretty(&serde_json::json!({ "value": &*text, "list": [&*text] }))
        .expect("a string serializes");
    let escaped = escape_json(&json);
    assert!(!escaped.chars().any(|c| c != '\n' && forbidden(c)), "escape_json left {escaped:?}");
    let back: serde_json::Value = serde_json::from_str(&escaped).expect("escaped JSON parses");
    assert_eq!(back["value"].as_str(), Some(&*text), "escape_json changed the value");
});
