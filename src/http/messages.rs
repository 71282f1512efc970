//! What a page says when it cannot show what was asked, in each page language: short,
//! and saying what to do next. Nothing here names what exists, so that a stranger learns
//! nothing by trying numbers or links.

use axum::http::StatusCode;

use crate::service::PortalError;
use crate::signing::LinkError;

/// Why a request ends on a message page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The link is altered, damaged or for another ticket.
    BadLink,
    /// The link is genuine but too old.
    ExpiredLink,
    /// No session: the person came without a link.
    NotSignedIn,
    /// No such page, or a ticket that is not theirs.
    NotFound,
    /// A method the page does not take.
    WrongMethod,
    /// A form from elsewhere than our page, or without its token.
    Forged,
    /// A form that cannot be read.
    BadForm,
    /// A request larger than the portal takes.
    TooLarge,
    /// A comment or refusal without words.
    EmptyMessage,
    /// An observer's address that is none.
    BadAddress,
    /// A phone number SMS cannot reach, or SMS without a number.
    BadPhone,
    /// An observer who follows already.
    AlreadyFollows,
    /// The ticket is closed.
    Closed,
    /// Someone else than the requester answered the solution.
    NotRequester,
    /// The solution was answered already, or the ticket moved on.
    NoSolutionPending,
    /// Too many links that did not open, or requests for fresh links.
    TooManyAttempts,
    /// An answer to a request for fresh links that cannot be read as an address.
    BadLinkRequest,
    /// Our fault.
    Internal,
}

