//! cpuset lists (`0-3,5,7-8`), used for `cpuset.cpus` and `cpuset.mems`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use super::ValueError;
use crate::limits::{quote, shorten};

/// The kernel's largest `NR_CPUS` is 8192, so CPU (and node) numbers run 0..=8191. The bound
/// also stops `0-4000000000` from allocating a huge set.
pub(crate) const MAX_CPUS: u32 = 8192;

/// A set of CPU (or memory node) numbers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CpuList(pub BTreeSet<u32>);

impl CpuList {
    /// Runs of consecutive numbers, as `(first, last)`.
    pub fn ranges(&self) -> Vec<(u32, u32)> {
        let mut out: Vec<(u32, u32)> = Vec::new();
        for &n in &self.0 {
            match out.last_mut() {
                Some((_, last)) if last.checked_add(1) == Some(n) => *last = n,
                _ => out.push((n, n)),
            }
        }
        out
    }
}

impl FromStr for CpuList {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        if input.trim().is_empty() {
            return Err(ValueError::new(
                input,
                "expected a CPU list such as 0, 0-3 or 0-3,5",
            ));
        }
        let mut set = BTreeSet::new();
        for part in input.split(',') {
            let part = part.trim();
            if part.is_empty() {
                return Err(ValueError::new(input, "empty entry between commas"));
            }
            let (first, last) = match part.split_once('-') {
                Some((a, b)) => (cpu_number(input, a.trim())?, cpu_number(input, b.trim())?),
                None => {
                    let n = cpu_number(input, part)?;
                    (n, n)
                }
            };
            if first > last {
                return Err(ValueError::new(
                    input,
                    format!("range {first}-{last} runs backwards (write {last}-{first})"),
                ));
            }
            set.extend(first..=last);
        }
        Ok(CpuList(set))
    }
}

fn cpu_number(input: &str, field: &str) -> Result<u32, ValueError> {
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValueError::new(
            input,
            format!(
                "{} is not a CPU number (expected digits, a range like 0-3, or commas)",
                quote(field)
            ),
        ));
    }
    match field.parse::<u32>() {
        Ok(n) if n < MAX_CPUS => Ok(n),
        _ => Err(ValueError::new(
            input,
            format!(
                "CPU {} is out of range (Linux supports at most {MAX_CPUS} CPUs, 0-{})",
                shorten(field),
                MAX_CPUS - 1
            ),
        )),
    }
}

impl fmt::Display for CpuList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (first, last)) in self.ranges().into_iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if first == last {
                write!(f, "{first}")?;
            } else {
                write!(f, "{first}-{last}")?;
            }
        }
        Ok(())
    }
}

serialize_display!(CpuList);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cpus(s: &str) -> Result<Vec<u32>, ValueError> {
        s.parse::<CpuList>().map(|c| c.0.into_iter().collect())
    }

    #[test]
    fn accepts_lists() {
        assert_eq!(cpus("0"), Ok(vec![0]));
        assert_eq!(cpus("0-3"), Ok(vec![0, 1, 2, 3]));
        assert_eq!(cpus("0-3,5,7-8"), Ok(vec![0, 1, 2, 3, 5, 7, 8]));
        assert_eq!(cpus(" 0 - 1 , 4 "), Ok(vec![0, 1, 4]));
        assert_eq!(cpus("3,1,2"), Ok(vec![1, 2, 3]));
        assert_eq!(cpus("8191"), Ok(vec![8191]));
    }

    #[test]
    fn rejects_bad_lists() {
        assert!(cpus("3-1").unwrap_err().0.contains("backwards"));
        assert!(cpus("1,,2").unwrap_err().0.contains("empty entry"));
        assert!(cpus("1,").is_err());
        assert!(cpus("").is_err());
        assert!(cpus("0-99999").unwrap_err().0.contains("at most 8192"));
        assert!(cpus("8192").is_err());
        assert!(cpus("a").is_err());
        assert!(cpus("1-").is_err());
        assert!(cpus("-1").is_err());
        assert!(cpus("0-3:2").is_err());
    }

    #[test]
    fn displays_compressed_ranges() {
        let l: CpuList = "7,8,0,1,2,3,5".parse().unwrap();
        assert_eq!(l.to_string(), "0-3,5,7-8");
        assert_eq!("0".parse::<CpuList>().unwrap().to_string(), "0");
    }

    proptest! {
        #[test]
        fn round_trips(set in proptest::collection::btree_set(0u32..MAX_CPUS, 1..64)) {
            let l = CpuList(set);
            prop_assert_eq!(l.to_string().parse::<CpuList>(), Ok(l));
        }

        #[test]
        fn never_panics(s in "[0-9, -]{0,16}") {
            let _ = s.parse::<CpuList>();
        }
    }
}
