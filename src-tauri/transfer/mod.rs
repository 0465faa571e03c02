//! Users from and to CSV or JSON files, for `keyward users import|export` and the desktop
//! app's Import and Export.
//!
//! CSV has a header row; `userName` and `email` are required, `displayName` (the user name when
//! empty), `status`, `type`, `roles` and `groups` (names separated by `;`) optional, in any
//! order and case. CSV files are read and written as Excel does ([`sheet`]: separators,
//! encodings, formula injection). JSON is the export's shape,
//! `{"users": [...]}`, with roles and groups by name as well. Every refused row is reported as
//! `line N: field: message` (the line of the file: the header is line 1, a JSON file counts
//! users from 1), and the import is all or nothing: one call to the directory, one
//! transaction. An export never holds a hash or a secret (the directory hands out none).

use crate::core::directory::Directory;
use crate::core::model::*;
use crate::core::{Error, FieldErrors, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

pub mod sheet;

/// The roles or the groups of a directory by id and name: files and command lines name them,
/// the directory takes ids.
pub struct Names(Vec<(String, String)>);

impl Names {
    pub fn roles(dir: &dyn Directory, who: &Credential) -> Result<Names> {
        Ok(Names(
            dir.list_roles(who)?
                .into_iter()
                .map(|r| (r.id, r.name))
                .collect(),
        ))
    }

    pub fn groups(dir: &dyn Directory, who: &Credential) -> Result<Names> {
        Ok(Names(
            dir.list_groups(who)?
                .into_iter()
                .map(|g| (g.id, g.name))
                .collect(),
        ))
    }

    pub fn none() -> Names {
        Names(Vec::new())
    }

    /// The id of the one named `name` (in any case), or whose id it is.
    pub fn id_of(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(id, n)| n.eq_ignore_ascii_case(name) || id == name)
            .map(|(id, _)| id.clone())
    }

    /// The name of `id` (the id itself for one not known).
    pub fn name_of(&self, id: &str) -> String {
        self.0
            .iter()
            .find(|(known, _)| known == id)
            .map_or_else(|| id.to_owned(), |(_, name)| name.clone())
    }

    pub fn names_of(&self, ids: &[String]) -> Vec<String> {
        ids.iter().map(|id| self.name_of(id)).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    pub fn of(path: &Path, given: Option<Format>) -> Format {
        given.unwrap_or_else(|| match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("json") => Format::Json,
            _ => Format::Csv,
        })
    }
}

/// One user as files hold it: roles and groups by name, nothing secret.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub user_name: String,
    #[serde(default)]
    pub display_name: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct RowFile {
    users: Vec<Row>,
}

/// The columns of a CSV file, in the order an export writes them; `userName` and `email` are
/// required, the others may be left out. Lists (roles, groups) are names joined by `;`.
const COLUMNS: [&str; 7] = [
    "userName",
    "displayName",
    "email",
    "status",
    "type",
    "roles",
    "groups",
];
const REQUIRED: [&str; 2] = ["userName", "email"];

