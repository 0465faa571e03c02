//! The scripting subcommands (`keyward users|roles|groups|keys|audit|settings …`): each parses
//! its arguments, calls one `Directory` method as the acting user, and prints a table for a
//! person or, with `--json`, the HTTP API's shapes for a script. Secrets are printed only by
//! the commands that reveal them once (a new key, a download, a regeneration, an invitation or
//! reset link).

use super::output::{print_json, Table};
pub use super::session::Session;
use crate::core::directory::Directory;
use crate::core::model::*;
use crate::core::permission::Permission;
use crate::core::secret::{Secret, KEY_MARKER};
use crate::core::{Error, Result};
use crate::transfer::Names;
use crate::wire::*;
use chrono::{Duration, Utc};
use clap::{Args, Subcommand};
use std::io::Read;

#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Print JSON (the HTTP API's shapes) instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// Act as this user on a local file or a server (its password from KEYWARD_PASSWORD, else a
    /// prompt; with two-step sign-in, the code from KEYWARD_TOTP_CODE, else a prompt). Default on
    /// a file: its first SuperAdmin, with KEYWARD_ADMIN_PASSWORD.
    #[arg(long = "as", global = true, value_name = "USER")]
    pub as_user: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// List users (a page at a time), optionally searched and filtered.
    List {
        /// Part of the user name, display name or e-mail.
        #[arg(long)]
        q: Option<String>,
        /// ACTIVE, INACTIVE or INVITED.
        #[arg(long)]
        status: Option<String>,
        /// A role name or id.
        #[arg(long)]
        role: Option<String>,
        /// A group name or id.
        #[arg(long)]
        group: Option<String>,
        /// userName, displayName, email, status, createdTime, lastLoginTime; `-` for descending.
        #[arg(long)]
        sort: Option<String>,
        #[arg(long, default_value_t = 1)]
        page: u32,
        #[arg(long, default_value_t = 50)]
        page_size: u32,
    },
    /// Show one user (by user name or id).
    Show { user: String },
    /// Add a user. Without --password-stdin (and without --service) the user is invited and
    /// the one-time invitation (link or code) is printed.
    Add {
        #[arg(long)]
        user_name: String,
        /// How the name appears in lists (default: the user name).
        #[arg(long, default_value = "")]
        display_name: String,
        #[arg(long)]
        email: String,
        /// A role name or id; repeat for several.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// A group name or id; repeat for several.
        #[arg(long = "group")]
        groups: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// An active account without password that only uses API keys (its roles must not
        /// include SIGN_IN).
        #[arg(long, conflicts_with = "password_stdin")]
        service: bool,
        /// Identity managed elsewhere (no password here).
        #[arg(long)]
        external: bool,
    },
    /// Change a user's details, roles or groups (only what is given changes).
    Edit {
        user: String,
        #[arg(long)]
        user_name: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Replaces the user's roles; repeat for several, `--role ''` for none.
        #[arg(long = "role")]
        roles: Option<Vec<String>>,
        /// Replaces the user's groups; repeat for several.
        #[arg(long = "group")]
        groups: Option<Vec<String>>,
    },
    /// Deactivate a user: their sessions end and their keys stop at once.
    Deactivate { user: String },
    /// Make a deactivated user active again.
    Activate { user: String },
    /// Delete a user with their keys and sessions (the audit log keeps the history).
    Delete { user: String },
    /// Issue a one-time password reset (valid 1 hour) and print it.
    ResetPassword { user: String },
    /// Replace an invited user's invitation and print the new one.
    Invite { user: String },
    /// Remove a user's two-step sign-in (a lost authenticator); where the directory requires
    /// one, they set up a new one at their next sign-in.
    #[command(name = "remove-2fa")]
    RemoveSecondFactor { user: String },
    /// Import users from CSV (header row: userName,displayName,email[,roles,groups,status,type];
    /// roles and groups by name, separated by `;`) or JSON (`{"users": [...]}`, as exported).
    /// Users arrive INVITED. All or nothing: every invalid row is reported as
    /// `line N: field: message` and nothing is imported (exit 1).
    Import {
        file: std::path::PathBuf,
        /// Default: from the file's extension (.json, else CSV).
        #[arg(long, value_enum)]
        format: Option<crate::transfer::Format>,
        /// Check every row and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write each invited user's invitation (link or code) to this new file (CSV).
        #[arg(long, value_name = "FILE")]
        invites_out: Option<std::path::PathBuf>,
    },
    /// Export every user (no hashes, no secrets) as CSV or JSON, to OUT or standard output.
    Export {
        #[arg(long, value_enum)]
        format: Option<crate::transfer::Format>,
        out: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RolesCommand {
    /// List the built-in and custom roles.
    List,
    /// Show one role (by name or id).
    Show { role: String },
    /// Add a custom role.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        /// A permission (e.g. VIEW_USER); repeat for several.
        #[arg(long = "permission")]
        permissions: Vec<String>,
    },
    /// Change a custom role (only what is given changes).
    Edit {
        role: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// Replaces the permissions; repeat for several.
        #[arg(long = "permission")]
        permissions: Option<Vec<String>>,
    },
    /// Delete a custom role.
    Delete { role: String },
}

