mod languages;

use super::{StrippedReply, strip_reply};

fn kept(text: &str) -> String {
    strip_reply(text).text
}

fn untouched(text: &str) {
    let result = strip_reply(text);
    let expected = text.trim().replace("\r\n", "\n");
    assert_eq!(
        (result.text.as_str(), result.removed),
        (expected.as_str(), false),
        "{text:?}"
    );
}

/// Nothing new told apart: the whole text, flagged.
fn kept_whole(text: &str) {
    untouched(text);
    assert!(strip_reply(text).whole_kept, "{text:?}");
}

// --- quotes and attributions ---

#[test]
fn a_top_posted_answer_loses_the_gmail_quote() {
    let mail = "Thanks, it works now.\n\nOn Mon, Apr 2, 2012 at 6:26 PM, Support <help@example.com> wrote:\n\n> Please try again.\n> Regards\n";
    let result = strip_reply(mail);
    assert_eq!(result.text, "Thanks, it works now.");
    assert!(result.removed);
}

#[test]
fn a_french_answer_loses_the_le_a_ecrit_quote() {
    let mail = "Merci, c'est réglé.\n\nLe lun. 2 avr. 2012 à 18:26, Support <aide@exemple.fr> a écrit :\n\n> Pouvez-vous réessayer ?\n";
    assert_eq!(kept(mail), "Merci, c'est réglé.");
}

#[test]
fn an_attribution_wrapped_over_two_or_three_lines_is_recognised() {
    let english = "Done.\n\nOn Thu, Jun 20, 2013 at 4:18 PM, Support Team <\nhelp@example.com> wrote:\n\n> Can you check?\n";
    assert_eq!(kept(english), "Done.");
    let french = "C'est super !\nLe 4 janv. 2016 19:03, \"Neil Lalonde\"\n<info@exemple.fr>\na écrit :\n\n> Discourse c'est top !\n";
    assert_eq!(kept(french), "C'est super !");
}

#[test]
fn german_spanish_and_other_attributions_are_recognised() {
    for attribution in [
        "Am 12.03.2016 um 10:00 schrieb Hans Müller <hans@example.de>:",
        "El jueves, 21 de noviembre de 2013, Soporte escribió:",
        "Em 2 de fevereiro de 2015 10:58, Suporte <s@example.pt> escreveu:",
        "Den 15. jun. 2016 kl. 20.42 skrev Jeff <j@example.no>:",
        "Op 2 feb. 2015 om 05:28 heeft Support <s@example.nl> het volgende geschreven:",
        "Support via Forum <info@example.org> schrieb:",
    ] {
        let mail = format!("New text.\n\n{attribution}\n\n> old text\n");
        assert_eq!(kept(&mail), "New text.", "{attribution}");
    }
}

#[test]
fn an_unprefixed_quote_below_an_attribution_goes_to_the_end() {
    let mail = "Thank you.\n\nOn Sun, Feb 7, 2016 at 12:12 AM -0800, \"Agent\" <agent@example.com> wrote:\n\nHi,\n\nThe new version is live.\n";
    assert_eq!(kept(mail), "Thank you.");
}

#[test]
fn a_bare_trailing_quote_goes_but_a_leading_one_stays() {
    assert_eq!(kept("Yes.\n\n> Is it fixed?\n> Thanks"), "Yes.");
    untouched("> Is it fixed?\n\nYes, since this morning.");
}

#[test]
fn a_bottom_posted_answer_loses_the_attributed_quote_above_it() {
    let mail = "On 04/02/2012 06:26 PM, Agent wrote:\n> Does it work?\n\nYes, thanks.";
    assert_eq!(kept(mail), "Yes, thanks.");
}

#[test]
fn interleaved_answers_keep_their_quotes_but_not_the_trailing_ones() {
    let mail = "On Tue, Apr 29, 2014 at 4:22 PM, Agent <a@example.com> wrote:\n\n> Which version?\n\n2.3\n\n> Which system?\n\nLinux.\n\n> Regards\n> Agent\n";
    assert_eq!(
        kept(mail),
        "On Tue, Apr 29, 2014 at 4:22 PM, Agent <a@example.com> wrote:\n\n> Which version?\n\n2.3\n\n> Which system?\n\nLinux."
    );
}

#[test]
fn a_greeting_above_a_bottom_posted_answer_keeps_the_quote_between() {
    let mail = "Hi,\nOn Tue, 2011-03-01 at 18:02 +0530, Bob wrote:\n> How do I clear a bucket?\n\nList the keys and delete each.\n";
    assert_eq!(kept(mail), mail.trim());
}

#[test]
fn a_sentence_just_above_an_attribution_is_not_part_of_it() {
    let mail =
        "On Monday at 10:00 I will call you.\nSupport <help@example.com> wrote:\n> Can we talk?\n";
    assert_eq!(kept(mail), "On Monday at 10:00 I will call you.");
    let french =
        "Le 5 mai à 10h je serai là.\nSupport <aide@exemple.fr> a écrit :\n> On se voit ?\n";
    assert_eq!(kept(french), "Le 5 mai à 10h je serai là.");
}

