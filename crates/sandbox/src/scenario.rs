//! Failure scenarios chosen by image tag, so every path of the procedure can be walked:
//! `1.2.3-crashloop`, `1.2.3-badpull`, `1.2.3-slowstart`, `1.2.3-migfail` (a migration Job
//! run from that image fails), `1.2.3-mighang` (it never ends, as a migration waiting on a
//! lock: only the Job's deadline stops it). Tags the sandbox does not act on (such as the metrics issue's
//! `-errors`, `-slow`, `-queue`) are kept in `service` for the simulated service to read.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scenario {
    pub crashloop: bool,
    pub badpull: bool,
    pub slowstart: bool,
    pub migfail: bool,
    pub mighang: bool,
    /// Every other `-word` of the tag: behaviour for the simulated service.
    pub service: Vec<String>,
}

/// Seconds from a pod's creation until its container runs (pull and create).
pub const START_SECS: i64 = 2;
/// Seconds from running until the readiness probe passes.
pub const READY_SECS: i64 = 3;
/// Readiness of a `-slowstart` image: well inside the 600 s progress deadline.
pub const SLOW_READY_SECS: i64 = 45;
/// How long a `-crashloop` container runs before it exits 1.
pub const CRASH_AFTER_SECS: i64 = 2;
/// How long a migration Job's pod runs.
pub const JOB_SECS: i64 = 3;

impl Scenario {
    pub fn from_image(image: &str) -> Self {
        let tag = image
            .rsplit_once(':')
            .map(|(_, t)| t)
            .filter(|t| !t.contains('/'))
            .unwrap_or("");
        let mut s = Scenario::default();
        // The version comes first (`1.2.3-crashloop`); the words after it are scenarios.
        for word in tag.split('-').skip(1) {
            match word {
                "crashloop" => s.crashloop = true,
                "badpull" => s.badpull = true,
                "slowstart" => s.slowstart = true,
                "migfail" => s.migfail = true,
                "mighang" => s.mighang = true,
                "" => {}
                other => s.service.push(other.to_string()),
            }
        }
        s
    }

    pub fn ready_after_secs(&self) -> i64 {
        if self.slowstart {
            SLOW_READY_SECS
        } else {
            READY_SECS
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_pick_scenarios() {
        assert!(Scenario::from_image("deal-scout-api:1.2.3-crashloop").crashloop);
        assert!(Scenario::from_image("registry:5000/deal-scout-api:1.2.3-badpull").badpull);
        let hang = Scenario::from_image("deal-scout-api:1.2.3-mighang");
        assert!(hang.mighang && !hang.migfail && hang.service.is_empty());
        assert_eq!(
            Scenario::from_image("deal-scout-api:1.2.3"),
            Scenario::default()
        );
        assert_eq!(Scenario::from_image("registry:5000/x"), Scenario::default());
        assert_eq!(
            Scenario::from_image("x:1.2.3-errors").service,
            vec!["errors".to_string()]
        );
    }
}