#[derive(Debug, Subcommand)]
pub enum GroupsCommand {
    /// List the groups.
    List,
    /// Show one group (by name or id).
    Show { group: String },
    /// Add a group.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        /// A member's user name or id; repeat for several.
        #[arg(long = "member")]
        members: Vec<String>,
        /// A role its members hold; repeat for several.
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// Change a group (only what is given changes).
    Edit {
        group: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// Replaces the members; repeat for several.
        #[arg(long = "member")]
        members: Option<Vec<String>>,
        /// Replaces the roles; repeat for several.
        #[arg(long = "role")]
        roles: Option<Vec<String>>,
    },
    /// Delete a group.
    Delete { group: String },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List keys: one user's (--user), else every key you may see.
    List {
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        q: Option<String>,
        #[arg(long, default_value_t = 1)]
        page: u32,
        #[arg(long, default_value_t = 50)]
        page_size: u32,
    },
    /// Create a key: for yourself it is enabled and printed once; for another user (--user)
    /// it is pending until they download it.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        /// The owner (default: you).
        #[arg(long)]
        user: Option<String>,
        /// Lifetime in days; without it the key never expires.
        #[arg(long, value_name = "DAYS")]
        expires_in_days: Option<u32>,
    },
    /// Download a pending key: generates its secret and prints it once.
    Download { id: String },
    /// Revoke a key: it stops verifying at once.
    Revoke { id: String },
    /// Issue a new secret for a key and print it once.
    Regenerate {
        id: String,
        /// Seconds the old secret keeps working: 0, 3600, 86400 or 604800.
        #[arg(long, default_value_t = 0)]
        grace_seconds: u32,
    },
    /// Check a key, read from standard input (never from the command line, which other users
    /// of the machine can see). Exit 0 when valid, 1 when not.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Show the settings.
    Show,
    /// Change settings (only what is given changes).
    Set {
        #[arg(long)]
        api_key_auth_enabled: Option<bool>,
        /// Days; 0 removes the cap.
        #[arg(long)]
        max_key_lifetime_days: Option<u32>,
        #[arg(long)]
        password_min_length: Option<u32>,
        #[arg(long)]
        clipboard_clear_seconds: Option<u32>,
        #[arg(long)]
        session_lifetime_minutes: Option<u32>,
        #[arg(long)]
        lockout_threshold: Option<u32>,
        /// Who must sign in with a second step: OPTIONAL, REQUIRED_FOR_ADMINS or REQUIRED.
        #[arg(long, value_parser = second_factor_policy)]
        second_factor: Option<SecondFactorPolicy>,
        /// The group mapping of sign-in through an identity provider: who is in CLAIM at the
        /// provider is put in GROUP (a group's name or id). Repeat it for every line; the
        /// lines given replace the whole mapping.
        #[arg(long = "provider-group", value_name = "CLAIM=GROUP")]
        provider_groups: Vec<String>,
        /// Empty the group mapping.
        #[arg(long, conflicts_with = "provider_groups")]
        no_provider_groups: bool,
    },
}

fn second_factor_policy(text: &str) -> std::result::Result<SecondFactorPolicy, String> {
    SecondFactorPolicy::parse(text)
        .ok_or_else(|| "use OPTIONAL, REQUIRED_FOR_ADMINS or REQUIRED".to_owned())
}

