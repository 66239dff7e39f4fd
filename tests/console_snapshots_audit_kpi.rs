//! What the KPI charts and the audit timeline show, and which colour codes
//! each shipped theme sends: snapshots from the fixture data and a fixed
//! clock at 80x24 and 120x40 (stored in the top-level `snapshots/`), and
//! the bytes the console's backend writes for every pane in every theme.

mod console_support;

use console_support::*;
use crossterm::event::KeyCode;
use govdeck::app::fixtures::{fixture_data, fixture_now};
use govdeck::app::{App, ConsoleData, Effect, Event, render};
use govdeck::backend::sgr_sequences;
use govdeck::config::theme::SHIPPED;
use govdeck::domain::AuditEvent;
use govdeck::domain::audit_query::{AuditPage, AuditQuery};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Every SGR parameter of every pane (and the help overlay) drawn in `theme`.
fn theme_parameters(theme: &str, no_color: bool) -> Vec<String> {
    let mut parameters = Vec::new();
    for keys in ["1", "2", "3", "4", "5", "?"] {
        let mut app = console_with(fixture_data(fixture_now()), theme, no_color);
        press(&mut app, keys);
        for (width, height) in SIZES {
            for sequence in sgr_sequences(&frame_bytes(&app, width, height)) {
                parameters.extend(sequence.split(';').map(str::to_string));
            }
        }
    }
    parameters
}

/// Whether an SGR parameter list holds a 256-colour or true-colour code.
fn extended_colours(sequence: &[String]) -> bool {
    sequence.iter().any(|p| p == "38" || p == "48" || p == "58")
}

/// 16-colour codes: 30–37, 90–97 (fore), 40–47, 100–107 (back), 39/49 (default).
fn is_sixteen_colour(code: u32) -> bool {
    matches!(code, 30..=37 | 39 | 40..=47 | 49 | 90..=97 | 100..=107)
}

/// Attributes: reset, bold, dim, italic, underline, blink, reverse, hidden,
/// crossed out, and their "off" codes.
fn is_attribute(code: u32) -> bool {
    matches!(code, 0..=9 | 21..=29)
}

#[test]
fn the_ansi16_theme_and_no_color_send_only_sixteen_colour_codes() {
    for (theme, no_color) in [("ansi16", false), ("ansi16", true), ("dark", true), ("light", true)] {
        let parameters = theme_parameters(theme, no_color);
        assert!(!parameters.is_empty(), "{theme}: no SGR written at all");
        assert!(!extended_colours(&parameters), "{theme} (NO_COLOR {no_color}) sent a 256/true colour code");
        for parameter in &parameters {
            let code: u32 = parameter.parse().unwrap_or_else(|_| panic!("{theme}: odd SGR parameter {parameter:?}"));
            assert!(
                is_sixteen_colour(code) || is_attribute(code),
                "{theme} (NO_COLOR {no_color}) sent SGR {code}, not a 16-colour code or an attribute"
            );
            if no_color {
                assert!(
                    is_attribute(code) || code == 39 || code == 49,
                    "{theme} with NO_COLOR sent colour code {code}"
                );
            }
        }
        if !no_color {
            // Cyan titles and a black-on-cyan selection, as the theme names them.
            assert!(parameters.iter().any(|p| p == "36"), "ansi16 cyan is SGR 36");
            assert!(parameters.iter().any(|p| p == "46"), "ansi16 cyan background is SGR 46");
            assert!(parameters.iter().any(|p| p == "90"), "ansi16 dark_gray is SGR 90");
        }
    }
}

#[test]
fn every_shipped_theme_sends_the_colour_codes_it_names() {
    for (theme, _) in SHIPPED {
        let parameters = theme_parameters(theme, false);
        for parameter in &parameters {
            assert!(parameter.parse::<u32>().is_ok(), "{theme}: odd SGR parameter {parameter:?}");
        }
        match *theme {
            // True-colour themes: their #rrggbb palette as 38;2 / 48;2.
            "dark" | "light" => {
                let text = parameters.join(";");
                assert!(text.contains("38;2;"), "{theme}: its palette is true colour");
                assert!(!text.contains("38;5;") && !text.contains("48;5;"), "{theme}: no 256-colour index is named");
            }
            _ => assert!(!extended_colours(&parameters), "{theme}: only 16-colour codes"),
        }
    }
}

