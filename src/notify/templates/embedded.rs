//! The shipped templates: every `LANG/NAME.hbs` file under `templates/email/`, embedded
//! in the binary at build time. A file added there is picked up without a Rust edit
//! (`build.rs` makes cargo look at the folder).

use super::TemplateError;

/// `templates/email/`, in every build profile (the `debug-embed` feature): a debug binary
/// renders what a release one does, wherever it runs.
#[derive(rust_embed::Embed)]
#[folder = "templates/email/"]
struct EmailFolder;

/// `templates/sms/`: the short texts sent to the contacts who chose SMS.
#[derive(rust_embed::Embed)]
#[folder = "templates/sms/"]
struct SmsFolder;

/// One template: where it belongs and what it says.
#[derive(Debug, Clone)]
pub(super) struct TemplateFile {
    pub lang: String,
    /// The path under the language without `.hbs`: `ticket_opened.subject`,
    /// `partials/footer.text`. Also the path of its override file, with `.hbs`.
    pub name: String,
    pub source: String,
}

/// Every embedded template, sorted by language and name: the mail's, and the SMS texts
/// (`sms/LANG/EVENT.txt.hbs`, named `sms/EVENT`). Files not ending in `.hbs` (a README)
/// and files outside a language folder are not templates.
pub(super) fn files() -> Result<Vec<TemplateFile>, TemplateError> {
    let mut files = folder::<EmailFolder>("")?;
    files.extend(folder::<SmsFolder>("sms/")?.into_iter().map(|mut f| {
        f.name = f.name.trim_end_matches(".txt").to_string();
        f
    }));
    files.sort_by(|a, b| (&a.lang, &a.name).cmp(&(&b.lang, &b.name)));
    Ok(files)
}

/// The templates of folder `F`, their names after `prefix`.
fn folder<F: rust_embed::Embed>(prefix: &str) -> Result<Vec<TemplateFile>, TemplateError> {
    let mut files = Vec::new();
    for path in F::iter() {
        let Some((lang, name)) = path
            .strip_suffix(".hbs")
            .and_then(|stem| stem.split_once('/'))
        else {
            continue;
        };
        let data = F::get(&path).map(|file| file.data).unwrap_or_default();
        let source = String::from_utf8(data.into_owned()).map_err(|e| TemplateError::Compile {
            lang: lang.to_string(),
            name: name.to_string(),
            message: format!("the file is not UTF-8: {e}"),
        })?;
        files.push(TemplateFile {
            lang: lang.to_string(),
            name: format!("{prefix}{name}"),
            source,
        });
    }
    Ok(files)
}

/// The language folders shipped.
#[cfg(test)]
pub(super) fn languages() -> Vec<String> {
    let mut langs: Vec<String> = files().unwrap().into_iter().map(|f| f.lang).collect();
    langs.dedup();
    langs
}
