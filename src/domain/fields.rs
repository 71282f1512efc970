//! The vocabulary of a ticket, taken from the support portals our customers know:
//! type, impact, urgency, the priority derived from them, and who wrote an article and
//! who may see it. Each is a closed set of names, stored as text and parsed leniently.

/// A value that is not one of an enumeration's names.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{value}` is not a valid {what}; expected one of: {expected}")]
pub struct UnknownValue {
    pub(super) what: &'static str,
    pub(super) value: String,
    pub(super) expected: &'static str,
}

/// Declares a closed set of names stored as text, with parsing and display.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize, ::utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name stored in the database and shown to people.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::domain::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_lowercase().replace(['-', ' '], "_").as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::domain::UnknownValue {
                        what: $what,
                        value: s.to_string(),
                        expected: concat!($($text, " "),+),
                    }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.pad(self.as_str())
            }
        }
    };
}
pub(super) use text_enum;

text_enum!(
    /// What the customer is asking for, as the portals offer it.
    TicketType, "ticket type" {
        Incident = "incident",
        Request = "request",
        Question = "question",
        Feature = "feature",
    }
);

text_enum!(
    /// How badly the service is affected, from "Non perturbé" to "Interrompu".
    Impact, "impact" {
        NotDisturbed = "not_disturbed",
        Degraded = "degraded",
        SeverelyDegraded = "severely_degraded",
        Interrupted = "interrupted",
    }
);

text_enum!(
    /// How soon the customer needs an answer (the portals offer high and medium).
    Urgency, "urgency" {
        High = "high",
        Medium = "medium",
    }
);

text_enum!(
    /// Processing priority, P1 first; never set by hand, always derived from impact × urgency.
    Priority, "priority" {
        P1 = "p1",
        P2 = "p2",
        P3 = "p3",
        P4 = "p4",
    }
);

impl Priority {
    /// The priority matrix: an interrupted service with high urgency is P1, a service that
    /// is not disturbed is always P4 (as in the portal listing "Non perturbé … P4").
    pub fn derive(impact: Impact, urgency: Urgency) -> Priority {
        use Impact::*;
        match (impact, urgency) {
            (Interrupted, Urgency::High) => Priority::P1,
            (Interrupted, Urgency::Medium) | (SeverelyDegraded, Urgency::High) => Priority::P2,
            (SeverelyDegraded, Urgency::Medium) | (Degraded, Urgency::High) => Priority::P3,
            (Degraded, Urgency::Medium) | (NotDisturbed, _) => Priority::P4,
        }
    }

    /// The label shown to people, `P1`…`P4`.
    pub fn label(self) -> &'static str {
        match self {
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
            Priority::P4 => "P4",
        }
    }
}

text_enum!(
    /// Who wrote an article and which way it travelled.
    Direction, "direction" {
        /// From a customer, by mail.
        Inbound = "inbound",
        /// From an agent, meant for the customer.
        Outbound = "outbound",
        /// Written by ticketgate itself (bounces, refusals, system notes).
        System = "system",
    }
);

text_enum!(
    /// Whether customers may see an article.
    Visibility, "visibility" {
        Public = "public",
        Internal = "internal",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_matrix_covers_the_seed_example() {
        assert_eq!(
            Priority::derive(Impact::NotDisturbed, Urgency::High),
            Priority::P4
        );
        assert_eq!(
            Priority::derive(Impact::Interrupted, Urgency::High),
            Priority::P1
        );
        assert_eq!(
            Priority::derive(Impact::Degraded, Urgency::High),
            Priority::P3
        );
        assert_eq!(
            Priority::derive(Impact::SeverelyDegraded, Urgency::High),
            Priority::P2
        );
    }

    #[test]
    fn names_parse_leniently_and_print_canonically() {
        assert_eq!(
            "Severely degraded".parse::<Impact>().unwrap(),
            Impact::SeverelyDegraded
        );
        let err = "urgent".parse::<Urgency>().unwrap_err().to_string();
        assert!(err.contains("high medium"), "{err}");
    }
}