/// The names in a list cell: separated by `;` or by line breaks (Alt+Enter in Excel).
fn split(list: &str) -> Vec<String> {
    list.split([';', '\n', '\r'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn empty_to_none(text: String) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// The rows of a file, each with its line, the lines that could not be read, and the
/// encoding the file was read as when it was not UTF-8.
#[derive(Default)]
struct ReadFile {
    rows: Vec<(usize, Row)>,
    problems: Vec<String>,
    read_as: Option<&'static str>,
}

fn read_rows(path: &Path, format: Format) -> Result<ReadFile> {
    let unreadable = |e: &dyn std::fmt::Display| {
        Error::invalid("file", format!("Cannot read {}: {e}", path.display()))
    };
    let bytes = std::fs::read(path).map_err(|e| unreadable(&e))?;
    match format {
        Format::Json => {
            let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
            let file: RowFile = serde_json::from_slice(text).map_err(|e| unreadable(&e))?;
            Ok(ReadFile {
                rows: file
                    .users
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| (i + 1, r))
                    .collect(),
                ..Default::default()
            })
        }
        Format::Csv => Ok(csv_rows(&bytes)),
    }
}

fn csv_rows(bytes: &[u8]) -> ReadFile {
    let sheet = match sheet::read(bytes, &COLUMNS) {
        Ok(sheet) => sheet,
        Err(problem) => {
            return ReadFile {
                problems: vec![problem],
                ..Default::default()
            }
        }
    };
    let column = |name: &str| {
        sheet
            .headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
    };
    let missing: Vec<&str> = REQUIRED
        .into_iter()
        .filter(|name| column(name).is_none())
        .collect();
    if !missing.is_empty() {
        return ReadFile {
            problems: vec![format!(
                "line {}: the header row has no {} column (it has {}); the columns are {}, of \
                 which {} are required",
                sheet.header_line,
                missing.join(" or "),
                if sheet.headers.is_empty() {
                    "none".to_owned()
                } else {
                    sheet.headers.join(", ")
                },
                COLUMNS.join(", "),
                REQUIRED.join(" and "),
            )],
            read_as: sheet.read_as,
            ..Default::default()
        };
    }
    let at = COLUMNS.map(column);
    let mut read = ReadFile {
        read_as: sheet.read_as,
        ..Default::default()
    };
    for row in sheet.rows {
        let (line, cells) = match row {
            Ok(row) => row,
            Err(problem) => {
                read.problems.push(problem);
                continue;
            }
        };
        // Rows of empty cells are left out: spreadsheets write them for formatted cells.
        if cells.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        let cell = |i: usize| at[i].map(|c| cells[c].clone()).unwrap_or_default();
        read.rows.push((
            line,
            Row {
                user_name: cell(0),
                display_name: cell(1),
                email: cell(2),
                status: empty_to_none(cell(3)),
                user_type: empty_to_none(cell(4)),
                roles: split(&cell(5)),
                groups: split(&cell(6)),
            },
        ));
    }
    read
}

/// The users of a file, ready for the directory: ids for role and group names, the file's
/// line of each, and the problems found so far (each `line N: field: message`).
pub struct Prepared {
    pub users: Vec<NewUser>,
    pub lines: Vec<usize>,
    pub problems: Vec<String>,
    /// The encoding a CSV file was read as when it was not UTF-8.
    pub read_as: Option<&'static str>,
}

/// Reads `path` and resolves role and group names; `on_row` is called once per row read.
fn prepare(
    dir: &dyn Directory,
    who: &Credential,
    path: &Path,
    format: Option<Format>,
    mut on_row: impl FnMut(usize),
) -> Result<Prepared> {
    let ReadFile {
        rows,
        mut problems,
        read_as,
    } = read_rows(path, Format::of(path, format))?;
    let roles = Names::roles(dir, who)?;
    let groups = Names::groups(dir, who)?;
    let total = rows.len();
    let mut users = Vec::with_capacity(total);
    let mut lines = Vec::with_capacity(total);
    for (line, row) in rows {
        on_row(total);
        let mut by_name = |names: &[String], known: &Names, field: &str, what: &str| {
            names
                .iter()
                .filter_map(|name| {
                    let found = known.id_of(name);
                    if found.is_none() {
                        problems.push(format!("line {line}: {field}: there is no {what} {name:?}"));
                    }
                    found
                })
                .collect::<Vec<_>>()
        };
        let role_ids = by_name(&row.roles, &roles, "roles", "role");
        let group_ids = by_name(&row.groups, &groups, "groups", "group");
        // Users arrive invited (they choose their password); a status of INACTIVE is kept, so
        // that leavers in an HR export do not get an invitation.
        let status = match row.status.as_deref() {
            None => None,
            Some(text) => match UserStatus::parse(text) {
                Some(UserStatus::Inactive) => Some(UserStatus::Inactive),
                Some(_) => None,
                None => {
                    problems.push(format!(
                        "line {line}: status: use ACTIVE, INACTIVE or INVITED"
                    ));
                    None
                }
            },
        };
        let user_type = match row.user_type.as_deref() {
            None => None,
            Some(text) => UserType::parse(text).or_else(|| {
                problems.push(format!("line {line}: type: use NATIVE or EXTERNAL"));
                None
            }),
        };
        lines.push(line);
        users.push(NewUser {
            display_name: if row.display_name.trim().is_empty() {
                row.user_name.clone()
            } else {
                row.display_name
            },
            user_name: row.user_name,
            email: row.email,
            password: None,
            status,
            user_type,
            roles: role_ids,
            groups: group_ids,
        });
    }
    Ok(Prepared {
        users,
        lines,
        problems,
        read_as,
    })
}

/// What an import came to: done (or, for a dry run, checked), or refused with every problem.
pub enum Outcome {
    Done(ImportReport),
    Refused(Vec<String>),
}

/// An import of a file, as the CLI and the desktop app ask for it.
pub struct ImportFile<'a> {
    pub path: &'a Path,
    /// By the file's extension when `None`.
    pub format: Option<Format>,
    pub dry_run: bool,
    /// A new file for the invitations (links from a server, codes from a local file).
    pub invites_out: Option<&'a Path>,
}

/// What an import reports while it runs, for a progress bar; nothing by default.
pub trait ImportProgress {
    /// One row read, of `total`.
    fn row(&mut self, _total: usize) {}
    /// Every row is read; the directory checks (and, unless a dry run, adds) them now.
    fn handing_over(&mut self, _dry_run: bool) {}
}

impl ImportProgress for () {}

/// An import and the number of users in the file.
pub struct Imported {
    pub count: usize,
    pub outcome: Outcome,
    /// The encoding a CSV file was read as when it was not UTF-8, e.g. `Windows-1252`.
    pub read_as: Option<&'static str>,
}

impl Imported {
    /// What the person importing is told about how the file was read, if anything.
    pub fn note(&self, path: &Path) -> Option<String> {
        self.read_as.map(|encoding| {
            format!(
                "{} is not UTF-8: it was read as {encoding}",
                path.file_name()
                    .unwrap_or(path.as_os_str())
                    .to_string_lossy()
            )
        })
    }
}

/// Imports the users of a file, all or nothing: the one import flow of the CLI and the
/// desktop app. A file for the invitations must be new, and is refused before anything is
/// read (so an import never succeeds with its invitations lost); it is written once the
/// import is done.
pub fn import_file(
    dir: &dyn Directory,
    who: &Credential,
    request: &ImportFile<'_>,
    progress: &mut dyn ImportProgress,
) -> Result<Imported> {
    if let Some(out) = request.invites_out.filter(|out| out.exists()) {
        return Err(Error::invalid(
            "invitesOut",
            format!(
                "{} exists already; choose a new file for the invitations",
                out.display()
            ),
        ));
    }
    let prepared = prepare(dir, who, request.path, request.format, |total| {
        progress.row(total)
    })?;
    let count = prepared.users.len();
    let read_as = prepared.read_as;
    progress.handing_over(request.dry_run);
    let outcome = import(dir, who, prepared, request.dry_run)?;
    if let (Outcome::Done(report), Some(out)) = (&outcome, request.invites_out) {
        if !report.dry_run {
            write_invitations(out, report)?;
        }
    }
    Ok(Imported {
        count,
        outcome,
        read_as,
    })
}

/// Hands the prepared users to the directory in one call: all or nothing. With problems found
/// while reading, the directory still checks every row (as a dry run) so that all are told.
fn import(
    dir: &dyn Directory,
    who: &Credential,
    prepared: Prepared,
    dry_run: bool,
) -> Result<Outcome> {
    let Prepared {
        users,
        lines,
        mut problems,
        ..
    } = prepared;
    match dir.import_users(who, users, dry_run || !problems.is_empty()) {
        Err(Error::Invalid(fields)) => problems.extend(row_problems(&fields, &lines)),
        Err(other) => return Err(other),
        Ok(report) if problems.is_empty() => return Ok(Outcome::Done(report)),
        Ok(_) => {}
    }
    problems.sort_by_key(|p| line_of(p));
    Ok(Outcome::Refused(problems))
}

fn line_of(problem: &str) -> usize {
    problem
        .strip_prefix("line ")
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// `rows.INDEX.FIELD` from the directory → `line N: field: message`.
fn row_problems(fields: &FieldErrors, lines: &[usize]) -> Vec<String> {
    let mut problems = Vec::new();
    for (key, messages) in &fields.0 {
        let mut parts = key.splitn(3, '.');
        let (line, field) = match (parts.next(), parts.next(), parts.next()) {
            (Some("rows"), Some(index), field) => (
                index
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| lines.get(i).copied())
                    .unwrap_or(0),
                field.unwrap_or("row"),
            ),
            _ => (0, key.as_str()),
        };
        for message in messages {
            problems.push(format!("line {line}: {field}: {message}"));
        }
    }
    problems
}

/// `userName,email,invitation,expiresTime`: the link (server) or code (file) of each user.
fn write_invitations(out: &Path, report: &ImportReport) -> Result<()> {
    let failed =
        |e: &dyn std::fmt::Display| Error::Internal(format!("cannot write {}: {e}", out.display()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(|e| failed(&e))?;
    let mut writer = sheet::Writer::new(&["userName", "email", "invitation", "expiresTime"])?;
    for created in &report.users {
        if let Some(invitation) = &created.invitation {
            let secret = invitation.link.as_ref().unwrap_or(&invitation.token);
            writer.row([
                created.user.user_name.as_str(),
                created.user.email.as_str(),
                secret.expose(),
                &invitation.expires_time.to_rfc3339(),
            ])?;
        }
    }
    let bytes = writer.finish()?;
    file.write_all(&bytes).map_err(|e| failed(&e))
}

/// Every user the caller may see, as a file's bytes; `on_progress(done, total)` after each page.
pub fn export(
    dir: &dyn Directory,
    who: &Credential,
    format: Format,
    mut on_progress: impl FnMut(u64, u64),
) -> Result<Vec<u8>> {
    let roles = Names::roles(dir, who)?;
    let groups = Names::groups(dir, who)?;
    let mut rows = Vec::new();
    let mut page = 1;
    loop {
        let query = UserQuery {
            page: Some(page),
            page_size: Some(MAX_PAGE_SIZE),
            ..Default::default()
        };
        let found = dir.list_users(who, &query)?;
        let total = found.page_info.total_elements;
        for user in found.items {
            rows.push(Row {
                roles: roles.names_of(&user.roles),
                groups: groups.names_of(&user.groups),
                user_name: user.user_name,
                display_name: user.display_name,
                email: user.email,
                status: Some(user.status.as_str().to_owned()),
                user_type: Some(user.user_type.as_str().to_owned()),
            });
        }
        on_progress(rows.len() as u64, total);
        if u64::from(page) >= found.page_info.total_pages {
            break;
        }
        page += 1;
    }
    let bytes = match format {
        Format::Json => {
            let mut text = serde_json::to_vec_pretty(&RowFile { users: rows })
                .map_err(|e| Error::Internal(e.to_string()))?;
            text.push(b'\n');
            text
        }
        Format::Csv => {
            let mut writer = sheet::Writer::new(&COLUMNS)?;
            for row in rows {
                writer.row([
                    row.user_name.as_str(),
                    &row.display_name,
                    &row.email,
                    row.status.as_deref().unwrap_or_default(),
                    row.user_type.as_deref().unwrap_or_default(),
                    &row.roles.join(";"),
                    &row.groups.join(";"),
                ])?;
            }
            writer.finish()?
        }
    };
    Ok(bytes)
}
