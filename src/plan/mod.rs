//! The plan language: source text → raw TOML types → validated [`Plan`].

pub mod analyzer;
pub mod declarations;
pub mod decode_error;
pub mod diagnostic;
pub mod field_check;
pub mod hash;
pub mod kind_field;
pub mod model;
pub mod parse;
pub mod raw;
pub mod risk;
pub mod schema;
pub mod source;
pub mod suggest;
pub mod table_decode;
pub mod template;
pub mod vars;

pub use model::{Plan, Step};
pub use source::Source;