#[test]
fn prose_ending_in_wrote_is_not_an_attribution() {
    untouched("On the ticket page, my colleague wrote:\n\nthe export fails at 80%.");
    untouched("On your remote host you can run:\n\n    telnet 127.0.0.1 52698\n");
}

// --- Outlook and forwarded mail ---

#[test]
fn outlook_original_message_separators_cut_in_english_and_french() {
    let english =
        "Hello\n\n-----Original Message-----\nFrom: Support <s@example.com>\nSent: Monday\n\nHi";
    assert_eq!(kept(english), "Hello");
    let french = "Bonjour\n\n-----Message d'origine-----\nDe : Support <s@exemple.fr>\nEnvoyé : lundi\n\nSalut";
    assert_eq!(kept(french), "Bonjour");
    let spaced = "Hello \n\n----- Original Message -----\nFrom: a@example.com\n\nHi";
    assert_eq!(kept(spaced), "Hello");
}

#[test]
fn outlook_header_blocks_cut_in_english_and_french() {
    let english = "Outlook with a reply\n________________________________________\nFrom: CRM <crm@example.com>\nSent: Friday, 23 March 2012 5:08 p.m.\nTo: John\nSubject: [contact:106] John\n\nA new comment.";
    assert_eq!(kept(english), "Outlook with a reply");
    let french = "Voici la réponse.\n\nDe : Support <s@exemple.fr>\nEnvoyé : vendredi 23 mars 2012 17:08\nÀ : Jean\nObjet : Votre demande\n\nBonjour Jean,";
    assert_eq!(kept(french), "Voici la réponse.");
    let bold = "Reply\n\n ------------------------------\n\n*From:* Someone\n*Sent:* 2016-01-27\n*To:* info@example.org\n*Subject:* Hi\n\nOld text";
    assert_eq!(kept(bold), "Reply");
}

#[test]
fn one_from_line_is_ordinary_text() {
    untouched("The mail came with\nFrom: billing@example.com\nand nothing else.");
}

#[test]
fn a_forward_without_comment_gives_the_forwarded_text() {
    let mail = "---------- Forwarded message ----------\nFrom: Someone <s@example.com>\nDate: Thu, Jan 28, 2016 at 4:00 PM\nSubject: A subject that\nspans over 2 lines\nTo: help@example.com\n\n\nThe printer is broken.\n";
    let result = strip_reply(mail);
    assert_eq!(result.text, "The printer is broken.");
    assert!(result.removed);
}

#[test]
fn a_forward_with_a_comment_keeps_the_comment() {
    let mail = "See below.\n\n> Begin forwarded message:\n>\n> From: Someone <s@example.com>\n> Subject: Broken\n>\n> The printer is broken.";
    assert_eq!(kept(mail), "See below.");
    let apple = "See below.\n\nBegin forwarded message:\n\nFrom: Someone <s@example.com>\nSubject: Broken\nDate: 1 January 2019\nTo: me@example.com\n\nThe printer is broken.";
    assert_eq!(kept(apple), "See below.");
}

// --- signatures and footers ---

#[test]
fn the_signature_after_the_delimiter_goes() {
    assert_eq!(
        kept("This is a correct -- signature.\n\n-- \nrick\nACME"),
        "This is a correct -- signature."
    );
    assert_eq!(kept("Merci !\n\n--\nJean Dupont\nACME"), "Merci !");
    assert_eq!(kept("Merci !\n\u{a0}--\u{a0}\nJean Dupont"), "Merci !");
}

#[test]
fn a_signature_then_a_quote_both_go() {
    let mail = "Hello \n\n-- \nBob\nSent with Sparrow (http://www.sparrowmailapp.com/?sig)\n\n\nOn Tuesday, April 3, 2012 at 4:55 PM, Agent wrote:\n\n> Hello";
    assert_eq!(kept(mail), "Hello");
}

#[test]
fn a_long_text_after_a_stray_delimiter_is_kept() {
    let mut mail = String::from("Intro\n--\n");
    for n in 0..30 {
        mail.push_str(&format!("step {n} of the procedure\n"));
    }
    untouched(&mail);
}

#[test]
fn mobile_footers_go_in_english_and_french() {
    assert_eq!(kept("Here it is\n\nSent from my iPhone"), "Here it is");
    assert_eq!(kept("Voilà\n\nEnvoyé de mon iPhone"), "Voilà");
    assert_eq!(kept("Voilà\n\nEnvoyé depuis mon iPad"), "Voilà");
    assert_eq!(
        kept(
            "Hello\n\nSent from my iPhone\n\nOn Apr 3, 2012, at 4:19 PM, bob <bob@example.com> wrote:\n\n> Hi"
        ),
        "Hello"
    );
    assert_eq!(
        kept("Ok\n\nGet Outlook for Android<https://aka.ms/ghei36>"),
        "Ok"
    );
    assert_eq!(kept("Ok\n\nSent from Yahoo Mail on Android"), "Ok");
}

