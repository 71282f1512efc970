//! A customer's HTML mail on the ticket page: shown in its own shape once cleaned (no
//! script, no style, no handler, no Outlook conditional comment), its inline images in
//! place from their stored files (typed by their bytes; an SVG is never shown), a remote
//! image never fetched. Over real HTTP against the real daemon.

use crate::portal::{Portal, cli, cli_with, ingest, link_to, links, session};

const PNG_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAADklEQVR4nGP4z8DAgIQBI+wD/TXZ3PwAAAAASUVORK5CYII=";

/// An Outlook-like mail: text and HTML, a PNG and an SVG inline by Content-ID.
fn outlook_mail() -> Vec<u8> {
    format!(
        "From: Alice Martin <alice@acme.example>\r\nTo: support@ours.test\r\n\
         Subject: Error on the screen\r\nMessage-ID: <h1@acme.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/related; boundary=\"rel\"\r\n\r\n\
         --rel\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n\
         --alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe screen shows an error.\r\n\
         --alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
         <html><head><style>p.MsoNormal{{color:red}}</style></head><body>\
         <!--[if gte mso 9]><xml><o:shapedefaults v:ext=\"edit\"/></xml><![endif]-->\
         <p class=\"MsoNormal\" onmouseover=\"alert(1)\">The screen shows <b>an error</b>:</p>\
         <p><img src=\"cid:image001.png@01DA0001.00000001\" alt=\"the error\"></p>\
         <p><img src=\"cid:drawing.svg@01DA0001\" alt=\"drawing\"></p>\
         <p><img src=\"https://tracker.example/open.gif\"></p>\
         <script>alert(2)</script></body></html>\r\n\
         --alt--\r\n\
         --rel\r\nContent-Type: image/png; name=\"image001.png\"\r\nContent-Transfer-Encoding: base64\r\n\
         Content-ID: <image001.png@01DA0001.00000001>\r\nContent-Disposition: inline; filename=\"image001.png\"\r\n\r\n\
         {PNG_BASE64}\r\n\
         --rel\r\nContent-Type: image/svg+xml; name=\"drawing.svg\"\r\n\
         Content-ID: <drawing.svg@01DA0001>\r\nContent-Disposition: inline; filename=\"drawing.svg\"\r\n\r\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(3)</script></svg>\r\n\
         --rel--\r\n"
    )
    .into_bytes()
}

#[test]
fn a_customer_s_html_mail_shows_cleaned_with_its_inline_images_in_place() {
    let cli = cli();
    let n = ingest(&cli, &outlook_mail());
    let link = link_to(&links(&cli), "alice@acme.example");
    let portal = Portal::start(cli);
    let opened = portal.get(&link, &[]);
    let cookie = session(&opened);
    let page = portal.get(&format!("/tickets/{n}"), &[("Cookie", &cookie)]);
    assert_eq!(page.status, 200);
    let body = &page.body;
    assert!(body.contains("The screen shows <b>an error</b>:"), "{body}");
    for gone in [
        "alert",
        "onmouseover",
        "color:red",
        "shapedefaults",
        "tracker.example",
        "cid:",
    ] {
        assert!(!body.contains(gone), "{gone} on the page: {body}");
    }
    let images: Vec<&str> = body
        .split(&format!("src=\"/tickets/{n}/images/"))
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    assert_eq!(images.len(), 2, "{body}");

    // The PNG shows, typed by its bytes; the SVG is no picture we show.
    let png = portal.get(
        &format!("/tickets/{n}/images/{}", images[0]),
        &[("Cookie", &cookie)],
    );
    assert_eq!(png.status, 200, "{png:?}");
    assert_eq!(png.header("content-type"), Some("image/png"));
    assert!(png.bytes.starts_with(b"\x89PNG"));
    assert_eq!(png.header("x-content-type-options"), Some("nosniff"));
    let svg = portal.get(
        &format!("/tickets/{n}/images/{}", images[1]),
        &[("Cookie", &cookie)],
    );
    assert_eq!(svg.status, 404, "{svg:?}");
    // Without the session, nothing.
    assert_eq!(
        portal
            .get(&format!("/tickets/{n}/images/{}", images[0]), &[])
            .status,
        401
    );
    portal.stop();
}

#[test]
fn an_operator_s_page_and_stylesheet_replace_ours() {
    let cli = cli_with("template_dir = \"tpl\"\n");
    std::fs::create_dir_all(cli.dir.path().join("tpl/portal/en")).unwrap();
    cli.write(
        "tpl/portal/en/message.html.hbs",
        b"<!DOCTYPE html><html lang=\"en\"><title>{{page_title}}</title><h1>{{heading}}</h1><p>Call us on 01 23 45 67 89.</p></html>",
    );
    cli.write("tpl/portal/portal.css", b"body{background:#fafafa}");
    let portal = Portal::start(cli);
    let page = portal.get("/wp-admin", &[]);
    assert_eq!(page.status, 404);
    assert!(
        page.body.contains("<h1>Page not found</h1><p>Call us on"),
        "{}",
        page.body
    );
    let css = portal.get("/static/portal.css", &[]);
    assert_eq!(css.body, "body{background:#fafafa}");
    portal.stop();
}
