//! What differs between operating systems, one small module each behind a plain interface, so
//! that no other module needs a `cfg` on the target OS:
//! - [`folders`]: where the default directory file and the app's own small files live;
//! - [`shutdown`]: how `keyward serve` is asked to stop (signals, console events);
//! - [`launch`]: how `keyward` without a subcommand opens the desktop app (on Windows the
//!   command line is a console program and the app a window program beside it);
//! - [`files`]: files only their owner may read (the key that seals two-step secrets);
//! - [`clipboard`] (desktop app only): the system clipboard with each platform's mark that
//!   keeps a copied secret out of clipboard history.
//!
//! Replacing a file that another program has open is the one difference not handled here:
//! Windows refuses it and Unix lets the other program write on into the unlinked file, so
//! nothing replaces an open directory file; a restore writes through SQLite instead
//! (`store::sqlite::restore`).

#[cfg(feature = "desktop")]
pub mod clipboard;
pub mod files;
pub mod folders;
pub mod launch;
pub mod shutdown;
