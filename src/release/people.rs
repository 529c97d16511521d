//! Telling people apart by name. An approval is worth something only if two approvals
//! are two people, so names compare after Unicode normalisation and case folding, and a
//! name that merely looks like another (`alice` and `аlice`, with a Cyrillic а) is a
//! refusal, never a second approver.

use unicode_normalization::UnicodeNormalization;
use unicode_security::confusable_detection::skeleton;

/// The form two names are compared in: NFKC, lower case, trimmed, inner runs of white
/// space as one space.
pub fn folded(name: &str) -> String {
    let nfkc: String = name.nfkc().collect();
    nfkc.to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether two names are the same person's.
pub fn same_person(a: &str, b: &str) -> bool {
    folded(a) == folded(b)
}

/// Whether `a` and `b` are different names that a reader could take for one another
/// (UTS #39 skeletons, over the folded forms).
pub fn look_alike(a: &str, b: &str) -> bool {
    let (a, b) = (folded(a), folded(b));
    a != b && skeleton(&a).eq(skeleton(&b))
}

/// The first of `others` that `name` looks like without being it.
pub fn look_alike_of<'a>(name: &str, others: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    others.into_iter().find(|o| look_alike(name, o))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_width_and_spacing_do_not_make_two_people() {
        assert!(same_person("Alice", " alice "));
        assert!(same_person("Tess  Lead", "tess lead"));
        // Full-width letters are the same letters after NFKC.
        assert!(same_person("ａｌｉｃｅ", "alice"));
        assert!(!same_person("alice", "alicia"));
    }

    #[test]
    fn a_cyrillic_letter_looks_like_its_latin_twin() {
        let cyrillic = "\u{0430}lice";
        assert!(!same_person(cyrillic, "alice"));
        assert!(look_alike(cyrillic, "alice"));
        assert!(look_alike("rn", "m"), "rn reads as m");
        assert!(
            !look_alike("alice", "Alice"),
            "the same name is not a look-alike"
        );
        assert!(!look_alike("bob", "alice"));
        assert_eq!(look_alike_of("b\u{043e}b", ["alice", "bob"]), Some("bob"));
    }
}
