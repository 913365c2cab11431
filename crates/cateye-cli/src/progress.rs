//! Progress of long work on the terminal: one indicatif bar on stderr for the current stage
//! (rows read, trees grown, permutations, learners fitted) with its ETA, and lines of text
//! above it. Off a terminal the bar is hidden and only the lines are printed (to stderr);
//! with `--quiet` nothing is.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;

/// The progress of one command: a bar for the current stage and lines above it.
pub struct Reporter {
    bar: ProgressBar,
    quiet: bool,
    /// The stage the bar shows, and whether it has a count (bar) or not (spinner).
    stage: Mutex<(String, bool)>,
    /// Text before the stage's name (the deep-dived pair).
    prefix: Mutex<String>,
}

impl Reporter {
    /// A reporter drawing on stderr when it is a terminal and `quiet` is false.
    pub fn new(quiet: bool) -> Self {
        let bar = ProgressBar::new(0);
        if quiet || !std::io::stderr().is_terminal() {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        } else {
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
        }
        Reporter { bar, quiet, stage: Mutex::new((String::new(), false)), prefix: Mutex::new(String::new()) }
    }

    /// Whether the bar is drawn.
    fn visible(&self) -> bool {
        !self.bar.is_hidden()
    }

    /// Reports `done` of `total` units of work in `stage` (`total` 0: not counted, a spinner).
    /// Callable from any thread; usable as a `cateye::Progress`.
    pub fn stage(&self, stage: &str, done: u64, total: u64) {
        if !self.visible() {
            return;
        }
        let counted = total > 0;
        {
            let mut current = self.stage.lock().unwrap_or_else(|e| e.into_inner());
            if current.0 != stage || current.1 != counted {
                *current = (stage.to_string(), counted);
                let template = if counted {
                    "{spinner} {msg} [{bar:30}] {human_pos}/{human_len} ({per_sec}, {eta} left)"
                } else {
                    "{spinner} {msg} ({elapsed})"
                };
                self.bar
                    .set_style(ProgressStyle::with_template(template).expect("valid template").progress_chars("=> "));
                let prefix = self.prefix.lock().unwrap_or_else(|e| e.into_inner());
                self.bar.set_message(format!("{prefix}{stage}"));
                self.bar.reset();
            }
        }
        self.bar.set_length(total);
        self.bar.set_position(done);
    }

    /// Text put before the stages' names until changed (e.g. "pair 2/5: ").
    pub fn set_prefix(&self, prefix: impl Into<String>) {
        *self.prefix.lock().unwrap_or_else(|e| e.into_inner()) = prefix.into();
        self.stage.lock().unwrap_or_else(|e| e.into_inner()).0.clear();
    }

    /// Prints a line to stderr (above the bar on a terminal); nothing with `--quiet`.
    pub fn line(&self, text: &str) {
        if self.quiet {
            return;
        }
        if self.visible() {
            self.bar.suspend(|| eprintln!("{text}"));
        } else {
            eprintln!("{text}");
        }
    }

    /// Removes the bar (before the results are printed).
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// "about 3 min 20 s left" for `seconds`; rounded to what a reader needs.
pub fn eta(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..=59 => format!("about {s} s left"),
        60..=3599 => format!("about {} min {} s left", s / 60, s % 60),
        _ => format!("about {} h {} min left", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_reads_in_the_unit_a_person_would_use() {
        assert_eq!(eta(12.4), "about 12 s left");
        assert_eq!(eta(200.0), "about 3 min 20 s left");
        assert_eq!(eta(7300.0), "about 2 h 1 min left");
        assert_eq!(eta(-1.0), "about 0 s left");
    }

    #[test]
    fn a_hidden_reporter_takes_reports_from_any_thread() {
        let reporter = Reporter::new(true);
        std::thread::scope(|s| {
            for t in 0..4 {
                let r = &reporter;
                s.spawn(move || (0..100).for_each(|i| r.stage(if t % 2 == 0 { "trees" } else { "rows" }, i, 100)));
            }
        });
        reporter.line("not printed: quiet");
        reporter.finish();
    }
}