#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    /// A user name or id.
    #[arg(long)]
    pub actor: Option<String>,
    /// An action or its first part (`key` matches `key.revoke`).
    #[arg(long)]
    pub action: Option<String>,
    /// RFC 3339 time, e.g. 2026-11-01T00:00:00Z.
    #[arg(long)]
    pub since: Option<String>,
    #[arg(long, default_value_t = 1)]
    pub page: u32,
    #[arg(long, default_value_t = 50)]
    pub page_size: u32,
}

impl Session<'_> {
    /// The user with this id or exactly this user name.
    fn user(&self, name_or_id: &str) -> Result<User> {
        self.dir.find_user(&self.who, name_or_id)
    }

    fn user_id(&self, name_or_id: &str) -> Result<String> {
        Ok(self.user(name_or_id)?.id)
    }

    fn user_ids(&self, names: &[String]) -> Result<Vec<String>> {
        names
            .iter()
            .filter(|n| !n.is_empty())
            .map(|n| self.user_id(n))
            .collect()
    }

    fn role_ids(&self, names: &[String]) -> Result<Vec<String>> {
        ids_named(&Names::roles(self.dir, &self.who)?, names, "roles", "role")
    }

    fn role(&self, name_or_id: &str) -> Result<Role> {
        let id = Names::roles(self.dir, &self.who)?
            .id_of(name_or_id)
            .ok_or(Error::NotFound("role"))?;
        self.dir.get_role(&self.who, &id)
    }

    fn group_ids(&self, names: &[String]) -> Result<Vec<String>> {
        ids_named(
            &Names::groups(self.dir, &self.who)?,
            names,
            "groups",
            "group",
        )
    }

    fn group(&self, name_or_id: &str) -> Result<Group> {
        let id = Names::groups(self.dir, &self.who)?
            .id_of(name_or_id)
            .ok_or(Error::NotFound("group"))?;
        self.dir.get_group(&self.who, &id)
    }

    fn show_user(&self, user: &User) {
        if self.json {
            print_json(user);
        } else {
            let roles = self.role_names().names_of(&user.roles).join(", ");
            let groups = self.group_names().names_of(&user.groups).join(", ");
            let mut pairs = vec![
                ("id", user.id.clone()),
                ("userName", user.user_name.clone()),
                ("displayName", user.display_name.clone()),
                ("email", user.email.clone()),
                ("status", user.status.as_str().into()),
                ("type", user.user_type.as_str().into()),
                (
                    "twoStepSignIn",
                    if user.second_factor { "on" } else { "off" }.into(),
                ),
                ("roles", roles),
                ("groups", groups),
                ("createdTime", user.created_time.to_rfc3339()),
                ("lastLoginTime", time_or_dash(user.last_login_time)),
                ("updateVersion", user.update_version.to_string()),
            ];
            if let Some(mail) = &user.mail {
                pairs.push(("mail", mail.summary()));
            }
            Table::pairs(&pairs);
        }
    }

    /// For showing ids as names: an empty list when the caller may not read them.
    fn role_names(&self) -> Names {
        Names::roles(self.dir, &self.who).unwrap_or(Names::none())
    }

    fn group_names(&self) -> Names {
        Names::groups(self.dir, &self.who).unwrap_or(Names::none())
    }

    /// Prints a one-time secret: the only place a command prints one.
    fn reveal(&self, what: &str, secret: &Secret, expires: Option<Time>) {
        if !self.json {
            eprintln!("{what} (shown this once; copy it now):");
        }
        println!("{}", secret.expose());
        if let (false, Some(expires)) = (self.json, expires) {
            eprintln!("valid until {}", expires.to_rfc3339());
        }
    }

    fn reveal_token(&self, what: &str, issued: &IssuedToken) {
        if self.json {
            print_json(issued);
        } else {
            self.reveal(
                what,
                issued.link.as_ref().unwrap_or(&issued.token),
                Some(issued.expires_time),
            );
            if let Some(mail) = &issued.mail {
                eprintln!(
                    "e-mailing it to {} as well; `users show` says how that went",
                    mail.to
                );
            }
        }
    }
}

/// The ids of `names` (empty names skipped); an unknown name is refused on `field`.
fn ids_named(known: &Names, names: &[String], field: &str, what: &str) -> Result<Vec<String>> {
    names
        .iter()
        .filter(|n| !n.is_empty())
        .map(|n| {
            known
                .id_of(n)
                .ok_or_else(|| Error::invalid(field, format!("There is no {what} {n:?}.")))
        })
        .collect()
}

