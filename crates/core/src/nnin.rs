//! The Norwegian national identity number (fødselsnummer, NNIN): 11 digits, a birth date
//! (possibly shifted for D-numbers, H-numbers and synthetic test numbers), an individual number
//! and two mod-11 check digits.

use serde::{Deserialize, Serialize};
use std::fmt;

const WEIGHTS_1: [u32; 9] = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const WEIGHTS_2: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

/// A national identity number whose length, digits, date part and check digits are valid.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Nnin(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum NninError {
    #[error("a national identity number has exactly 11 digits")]
    Length,
    #[error("a national identity number has only the digits 0-9")]
    NotDigits,
    #[error("the first six digits of a national identity number are not a birth date (DDMMYY)")]
    Date,
    #[error("the check digits of the national identity number are wrong (mod 11)")]
    CheckDigits,
}

impl Nnin {
    pub fn parse(text: &str) -> Result<Nnin, NninError> {
        if text.len() != 11 {
            return Err(if text.chars().all(|c| c.is_ascii_digit()) {
                NninError::Length
            } else {
                NninError::NotDigits
            });
        }
        let digits: Vec<u32> = text
            .chars()
            .map(|c| c.to_digit(10))
            .collect::<Option<_>>()
            .ok_or(NninError::NotDigits)?;
        let day = digits[0] * 10 + digits[1];
        let month = digits[2] * 10 + digits[3];
        // D-numbers add 40 to the day; H-numbers add 40 and synthetic test numbers (Tenor,
        // BankID's test users) add 80 to the month.
        let day_ok = (1..=31).contains(&day) || (41..=71).contains(&day);
        let month_ok =
            (1..=12).contains(&month) || (41..=52).contains(&month) || (81..=92).contains(&month);
        if !day_ok || !month_ok {
            return Err(NninError::Date);
        }
        let (k1, k2) = check_digits(&digits[..9]).ok_or(NninError::CheckDigits)?;
        if digits[9] != k1 || digits[10] != k2 {
            return Err(NninError::CheckDigits);
        }
        Ok(Nnin(text.to_owned()))
    }

    /// A synthetic test number (month + 80, as BankID's and Tenor's test users have) for the given
    /// birth date, using the first individual number from `seed` onwards that has valid check
    /// digits. Synthetic numbers never belong to a real person.
    pub fn synthetic(year: i32, month: u32, day: u32, seed: u32) -> Nnin {
        let yy = year.rem_euclid(100) as u32;
        let prefix = [
            day / 10,
            day % 10,
            (month + 80) / 10,
            (month + 80) % 10,
            yy / 10,
            yy % 10,
        ];
        for offset in 0..1000 {
            let individual = (seed + offset) % 1000;
            let mut digits = prefix.to_vec();
            digits.extend([individual / 100, individual / 10 % 10, individual % 10]);
            if let Some((k1, k2)) = check_digits(&digits) {
                digits.extend([k1, k2]);
                let text: String = digits
                    .iter()
                    .map(|d| char::from_digit(*d, 10).unwrap())
                    .collect();
                return Nnin(text);
            }
        }
        unreachable!("about 8 in 10 individual numbers have valid check digits")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The birth date digits, DDMMYY, with D-, H- and synthetic shifts removed.
    pub fn birth_ddmmyy(&self) -> String {
        let d: Vec<u32> = self.0.chars().map(|c| c.to_digit(10).unwrap()).collect();
        let day = (d[0] * 10 + d[1]) % 40;
        let month = (d[2] * 10 + d[3]) % 40;
        format!("{day:02}{month:02}{}{}", d[4], d[5])
    }
}

/// The two mod-11 check digits for the first nine digits, or `None` where either would be 10
/// (such numbers are never issued).
fn check_digits(first_nine: &[u32]) -> Option<(u32, u32)> {
    let k1 = mod11(first_nine.iter().zip(WEIGHTS_1).map(|(d, w)| d * w).sum())?;
    let k2 = mod11(
        first_nine
            .iter()
            .chain([&k1])
            .zip(WEIGHTS_2)
            .map(|(d, w)| d * w)
            .sum(),
    )?;
    Some((k1, k2))
}

fn mod11(sum: u32) -> Option<u32> {
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        k => Some(k),
    }
}

impl TryFrom<String> for Nnin {
    type Error = NninError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Nnin::parse(&value)
    }
}

impl From<Nnin> for String {
    fn from(value: Nnin) -> String {
        value.0
    }
}

impl fmt::Display for Nnin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Shows only the birth date part: an NNIN is personal data and must not end up whole in logs.
impl fmt::Debug for Nnin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nnin({}*****)", &self.0[..6])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_known_valid_numbers() {
        // Published test numbers (Skatteetaten's examples and a synthetic Tenor number).
        for n in ["01010012356", "15076500565", "26919749171"] {
            Nnin::parse(n).unwrap_or_else(|e| panic!("{n}: {e}"));
        }
    }

    #[test]
    fn refuses_a_wrong_check_digit() {
        assert_eq!(Nnin::parse("01010012357"), Err(NninError::CheckDigits));
        assert_eq!(Nnin::parse("15076500566"), Err(NninError::CheckDigits));
    }

    #[test]
    fn refuses_wrong_length_letters_and_impossible_dates() {
        assert_eq!(Nnin::parse("0101001235"), Err(NninError::Length));
        assert_eq!(Nnin::parse("0101001235a"), Err(NninError::NotDigits));
        assert_eq!(Nnin::parse("010100123567"), Err(NninError::Length));
        assert_eq!(Nnin::parse("32010012356"), Err(NninError::Date));
        assert_eq!(Nnin::parse("01130012356"), Err(NninError::Date));
    }

    #[test]
    fn synthetic_numbers_are_valid_and_shift_the_month_by_80() {
        for seed in 0..200 {
            let n = Nnin::synthetic(1985, 3, 15, seed);
            assert_eq!(&n.as_str()[..6], "158385");
            assert_eq!(Nnin::parse(n.as_str()).as_ref(), Ok(&n));
            assert_eq!(n.birth_ddmmyy(), "150385");
        }
    }

    #[test]
    fn debug_output_hides_the_personal_part() {
        let n = Nnin::parse("15076500565").unwrap();
        assert_eq!(format!("{n:?}"), "Nnin(150765*****)");
    }
}
