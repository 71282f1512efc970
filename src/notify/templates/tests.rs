//! The shipped templates render in every language; escaping, strictness and the operator's
//! override folder behave as the module promises; `check` finds a missing file.

use super::*;

#[test]
fn every_template_renders_in_every_language() {
    let templates = Templates::load(None).unwrap();
    let errors = templates.check();
    assert!(errors.is_empty(), "{errors:#?}");
    // Per language: each event's subject, text, HTML and SMS; 6 partials; the test message.
    assert_eq!(
        embedded::files().unwrap().len(),
        LANGUAGES.len() * (crate::domain::Event::ALL.len() * 4 + 6 + 3)
    );
}

#[test]
fn every_sms_fits_in_one_text_with_its_short_link() {
    let templates = Templates::load(None).unwrap();
    for lang in LANGUAGES {
        for event in crate::domain::Event::ALL {
            let text = templates
                .render_sms(event.as_str(), lang, &sample_data(lang))
                .unwrap();
            // A mail about no ticket is never texted (its rows are mail only); its text
            // exists for the operator who would add the channel, without a ticket's link.
            let linked = !event.about_a_ticket() || text.contains("/s/2611N00042.");
            assert!(
                text.chars().count() <= 160 && linked,
                "{lang} {event:?}: {text} ({} characters)",
                text.chars().count()
            );
        }
    }
}

#[test]
fn html_escapes_what_customers_wrote_and_text_keeps_it() {
    let templates = Templates::load(None).unwrap();
    let mail = templates
        .render("agent_comment", "en", &sample_data("en"))
        .unwrap();
    assert_eq!(
        mail.subject,
        "[#2611N00042] Our team answered: VPN <down> since this morning & more"
    );
    assert!(mail.text.contains("<script>alert(1)</script>"));
    assert!(!mail.html.contains("<script>"));
    assert!(mail.html.contains("&lt;script&gt;"));
    let fr = templates
        .render("solution_proposed", "fr", &sample_data("fr"))
        .unwrap();
    assert!(
        fr.text.contains("Bonjour Amélie Martin") && fr.text.contains("le 1er décembre 2026"),
        "{}",
        fr.text
    );
}

#[test]
fn a_missing_value_is_an_error_not_a_gap() {
    let templates = Templates::load(None).unwrap();
    let mut data = sample_data("en");
    data["ticket"].as_object_mut().unwrap().remove("title");
    let err = templates
        .render("ticket_opened", "en", &data)
        .unwrap_err()
        .to_string();
    assert!(err.contains("ticket_opened.subject"), "{err}");
    assert!(matches!(
        templates.render("nope", "en", &data),
        Err(TemplateError::Unknown { .. })
    ));
    assert!(matches!(
        templates.render("ticket_opened", "de", &data),
        Err(TemplateError::Unknown { .. })
    ));
}

#[test]
fn an_operator_file_overrides_one_template() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("fr")).unwrap();
    std::fs::write(
        dir.path().join("fr/ticket_closed.subject.hbs"),
        "Fermé : {{ticket.title}}",
    )
    .unwrap();
    let templates = Templates::load(Some(dir.path())).unwrap();
    let fr = templates
        .render("ticket_closed", "fr", &sample_data("fr"))
        .unwrap();
    assert_eq!(
        fr.subject,
        "[#2611N00042] Fermé : VPN <down> since this morning & more"
    );
    let en = templates
        .render("ticket_closed", "en", &sample_data("en"))
        .unwrap();
    assert_eq!(en.subject, "[#2611N00042] Ticket 2611N00042 is closed");
    std::fs::write(dir.path().join("fr/ticket_closed.subject.hbs"), "{{#if}}").unwrap();
    assert!(matches!(
        Templates::load(Some(dir.path())),
        Err(TemplateError::Compile { .. })
    ));
}

#[test]
fn a_template_file_missing_for_one_language_is_reported_by_check() {
    let files: Vec<TemplateFile> = embedded::files()
        .unwrap()
        .into_iter()
        .filter(|f| !(f.lang == "fr" && f.name == "ticket_closed.html"))
        .collect();
    let templates = Templates::compile(&files).unwrap();
    let errors = templates.check();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        matches!(&errors[0], TemplateError::Render { lang, name, .. } if lang == "fr" && name == "ticket_closed.html"),
        "{errors:#?}"
    );
    assert!(
        errors[0]
            .to_string()
            .contains("no file fr/ticket_closed.html.hbs"),
        "{}",
        errors[0]
    );
}

#[test]
fn every_shipped_language_folder_is_a_listed_language() {
    // A new folder under templates/email would otherwise be embedded and never loaded.
    assert_eq!(embedded::languages(), LANGUAGES);
}

#[test]
fn every_refusal_keeps_its_paragraphs_in_the_text_part() {
    let templates = Templates::load(None).unwrap();
    for lang in LANGUAGES {
        for reason in ["closed", "not_allowed", "unverified"] {
            let mut data = sample_data(lang);
            for flag in ["closed", "not_allowed", "unverified"] {
                data["refusal"][flag] = (flag == reason).into();
            }
            let text = templates.render("mail_refused", lang, &data).unwrap().text;
            let paragraphs: Vec<&str> = text.split("\n\n").collect();
            // Greeting, the reason (two lines), how to add information, summary, footer.
            assert!(paragraphs.len() >= 4, "{lang} {reason}:\n{text}");
            assert_eq!(paragraphs[1].lines().count(), 2, "{lang} {reason}:\n{text}");
        }
    }
}