fn time_or_dash(time: Option<Time>) -> String {
    time.map_or_else(|| "-".into(), |t| t.to_rfc3339())
}

fn read_stdin_line(what: &str) -> Result<Secret> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|_| Error::invalid(what, "Cannot read standard input."))?;
    let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if line.is_empty() {
        return Err(Error::invalid(what, "Standard input is empty."));
    }
    Ok(Secret::new(line.to_owned()))
}

pub fn users(s: &Session, command: UsersCommand) -> Result<()> {
    match command {
        UsersCommand::List {
            q,
            status,
            role,
            group,
            sort,
            page,
            page_size,
        } => {
            let status =
                match status {
                    Some(text) => Some(UserStatus::parse(&text).ok_or_else(|| {
                        Error::invalid("status", "Use ACTIVE, INACTIVE or INVITED.")
                    })?),
                    None => None,
                };
            let query = UserQuery {
                page: Some(page),
                page_size: Some(page_size),
                q,
                status,
                role: role
                    .map(|r| s.role_ids(&[r]))
                    .transpose()?
                    .map(|mut v| v.remove(0)),
                group: group
                    .map(|g| s.group_ids(&[g]))
                    .transpose()?
                    .map(|mut v| v.remove(0)),
                sort,
            };
            let found = s.dir.list_users(&s.who, &query)?;
            if s.json {
                print_json(&UserList {
                    users: found.items,
                    page_info: found.page_info,
                });
            } else {
                let mut table =
                    Table::new(&["USER NAME", "DISPLAY NAME", "E-MAIL", "STATUS", "ID"]);
                for u in &found.items {
                    table.row([
                        u.user_name.clone(),
                        u.display_name.clone(),
                        u.email.clone(),
                        u.status.as_str().into(),
                        u.id.clone(),
                    ]);
                }
                table.print();
                let info = found.page_info;
                eprintln!(
                    "page {} of {} ({} users)",
                    info.page,
                    info.total_pages.max(1),
                    info.total_elements
                );
            }
        }
        UsersCommand::Show { user } => {
            s.show_user(&s.user(&user)?);
        }
        UsersCommand::Add {
            user_name,
            display_name,
            email,
            roles,
            groups,
            password_stdin,
            service,
            external,
        } => {
            let password = if password_stdin {
                Some(read_stdin_line("password")?)
            } else {
                None
            };
            let new = NewUser {
                display_name: if display_name.trim().is_empty() {
                    user_name.clone()
                } else {
                    display_name
                },
                user_name,
                email,
                password,
                status: service.then_some(UserStatus::Active),
                user_type: external.then_some(UserType::External),
                roles: s.role_ids(&roles)?,
                groups: s.group_ids(&groups)?,
            };
            let created = s.dir.create_user(&s.who, new)?;
            if s.json {
                print_json(&created);
            } else {
                eprintln!(
                    "Added {} ({}), {}.",
                    created.user.user_name,
                    created.user.id,
                    created.user.status.as_str()
                );
                if let Some(invitation) = &created.invitation {
                    s.reveal_token("Invitation", invitation);
                }
            }
        }
        UsersCommand::Edit {
            user,
            user_name,
            display_name,
            email,
            roles,
            groups,
        } => {
            let current = s.user(&user)?;
            let id = current.id.clone();
            let update = UserUpdate {
                user_name,
                display_name,
                email,
                status: None,
                roles: roles.map(|r| s.role_ids(&r)).transpose()?,
                groups: groups.map(|g| s.group_ids(&g)).transpose()?,
                update_version: current.update_version,
            };
            s.show_user(&s.dir.update_user(&s.who, &id, update)?);
        }
        UsersCommand::Deactivate { user } => set_status(s, &user, UserStatus::Inactive)?,
        UsersCommand::Activate { user } => set_status(s, &user, UserStatus::Active)?,
        UsersCommand::Delete { user } => {
            let id = s.user_id(&user)?;
            s.dir.delete_user(&s.who, &id)?;
            if !s.json {
                eprintln!("Deleted {user}.");
            }
        }
        UsersCommand::ResetPassword { user } => {
            let id = s.user_id(&user)?;
            let issued = s.dir.reset_password(&s.who, &id)?;
            s.reveal_token("Password reset", &issued);
        }
        UsersCommand::RemoveSecondFactor { user } => {
            let id = s.user_id(&user)?;
            let user = s.dir.remove_second_factor(&s.who, &id)?;
            if s.json {
                print_json(&user);
            } else {
                println!(
                    "Two-step sign-in removed for {}: they sign in with their password (and set \
                     up a new second step where the directory requires one).",
                    user.user_name
                );
            }
        }
        UsersCommand::Invite { user } => {
            let id = s.user_id(&user)?;
            let issued = s.dir.send_invitation(&s.who, &id)?;
            s.reveal_token("Invitation", &issued);
        }
        UsersCommand::Import {
            file,
            format,
            dry_run,
            invites_out,
        } => super::transfer::import(
            s,
            super::transfer::ImportArgs {
                file,
                format,
                dry_run,
                invites_out,
            },
        )?,
        UsersCommand::Export { format, out } => super::transfer::export(s, format, out)?,
    }
    Ok(())
}

