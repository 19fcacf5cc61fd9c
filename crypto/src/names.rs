//! Closed lists of stable wire names: a report's category, target, status and queue, a
//! revocation's reason, a signal's kind. Each is an enum whose every value has one name on the
//! wire (specs/accountability.md, specs/signals.md); [`wire_names!`] declares the enum with its
//! names once, so that `ALL`, `name`, `parse` and `Display` cannot disagree.

/// Declares a `Copy` enum whose values have stable wire names, written `Value => "name"`, with
/// `ALL` (every value, in the order written), `name`, `parse` (refusing any other text with
/// `$error`) and `Display` (the name).
macro_rules! wire_names {
    (
        $(#[$doc:meta])*
        $name:ident, $error_type:ident::$error:ident, {
            $($(#[$variant_doc:meta])* $variant:ident => $text:literal),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$variant_doc])* $variant),+
        }

        impl $name {
            /// Every value, in the spec's order.
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];

            /// The wire name.
            pub const fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value a wire name names, if it names one.
            pub fn parse(text: &str) -> Result<Self, $error_type> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err($error_type::$error),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}
pub(crate) use wire_names;
