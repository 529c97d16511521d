//! How tasks, watchers and pollers report: they own nothing shared and hand owned values
//! to a sink. It answers false once nobody listens, so the sender can stop.

use std::sync::Arc;

pub type Sink<T> = Arc<dyn Fn(T) -> bool + Send + Sync>;