fn set_status(s: &Session, user: &str, status: UserStatus) -> Result<()> {
    let current = s.user(user)?;
    let id = current.id.clone();
    let update = UserUpdate {
        status: Some(status),
        update_version: current.update_version,
        ..Default::default()
    };
    s.show_user(&s.dir.update_user(&s.who, &id, update)?);
    Ok(())
}

fn permissions(names: &[String]) -> Result<crate::core::permission::PermissionSet> {
    names
        .iter()
        .filter(|n| !n.is_empty())
        .map(|n| {
            Permission::parse(&n.to_uppercase()).ok_or_else(|| {
                Error::invalid("permissions", format!("There is no permission {n:?}."))
            })
        })
        .collect()
}

fn show_role(s: &Session, role: &Role) {
    if s.json {
        print_json(role);
    } else {
        let perms: Vec<&str> = role.permissions.iter().map(Permission::as_str).collect();
        Table::pairs(&[
            ("id", role.id.clone()),
            ("name", role.name.clone()),
            ("description", role.description.clone()),
            ("builtin", role.builtin.to_string()),
            ("permissions", perms.join(" ")),
            ("updateVersion", role.update_version.to_string()),
        ]);
    }
}

pub fn roles(s: &Session, command: RolesCommand) -> Result<()> {
    match command {
        RolesCommand::List => {
            let roles = s.dir.list_roles(&s.who)?;
            if s.json {
                print_json(&RoleList { roles });
            } else {
                let mut table = Table::new(&["NAME", "BUILT-IN", "PERMISSIONS", "ID"]);
                for r in &roles {
                    table.row([
                        r.name.clone(),
                        if r.builtin { "yes" } else { "no" }.into(),
                        r.permissions.iter().count().to_string(),
                        r.id.clone(),
                    ]);
                }
                table.print();
            }
        }
        RolesCommand::Show { role } => show_role(s, &s.role(&role)?),
        RolesCommand::Add {
            name,
            description,
            permissions: names,
        } => {
            let role = NewRole {
                name,
                description,
                permissions: permissions(&names)?,
            };
            show_role(s, &s.dir.create_role(&s.who, role)?);
        }
        RolesCommand::Edit {
            role,
            name,
            description,
            permissions: names,
        } => {
            let current = s.role(&role)?;
            let update = RoleUpdate {
                name,
                description,
                permissions: names.map(|n| permissions(&n)).transpose()?,
                update_version: current.update_version,
            };
            show_role(s, &s.dir.update_role(&s.who, &current.id, update)?);
        }
        RolesCommand::Delete { role } => {
            let current = s.role(&role)?;
            s.dir.delete_role(&s.who, &current.id)?;
            if !s.json {
                eprintln!("Deleted the role {}.", current.name);
            }
        }
    }
    Ok(())
}

fn show_group(s: &Session, group: &Group) {
    if s.json {
        print_json(group);
    } else {
        Table::pairs(&[
            ("id", group.id.clone()),
            ("name", group.name.clone()),
            ("description", group.description.clone()),
            ("members", group.members.len().to_string()),
            ("roles", s.role_names().names_of(&group.roles).join(", ")),
            ("updateVersion", group.update_version.to_string()),
        ]);
    }
}

