//! The BankID PID (`bankid_altsub`), e.g. `9578-5999-4-1765512`: the stable identifier of a
//! BankID user, in four dash-separated groups of 4, 4, 1 and 7 digits.

/// Formats 16 digits taken from `random` as a PID. The caller supplies the randomness (the core
/// does no I/O).
pub fn from_random(random: [u8; 16]) -> String {
    let digits: Vec<char> = random
        .iter()
        .map(|b| char::from_digit(u32::from(*b) % 10, 10).unwrap())
        .collect();
    let group = |r: std::ops::Range<usize>| digits[r].iter().collect::<String>();
    format!("9578-{}-{}-{}", group(0..4), group(4..5), group(5..12))
}

/// Whether `text` has the PID's shape.
pub fn is_valid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 4
        && groups
            .iter()
            .zip([4, 4, 1, 7])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_pids_have_the_bankid_shape() {
        let pid = super::from_random([7; 16]);
        assert_eq!(pid, "9578-7777-7-7777777");
        assert!(super::is_valid(&pid));
        assert!(super::is_valid("9578-5999-4-1765512"));
        assert!(!super::is_valid("9578-5999-41765512"));
        assert!(!super::is_valid("9578-599a-4-1765512"));
    }
}
