//! Values written in plans with a unit: durations (`"30s"`) and byte sizes
//! (`"8GB"`). A leaf: it imports nothing of planrun.

pub(crate) mod byte_size;
pub(crate) mod duration;
