//! The terminal: a guard that enters raw mode and the alternate screen and
//! restores the terminal on drop, on error and on panic; and the one
//! `select!` loop over crossterm's event stream, the runtime's events and a
//! one-second clock. The terminal's size is passed to the app (below 80x24
//! it takes only quit); `esc` and a key in one read, which crossterm parses
//! as alt-key, are split back into the two keys by the app.
//!
//! The screen is drawn only when something changed: a key, a resize, an
//! event from the runtime. The clock tick only moves `now` (relative times,
//! SLA countdowns, toasts ageing out); the frame is then rendered off-screen
//! and written only if its text or styles differ from what is shown, so an
//! idle console writes nothing to a slow SSH link.

use std::io::{self, Stdout, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::Duration;

use chrono::Utc;
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use crossterm::{cursor, execute, terminal};
use futures_util::StreamExt;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::{Terminal, TerminalOptions, Viewport};
use tokio::sync::mpsc;

use crate::app::{self, App, Effect, Event};
use crate::backend::ConsoleBackend;

/// How often the clock ticks to refresh relative times.
pub const CLOCK_TICK_MILLIS: u64 = 1000;

/// Whether the terminal is in raw mode on the alternate screen.
static TERMINAL_ACTIVE: AtomicBool = AtomicBool::new(false);
static PANIC_HOOK: Once = Once::new();

/// Leaves raw mode and the alternate screen; safe to call twice.
pub fn restore_terminal() {
    if TERMINAL_ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = terminal::disable_raw_mode();
        let mut stdout = io::stdout();
        let _ = execute!(stdout, terminal::LeaveAlternateScreen, cursor::Show);
        let _ = stdout.flush();
    }
}

/// Restores the terminal before any panic message is printed, so the
/// message is readable and the shell usable. Installed once; chains to the
/// hook that was there before (color-eyre's, in `main`).
fn install_panic_hook() {
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            previous(info);
        }));
    });
}

/// Raw mode and the alternate screen for as long as it lives.
pub struct TerminalGuard {
    pub terminal: Terminal<ConsoleBackend<Stdout>>,
}

impl TerminalGuard {
    pub fn enter() -> io::Result<TerminalGuard> {
        install_panic_hook();
        terminal::enable_raw_mode()?;
        TERMINAL_ACTIVE.store(true, Ordering::SeqCst);
        let mut stdout = io::stdout();
        if let Err(err) = execute!(stdout, terminal::EnterAlternateScreen, cursor::Hide) {
            restore_terminal();
            return Err(err);
        }
        match Terminal::new(ConsoleBackend::new(stdout)) {
            Ok(terminal) => Ok(TerminalGuard { terminal }),
            Err(err) => {
                restore_terminal();
                Err(err)
            }
        }
    }
}

impl TerminalGuard {
    /// Hands the terminal to `run` (an editor, say) in its ordinary mode,
    /// then takes it back and clears it for a full redraw. The caller drops
    /// its key stream first and makes a new one after, so that nothing
    /// reads the keys meant for `run`.
    pub fn suspended<T>(&mut self, run: impl FnOnce() -> T) -> io::Result<T> {
        restore_terminal();
        let answer = run();
        terminal::enable_raw_mode()?;
        TERMINAL_ACTIVE.store(true, Ordering::SeqCst);
        execute!(
            io::stdout(),
            terminal::EnterAlternateScreen,
            cursor::Hide,
            terminal::Clear(terminal::ClearType::All)
        )?;
        // Not `Terminal::clear`: it first asks the terminal where its cursor
        // is (ESC [6n), and one that does not answer stops the console after
        // two seconds. An empty frame drawn over the cleared screen leaves
        // ratatui's last frame empty, so the next draw repaints every cell.
        self.terminal.draw(|_| {})?;
        Ok(answer)
    }
}

