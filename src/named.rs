//! Enums whose variants have names on the wire, in the database (a stable code) and on the
//! command line: one declaration gives `ALL`, `as_str`, `parse` (any case) and the codes.

/// Declares an enum of unit variants, each with its name: `Variant = "name"`. The code of a
/// variant is its position, stored in databases: append variants, never reorder them.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The variant with this name, in any case.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.into_iter().find(|v| v.as_str().eq_ignore_ascii_case(s))
            }

            /// Stable small number used in the database.
            pub fn code(self) -> i64 {
                self as i64
            }

            pub fn from_code(code: i64) -> Option<Self> {
                Self::ALL.get(usize::try_from(code).ok()?).copied()
            }
        }
    };
}

pub(crate) use named_enum;

#[cfg(test)]
mod tests {
    named_enum! {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Colour {
            Red = "red",
            /// Doc comments stay on their variant.
            DeepBlue = "deep blue",
        }
    }

    #[test]
    fn names_codes_and_parsing() {
        assert_eq!(Colour::ALL, [Colour::Red, Colour::DeepBlue]);
        assert_eq!(Colour::DeepBlue.as_str(), "deep blue");
        assert_eq!(Colour::parse("DEEP Blue"), Some(Colour::DeepBlue));
        assert_eq!(Colour::parse("green"), None);
        assert_eq!(Colour::Red.code(), 0);
        assert_eq!(Colour::from_code(1), Some(Colour::DeepBlue));
        assert_eq!(Colour::from_code(2), None);
        assert_eq!(Colour::from_code(-1), None);
    }
}
