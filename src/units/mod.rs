//! Values written in plans with a unit: durations (`"30s"`) and byte sizes
//! (`"8GB"`). A leaf: it imports nothing of planrun.

pub mod byte_size;
pub mod duration;
