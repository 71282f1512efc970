//! Attributions, header blocks, separators and footers in the languages and date forms
//! customers' clients write them in; and lines of the same shape that are the writer's.

use super::super::{strip_mail, strip_reply};

fn kept(text: &str) -> String {
    strip_reply(text).text
}

/// Attributions that name an address: strong, the quote below goes whether or not it is
/// `>`-prefixed.
const STRONG: &[&str] = &[
    "2020-05-12 10:15 GMT+02:00 Acme <support@acme.example>:",
    "On Tue, May 12, 2020 at 10:15 AM Acme <support@acme.example> wrote:",
    "Le mar. 12 mai 2020 à 10:15, Acme <support@acme.example> a écrit :",
    "Am Di., 12. Mai 2020 um 10:15 Uhr schrieb Acme <support@acme.example>:",
    "El mar., 12 may. 2020 a las 10:15, Acme (<support@acme.example>) escribió:",
    "Il giorno mar 12 mag 2020 alle ore 10:15 Acme <support@acme.example> ha scritto:",
    "Op di 12 mei 2020 om 10:15 schreef Acme <support@acme.example>:",
    "Op 12 mei 2020 om 10:15 heeft Acme <support@acme.example> het volgende geschreven:",
    "Em ter., 12 de mai. de 2020 às 10:15, Acme <support@acme.example> escreveu:",
    "wt., 12 maj 2020 o 10:15 Acme <support@acme.example> napisał(a):",
    "вт, 12 мая 2020 г. в 10:15, Acme <support@acme.example>:",
    "Вторник, 12 мая 2020, 10:15 +03:00 от Acme <support@acme.example>:",
    "12.05.2020, 10:15, \"Acme\" <support@acme.example>:",
    "вт, 12 трав. 2020 о 10:15 Acme <support@acme.example> пише:",
    "Den tis 12 maj 2020 kl 10:15 skrev Acme <support@acme.example>:",
    "tir. 12. mai 2020 kl. 10:15 skrev Acme <support@acme.example>:",
    "Den tir. 12. maj 2020 kl. 10.15 skrev Acme <support@acme.example>:",
    "ti 12. toukok. 2020 klo 10.15 Acme <support@acme.example> kirjoitti:",
    "út 12. 5. 2020 v 10:15 odesílatel Acme <support@acme.example> napsal:",
    "2020年5月12日(火) 10:15 Acme <support@acme.example>:",
    "2020/05/12 10:15、Acme <support@acme.example>のメール:",
    "Acme <support@acme.example> 于2020年5月12日周二 上午10:15写道：",
    "在 2020年5月12日 上午10:15，Acme <support@acme.example> 寫道：",
    "2020년 5월 12일 (화) 오전 10:15, Acme <support@acme.example>님이 작성:",
    "Acme <support@acme.example> ezt írta (időpont: 2020. máj. 12., K, 10:15):",
    "On Wed, 14 Nov 2018 08:14:43 -0200 Acme <support@acme.example> wrote",
    "tir. 12. mai 2020 kl. 10:15 skrev Acme <support@acme.example\n>:",
];

/// Attributions without an address (Thunderbird's): they count above a `>` quote.
const ABOVE_A_QUOTE: &[&str] = &[
    "On 12/05/2020 10:15, Acme wrote:",
    "Le 12/05/2020 à 10:15, Acme a écrit :",
    "W dniu 12.05.2020 o 10:15, Acme pisze:",
    "Dne 12. 05. 20 v 10:15 Acme napsal(a):",
    "12.05.2020 10:15, Acme пишет:",
    "12.05.2020 10:15, Acme пише:",
    "Acme kirjoitti 12.5.2020 klo 10.15:",
    "Den 2020-05-12 kl. 10:15, skrev Acme:",
    "Il 12/05/2020 10:15, Acme ha scritto:",
    "Op 12-05-2020 om 10:15 schreef Acme:",
    "Em 12/05/2020 10:15, Acme escreveu:",
];

#[test]
fn strong_attributions_cut_a_quote_prefixed_or_not() {
    for attribution in STRONG {
        let quoted = format!("New text.\n\n{attribution}\n\n> Old text.\n");
        assert_eq!(kept(&quoted), "New text.", "{attribution}");
        let unprefixed = format!("New text.\n\n{attribution}\n\nOld text.\n");
        assert_eq!(kept(&unprefixed), "New text.", "{attribution} (unprefixed)");
    }
}