pub fn groups(s: &Session, command: GroupsCommand) -> Result<()> {
    match command {
        GroupsCommand::List => {
            let groups = s.dir.list_groups(&s.who)?;
            if s.json {
                print_json(&GroupList { groups });
            } else {
                let roles = s.role_names();
                let mut table = Table::new(&["NAME", "MEMBERS", "ROLES", "ID"]);
                for g in &groups {
                    table.row([
                        g.name.clone(),
                        g.members.len().to_string(),
                        roles.names_of(&g.roles).join(", "),
                        g.id.clone(),
                    ]);
                }
                table.print();
            }
        }
        GroupsCommand::Show { group } => show_group(s, &s.group(&group)?),
        GroupsCommand::Add {
            name,
            description,
            members,
            roles,
        } => {
            let group = NewGroup {
                name,
                description,
                members: s.user_ids(&members)?,
                roles: s.role_ids(&roles)?,
            };
            show_group(s, &s.dir.create_group(&s.who, group)?);
        }
        GroupsCommand::Edit {
            group,
            name,
            description,
            members,
            roles,
        } => {
            let current = s.group(&group)?;
            let update = GroupUpdate {
                name,
                description,
                members: members.map(|m| s.user_ids(&m)).transpose()?,
                roles: roles.map(|r| s.role_ids(&r)).transpose()?,
                update_version: current.update_version,
            };
            show_group(s, &s.dir.update_group(&s.who, &current.id, update)?);
        }
        GroupsCommand::Delete { group } => {
            let current = s.group(&group)?;
            s.dir.delete_group(&s.who, &current.id)?;
            if !s.json {
                eprintln!("Deleted the group {}.", current.name);
            }
        }
    }
    Ok(())
}

fn key_table(keys: &[ApiKey]) {
    let mut table = Table::new(&[
        "NAME",
        "OWNER",
        "PREFIX",
        "STATUS",
        "EXPIRES",
        "LAST USED",
        "ID",
    ]);
    for k in keys {
        table.row([
            k.name.clone(),
            k.owner_user_name.clone(),
            k.prefix.clone().unwrap_or_else(|| "-".into()),
            k.status.as_str().into(),
            k.expires_time
                .map_or_else(|| "never".into(), |t| t.to_rfc3339()),
            time_or_dash(k.last_used_time),
            k.id.clone(),
        ]);
    }
    table.print();
}

fn issued_key(s: &Session, issued: &IssuedKey) {
    if s.json {
        print_json(issued);
        return;
    }
    eprintln!(
        "Key {} ({}) of {}: {}.",
        issued.key.name,
        issued.key.id,
        issued.key.owner_user_name,
        issued.key.status.as_str()
    );
    if let Some(secret) = &issued.secret {
        s.reveal("The key", secret, issued.key.expires_time);
    }
}

pub fn keys(s: &Session, command: KeysCommand) -> Result<()> {
    match command {
        KeysCommand::List {
            user,
            q,
            page,
            page_size,
        } => match user {
            Some(user) => {
                let id = s.user_id(&user)?;
                let keys = s.dir.list_user_keys(&s.who, &id)?;
                if s.json {
                    print_json(&KeyList {
                        keys,
                        page_info: None,
                    });
                } else {
                    key_table(&keys);
                }
            }
            None => {
                let query = KeyQuery {
                    page: Some(page),
                    page_size: Some(page_size),
                    q,
                    ..Default::default()
                };
                let found = s.dir.list_visible_keys(&s.who, &query)?;
                if s.json {
                    print_json(&KeyList {
                        keys: found.items,
                        page_info: Some(found.page_info),
                    });
                } else {
                    key_table(&found.items);
                }
            }
        },
        KeysCommand::Create {
            name,
            description,
            user,
            expires_in_days,
        } => {
            let owner = match user {
                Some(user) => s.user_id(&user)?,
                None => s.dir.me(&s.who)?.id,
            };
            let key = NewKey {
                name,
                description,
                expires_time: expires_in_days.map(|d| Utc::now() + Duration::days(i64::from(d))),
            };
            issued_key(s, &s.dir.create_key(&s.who, &owner, key)?);
        }
        KeysCommand::Download { id } => issued_key(s, &s.dir.download_key(&s.who, &id)?),
        KeysCommand::Revoke { id } => {
            let key = s.dir.revoke_key(&s.who, &id)?;
            if s.json {
                print_json(&key);
            } else {
                key_table(&[key]);
            }
        }
        KeysCommand::Regenerate { id, grace_seconds } => {
            issued_key(s, &s.dir.regenerate_key(&s.who, &id, grace_seconds)?)
        }
        KeysCommand::Verify => {
            let key = read_stdin_line("key")?;
            let verification = s.dir.verify_key(key.expose())?;
            if s.json {
                print_json(&verification);
            } else {
                println!(
                    "{} {}",
                    serde_json::to_value(verification.code)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    verification.user_name.as_deref().unwrap_or("")
                );
            }
            if !verification.valid {
                return Err(Error::StateConflict("The key is not valid.".into()));
            }
        }
    }
    Ok(())
}