#[test]
fn a_pile_of_client_footers_goes() {
    let mail = "Short answer.\n\nEnvoyé depuis mon iPhone\n\nVon meinem iPhone gesendet\nSomeone from mobile\nFrom My Iphone 7\nSent via mobile\nSent with Airmail\nSent from Mailbox for iPad\nSent from my TI-85\nSent from my cell, please excuse any typos.\nSent from my HTC One Android phone.  Please excuse typos\nSent from my Windows 10 PC <http://example.com/windows>\n<<sent by galaxy>>\n(sent from a phone)\n從我的 iPhone 傳送\nSent from [Mail](https://example.com/mail) for Windows 10\nVerzonden met BlackBerry Work\n\nGet Outlook for iOShttps://aka.ms/x\nGet [Outlook for Android](https://aka.ms/y)\n";
    assert_eq!(kept(mail), "Short answer.");
}

#[test]
fn a_sentence_starting_with_sent_from_my_stays() {
    untouched("Here is another email\n\nSent from my desk, is much easier then my mobile phone.");
    untouched("The parcel was\nsent via FedEx yesterday.");
}

#[test]
fn a_dash_sign_off_goes_but_bullets_stay() {
    assert_eq!(kept("Thanks, works.\n\n-Abhishek Kona"), "Thanks, works.");
    untouched("Steps:\n\n- open the app\n- click Save");
}

#[test]
fn a_mailing_list_footer_goes() {
    let mail = "Question?\n\n\n_______________________________________________\nusers mailing list\nusers@lists.example.com\n";
    assert_eq!(kept(mail), "Question?");
}

// --- fallbacks and robustness ---

#[test]
fn a_mail_that_is_only_a_quote_is_kept_whole() {
    kept_whole("> Email with only quote.\n");
    kept_whole("On Mon, Apr 2, 2012 at 6:26 PM, Agent <a@example.com> wrote:\n\n> Hi\n");
}

#[test]
fn a_mail_that_is_only_a_signature_or_a_footer_is_kept() {
    kept_whole("-- \nJohn");
    kept_whole("Sent from my iPhone");
}

#[test]
fn crlf_and_lone_cr_are_line_breaks() {
    let mail = "Done.\r\n\r\nOn Tue, Sep 25, 2012 at 8:59 AM, Chris\r\n<notifications@example.com>wrote:\r\n\r\n> Steps 0-2 are in prod.\r\n";
    assert_eq!(kept(mail), "Done.");
    untouched("Email with\r\nwindows\r\nline\r\nendings\r\n");
    assert_eq!(kept("Old\rMac\r\r> quote"), "Old\nMac");
}

#[test]
fn whitespace_and_empty_inputs() {
    assert_eq!(
        strip_reply(""),
        StrippedReply {
            text: String::new(),
            removed: false,
            whole_kept: false,
        }
    );
    assert_eq!(strip_reply(" \n\t\n").text, "");
    let result = strip_reply("\n\n  Strip leading and trailing empty lines.\n\n\n");
    assert_eq!(result.text, "Strip leading and trailing empty lines.");
    assert!(!result.removed);
}

#[test]
fn formatting_and_code_are_kept() {
    untouched("This is code:\n\n```\n# not a heading\n####\n```\n\n    - Item #1\n    - Item #2\n");
}

/// Inputs that a backtracking or quadratic stripper would take minutes on. How fast they
/// go is measured by `cargo bench --bench pipeline -- reply_text`; here they must end
/// with the reply kept.
#[test]
fn pathological_inputs_end_with_the_reply_kept() {
    let long_line = format!(
        "Reply\n\nOn Mon, Apr 2, 2012, Bob <b@x.org> wrote:\n>{}\n",
        ">".repeat(800_000)
    );
    let many_lines = "On x wrote:\n-- \n".repeat(100_000);
    let colons = format!("{}\n", ":".repeat(500_000));
    let blank_then_quote = format!(
        "On Mon, Apr 2, 2012, Bob <b@x.org> wrote:{}> q\n",
        "\n".repeat(300_000)
    );
    for input in [&long_line, &many_lines, &colons, &blank_then_quote] {
        assert!(!strip_reply(input).text.is_empty());
    }
    assert_eq!(kept(&long_line), "Reply");
}

#[test]
fn multibyte_text_is_never_cut_inside_a_character() {
    let line = "é".repeat(400);
    let mail = format!("{line}\n\nDe : {line}\nEnvoyé : {line}\nÀ : x\nObjet : y\n\n> {line}");
    let result = strip_reply(&mail);
    assert_eq!(result.text, line);
}