#[test]
fn attributions_without_an_address_go_with_the_quote_below() {
    for attribution in ABOVE_A_QUOTE {
        let quoted = format!("New text.\n\n{attribution}\n> Old text.\n");
        assert_eq!(kept(&quoted), "New text.", "{attribution}");
        let bottom_posted = format!("{attribution}\n> Old text.\n\nNew text.\n");
        assert_eq!(kept(&bottom_posted), "New text.", "{attribution} (bottom)");
    }
}

#[test]
fn a_wrapped_numeric_attribution_is_recognised() {
    let mail =
        "Yes.\n\n2020-05-12 10:15 GMT+02:00 Acme Support <\nsupport@acme.example>:\n\nOld.\n";
    assert_eq!(kept(mail), "Yes.");
}

#[test]
fn a_date_and_a_colon_above_a_trailing_quote_go_with_it() {
    let mail = "Thanks.\n\nOn 12.05.2020 at 10:15 the agent said:\n> Restart it.\n";
    assert_eq!(kept(mail), "Thanks.");
}

#[test]
fn a_date_and_a_colon_are_not_enough_on_their_own() {
    for mail in [
        "Hello,\n\nThis is what the log said on 12.05.2020 at 10:15:\n\nERROR refused\n",
        "Please send it before 12/05/2020 to jane@example.com:\n\nACME Ltd\n12 High Street\n",
    ] {
        assert_eq!(kept(mail), mail.trim(), "{mail:?}");
    }
    // A date in one sentence and an address three lines below: prose, not a wrapped
    // attribution; nor is an IP address a date.
    let prose = "I called on 12.05.2020 and spoke to\nyour colleague, who told me to write\nto the billing team <billing@acme.example>:\n\nIs that right?";
    assert_eq!(kept(prose), prose);
    let bounce = "host mx.example.jp [192.0.2.153]: 550 User Unknown\nafter RCPT TO:<kijitora@example.jp>:\n\nDetails.";
    assert_eq!(kept(bounce), bounce);
    // On top of a quote, a mere date and colon is an introduction, not a bottom-posting.
    let intro = "At 10:15 the server said:\n> error 42\n\nWhat does it mean?";
    assert_eq!(kept(intro), intro);
}

#[test]
fn ios_quotes_its_attribution_too() {
    let mail = "> Op 12 mei 2020 om 10:15 heeft Acme <support@acme.example> het volgende geschreven:\n>\n> Oud.\n\nNieuw.";
    assert_eq!(kept(mail), "Nieuw.");
}

#[test]
fn header_blocks_cut_in_every_language() {
    for block in [
        "From: A <a@x>\nSent: Tuesday\nTo: B\nSubject: RE: x",
        "De : A <a@x>\nEnvoyé : mardi\nÀ : B\nObjet : RE: x",
        "Von: A <a@x>\nGesendet: Dienstag\nAn: B\nBetreff: AW: x",
        "De: A <a@x>\nEnviado el: martes\nPara: B\nAsunto: RE: x",
        "Da: A <a@x>\nInviato: martedì\nA: B\nOggetto: R: x",
        "Van: A <a@x>\nVerzonden: dinsdag\nAan: B\nOnderwerp: RE: x",
        "De: A <a@x>\nEnviada em: terça-feira\nPara: B\nAssunto: RE: x",
        "Od: A <a@x>\nWysłano: wtorek\nDo: B\nTemat: RE: x",
        "От: A <a@x>\nОтправлено: 12 мая\nКому: B\nТема: RE: x",
        "Від: A <a@x>\nНадіслано: 12 травня\nКому: B\nТема: RE: x",
        "Från: A <a@x>\nSkickat: den 12 maj\nTill: B\nÄmne: SV: x",
        "Fra: A <a@x>\nSendt: tirsdag\nTil: B\nEmne: SV: x",
        "Lähettäjä: A <a@x>\nLähetetty: tiistai\nVastaanottaja: B\nAihe: VS: x",
        "Od: A <a@x>\nOdesláno: úterý\nKomu: B\nPředmět: RE: x",
        "差出人: A <a@x>\n送信日時: 2020年5月12日\n宛先: B\n件名: RE: x",
        "发件人: A <a@x>\n发送时间: 2020年5月12日\n收件人: B\n主题: 答复: x",
        "Gesendet: Dienstag, 12. Mai 2020\nVon: A <a@x>\nAn: B\nBetreff: Re: x",
        "Date: Tue, 12 May 2020\nFrom: a@x\nTo: b@y\nSubject: RE: x",
        "Message du : 12/05/2020 10:15\nDe : A <a@x>\nA : b@y\nCopie à : \nSujet : Re: x",
    ] {
        let mail = format!("New text.\n\n{block}\n\nOld text.\n");
        assert_eq!(kept(&mail), "New text.", "{block}");
    }
}

