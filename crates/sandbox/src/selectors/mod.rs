//! Label and field selectors for list and watch requests.

mod fields;
mod labels;

pub use fields::FieldSelector;
pub use labels::LabelSelector;