pub fn audit(s: &Session, args: AuditArgs) -> Result<()> {
    let since = match args.since {
        Some(text) => Some(
            chrono::DateTime::parse_from_rfc3339(&text)
                .map_err(|_| {
                    Error::invalid("since", "Use an RFC 3339 time, e.g. 2026-11-01T00:00:00Z.")
                })?
                .with_timezone(&Utc),
        ),
        None => None,
    };
    let query = AuditQuery {
        page: Some(args.page),
        page_size: Some(args.page_size),
        actor: args.actor,
        action: args.action,
        since,
    };
    let found = s.dir.list_audit(&s.who, &query)?;
    if s.json {
        print_json(&AuditList {
            entries: found.items,
            page_info: found.page_info,
        });
    } else {
        let mut table = Table::new(&["TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME", "DETAIL"]);
        for e in &found.items {
            table.row([
                e.time.to_rfc3339(),
                e.actor_name.clone().unwrap_or_else(|| "-".into()),
                e.action.clone(),
                e.target_name
                    .clone()
                    .or(e.target_id.clone())
                    .unwrap_or_default(),
                serde_json::to_value(e.outcome)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                e.detail.clone().unwrap_or_default(),
            ]);
        }
        table.print();
    }
    Ok(())
}

fn show_settings(s: &Session, settings: &Settings) {
    if s.json {
        print_json(settings);
    } else {
        Table::pairs(&[
            (
                "apiKeyAuthEnabled",
                settings.api_key_auth_enabled.to_string(),
            ),
            (
                "maxKeyLifetimeDays",
                settings
                    .max_key_lifetime_days
                    .map_or_else(|| "none".into(), |d| d.to_string()),
            ),
            (
                "passwordMinLength",
                settings.password_min_length.to_string(),
            ),
            (
                "clipboardClearSeconds",
                settings.clipboard_clear_seconds.to_string(),
            ),
            (
                "sessionLifetimeMinutes",
                settings.session_lifetime_minutes.to_string(),
            ),
            ("lockoutThreshold", settings.lockout_threshold.to_string()),
            ("secondFactor", settings.second_factor.as_str().to_owned()),
            ("providerGroups", {
                let groups = s.group_names();
                let lines: Vec<String> = settings
                    .provider_groups
                    .iter()
                    .map(|line| format!("{} → {}", line.claim, groups.name_of(&line.group_id)))
                    .collect();
                if lines.is_empty() {
                    "none".to_owned()
                } else {
                    lines.join(", ")
                }
            }),
            ("updateVersion", settings.update_version.to_string()),
        ]);
    }
}

/// `CLAIM=GROUP` lines of the group mapping, with each group's name turned into its id.
fn mapping_lines(s: &Session, lines: &[String]) -> Result<Vec<ProviderGroup>> {
    let groups = Names::groups(s.dir, &s.who)?;
    lines
        .iter()
        .map(|line| {
            let (claim, group) = line.rsplit_once('=').ok_or_else(|| {
                Error::invalid(
                    "providerGroups",
                    format!("{line:?}: write the provider's group, '=', and a Keyward group."),
                )
            })?;
            let group_id = groups.id_of(group.trim()).ok_or_else(|| {
                Error::invalid("providerGroups", format!("There is no group {group:?}."))
            })?;
            Ok(ProviderGroup {
                claim: claim.trim().to_owned(),
                group_id,
            })
        })
        .collect()
}