#[test]
fn label_lines_without_a_from_line_are_text() {
    let fields = "Impact : dégradé\nUrgence : haute\nDate : 12/05/2020 10:15\nObjet : salle B";
    assert_eq!(kept(fields), fields);
}

#[test]
fn separators_cut_in_every_language() {
    for separator in [
        "-----Původní zpráva-----",
        "-----Wiadomość oryginalna-----",
        "-----Исходное сообщение-----",
        "-----Oprindelig meddelelse-----",
        "---------- Пересылаемое сообщение ---------",
        "---------- Doorgestuurd bericht ---------",
    ] {
        let mail = format!("New text.\n\n{separator}\nOld text.\n");
        assert_eq!(kept(&mail), "New text.", "{separator}");
    }
    // A title between dashes is a separator only above a header block.
    let unknown = "New.\n\n---------- Továbbított üzenet ---------\nFeladó: A <a@x>\nDate: Tue\nSubject: x\n\nOld.";
    assert_eq!(kept(unknown), "New.");
    let heading = "Summary\n---------- Results ----------\nAll green.";
    assert_eq!(kept(heading), heading);
}

#[test]
fn footers_go_in_every_language() {
    for footer in [
        "Verstuurd vanaf mijn iPhone",
        "Verzonden vanaf Outlook voor Android",
        "Lähetetty iPhonesta",
        "Odesláno z iPhonu",
        "Надіслано з iPhone",
        "Отправлено из мобильной Почты Mail.ru",
        "Sendt fra min iPhone",
        "Envoyé à partir de Outlook pour iOS<https://aka.ms/o0ukef>",
        "Gesendet von Outlook für Android<https://aka.ms/ghei36>",
    ] {
        assert_eq!(
            kept(&format!("Hier is het.\n\n{footer}")),
            "Hier is het.",
            "{footer}"
        );
    }
}

#[test]
fn a_dash_line_inside_a_sentence_is_not_a_signature() {
    let sentence = "It fails at the step that writes the archive\n--\nnot the upload, which works.";
    assert_eq!(kept(sentence), sentence);
    assert_eq!(kept("Thanks,\n--\nJan de Vries\nACME"), "Thanks,");
    assert_eq!(
        kept("Rebooted twice.\n\n--and then it worked"),
        "Rebooted twice.\n\n--and then it worked"
    );
    assert_eq!(kept("Rebooted twice.\n\n-Jan"), "Rebooted twice.");
}

#[test]
fn the_html_finds_what_the_text_cannot() {
    // Outlook in a language whose header keys the text rules do not know.
    let text = "Terima kasih.\n\nDari: Acme <s@acme.example>\nDikirim: Selasa\nKepada: Budi\nSubjek: RE: Laptop\n\nLaptop baru Anda sudah siap di resepsionis.";
    let html = "<p class=MsoNormal>Terima kasih.</p><div style='border:none;border-top:solid #E1E1E1 1.0pt'>\
                <p class=MsoNormal><b>Dari:</b> Acme<br><b>Dikirim:</b> Selasa<br><b>Kepada:</b> Budi</p></div>\
                <p class=MsoNormal>Laptop baru Anda sudah siap di resepsionis.</p>";
    assert_eq!(kept(text), text);
    let result = strip_mail(text, Some(html));
    assert_eq!(result.text, "Terima kasih.");
    assert!(result.removed);
}

#[test]
fn the_text_part_is_kept_when_the_html_agrees() {
    let text = "Thanks.\n\nOn Tue, May 12, 2020 at 10:15 AM Acme <s@acme.example> wrote:\n> Please clear the cache of the app.";
    let html = "<div>Thanks.</div><div class=gmail_quote>On Tue, May 12, 2020 at 10:15 AM Acme wrote:\
                <blockquote class=gmail_quote>Please clear the cache of the app.</blockquote></div>";
    assert_eq!(strip_mail(text, Some(html)), strip_reply(text));
}

#[test]
fn an_empty_text_part_beside_an_html_one_gives_the_html() {
    let result = strip_mail(
        "",
        Some("<div>Hello</div><blockquote type=cite>Old</blockquote>"),
    );
    assert_eq!(result.text, "Hello");
    let result = strip_mail(" \n", Some("<p>Only this.</p>"));
    assert_eq!(result.text, "Only this.");
    assert!(result.removed);
}
