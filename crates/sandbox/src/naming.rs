//! Generated names: pod suffixes and pod-template hashes in Kubernetes' safe alphabet (no
//! vowels, no look-alike characters), derived from stable hashes so runs are repeatable.

use serde_json::Value;

const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

pub fn fnv64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn encode(mut n: u64, len: usize) -> String {
    let mut out = String::with_capacity(len);
    for _ in 0..len {
        out.push(ALPHABET[(n % ALPHABET.len() as u64) as usize] as char);
        n /= ALPHABET.len() as u64;
    }
    out
}

/// A name suffix from a counter, mixed so that consecutive names do not look alike.
pub fn suffix(seed: u64, len: usize) -> String {
    encode(fnv64(&seed.to_le_bytes()), len)
}

/// The `pod-template-hash` of a normalised template and the Deployment's collision count.
pub fn template_hash(normalised_template: &Value, collision_count: u64) -> String {
    let mut bytes = serde_json::to_vec(normalised_template).expect("json");
    bytes.extend_from_slice(&collision_count.to_le_bytes());
    encode(fnv64(&bytes), 10)
}