pub fn settings(s: &Session, command: Option<SettingsCommand>) -> Result<()> {
    match command.unwrap_or(SettingsCommand::Show) {
        SettingsCommand::Show => show_settings(s, &s.dir.get_settings(&s.who)?),
        SettingsCommand::Set {
            api_key_auth_enabled,
            max_key_lifetime_days,
            password_min_length,
            clipboard_clear_seconds,
            session_lifetime_minutes,
            lockout_threshold,
            second_factor,
            provider_groups,
            no_provider_groups,
        } => {
            let current = s.dir.get_settings(&s.who)?;
            let provider_groups = if no_provider_groups {
                Some(Vec::new())
            } else if provider_groups.is_empty() {
                None
            } else {
                Some(mapping_lines(s, &provider_groups)?)
            };
            let update = SettingsUpdate {
                api_key_auth_enabled,
                max_key_lifetime_days: max_key_lifetime_days.map(|d| {
                    if d == 0 {
                        None
                    } else {
                        Some(d)
                    }
                }),
                password_min_length,
                clipboard_clear_seconds,
                session_lifetime_minutes,
                lockout_threshold,
                second_factor,
                provider_groups,
                update_version: current.update_version,
            };
            show_settings(s, &s.dir.update_settings(&s.who, update)?);
        }
    }
    Ok(())
}

/// Where a script gives the code of a second step (else it is asked at a prompt that does not
/// echo).
pub const SECOND_FACTOR_ENV: &str = "KEYWARD_TOTP_CODE";

/// The credential a command acts with: `KEYWARD_TOKEN` (a session token or an API key), else a
/// sign-in as `--as` (default on a file: its first SuperAdmin) with the password from the
/// environment or a prompt that does not echo.
/// `first_super_admin` is the directory's own first SuperAdmin when the command holds the
/// directory itself (a file or a database), `None` on a server.
pub fn credential(
    dir: &dyn Directory,
    as_user: Option<&str>,
    first_super_admin: Option<Result<Option<String>>>,
) -> std::result::Result<(Credential, bool), String> {
    let on_file = first_super_admin.is_some();
    if let Ok(token) = std::env::var("KEYWARD_TOKEN") {
        let token = token.trim().to_owned();
        let credential = if token.starts_with(KEY_MARKER) {
            Credential::ApiKey(Secret::new(token))
        } else {
            Credential::Session(Secret::new(token))
        };
        return Ok((credential, false));
    }
    let user = match (as_user, first_super_admin) {
        (Some(user), _) => user.to_owned(),
        (None, Some(first)) => first
            .map_err(|e| e.to_string())?
            .ok_or("this directory has no active SuperAdmin: give --as USER")?,
        // A person at a terminal is asked; a script must say who it is.
        (None, None) if std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
            eprint!("User name: ");
            let mut name = String::new();
            std::io::stdin()
                .read_line(&mut name)
                .map_err(|e| format!("cannot read the user name: {e}"))?;
            name.trim().to_owned()
        }
        (None, None) => {
            return Err(
                "set KEYWARD_TOKEN (a session token or an API key), or give --as USER".into(),
            )
        }
    };
    let (env, prompt) = if as_user.is_none() && on_file {
        ("KEYWARD_ADMIN_PASSWORD", format!("Password of {user}: "))
    } else {
        ("KEYWARD_PASSWORD", format!("Password of {user}: "))
    };
    let password = super::read_password(env, &prompt)?;
    let message = |e: Error| crate::core::ErrorBody::from(&e).message;
    let signed_in = match dir.start_sign_in(&user, &password).map_err(message)? {
        SignInStep::SignedIn(signed_in) => *signed_in,
        SignInStep::SecondFactor(challenge) => {
            let prompt = format!("Code from {user}'s authenticator app (or a recovery code): ");
            let code = super::read_password(SECOND_FACTOR_ENV, &prompt)?;
            dir.finish_sign_in(&challenge.challenge_token, &code)
                .map_err(
                    |e| match e.field_errors().and_then(|f| f.0.values().next()) {
                        Some(messages) => messages.join(" "),
                        None => message(e),
                    },
                )?
        }
        SignInStep::Enrollment(_) => {
            return Err(format!(
                "{user} must set up two-step sign-in first (the directory requires it): sign \
                 in once in the Keyward app, which walks through it"
            ))
        }
    };
    Ok((Credential::Session(signed_in.access_token), true))
}
