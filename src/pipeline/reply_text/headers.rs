//! Where a quoted or forwarded mail starts without `>` quoting: a separator line
//! (`-----Original Message-----` and its translations) or a header block (`From: … Sent: …
//! To: … Subject: …` in the languages of common clients).

use std::sync::LazyLock;

use regex::Regex;

use super::lines::{PREFIX, head, is_blank, is_quoted, pattern, short};

/// How far below the first line of a header block its other keys are looked for.
const HEADER_BLOCK_LINES: usize = 8;

/// The separator some clients put above the mail they quote or forward.
static SEPARATOR: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?ix)^(?:
            -{2,}\s*(?:original\s+message|message\s+d'origine|ursprüngliche\s+nachricht
                |originalnachricht|mensaje\s+original|messaggio\s+originale|mensagem\s+original
                |oorspronkelijk\s+bericht|originalmeddelande|ursprungligt\s+meddelande
                |opprinnelig\s+melding|oprindelig\s+(?:meddelelse|besked)|alkuperäinen\s+viesti
                |původní\s+zpráva|wiadomość\s+oryginalna|oryginalna\s+wiadomość
                |исходное\s+сообщение|оригінальне\s+повідомлення|вихідне\s+повідомлення
                |原始邮件|原始郵件|元のメッセージ|forwarded\s+message|message\s+transféré
                |weitergeleitete\s+nachricht|mensaje\s+reenviado|messaggio\s+inoltrato
                |mensagem\s+encaminhada|doorgestuurd\s+bericht|vidarebefordrat\s+meddelande
                |videresendt\s+(?:melding|meddelelse|besked)|välitetty\s+viesti
                |přeposlaná\s+zpráva|przekazana\s+wiadomość|пересылаемое\s+сообщение
                |пересланий\s+лист|转发的邮件|轉寄的郵件|転送されたメッセージ)\s*-{2,}
          | (?:begin\s+forwarded\s+message|début\s+du\s+message\s+réexpédié
                |anfang\s+der\s+weitergeleiteten\s+nachricht|inicio\s+del\s+mensaje\s+reenviado
                |begin\s+doorgestuurd\s+bericht|inizio\s+messaggio\s+inoltrato)\s*:
        )$",
    )
});

/// Dashes around a few words (`---------- Any Title ---------`): a separator in a language
/// not listed above when a header block follows it.
static DASHED_TITLE: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^-{4,}\s*[^-\s][^-]{1,60}?\s*-{4,}$"));

/// `-----Original Message-----`, `-----Message d'origine-----`, `Begin forwarded message:`…
/// at `lines[i]`; a dashed title only when a header block is right below it.
pub(super) fn separator_at(lines: &[&str], i: usize) -> bool {
    let Some(line) = lines.get(i).and_then(|l| short(l)) else {
        return false;
    };
    if SEPARATOR.is_match(line) {
        return true;
    }
    DASHED_TITLE.is_match(line)
        && (i + 1..lines.len())
            .find(|&j| !is_blank(lines[j]))
            .is_some_and(|j| header_block_at(lines, j))
}

/// The first line of a quoted header block: `From:`, `De :`, `Von:`, `*From:*`…
static FROM_KEY: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?i)^\*{0,2}(?:from|de|von|da|från|fra|van|od|от|від|lähettäjä|feladó|kimden|από|发件人|寄件者|差出人|보낸\s*사람)\*{0,2}\s*[:：]\*{0,2}\s*\S",
    )
});

/// The other keys of such a block, in the languages of common clients.
static HEADER_KEY: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?ix)^\*{0,2}(?:
            sent|date|to|subject|cc|bcc|reply-to
          | envoyé|à|objet|répondre\s+à|copie\s+à|sujet|message\s+du
          | gesendet|datum|an|betreff|antwort\s+an
          | inviato|data|a|oggetto|risposta
          | skickat|till|ämne|kopia|sendt|til|emne|dato|kopi
          | verzonden|aan|onderwerp
          | enviado(?:\s+el)?|enviada(?:\s+em)?|para|asunto|fecha|assunto
          | wysłano|do|temat|dw
          | odesláno|komu|předmět|kopie
          | lähetetty|vastaanottaja|aihe|päivämäärä|kopio
          | отправлено|кому|тема|дата|копия|надіслано|копія
          | elküldve|címzett|tárgy|dátum|gönderildi|kime|konu|tarih
          | στάλθηκε|προς|θέμα|ημερομηνία|κοιν
          | 发送时间|收件人|主题|日期|抄送|寄件日期|收件者|主旨|副本|送信日時|宛先|件名|日付
          | 보낸\s*날짜|받는\s*사람|제목|참조
        )\*{0,2}\s*[:：]",
    )
});

fn key_line(line: &str, key: &Regex) -> bool {
    !is_quoted(line) && key.is_match(head(line, PREFIX).trim_start())
}

/// Whether `lines[i]` starts a header block of a quoted or forwarded mail: a `From:` line
/// followed, before the next blank line, by at least two more header lines (`Sent:`, `To:`,
/// `Subject:`…); or a header line (`Date:`, `Gesendet:`, as Hotmail and Web.de begin) with
/// at least two more below it, one of them a `From:` line. One `From:` line alone is
/// ordinary text, and so are `Label: value` lines without one.
pub(super) fn header_block_at(lines: &[&str], i: usize) -> bool {
    let Some(first) = lines.get(i) else {
        return false;
    };
    let starts_with_from = key_line(first, &FROM_KEY);
    if !starts_with_from && !key_line(first, &HEADER_KEY) {
        return false;
    }
    let mut keys = 0;
    let mut from = starts_with_from;
    for line in lines
        .iter()
        .skip(i + 1)
        .take(HEADER_BLOCK_LINES)
        .take_while(|l| !is_blank(l))
    {
        if key_line(line, &FROM_KEY) {
            from = true;
            keys += 1;
        } else if key_line(line, &HEADER_KEY) {
            keys += 1;
        }
    }
    from && keys >= 2
}

/// The index after a header block starting at `i`: its lines run to the next blank line
/// (a long `Subject:` may wrap), bounded so that a block without a blank line below it
/// cannot swallow the mail.
pub(super) fn header_block_end(lines: &[&str], i: usize) -> usize {
    let run = lines
        .iter()
        .skip(i)
        .take(HEADER_BLOCK_LINES + 4)
        .take_while(|l| !is_blank(l))
        .count();
    i + run
}

/// A `Label: value` line with a short label of words, in any language (`Από: …`,
/// `Feladó: …`): what the lines of a header block look like.
static LABELLED: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^\*{0,2}\p{L}[\p{L}\p{M} .'-]{0,30}\*{0,2}\s?[:：]\*{0,2}\s*\S"));

/// Whether the first non-blank lines from `i` look like a header block in any language: at
/// least two of the first four are `Label: value` lines. Only for a place the HTML
/// structure already marks (Outlook's top-bordered block), never on its own.
pub(super) fn looks_like_header_block(lines: &[&str], i: usize) -> bool {
    lines
        .iter()
        .skip(i)
        .take(HEADER_BLOCK_LINES + 4)
        .filter(|l| !is_blank(l))
        .take(4)
        .filter(|l| LABELLED.is_match(head(l, PREFIX).trim_start()))
        .count()
        >= 2
}