impl Problem {
    /// What a portal refusal becomes on the page.
    pub fn of(error: &PortalError) -> Problem {
        match error {
            PortalError::Link(LinkError::Expired(_)) => Problem::ExpiredLink,
            PortalError::Link(_) | PortalError::OtherTicket => Problem::BadLink,
            PortalError::NotSignedIn => Problem::NotSignedIn,
            PortalError::NotFound => Problem::NotFound,
            PortalError::Forged => Problem::Forged,
            PortalError::EmptyMessage => Problem::EmptyMessage,
            PortalError::BadChoice => Problem::BadForm,
            PortalError::BadAddress => Problem::BadAddress,
            PortalError::BadPhone => Problem::BadPhone,
            PortalError::AlreadyFollows => Problem::AlreadyFollows,
            PortalError::Closed => Problem::Closed,
            PortalError::NotRequester => Problem::NotRequester,
            PortalError::NoSolutionPending(_) => Problem::NoSolutionPending,
            PortalError::TooManyAttempts => Problem::TooManyAttempts,
            PortalError::Store(_) | PortalError::Tickets(_) => Problem::Internal,
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Problem::BadLink => StatusCode::FORBIDDEN,
            Problem::ExpiredLink => StatusCode::GONE,
            Problem::NotSignedIn => StatusCode::UNAUTHORIZED,
            Problem::NotFound => StatusCode::NOT_FOUND,
            Problem::WrongMethod => StatusCode::METHOD_NOT_ALLOWED,
            Problem::Forged | Problem::NotRequester => StatusCode::FORBIDDEN,
            Problem::BadForm | Problem::EmptyMessage | Problem::BadAddress | Problem::BadPhone => {
                StatusCode::BAD_REQUEST
            }
            Problem::AlreadyFollows => StatusCode::CONFLICT,
            Problem::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Problem::Closed | Problem::NoSolutionPending => StatusCode::CONFLICT,
            Problem::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
            Problem::BadLinkRequest => StatusCode::BAD_REQUEST,
            Problem::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether the page offers to mail a fresh link: the person came with a link that
    /// does not open, or with none.
    pub fn offers_fresh_link(self) -> bool {
        matches!(
            self,
            Problem::BadLink
                | Problem::ExpiredLink
                | Problem::NotSignedIn
                | Problem::BadLinkRequest
        )
    }

    /// The page's heading and its one paragraph, in `lang`.
    pub fn words(self, lang: &str) -> (&'static str, &'static str) {
        let fr = lang == "fr";
        match self {
            Problem::BadLink if fr => (
                "Ce lien ne peut pas être ouvert",
                "Il a été modifié ou coupé en chemin. Ouvrez le lien du dernier message que nous vous avons envoyé, en entier.",
            ),
            Problem::BadLink => (
                "This link cannot be opened",
                "It was changed or cut on its way. Open the link of the latest email we sent you, whole.",
            ),
            Problem::ExpiredLink if fr => (
                "Ce lien a expiré",
                "Pour votre sécurité, les liens de nos messages ne servent qu'un temps. Ouvrez le lien d'un message plus récent.",
            ),
            Problem::ExpiredLink => (
                "This link has expired",
                "For your safety, the links in our emails only work for a while. Open the link of a more recent email.",
            ),
            Problem::NotSignedIn if fr => (
                "Ouvrez le lien d'un de nos messages",
                "Vos tickets s'ouvrent depuis le lien que contient chacun de nos messages : aucun mot de passe n'est nécessaire.",
            ),
            Problem::NotSignedIn => (
                "Open the link in one of our emails",
                "Your tickets open from the link in each email we send you: no password is needed.",
            ),
            Problem::NotFound if fr => (
                "Page introuvable",
                "Cette page n'existe pas, ou ce ticket ne fait pas partie des vôtres.",
            ),
            Problem::NotFound => (
                "Page not found",
                "This page does not exist, or this ticket is not one of yours.",
            ),
            Problem::WrongMethod if fr => (
                "Action impossible ici",
                "Cette page ne permet pas cette action. Revenez à la page précédente.",
            ),
            Problem::WrongMethod => (
                "Not possible here",
                "This page does not take this action. Go back to the previous page.",
            ),
            Problem::Forged if fr => (
                "Formulaire refusé",
                "Ce formulaire ne venait pas de la page du ticket. Ouvrez de nouveau le ticket et renvoyez-le depuis sa page.",
            ),
            Problem::Forged => (
                "Form refused",
                "This form did not come from the ticket's page. Open the ticket again and send it from its page.",
            ),
            Problem::BadForm if fr => (
                "Formulaire illisible",
                "Ce formulaire est incomplet. Revenez à la page du ticket et renvoyez-le.",
            ),
            Problem::BadForm => (
                "This form cannot be read",
                "It is incomplete. Go back to the ticket's page and send it again.",
            ),
            Problem::TooLarge if fr => (
                "Envoi trop volumineux",
                "Ces fichiers dépassent ce que le portail accepte en une fois. Envoyez-les en plusieurs messages, ou un lien vers eux.",
            ),
            Problem::TooLarge => (
                "Too much at once",
                "These files are more than the portal takes in one message. Send them in several messages, or a link to them.",
            ),
            Problem::BadAddress if fr => (
                "Adresse invalide",
                "Ce n'est pas une adresse email. Revenez à la page du ticket et vérifiez-la.",
            ),
            Problem::BadAddress => (
                "Not an email address",
                "This is not an email address. Go back to the ticket's page and check it.",
            ),
            Problem::BadPhone if fr => (
                "Numéro de téléphone invalide",
                "Pour recevoir des SMS, indiquez votre numéro de mobile au format international : + puis l'indicatif du pays et le numéro, par exemple +33 6 12 34 56 78. Revenez à vos préférences pour le corriger ; rien n'a été modifié.",
            ),
            Problem::BadPhone => (
                "Not a phone number we can text",
                "To get text messages, give your mobile number in international form: + then the country code and the number, like +33 6 12 34 56 78. Go back to your preferences to correct it; nothing was changed.",
            ),
            Problem::AlreadyFollows if fr => (
                "Déjà en copie",
                "Cette personne suit déjà ce ticket. Rien n'a été modifié.",
            ),
            Problem::AlreadyFollows => (
                "Already following",
                "This person follows the ticket already. Nothing was changed.",
            ),
            Problem::EmptyMessage if fr => (
                "Votre message est vide",
                "Écrivez votre message avant de l'envoyer. Revenez à la page du ticket.",
            ),
            Problem::EmptyMessage => (
                "Your message is empty",
                "Write your message before sending it. Go back to the ticket's page.",
            ),
            Problem::Closed if fr => (
                "Ce ticket est clôturé",
                "Pour y revenir, répondez par email à notre dernier message : votre demande sera reprise.",
            ),
            Problem::Closed => (
                "This ticket is closed",
                "To follow it up, reply by email to our latest message: your request will be taken up again.",
            ),
            Problem::NotRequester if fr => (
                "Réservé au demandeur",
                "Seule la personne qui a ouvert le ticket peut approuver ou refuser sa solution.",
            ),
            Problem::NotRequester => (
                "Only for the requester",
                "Only the person who opened the ticket can approve or refuse its solution.",
            ),
            Problem::NoSolutionPending if fr => (
                "Déjà répondu",
                "Aucune solution n'attend de réponse sur ce ticket : elle a déjà été approuvée ou refusée, ou le ticket a changé depuis. Rien n'a été modifié.",
            ),
            Problem::NoSolutionPending => (
                "Already answered",
                "No solution waits for an answer on this ticket: it was approved or refused already, or the ticket moved on. Nothing was changed.",
            ),
            Problem::TooManyAttempts if fr => (
                "Trop de tentatives",
                "Attendez un moment avant de réessayer. Vous pouvez aussi répondre par email à l'un de nos messages : il vous répondra avec un lien.",
            ),
            Problem::TooManyAttempts => (
                "Too many attempts",
                "Please wait a while before trying again. You can also reply by email to one of our messages: the answer will carry a link.",
            ),
            Problem::BadLinkRequest if fr => (
                "Adresse invalide",
                "Ce n'est pas une adresse email. Vérifiez-la et renvoyez-la.",
            ),
            Problem::BadLinkRequest => (
                "Not an email address",
                "This is not an email address. Check it and send it again.",
            ),
            Problem::Internal if fr => (
                "Un problème est survenu de notre côté",
                "Réessayez dans un instant. Si cela se reproduit, répondez simplement à notre dernier message.",
            ),
            Problem::Internal => (
                "Something went wrong on our side",
                "Try again in a moment. If it happens again, simply reply to our latest email.",
            ),
        }
    }
}
