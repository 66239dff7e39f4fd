//! One line for an error and its causes, as every layer reports them.

/// `err` and each of its causes, joined by `: `; a cause whose text the
/// line already holds (wrappers often repeat it) is not repeated.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn causes_are_joined_once() {
        let err = Outer(std::io::Error::other("disk full"));
        assert_eq!(super::chain(&err), "outer: disk full");
    }
}