/// Sends `effects` to the runtime, keeping back an edit for the loop (which
/// owns the terminal the editor needs).
fn dispatch(effects: Vec<Effect>, to: &mpsc::UnboundedSender<Effect>, edit: &mut Option<app::edit::EditRequest>) {
    for effect in effects {
        match effect {
            Effect::Edit(request) => *edit = Some(request),
            effect => {
                let _ = to.send(effect);
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Renders `state` off-screen to see whether the visible frame changed.
struct Shadow {
    terminal: Terminal<TestBackend>,
    last: Option<Buffer>,
}

impl Shadow {
    fn new() -> io::Result<Shadow> {
        let backend = TestBackend::new(1, 1);
        let viewport = Viewport::Fixed(ratatui::layout::Rect::new(0, 0, 1, 1));
        let terminal = Terminal::with_options(backend, TerminalOptions { viewport }).map_err(io::Error::other)?;
        Ok(Shadow { terminal, last: None })
    }

    /// Renders at `size` and returns whether the result differs from the
    /// previous call.
    fn changed(&mut self, state: &App, size: ratatui::layout::Size) -> io::Result<bool> {
        let area = ratatui::layout::Rect::new(0, 0, size.width, size.height);
        if self.terminal.get_frame().area() != area {
            self.terminal.backend_mut().resize(size.width, size.height);
            self.terminal.resize(area).map_err(io::Error::other)?;
            self.last = None;
        }
        let frame = self.terminal.draw(|frame| app::render(state, frame)).map_err(io::Error::other)?;
        let buffer = frame.buffer.clone();
        let changed = self.last.as_ref() != Some(&buffer);
        self.last = Some(buffer);
        Ok(changed)
    }
}

/// Draws `state` and remembers the frame, so the clock tick can tell
/// whether anything visible changed since.
fn draw(terminal: &mut Terminal<ConsoleBackend<Stdout>>, state: &App, shadow: &mut Shadow) -> io::Result<()> {
    let completed = terminal.draw(|frame| app::render(state, frame))?;
    shadow.last = Some(completed.buffer.clone());
    Ok(())
}

/// Runs the console until the user quits or the terminal goes away. Owns the
/// terminal for that time and gives it back restored, whatever happens.
pub async fn run(
    mut state: App,
    mut events: mpsc::UnboundedReceiver<Event>,
    effects: mpsc::UnboundedSender<Effect>,
) -> io::Result<()> {
    let mut guard = TerminalGuard::enter()?;
    let mut input = EventStream::new();
    let mut edit: Option<app::edit::EditRequest> = None;
    let mut clock = tokio::time::interval(Duration::from_millis(CLOCK_TICK_MILLIS));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut shadow = Shadow::new()?;
    let mut events_open = true;

    state.set_now(Utc::now());
    let size = guard.terminal.size()?;
    state.resize(size.width, size.height);
    draw(&mut guard.terminal, &state, &mut shadow)?;

    loop {
        let terminal = &mut guard.terminal;
        let mut dirty = false;
        tokio::select! {
            next = input.next() => match next {
                Some(Ok(TermEvent::Key(key))) if key.kind != KeyEventKind::Release => {
                    state.set_now(Utc::now());
                    dispatch(state.handle_key(key), &effects, &mut edit);
                    // Keys already waiting (fast typing, a paste) are handled
                    // before drawing, so the screen is drawn once for them.
                    // The stream is polled with this task's own waker: it
                    // keeps the waker of its last pending poll, and a no-op
                    // one (as `now_or_never` uses) would leave the next key unseen
                    // until some other wake-up.
                    loop {
                        match futures_util::poll!(input.next()) {
                            Poll::Ready(Some(Ok(TermEvent::Key(key)))) => {
                                if key.kind != KeyEventKind::Release && !state.should_quit() && edit.is_none() {
                                    dispatch(state.handle_key(key), &effects, &mut edit);
                                }
                            }
                            Poll::Ready(Some(Ok(TermEvent::Resize(width, height)))) => {
                                state.resize(width, height);
                                terminal.autoresize()?;
                            }
                            Poll::Ready(Some(Ok(_))) => {}
                            Poll::Ready(Some(Err(err))) => return Err(err),
                            Poll::Ready(None) | Poll::Pending => break,
                        }
                    }
                    dirty = true;
                }
                Some(Ok(TermEvent::Resize(width, height))) => {
                    state.resize(width, height);
                    terminal.autoresize()?;
                    dirty = true;
                }
                Some(Ok(_)) => {}
                Some(Err(err)) => return Err(err),
                None => break,
            },
            event = events.recv(), if events_open => match event {
                Some(event) => {
                    state.set_now(Utc::now());
                    state.handle_event(event);
                    // The detail an amendment waited for may open the editor.
                    dispatch(state.detail_effects(), &effects, &mut edit);
                    dirty = true;
                }
                None => events_open = false,
            },
            _ = clock.tick() => {
                state.set_now(Utc::now());
                dirty = shadow.changed(&state, terminal.size()?)?;
            }
        }
        if state.should_quit() {
            break;
        }
        // An edit asked for may ask for another (a manifest that does not
        // validate reopens the editor with its errors).
        while let Some(request) = edit.take() {
            drop(input);
            let answer = guard.suspended(|| crate::editor::edit(&request.text, request.suffix))?;
            input = EventStream::new();
            state.set_now(Utc::now());
            let effects_after = state.edited(request.purpose, answer.map_err(|err| err.to_string()));
            dispatch(effects_after, &effects, &mut edit);
            dirty = true;
        }
        let terminal = &mut guard.terminal;
        if state.take_redraw_request() {
            terminal.clear()?;
            dirty = true;
        }
        if dirty {
            draw(terminal, &state, &mut shadow)?;
        }
    }
    drop(guard);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::UiSettings;
    use crate::app::fixtures::{fixture_data, fixture_now};

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn the_console_can_run_on_any_tokio_worker() {
        let app = App::new(fixture_data(fixture_now()), UiSettings::default(), fixture_now());
        assert_send(&app);
        let (_events_tx, events) = mpsc::unbounded_channel();
        let (effects, _effects_rx) = mpsc::unbounded_channel();
        // Built, never polled: the terminal is not touched.
        let future = run(app, events, effects);
        assert_send(&future);
    }

    #[test]
    fn restoring_an_inactive_terminal_does_nothing() {
        restore_terminal();
        assert!(!TERMINAL_ACTIVE.load(Ordering::SeqCst));
    }
}