/// The KPI pane's rows as text, at `width` x `height`.
fn kpi_rows(width: u16, height: u16) -> Vec<Vec<char>> {
    kpi_rows_of(fixture_data(fixture_now()), width, height)
}

fn kpi_rows_of(data: ConsoleData, width: u16, height: u16) -> Vec<Vec<char>> {
    let mut app = console_with(data, "dark", false);
    press(&mut app, "4");
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| render(&app, frame)).unwrap();
    let buffer = terminal.backend().buffer();
    (0..height).map(|y| (0..width).map(|x| buffer[(x, y)].symbol().chars().next().unwrap_or(' ')).collect()).collect()
}

fn is_bar(c: char) -> bool {
    ('▁'..='█').contains(&c)
}

#[test]
fn kpi_values_sit_above_their_bars_never_inside_them() {
    for (width, height) in SIZES {
        for (y, row) in kpi_rows(width, height).iter().enumerate() {
            for pair in row.windows(2) {
                let touching =
                    (pair[0].is_ascii_digit() && is_bar(pair[1])) || (is_bar(pair[0]) && pair[1].is_ascii_digit());
                assert!(
                    !touching,
                    "{width}x{height} row {y}: a value touches a bar: {}",
                    row.iter().collect::<String>()
                );
            }
        }
    }
}

/// The rows of the chart titled `title`: from below its title to the next
/// chart's title (or the pane's border), in its own columns.
fn chart_rows(rows: &[Vec<char>], title: &str) -> Vec<String> {
    let text: Vec<String> = rows.iter().map(|r| r.iter().collect()).collect();
    let (top, column) = text
        .iter()
        .enumerate()
        .find_map(|(y, l)| l.find(title).map(|byte| (y, l[..byte].chars().count())))
        .expect("the chart is drawn");
    let width = rows[0].len();
    let (from, to) = if column < width / 2 { (1, width / 2) } else { (width / 2, width - 1) };
    text[top + 1..]
        .iter()
        .take_while(|l| !l.contains(" ─") && !l.starts_with('└'))
        .map(|l| l.chars().skip(from).take(to - from).collect())
        .collect()
}

#[test]
fn dlp_values_are_shown_at_80_columns_and_weekly_charts_name_their_weeks() {
    let blocks: Vec<u64> =
        fixture_data(fixture_now()).kpis.expect("fixture KPIs").dlp_blocks_per_month.iter().map(|(_, n)| *n).collect();
    for (width, height) in SIZES {
        let rows = kpi_rows(width, height);
        let dlp = chart_rows(&rows, "DLP blocks per month");
        let (axis, bars) = dlp.split_last().expect("an x-axis row");
        let mut shown: Vec<u64> =
            bars.iter().flat_map(|l| l.split_whitespace()).filter_map(|t| t.parse().ok()).collect();
        let mut expected: Vec<u64> = blocks.iter().copied().filter(|n| *n > 0).collect();
        shown.sort_unstable();
        expected.sort_unstable();
        assert_eq!(shown, expected, "{width}x{height}: every month's value is readable:\n{}", dlp.join("\n"));
        assert!(axis.contains("Nov") || axis.contains("11"), "{width}x{height}: months on the axis: {axis}");
        for title in ["Approved per week", "Median hours to approve", "Expiring in the next 12 weeks"] {
            let chart = chart_rows(&rows, title);
            let axis = chart.last().expect("an x-axis row");
            let week = if title.starts_with("Expiring") { "Nov 30" } else { "Nov 16" };
            let week = if width < 120 && title.starts_with("Expiring") { "Dec 7" } else { week };
            assert!(axis.contains(week), "{width}x{height} {title}: the weeks are named on the x-axis: {axis:?}");
        }
    }
}

