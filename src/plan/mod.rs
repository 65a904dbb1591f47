//! The plan language: source text → raw TOML types → validated [`Plan`].

pub(crate) mod analyzer;
pub(crate) mod declarations;
pub(crate) mod decode_error;
pub(crate) mod diagnostic;
pub(crate) mod field_check;
pub(crate) mod hash;
pub(crate) mod kind_field;
pub(crate) mod model;
pub(crate) mod parse;
pub(crate) mod raw;
pub(crate) mod risk;
pub(crate) mod schema;
pub(crate) mod source;
pub(crate) mod suggest;
pub(crate) mod table_decode;
pub(crate) mod template;
pub(crate) mod vars;

pub(crate) use model::{Plan, Step};
pub(crate) use source::Source;
