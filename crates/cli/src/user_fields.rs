//! The rules a test user's fields meet, wherever they are given: `bankid-oidc users add` and a
//! seed file (`serve --seed`). An error names the field as its source spells it (`--birthdate`
//! on the command line, `birthdate` in a seed file) and the rule.

use bankid_oidc_core::nnin::Nnin;
use bankid_oidc_server::store::{AppScript, AppScripted};
use std::fmt;

/// A test user's field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    Nnin,
    GivenName,
    FamilyName,
    Birthdate,
    Email,
    Phone,
    Address,
    Otp,
    Password,
    AppAnswer,
    AppDelay,
}

impl UserField {
    /// As the `users` command's option.
    pub fn flag(self) -> &'static str {
        match self {
            UserField::Nnin => "--nnin",
            UserField::GivenName => "--given-name",
            UserField::FamilyName => "--family-name",
            UserField::Birthdate => "--birthdate",
            UserField::Email => "--email",
            UserField::Phone => "--phone",
            UserField::Address => "--address",
            UserField::Otp => "--otp",
            UserField::Password => "--password",
            UserField::AppAnswer => "--app-answer",
            UserField::AppDelay => "--app-delay",
        }
    }

    /// As a seed file's key.
    pub fn key(self) -> &'static str {
        match self {
            UserField::Nnin => "nnin",
            UserField::GivenName => "given_name",
            UserField::FamilyName => "family_name",
            UserField::Birthdate => "birthdate",
            UserField::Email => "email",
            UserField::Phone => "phone",
            UserField::Address => "address",
            UserField::Otp => "otp",
            UserField::Password => "password",
            UserField::AppAnswer => "app_answer",
            UserField::AppDelay => "app_delay",
        }
    }
}

/// The rule a value breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRule {
    Birthdate,
    Nnin(String),
    /// The NNIN's birth date (DDMMYY) is not the `birthdate` given.
    BornOtherDay {
        born: String,
        birthdate: String,
    },
    Length {
        max: usize,
    },
    Email,
    Phone,
    Address,
    AppAnswer,
    AppDelay,
    DelayWithoutAnswer,
}

/// A field refused: which, the value (if it is shown), and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserError {
    pub field: UserField,
    pub value: Option<String>,
    pub rule: UserRule,
}

impl UserError {
    fn new(field: UserField, value: &str, rule: UserRule) -> UserError {
        UserError {
            field,
            value: Some(value.to_owned()),
            rule,
        }
    }

    fn of_field(field: UserField, rule: UserRule) -> UserError {
        UserError {
            field,
            value: None,
            rule,
        }
    }

    /// The error with the fields named by `name` ([`UserField::flag`] or [`UserField::key`]).
    pub fn naming(&self, name: fn(UserField) -> &'static str) -> String {
        let rule = match &self.rule {
            UserRule::Birthdate => "use YYYY-MM-DD, e.g. 1985-03-15".to_owned(),
            UserRule::Nnin(e) => e.clone(),
            UserRule::BornOtherDay { born, birthdate } => format!(
                "is for a person born {born} (DDMMYY), but {} says {birthdate}",
                name(UserField::Birthdate)
            ),
            UserRule::Length { max } => format!("must be 1 to {max} characters"),
            UserRule::Email => "not an email address".to_owned(),
            UserRule::Phone => "use a Norwegian mobile number of 8 digits".to_owned(),
            UserRule::Address => "write it as \"street, postal code locality\", \
                                  e.g. \"Storgata 1, 0155 Oslo\""
                .to_owned(),
            UserRule::AppAnswer => format!(
                "use one of {}",
                AppScript::ALL.map(AppScript::as_str).join(", ")
            ),
            UserRule::AppDelay => "use 0 to 3600 seconds".to_owned(),
            UserRule::DelayWithoutAnswer => {
                format!("only with {}", name(UserField::AppAnswer))
            }
        };
        match &self.value {
            Some(value) => format!("{} '{value}': {rule}", name(self.field)),
            None => format!("{}: {rule}", name(self.field)),
        }
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.naming(UserField::flag))
    }
}

impl std::error::Error for UserError {}

/// A test user's fields as given.
#[derive(Default)]
pub struct UserFields {
    pub nnin: Option<String>,
    pub given_name: String,
    pub family_name: String,
    pub birthdate: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub otp: Option<String>,
    pub password: Option<String>,
    pub app_answer: Option<String>,
    pub app_delay: Option<i64>,
}

/// A test user's fields, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedUser {
    /// `None`: to be generated for the birth date.
    pub nnin: Option<Nnin>,
    pub born: (i32, u32, u32),
    pub given_name: String,
    pub family_name: String,
    pub birthdate: String,
    pub email: Option<String>,
    /// Eight digits.
    pub phone: Option<String>,
    /// The address claim (JSON).
    pub address: Option<String>,
    pub otp: Option<String>,
    pub password: Option<String>,
    pub script: Option<AppScripted>,
}

