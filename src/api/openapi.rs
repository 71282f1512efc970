//! The API's OpenAPI 3.1 document, served at `/api/openapi.json`. It is built from the
//! same annotations the router registers its routes from (each handler's
//! `#[utoipa::path]`), so a route cannot exist without its description, nor the other
//! way round. What every operation shares is added here: the bearer token, and the
//! problem document every refusal is.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder, SecurityRequirement};

/// The document's fixed parts; the paths come from the router.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "ticketgate API",
        description = "The tickets, contacts, outbox, quarantine and jobs of a ticketgate \
        desk, for the tools a support team connects. Every request carries a bearer token \
        from `ticketgate tokens create`; a `read` token reads, a `write` token also \
        changes. Every refusal is a problem document (RFC 9457). A change may name the \
        ticket's `ETag` in `If-Match`: it is refused with 412 when the ticket changed since."
    ),
    servers((url = "/api", description = "This server")),
    components(schemas(super::Problem))
)]
struct Fixed;

/// The name of the bearer token's security scheme.
const BEARER: &str = "token";

/// `paths`' document completed with what every operation shares.
pub(super) fn complete(mut document: OpenApi) -> OpenApi {
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("A token from `ticketgate tokens create`"))
                .build(),
        ),
    );
    document.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
    for item in document.paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.post,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            add_refusals(operation);
        }
    }
    document
}

/// The base document: its title, server and shared schemas.
pub(super) fn base() -> OpenApi {
    <Fixed as utoipa::OpenApi>::openapi()
}

/// Every operation may refuse with a problem document: a missing or revoked token (401),
/// and whatever 4xx the operation names, or any other for a request it cannot read.
fn add_refusals(operation: &mut Operation) {
    let problem = || {
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build()
    };
    let responses = &mut operation.responses.responses;
    for (status, description) in [
        ("401", "No valid token"),
        ("4XX", "The request is refused; the problem says why"),
    ] {
        responses.entry(status.to_string()).or_insert_with(|| {
            ResponseBuilder::new()
                .description(description)
                .content("application/problem+json", problem())
                .build()
                .into()
        });
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// The document as JSON.
    fn document() -> Value {
        serde_json::to_value(super::super::document()).unwrap()
    }

    #[test]
    fn every_route_is_described_with_its_token_and_its_refusals() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["servers"][0]["url"], "/api");
        assert_eq!(doc["security"][0]["token"], serde_json::json!([]));
        let paths = doc["paths"].as_object().unwrap();
        let operations: Vec<(String, &Value)> = paths
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .iter()
                    .filter(|(method, _)| {
                        ["get", "post", "patch", "delete"].contains(&method.as_str())
                    })
                    .map(move |(method, op)| (format!("{method} {path}"), op))
            })
            .collect();
        assert_eq!(operations.len(), 19, "{:?}", paths.keys());
        for (name, op) in &operations {
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{name}: no success documented"
            );
            for refusal in ["401", "4XX"] {
                assert_eq!(
                    responses[refusal]["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{name}"
                );
            }
        }
        for kept in [
            "post /v1/tickets",
            "patch /v1/tickets/{number}",
            "delete /v1/tickets/{number}/observers/{email}",
            "post /v1/jobs/{name}/run",
        ] {
            assert!(operations.iter().any(|(n, _)| n == kept), "{kept}");
        }
    }

    #[test]
    fn writes_name_the_version_they_were_read_at() {
        let doc = document();
        let status = &doc["paths"]["/v1/tickets/{number}/status"]["post"];
        let if_match = status["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "If-Match")
            .expect("If-Match is documented");
        assert_eq!(if_match["in"], "header");
        assert!(status["responses"]["412"].is_object());
        // The schemas the answers name exist, with the names the JSON uses.
        let schemas = &doc["components"]["schemas"];
        assert!(schemas["TicketDetails"].is_object());
        assert!(schemas["Ticket"]["properties"]["type"].is_object());
        assert!(schemas["OpeningBody"]["properties"]["as"].is_object());
    }
}
