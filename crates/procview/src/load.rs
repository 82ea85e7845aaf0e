//! The container's load average, computed as the kernel computes the host's
//! (`kernel/sched/loadavg.c`): every 5 s the number of runnable (and uninterruptible) tasks
//! is folded into three fixed-point averages with the 1, 5 and 15 minute decay factors.

/// Fixed-point 1.0 (11 bits of fraction, as the kernel's `FIXED_1`).
pub const FIXED_1: u64 = 1 << 11;
/// The decay per 5 s sample for 1, 5 and 15 minutes: `FIXED_1 / exp(5s / 1min)` etc.
const EXP: [u64; 3] = [1884, 2014, 2037];
/// How often a sample is taken.
pub const SAMPLE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Three fixed-point averages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadAverage(pub [u64; 3]);

impl LoadAverage {
    /// Folds in one sample of `active` tasks.
    pub fn sample(self, active: u64) -> LoadAverage {
        let active = active.saturating_mul(FIXED_1);
        LoadAverage(std::array::from_fn(|i| decay(self.0[i], EXP[i], active)))
    }

    /// `0.16 0.03 0.01`, rounded as `/proc/loadavg` rounds.
    pub fn render(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|load| {
                let load = load + FIXED_1 / 200;
                format!("{}.{:02}", load >> 11, ((load & (FIXED_1 - 1)) * 100) >> 11)
            })
            .collect();
        parts.join(" ")
    }
}

/// `calc_load`: an exponentially decaying average, rounded up while rising.
fn decay(load: u64, exp: u64, active: u64) -> u64 {
    let mut next = load * exp + active * (FIXED_1 - exp);
    if active >= load {
        next += FIXED_1 - 1;
    }
    next / FIXED_1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_stays_zero() {
        let load = (0..100).fold(LoadAverage::default(), |l, _| l.sample(0));
        assert_eq!(load.render(), "0.00 0.00 0.00");
    }

    #[test]
    fn one_busy_task_for_a_minute_is_about_0_63_on_the_one_minute_average() {
        // 12 samples = 60 s: 1 - 1/e ≈ 0.63 for the 1-minute average.
        let load = (0..12).fold(LoadAverage::default(), |l, _| l.sample(1));
        let text = load.render();
        let one: f64 = text.split(' ').next().unwrap_or("").parse().unwrap_or(-1.0);
        assert!((0.60..=0.66).contains(&one), "{text}");
        assert!(load.0[0] > load.0[1] && load.0[1] > load.0[2], "{text}");
    }

    #[test]
    fn converges_to_the_task_count_and_decays_back() {
        let busy = (0..1000).fold(LoadAverage::default(), |l, _| l.sample(2));
        assert_eq!(busy.render(), "2.00 2.00 2.00");
        let calm = (0..1000).fold(busy, |l, _| l.sample(0));
        assert_eq!(calm.render(), "0.00 0.00 0.00");
    }
}