#[test]
fn three_digit_dlp_values_at_80_columns_are_written_whole_for_the_newest_months_that_fit() {
    let mut data = fixture_data(fixture_now());
    let kpis = data.kpis.as_mut().expect("fixture KPIs");
    let values = [0, 0, 0, 0, 0, 0, 0, 0, 134, 211, 241, 16];
    for ((_, n), v) in kpis.dlp_blocks_per_month.iter_mut().zip(values) {
        *n = v;
    }
    let months: Vec<String> = kpis.dlp_blocks_per_month.iter().map(|(m, _)| m.clone()).collect();
    let rows = kpi_rows_of(data, 80, 24);
    let text: Vec<String> = rows.iter().map(|r| r.iter().collect()).collect();
    let title = text.iter().find(|l| l.contains("DLP blocks per month")).expect("the DLP chart");
    let dlp = chart_rows(&rows, "DLP blocks per month");
    let (axis, bars) = dlp.split_last().expect("an x-axis row");
    let shown: Vec<&str> = bars.iter().flat_map(|l| l.split_whitespace()).filter(|t| !t.contains('█')).collect();
    for token in &shown {
        assert!(
            token.chars().all(|c| c.is_ascii_digit() || ('▁'..='█').contains(&c)),
            "{token:?} in\n{}",
            dlp.join("\n")
        );
    }
    let numbers: Vec<u64> = shown.iter().filter_map(|t| t.parse().ok()).collect();
    for value in [134, 211, 241, 16] {
        assert!(numbers.contains(&value), "{value} is written whole:\n{}", dlp.join("\n"));
    }
    let newest = months.last().and_then(|m| m.get(5..)).expect("a month").to_string();
    assert!(axis.contains(&newest), "the newest month is on the axis: {axis}");
    assert!(title.contains("· last 9 "), "the title says how many months are shown: {title}");
}

#[test]
fn kpis() {
    snap_sizes("kpis_dark", || {
        let mut app = console_with(fixture_data(fixture_now()), "dark", false);
        press(&mut app, "4");
        app
    });
}

/// The fixture's 60 events as the newest of a cache that holds 20,011.
fn big_cache() -> ConsoleData {
    let mut data = fixture_data(fixture_now());
    data.audit_total = 20_011;
    // The newest 60 of 20,011: seqs 19,952 to 20,011.
    for event in &mut data.audit {
        event.seq += 20_011 - 60;
    }
    data
}

fn queries(effects: &[Effect]) -> Vec<AuditQuery> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::QueryAudit(query) => Some(query.clone()),
            _ => None,
        })
        .collect()
}

fn title(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| render(app, frame)).unwrap();
    let buffer = terminal.backend().buffer();
    (0..width).map(|x| buffer[(x, 1)].symbol().to_string()).collect()
}

/// Older copies of the fixture's events, below `below`, as a page of the cache.
fn older_events(app: &App, count: usize, below: u64) -> Vec<AuditEvent> {
    let mut events: Vec<AuditEvent> = app.data().audit.iter().take(count).cloned().collect();
    for (i, event) in events.iter_mut().enumerate() {
        event.seq = below - 1 - i as u64;
        event.event_id = format!("older-{i}");
        event.timestamp -= chrono::Duration::days(30);
    }
    events
}

#[test]
fn the_audit_title_says_how_many_of_the_cached_events_it_shows() {
    snap_sizes("audit_newest_of_total", || {
        let mut app = console_with(big_cache(), "dark", false);
        press(&mut app, "3");
        app
    });
    let mut app = console_with(big_cache(), "dark", false);
    press(&mut app, "3");
    assert!(title(&app, 120, 40).contains("Audit · newest 60 of 20,011 events"), "{}", title(&app, 120, 40));
}

#[test]
fn the_audit_filter_asks_the_whole_cache_and_keeps_only_the_newest_answer() {
    let mut app = console_with(big_cache(), "dark", false);
    press(&mut app, "3");
    let mut sent = Vec::new();
    for c in "/riley".chars() {
        sent.extend(queries(&app.handle_key(key(KeyCode::Char(c)))));
    }
    let texts: Vec<&str> = sent.iter().map(|q| q.text.as_str()).collect();
    assert_eq!(texts, ["r", "ri", "ril", "rile", "riley"], "a query a keystroke");
    assert!(sent.windows(2).all(|w| w[0].id < w[1].id));
    assert!(sent.iter().all(|q| q.before_seq.is_none() && q.limit == govdeck::panes::audit::AUDIT_PAGE));
    assert!(title(&app, 120, 40).contains("searching 20,011 events…"), "{}", title(&app, 120, 40));

    // Matches among the newest events meanwhile; an answer to an older query is dropped.
    let older = older_events(&app, 3, 100);
    let stale = AuditPage { query: sent[2].clone(), events: older.clone(), more: false, next_before: None };
    app.handle_event(Event::AuditPage(Box::new(stale)));
    assert!(title(&app, 120, 40).contains("searching"), "a stale answer is not shown");

    let newest = sent.last().unwrap().clone();
    let answer = AuditPage { query: newest, events: older.clone(), more: false, next_before: None };
    app.handle_event(Event::AuditPage(Box::new(answer)));
    assert!(title(&app, 120, 40).contains("3 matching of 20,011 events"), "{}", title(&app, 120, 40));
    assert_eq!(app.audit().selected_event(app.context()).map(|e| e.event_id.as_str()), Some("older-0"));
    assert!(queries(&app.detail_effects()).is_empty(), "a complete answer asks for nothing more");
}

