//! `/preferences`: which notifications a person receives and in which language, as the
//! support portals offer them (seed 001: opening and closing, other processing steps,
//! the technicians' messages; seed 004: the language). Saved through the same operation
//! as `ticketgate contacts set`, under the same form rules as the ticket page.

use axum::extract::rejection::FormRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::Portal;
use super::actions::same_origin;
use super::messages::Problem;
use crate::domain::PhoneNumber;
use crate::service::{ContactChanges, LanguageChoice, PortalError, sms_in_channels};

#[derive(Debug, Default, Deserialize)]
pub struct Saved {
    #[serde(default)]
    saved: String,
}

/// The form as browsers send it: a checkbox that is not ticked is not sent at all.
#[derive(Debug, Deserialize)]
pub struct PreferencesForm {
    csrf: String,
    language: String,
    opening_closing: Option<String>,
    processing: Option<String>,
    messages: Option<String>,
    observer_updates: Option<String>,
    weekly_digest: Option<String>,
    /// `email` or `email,sms`; only where the page offers SMS.
    channels: Option<String>,
    /// Their mobile number, as they type it; empty forgets it.
    phone: Option<String>,
}

/// `GET /preferences`.
pub async fn show(
    State(portal): State<Portal>,
    saved: Result<Query<Saved>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let lang = portal.language(&headers);
    // A mangled address of this page still shows it.
    let saved = saved.map(|Query(s)| s).unwrap_or_default();
    let (session, visitor) = match portal.signed_in(&headers, lang) {
        Ok(signed_in) => signed_in,
        Err(page) => return page,
    };
    let lang = portal.visitor_language(&visitor, &headers).await;
    let view = match portal.service.preferences(&visitor).await {
        Ok(view) => view,
        Err(e) => return portal.problem(lang, &e),
    };
    let c = &view.contact;
    let chosen = c.language.as_deref().unwrap_or("ticket");
    let languages: Vec<_> = ["ticket", "en", "fr"]
        .iter()
        .map(|l| json!({ "value": l, "selected": *l == chosen }))
        .collect();
    let data = json!({
        "lang": lang,
        "company": portal.company,
        "page_title": if lang == "fr" { "Vos préférences" } else { "Your preferences" },
        "visitor": visitor.as_str(),
        "csrf": portal.service.form_token(session),
        "saved": saved.saved == "1",
        "opening_closing": c.opening_closing,
        "processing": c.processing,
        "messages": c.messages,
        "observer_updates": c.observer_every_update,
        "weekly_digest": c.weekly_digest,
        "languages": languages,
        "sms_offered": portal.service.sms_offered(),
        "sms": c.sms,
        "phone": c.phone.as_deref().unwrap_or(""),
    });
    portal.page(StatusCode::OK, "preferences.html", lang, data)
}

/// `POST /preferences`.
pub async fn save(
    State(portal): State<Portal>,
    headers: HeaderMap,
    form: Result<Form<PreferencesForm>, FormRejection>,
) -> Response {
    let lang = portal.language(&headers);
    if !same_origin(&headers) {
        return portal.problem(lang, &PortalError::Forged);
    }
    let Ok(Form(form)) = form else {
        return portal.message(lang, Problem::BadForm);
    };
    let (session, visitor) = match portal.signed_in(&headers, lang) {
        Ok(signed_in) => signed_in,
        Err(page) => return page,
    };
    if let Err(e) = portal.service.check_form(session, &form.csrf) {
        return portal.problem(lang, &e);
    }
    let language = match form.language.as_str() {
        "ticket" => LanguageChoice::Ticket,
        "en" | "fr" => LanguageChoice::Fixed(form.language.clone()),
        _ => return portal.message(lang, Problem::BadForm),
    };
    let (phone, sms) = match sms_choice(&form) {
        Ok(choice) => choice,
        Err(problem) => return portal.message(lang, problem),
    };
    let changes = ContactChanges {
        language: Some(language),
        opening_closing: Some(form.opening_closing.is_some()),
        processing: Some(form.processing.is_some()),
        messages: Some(form.messages.is_some()),
        observer_updates: Some(form.observer_updates.is_some()),
        weekly_digest: Some(form.weekly_digest.is_some()),
        phone,
        sms,
        ..ContactChanges::default()
    };
    match portal.service.save_preferences(&visitor, &changes).await {
        Ok(_) => (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, "/preferences?saved=1")],
        )
            .into_response(),
        Err(e) => portal.problem(lang, &e),
    }
}

/// The number and channels the form chose, where the page offered them (a form without
/// them leaves both as they are): a blank number forgets it.
fn sms_choice(
    form: &PreferencesForm,
) -> Result<(Option<Option<PhoneNumber>>, Option<bool>), Problem> {
    let phone = match form.phone.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(typed) => Some(Some(
            PhoneNumber::parse(typed).map_err(|_| Problem::BadPhone)?,
        )),
    };
    let sms = match form.channels.as_deref() {
        None => None,
        Some(channels) => Some(sms_in_channels(channels).map_err(|_| Problem::BadForm)?),
    };
    Ok((phone, sms))
}
