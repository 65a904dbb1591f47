//! What a kind's data tells the plan language about itself, and the two
//! services the language provides to it: checks reported at the field they
//! are about ([`FieldChecks`]), and decoding a kind's table
//! ([`KindDecoder`]). The language (`plan`) implements both, so the kinds
//! never import it.

use serde::de::DeserializeOwned;

/// What every kind's data can tell the planner about itself.
pub(crate) trait KindSpec {
    /// One line saying what this does, for previews ("GET https://… → 200").
    fn summary(&self) -> String;

    /// Checks serde cannot express: exclusive fields, URLs, regexes.
    fn validate(&self, _check: &mut dyn FieldChecks) {}
}

/// Checks on one decoded kind, reported at the field they are about.
pub(crate) trait FieldChecks {
    /// An error about `field` (or the whole table, when it is absent).
    fn report(&mut self, field: &str, message: String, help: String);
    /// Exactly one of the named fields must be set.
    fn exactly_one(&mut self, present: &[(&str, bool)]);
    /// At least one of the named fields must be set.
    fn at_least_one(&mut self, present: &[(&str, bool)]);
    /// A URL with one of `schemes`.
    fn url(&mut self, field: &str, value: &str, schemes: &[&str]);
    /// A regular expression that compiles.
    fn regex(&mut self, field: &str, value: &str);
    /// A field that must not be empty (a name, a path).
    fn non_empty(&mut self, field: &str, value: &str);
}

impl dyn FieldChecks + '_ {
    /// [`FieldChecks::report`], with any string-like message and help.
    pub(crate) fn error(&mut self, field: &str, message: impl Into<String>, help: impl Into<String>) {
        self.report(field, message.into(), help.into());
    }
}

/// How the plan's parser decodes the fields of one kind: it reports every
/// problem itself and says how much was usable (`Decoded`).
pub(crate) trait KindDecoder {
    /// What decoding gives: the value, or what is left of it.
    type Decoded<T>;

    /// Decodes the fields (without `kind`) as `T`.
    fn decode<T: DeserializeOwned>(self) -> Self::Decoded<T>;

    /// Turns a decoded `T` into a `U` (the kind into its enum variant).
    fn map<T, U>(decoded: Self::Decoded<T>, f: impl FnOnce(T) -> U) -> Self::Decoded<U>;
}