#[test]
fn a_rare_filter_is_answered_in_steps_and_a_full_page_pages_on_when_scrolled_past() {
    let mut app = console_with(big_cache(), "dark", false);
    press(&mut app, "3");
    let mut sent = Vec::new();
    for c in "/zz".chars() {
        sent.extend(queries(&app.handle_key(key(KeyCode::Char(c)))));
    }
    app.handle_key(key(KeyCode::Enter));
    // A step: two matches, and the search goes on below where it stopped.
    let first = older_events(&app, 2, 15_000);
    let step = AuditPage { query: sent[1].clone(), events: first, more: true, next_before: Some(12_000) };
    app.handle_event(Event::AuditPage(Box::new(step)));
    let next = queries(&app.detail_effects());
    assert_eq!(next.iter().map(|q| q.before_seq).collect::<Vec<_>>(), [Some(12_000)], "the next step at once");
    assert!(title(&app, 120, 40).contains("2 matching so far, searching 20,011 events…"), "{}", title(&app, 120, 40));

    // The next step fills a page: the rest comes when the user moves past it.
    let page: Vec<AuditEvent> = (0..govdeck::panes::audit::AUDIT_PAGE as u64)
        .map(|i| {
            let mut event = app.data().audit[0].clone();
            event.seq = 11_999 - i;
            event.event_id = format!("page-{i}");
            event
        })
        .collect();
    let last_seq = page.last().unwrap().seq;
    app.handle_event(Event::AuditPage(Box::new(AuditPage {
        query: next[0].clone(),
        events: page,
        more: true,
        next_before: Some(last_seq),
    })));
    assert!(queries(&app.detail_effects()).is_empty(), "a full page waits for the user");
    assert!(title(&app, 120, 40).contains("newest 1,002 matching of 20,011 events"), "{}", title(&app, 120, 40));
    let mut more = queries(&app.handle_key(key(KeyCode::End)));
    more.extend(queries(&app.handle_key(key(KeyCode::Down))));
    assert_eq!(more.len(), 1, "one page asked: {more:?}");
    assert_eq!((more[0].text.as_str(), more[0].before_seq), ("zz", Some(last_seq)));
}

#[test]
fn scrolling_past_the_newest_events_pages_in_older_ones() {
    let mut app = console_with(big_cache(), "dark", false);
    press(&mut app, "3");
    let asked = queries(&app.handle_key(key(KeyCode::End)));
    let oldest = app.data().audit.last().unwrap().seq;
    assert_eq!(asked.len(), 1, "End reaches the last row and asks for the page below it");
    assert_eq!((asked[0].text.as_str(), asked[0].outcome, asked[0].before_seq), ("", None, Some(oldest)));
    let page = older_events(&app, 10, oldest);
    let next_before = page.last().map(|e| e.seq);
    app.handle_event(Event::AuditPage(Box::new(AuditPage {
        query: asked[0].clone(),
        events: page,
        more: true,
        next_before,
    })));
    assert!(title(&app, 120, 40).contains("newest 70 of 20,011 events"), "{}", title(&app, 120, 40));
    let selected = app.audit().selected_event(app.context()).map(|e| e.seq);
    assert_eq!(selected, Some(oldest), "the cursor stays on the event it was on");
    app.handle_key(key(KeyCode::End));
    assert_eq!(app.audit().selected_event(app.context()).map(|e| e.event_id.as_str()), Some("older-9"));
}

#[test]
fn a_cache_the_snapshot_holds_whole_is_filtered_without_asking() {
    let mut app = console_with(fixture_data(fixture_now()), "dark", false);
    press(&mut app, "3");
    let mut effects = Vec::new();
    for c in "/riley".chars() {
        effects.extend(app.handle_key(key(KeyCode::Char(c))));
    }
    assert!(queries(&effects).is_empty(), "{effects:?}");
    assert!(title(&app, 120, 40).contains("matching of 60 events"), "{}", title(&app, 120, 40));
}
