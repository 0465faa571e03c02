//! [`Session`]: what one scripting command acts with. The subcommands (`admin`) and the
//! file transfers (`transfer`) both take it; neither imports the other for it.

use crate::core::directory::Directory;
use crate::core::model::Credential;

/// A directory and the credential to act with, for one command.
pub struct Session<'a> {
    pub dir: &'a dyn Directory,
    pub who: Credential,
    pub json: bool,
}
