//! Connection profiles: the directories an administrator works on, by name: local files and
//! remote servers (with the certificate pinned for a self-signed server). Kept in
//! `profiles.json` beside `recent.json`.

use crate::core::{Error, FieldErrors, Result};
use crate::remote::{parse_server_url, Fingerprint, Trust};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub id: String,
    pub name: String,
    #[serde(flatten)]
    pub target: Target,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Target {
    Local {
        path: String,
    },
    Remote {
        url: String,
        /// The SHA-256 fingerprint of the one certificate trusted for this server, when the
        /// administrator pinned a self-signed one; else the system's roots decide.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fingerprint: Option<String>,
    },
}

impl Target {
    pub fn trust(&self) -> Result<Trust> {
        match self {
            Target::Remote {
                fingerprint: Some(pin),
                ..
            } => Ok(Trust::Pinned(Fingerprint::parse(pin)?)),
            _ => Ok(Trust::System),
        }
    }
}

/// A profile as the form sends it; `id` is absent for a new one.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileInput {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub fingerprint: String,
}

impl ProfileInput {
    /// Checks every field and reports each problem on its own field.
    fn parse(self) -> Result<Profile> {
        let mut errors = FieldErrors::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 64 {
            errors.add("name", "Give the connection a name of 1 to 64 characters.");
        }
        let target = match self.kind.as_str() {
            "local" => {
                let path = self.path.trim().to_owned();
                if path.is_empty() {
                    errors.add("path", "Enter the path of a directory file.");
                }
                Some(Target::Local { path })
            }
            "remote" => {
                let url = errors.check(
                    "url",
                    parse_server_url(&self.url).map_err(|e| first_message(&e)),
                );
                let fingerprint = match self.fingerprint.trim() {
                    "" => None,
                    pin => errors.check(
                        "fingerprint",
                        Fingerprint::parse(pin)
                            .map(|f| f.to_string())
                            .map_err(|e| first_message(&e)),
                    ),
                };
                url.map(|url| Target::Remote {
                    url: url.as_str().trim_end_matches('/').to_owned(),
                    fingerprint,
                })
            }
            _ => {
                errors.add("kind", "Choose a local file or a server.");
                None
            }
        };
        errors.into_result()?;
        Ok(Profile {
            id: self
                .id
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
            name,
            target: target.ok_or_else(|| Error::invalid("kind", "Choose a kind."))?,
        })
    }
}

fn first_message(error: &Error) -> String {
    error
        .field_errors()
        .and_then(|f| f.0.values().flatten().next().cloned())
        .unwrap_or_else(|| error.to_string())
}

pub struct Profiles {
    file: Option<PathBuf>,
    list: Mutex<Vec<Profile>>,
}

impl Profiles {
    pub fn load() -> Profiles {
        let (file, list) = super::recent::load_config("profiles.json");
        Profiles {
            file,
            list: Mutex::new(list),
        }
    }

    pub fn list(&self) -> Vec<Profile> {
        self.list
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn get(&self, id: &str) -> Result<Profile> {
        self.list()
            .into_iter()
            .find(|p| p.id == id)
            .ok_or(Error::NotFound("connection"))
    }

    /// Adds a profile, or replaces the one with the same id; names are unique.
    pub fn save(&self, input: ProfileInput) -> Result<Profile> {
        let profile = input.parse()?;
        let mut list = self.list.lock().unwrap_or_else(PoisonError::into_inner);
        if list
            .iter()
            .any(|p| p.id != profile.id && p.name.eq_ignore_ascii_case(&profile.name))
        {
            return Err(Error::duplicate(
                "name",
                "A connection with this name exists.",
            ));
        }
        match list.iter_mut().find(|p| p.id == profile.id) {
            Some(existing) => *existing = profile.clone(),
            None => list.push(profile.clone()),
        }
        self.write(&list)?;
        Ok(profile)
    }

    pub fn remove(&self, id: &str) -> Result<()> {
        let mut list = self.list.lock().unwrap_or_else(PoisonError::into_inner);
        list.retain(|p| p.id != id);
        self.write(&list)
    }

    fn write(&self, list: &[Profile]) -> Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        super::recent::save_config(file, &list).map_err(|error| {
            tracing::warn!(%error, file = %file.display(), "could not save the profiles");
            Error::StateConflict(format!(
                "The connections could not be saved in {}.",
                file.display()
            ))
        })
    }
}
