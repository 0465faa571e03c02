//! `keyward users import` and `keyward users export`: the shared file handling of
//! [`crate::transfer`], with a progress bar and messages for a person.

use super::session::Session;
use crate::core::model::*;
use crate::core::{Error, FieldErrors, Result};
use crate::transfer::{Format, ImportFile, ImportProgress, Outcome};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::path::PathBuf;

pub struct ImportArgs {
    pub file: PathBuf,
    pub format: Option<Format>,
    pub dry_run: bool,
    pub invites_out: Option<PathBuf>,
}

/// The CLI's progress: a bar while the file is read, a spinner while the directory checks.
struct Bars {
    reading: ProgressBar,
    checking: Option<ProgressBar>,
}

impl ImportProgress for Bars {
    fn row(&mut self, total: usize) {
        if self.reading.length() != Some(total as u64) {
            self.reading.set_length(total as u64);
            set_style(&self.reading, total as u64);
        }
        self.reading.inc(1);
    }

    fn handing_over(&mut self, dry_run: bool) {
        self.reading.finish_and_clear();
        let spinner = bar(0, if dry_run { "checking" } else { "importing" });
        spinner.enable_steady_tick(std::time::Duration::from_millis(120));
        self.checking = Some(spinner);
    }
}

pub fn import(s: &Session, args: ImportArgs) -> Result<()> {
    let mut bars = Bars {
        reading: bar(0, "reading"),
        checking: None,
    };
    let request = ImportFile {
        path: &args.file,
        format: args.format,
        dry_run: args.dry_run,
        invites_out: args.invites_out.as_deref(),
    };
    let imported = crate::transfer::import_file(s.dir, &s.who, &request, &mut bars);
    bars.reading.finish_and_clear();
    if let Some(spinner) = &bars.checking {
        spinner.finish_and_clear();
    }
    let imported = imported?;
    if let Some(note) = imported.note(&args.file) {
        eprintln!("note: {note}");
    }
    match imported.outcome {
        Outcome::Done(report) => finish(s, &args, report, imported.count),
        Outcome::Refused(problems) => {
            for problem in &problems {
                eprintln!("{problem}");
            }
            Err(Error::Invalid(FieldErrors::one(
                "file",
                format!(
                    "{} problem(s) in {}; nothing was imported",
                    problems.len(),
                    args.file.display()
                ),
            )))
        }
    }
}

fn finish(s: &Session, args: &ImportArgs, report: ImportReport, count: usize) -> Result<()> {
    if report.dry_run {
        if s.json {
            super::output::print_json(&report);
        } else {
            println!(
                "{count} users checked: all would be imported. Nothing was changed (dry run)."
            );
        }
        return Ok(());
    }
    if s.json {
        let users: Vec<&User> = report.users.iter().map(|c| &c.user).collect();
        super::output::print_json(&serde_json::json!({"count": count, "users": users}));
    } else {
        println!("Imported {count} users ({} invited).", report.invited());
        match &args.invites_out {
            Some(out) => println!(
                "Their invitations are in {} (keep it private).",
                out.display()
            ),
            None if report.invited() > 0 => eprintln!(
                "warning: no --invites-out file was given; send new invitations with \
                 `keyward users invite USER`"
            ),
            None => {}
        }
    }
    Ok(())
}

pub fn export(s: &Session, format: Option<Format>, out: Option<PathBuf>) -> Result<()> {
    let format = match (&out, format) {
        (_, Some(format)) => format,
        (Some(path), None) => Format::of(path, None),
        (None, None) => Format::Csv,
    };
    let progress = bar(0, "exporting");
    let bytes = crate::transfer::export(s.dir, &s.who, format, |done, total| {
        if progress.length() != Some(total) {
            progress.set_length(total);
            set_style(&progress, total);
        }
        progress.set_position(done);
    })?;
    progress.finish_and_clear();
    match out {
        Some(path) => std::fs::write(&path, bytes)
            .map_err(|e| Error::Internal(format!("cannot write {}: {e}", path.display()))),
        None => std::io::stdout()
            .write_all(&bytes)
            .map_err(|e| Error::Internal(e.to_string())),
    }
}

/// A progress bar on stderr, drawn only on a terminal.
fn bar(length: u64, what: &'static str) -> ProgressBar {
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(length).with_message(what);
    set_style(&bar, length);
    bar
}

fn set_style(bar: &ProgressBar, length: u64) {
    let style = if length == 0 {
        ProgressStyle::with_template("{spinner} {msg} {elapsed}")
    } else {
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} {eta}")
    };
    if let Ok(style) = style {
        bar.set_style(style.progress_chars("=> "));
    }
}
