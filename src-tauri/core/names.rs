//! Newtypes that parse: a value of one of these types has passed its validation once, here,
//! and never needs checking again. Each `parse` explains a refusal in words fit for the field.

use std::fmt;

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }

            /// The case-folded form that uniqueness is checked on.
            pub fn key(&self) -> String {
                self.0.to_lowercase()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn bounded(value: &str, what: &str, max: usize) -> Result<String, String> {
    let trimmed = value.trim();
    let length = trimmed.chars().count();
    if length == 0 {
        return Err(format!("Enter a {what}."));
    }
    if length > max {
        return Err(format!("Use at most {max} characters."));
    }
    if trimmed.chars().any(char::is_control) {
        return Err("Remove the control characters.".to_owned());
    }
    Ok(trimmed.to_owned())
}

text_type!(
    /// A user name: 1–64 characters, no whitespace, unique regardless of case.
    UserName
);

impl UserName {
    pub fn parse(value: &str) -> Result<UserName, String> {
        if value.trim().is_empty() {
            return Err("Enter a user name.".to_owned());
        }
        if value.chars().any(char::is_whitespace) {
            return Err("A user name cannot contain spaces.".to_owned());
        }
        bounded(value, "user name", 64).map(UserName)
    }
}

text_type!(
    /// A display name: 1–128 characters.
    DisplayName
);

impl DisplayName {
    pub fn parse(value: &str) -> Result<DisplayName, String> {
        bounded(value, "display name", 128).map(DisplayName)
    }
}

text_type!(
    /// An e-mail address of the usual `local@domain.tld` shape, unique regardless of case.
    Email
);

impl Email {
    pub fn parse(value: &str) -> Result<Email, String> {
        let value = value.trim();
        if value.is_empty() {
            return Err("Enter an e-mail address.".to_owned());
        }
        let invalid = || "Enter an e-mail address like name@example.com.".to_owned();
        if value.chars().count() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid());
        }
        let Some((local, domain)) = value.rsplit_once('@') else {
            return Err(invalid());
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return Err(invalid());
        }
        Ok(Email(value.to_owned()))
    }
}

text_type!(
    /// The name of a role, a group or an API key: 1–64 characters.
    Name
);

impl Name {
    pub fn parse(value: &str) -> Result<Name, String> {
        bounded(value, "name", 64).map(Name)
    }
}

/// A free-text description: at most 1024 characters, may be empty.
pub fn parse_description(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.chars().count() > 1024 {
        return Err("Use at most 1024 characters.".to_owned());
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_refuse_whitespace_and_length() {
        assert!(UserName::parse("alice").is_ok());
        assert!(UserName::parse("al ice").is_err());
        assert!(UserName::parse("").is_err());
        assert!(UserName::parse(&"a".repeat(65)).is_err());
        assert_eq!(UserName::parse("Alice").unwrap().key(), "alice");
    }

    #[test]
    fn emails_need_a_local_part_and_a_domain() {
        assert!(Email::parse("a@example.com").is_ok());
        for bad in [
            "",
            "a",
            "a@b",
            "@example.com",
            "a@.com",
            "a b@example.com",
            "a@exa..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