/// Checks every field; the first refused one is the error.
pub fn check(fields: UserFields) -> Result<CheckedUser, UserError> {
    let born = parse_birthdate(&fields.birthdate)?;
    let nnin = fields
        .nnin
        .as_deref()
        .map(|text| {
            Nnin::parse(text.trim())
                .map_err(|e| UserError::new(UserField::Nnin, text, UserRule::Nnin(e.to_string())))
        })
        .transpose()?;
    if let Some(nnin) = &nnin {
        check_born(nnin, born, &fields.birthdate)?;
    }
    for (field, value) in [
        (UserField::GivenName, &fields.given_name),
        (UserField::FamilyName, &fields.family_name),
    ] {
        if value.trim().is_empty() || value.len() > 100 {
            return Err(UserError::of_field(field, UserRule::Length { max: 100 }));
        }
    }
    if let Some(email) = &fields.email
        && (!email.contains('@') || email.len() > 254 || email.chars().any(char::is_whitespace))
    {
        return Err(UserError::new(UserField::Email, email, UserRule::Email));
    }
    let phone = fields.phone.as_deref().map(normalize_phone).transpose()?;
    let address = fields
        .address
        .as_deref()
        .map(|text| {
            bankid_oidc_server::seed::address_claim(text)
                .map_err(|_| UserError::new(UserField::Address, text, UserRule::Address))
        })
        .transpose()?;
    for (field, value) in [
        (UserField::Otp, &fields.otp),
        (UserField::Password, &fields.password),
    ] {
        if value
            .as_ref()
            .is_some_and(|v| v.is_empty() || v.len() > 128)
        {
            return Err(UserError::of_field(field, UserRule::Length { max: 128 }));
        }
    }
    let script = match (&fields.app_answer, fields.app_delay) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(UserError::of_field(
                UserField::AppDelay,
                UserRule::DelayWithoutAnswer,
            ));
        }
        (Some(answer), delay) => {
            let answer = AppScript::parse(answer)
                .ok_or_else(|| UserError::new(UserField::AppAnswer, answer, UserRule::AppAnswer))?;
            let delay = delay.unwrap_or(0);
            if !(0..=3600).contains(&delay) {
                return Err(UserError::new(
                    UserField::AppDelay,
                    &delay.to_string(),
                    UserRule::AppDelay,
                ));
            }
            Some(AppScripted { answer, delay })
        }
    };
    Ok(CheckedUser {
        nnin,
        born,
        given_name: fields.given_name.trim().to_owned(),
        family_name: fields.family_name.trim().to_owned(),
        birthdate: fields.birthdate,
        email: fields.email,
        phone,
        address,
        otp: fields.otp,
        password: fields.password,
        script,
    })
}

/// An NNIN agrees with the birth date given (synthetic numbers carry month + 80).
pub fn check_born(
    nnin: &Nnin,
    (y, m, d): (i32, u32, u32),
    birthdate: &str,
) -> Result<(), UserError> {
    let expected = format!("{d:02}{m:02}{:02}", y % 100);
    if nnin.birth_ddmmyy() != expected {
        return Err(UserError::new(
            UserField::Nnin,
            &nnin.to_string(),
            UserRule::BornOtherDay {
                born: nnin.birth_ddmmyy(),
                birthdate: birthdate.to_owned(),
            },
        ));
    }
    Ok(())
}

fn parse_birthdate(text: &str) -> Result<(i32, u32, u32), UserError> {
    let bad = || UserError::new(UserField::Birthdate, text, UserRule::Birthdate);
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let (y, m, d): (i32, u32, u32) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if !(1854..=2100).contains(&y) || d == 0 || d > days_in_month {
        return Err(bad());
    }
    Ok((y, m, d))
}

fn normalize_phone(text: &str) -> Result<String, UserError> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let digits = digits.strip_prefix("+47").unwrap_or(&digits);
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UserError::new(UserField::Phone, text, UserRule::Phone));
    }
    Ok(digits.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birthdates_must_be_real_dates() {
        assert_eq!(parse_birthdate("1985-03-15").unwrap(), (1985, 3, 15));
        assert!(parse_birthdate("2000-02-29").is_ok());
        for bad in [
            "1985-02-29",
            "1985-13-01",
            "1985-3-15",
            "15.03.1985",
            "1985-04-31",
        ] {
            assert!(parse_birthdate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones_are_norwegian_mobile_numbers() {
        assert_eq!(normalize_phone("+47 480 00 001").unwrap(), "48000001");
        assert!(normalize_phone("4800000").is_err());
        assert!(normalize_phone("+46 48000001x").is_err());
    }

    #[test]
    fn an_error_names_the_field_as_its_source_spells_it() {
        let fields = || UserFields {
            nnin: Some("15838540063".into()),
            given_name: "Kari".into(),
            family_name: "Nordmann".into(),
            birthdate: "1985-03-16".into(),
            ..UserFields::default()
        };
        let e = check(fields()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--nnin '15838540063': is for a person born 150385 (DDMMYY), but --birthdate says 1985-03-16"
        );
        assert_eq!(
            e.naming(UserField::key),
            "nnin '15838540063': is for a person born 150385 (DDMMYY), but birthdate says 1985-03-16"
        );
        let e = check(UserFields {
            birthdate: "1985-03-15".into(),
            app_answer: Some("maybe".into()),
            ..fields()
        })
        .unwrap_err();
        assert_eq!(
            e.naming(UserField::key),
            "app_answer 'maybe': use one of approve, deny, timeout, unreachable"
        );
    }
}
