//! Arbitrary input never panics the config reader or the journal reader; it gets a message.

use proptest::prelude::*;
use release_cockpit::config::Config;
use release_cockpit::release::journal;

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn any_text_as_a_config_gives_a_config_or_located_problems(text in "\\PC{0,400}") {
        if let Err(problems) = Config::from_str("fuzz.toml", &text) {
            prop_assert!(!problems.is_empty());
            for p in problems {
                prop_assert_eq!(p.file.as_str(), "fuzz.toml");
                prop_assert!(!p.message.is_empty());
            }
        }
    }

    #[test]
    fn config_shaped_text_with_random_values_never_panics(
        key in "[a-z_]{1,20}",
        value in prop_oneof!["-?[0-9]{1,6}", "\"[^\"\\\\]{0,20}\"", "true", "\\[\\]", "\\{\\}", "[0-9]\\.[0-9]+"],
        table in prop_oneof!["service", "schedule", "environments.staging", "thresholds.error_rate", "rollback_triggers", "roles", "release_types.regular"],
    ) {
        let text = format!("[{table}]\n{key} = {value}\n");
        let _ = Config::from_str("fuzz.toml", &text);
    }

    #[test]
    fn any_bytes_as_a_journal_are_read_or_refused_with_a_line(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("1.2.3.jsonl");
        std::fs::write(&path, &bytes).unwrap();
        match journal::read(&path, "1.2.3") {
            Ok(_) => {}
            Err(journal::JournalError::Corrupt { line, .. }) => prop_assert!(line >= 1),
            Err(journal::JournalError::Broken { broken, .. }) => prop_assert!(broken.seq() >= 1),
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }
}
