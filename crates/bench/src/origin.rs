//! Where requests go: the provider's one origin (`http://host:port`), and URLs, `Location`s and
//! form actions turned into the path and query to request there. The common shapes are handled
//! as strings; anything unusual (relative paths, dot segments, characters to percent-encode) goes
//! through `url`'s resolution, so that the result is what `Url::join` gives.

use anyhow::{Context, bail};
use http::HeaderValue;
use std::net::SocketAddr;
use url::Url;

/// Where a reference leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// On the provider's origin: the path and query to request (no fragment).
    Here(String),
    /// Anywhere else (the relying party's redirect URI, typically).
    Elsewhere(Url),
}

/// The provider's origin, plain HTTP.
#[derive(Debug, Clone)]
pub struct Origin {
    /// `http://host:port` exactly as it starts the issuer (and so every URL the provider names).
    prefix: String,
    /// The `Host` header: the issuer's authority.
    pub host: HeaderValue,
    /// Resolved once, so that a reconnect does not look the name up again.
    pub addr: SocketAddr,
    /// The same origin as `url` sees it (host lower-cased, default port dropped), and as it
    /// writes it.
    parsed: url::Origin,
    serialized: String,
}

impl Origin {
    /// The origin of `issuer`, which must be a plain `http` URL.
    pub async fn of(issuer: &str) -> anyhow::Result<Origin> {
        let url = Url::parse(issuer).with_context(|| format!("issuer {issuer}"))?;
        if url.scheme() != "http" || !url.username().is_empty() || url.password().is_some() {
            bail!("issuer {issuer}: the load generator speaks plain http:// only");
        }
        let rest = &issuer["http://".len()..];
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        let host = url.host_str().context("issuer without a host")?;
        let port = url.port_or_known_default().unwrap_or(80);
        let addr = tokio::net::lookup_host((host, port))
            .await
            .with_context(|| format!("looking up {host}"))?
            .next()
            .with_context(|| format!("{host} has no address"))?;
        Ok(Origin {
            prefix: format!("http://{authority}"),
            host: HeaderValue::from_str(authority)?,
            addr,
            parsed: url.origin(),
            serialized: url.origin().ascii_serialization(),
        })
    }

    #[cfg(test)]
    fn for_test(authority: &str) -> Origin {
        Origin {
            prefix: format!("http://{authority}"),
            host: HeaderValue::from_str(authority).unwrap(),
            addr: "127.0.0.1:9".parse().unwrap(),
            parsed: Url::parse(&format!("http://{authority}")).unwrap().origin(),
            serialized: Url::parse(&format!("http://{authority}"))
                .unwrap()
                .origin()
                .ascii_serialization(),
        }
    }

    /// The path and query of `url` if it is on this origin in the form the provider writes its
    /// URLs (as discovery names them, or as `Url` serializes them).
    pub fn path_of<'a>(&self, url: &'a str) -> Option<&'a str> {
        let rest = url.strip_prefix(&self.prefix)?;
        let rest = &rest[..rest.find('#').unwrap_or(rest.len())];
        rest.starts_with('/').then_some(rest)
    }

    /// The path and query of a parsed URL if it is on this origin.
    pub fn path_of_url<'a>(&self, url: &'a Url) -> Option<&'a str> {
        (url.origin() == self.parsed)
            .then(|| &url[url::Position::BeforePath..url::Position::AfterQuery])
    }

    /// Resolves `reference` (a `Location`, a form's `action`) against the request that was
    /// made for `base`, a path and query on this origin.
    pub fn resolve(&self, base: &str, reference: &str) -> Result<Destination, String> {
        if is_plain(reference) {
            if reference.starts_with('/') && !reference.starts_with("//") {
                return Ok(Destination::Here(reference.to_owned()));
            }
            if let Some(path) = self.path_of(reference) {
                return Ok(Destination::Here(path.to_owned()));
            }
        }
        // An absolute URL (the redirect to the relying party) needs no base; `join` would
        // parse it the same after parsing the base.
        let joined = if reference.starts_with("http://") || reference.starts_with("https://") {
            Url::parse(reference)
        } else {
            Url::parse(&format!("{}{base}", self.prefix)).and_then(|base| base.join(reference))
        }
        .map_err(|e| e.to_string())?;
        Ok(match self.path_of_url(&joined) {
            Some(path) => Destination::Here(path.to_owned()),
            None => Destination::Elsewhere(joined),
        })
    }

    /// Whether `target`, written out as an absolute URL, starts with `prefix` (the check for
    /// the redirect URI, where a login ends).
    pub fn starts_with(&self, target: &Destination, prefix: &str) -> bool {
        match target {
            Destination::Elsewhere(url) => url.as_str().starts_with(prefix),
            Destination::Here(path) => match prefix.strip_prefix(self.serialized.as_str()) {
                Some(rest) => path.starts_with(rest),
                None => self.serialized.starts_with(prefix),
            },
        }
    }
}

/// Whether `url`'s resolution leaves `reference` as it is: printable ASCII that no part of a URL
/// percent-encodes, no fragment, no backslash (a slash to `url`), no dot segments.
fn is_plain(reference: &str) -> bool {
    let path = &reference[..reference.find('?').unwrap_or(reference.len())];
    reference.bytes().all(|b| {
        b.is_ascii_graphic()
            && !matches!(
                b,
                b'"' | b'#' | b'<' | b'>' | b'`' | b'{' | b'}' | b'\\' | b'\'' | b'^' | b'|'
            )
    }) && !path.split('/').any(|segment| matches!(segment, "." | ".."))
        // `url` takes %2e for a dot in a dot segment.
        && !path.contains("%2e")
        && !path.contains("%2E")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "127.0.0.1:18502";

    /// What reqwest was given before: `Url::join` of the reference on the request's URL.
    fn joined(base: &str, reference: &str) -> String {
        Url::parse(&format!("http://{ORIGIN}{base}"))
            .unwrap()
            .join(reference)
            .unwrap()
            .to_string()
    }

    fn absolute(target: &Destination) -> String {
        match target {
            Destination::Here(path) => format!("http://{ORIGIN}{path}"),
            Destination::Elsewhere(url) => url.to_string(),
        }
    }

    #[test]
    fn resolves_as_url_join_does() {
        let origin = Origin::for_test(ORIGIN);
        let base = "/auth/realms/current/login/flow?id=abc";
        for reference in [
            "/auth/realms/current/login/flow?id=abc&step=otp",
            "http://127.0.0.1:18502/interaction/uid1",
            "http://127.0.0.1:18502?x=1",
            "otp?id=1",
            "../authorize?a=b",
            "?id=2",
            "",
            "/a/./b/../c",
            "/a/%2E%2e/c",
            "/with space/x?q=a b",
            "/brace{}/x#frag",
            "/path#fragment",
            "HTTP://127.0.0.1:18502/upper",
            "http://127.0.0.1:9/callback?code=c&state=s&iss=http%3A%2F%2F127.0.0.1",
            "//127.0.0.1:9/callback?code=c",
            "https://127.0.0.1:18502/tls",
        ] {
            let target = origin.resolve(base, reference).unwrap();
            let expected = joined(base, reference);
            // A request carries no fragment; the joined URL does.
            let expected = match &target {
                Destination::Here(_) => expected.split('#').next().unwrap().to_owned(),
                Destination::Elsewhere(_) => expected,
            };
            assert_eq!(absolute(&target), expected, "{reference}");
        }
    }

    #[test]
    fn tells_the_providers_origin_from_others() {
        let origin = Origin::for_test(ORIGIN);
        assert_eq!(
            origin.resolve("/", "http://127.0.0.1:18502/x?y=1"),
            Ok(Destination::Here("/x?y=1".into()))
        );
        for elsewhere in [
            "http://127.0.0.1:9/callback?code=c",
            "http://127.0.0.1:18503/x",
            "https://127.0.0.1:18502/x",
            "//example.test/x",
        ] {
            assert!(
                matches!(
                    origin.resolve("/", elsewhere),
                    Ok(Destination::Elsewhere(_))
                ),
                "{elsewhere}"
            );
        }
        assert!(origin.resolve("/", "http://[bad").is_err());
        // A port that only starts like ours is another origin.
        let short = Origin::for_test("127.0.0.1:1850");
        assert!(matches!(
            short.resolve("/", "http://127.0.0.1:18502/x"),
            Ok(Destination::Elsewhere(_))
        ));
    }

    #[test]
    fn finds_paths_of_urls_on_the_origin() {
        let origin = Origin::for_test(ORIGIN);
        assert_eq!(
            origin.path_of("http://127.0.0.1:18502/auth/token?x=1#f"),
            Some("/auth/token?x=1")
        );
        assert_eq!(origin.path_of("http://127.0.0.1:18502"), None);
        assert_eq!(origin.path_of("http://127.0.0.1:185020/x"), None);
        assert_eq!(origin.path_of("http://127.0.0.1:9/x"), None);
    }

    #[test]
    fn matches_the_redirect_uri_on_either_origin() {
        let origin = Origin::for_test(ORIGIN);
        let callback = origin
            .resolve("/", "http://127.0.0.1:9/callback?code=c")
            .unwrap();
        assert!(origin.starts_with(&callback, "http://127.0.0.1:9/callback"));
        assert!(!origin.starts_with(&callback, "http://127.0.0.1:9/other"));
        let here = Destination::Here("/cb?code=c".into());
        assert!(origin.starts_with(&here, "http://127.0.0.1:18502/cb"));
        assert!(origin.starts_with(&here, "http://127.0.0.1:185"));
        assert!(!origin.starts_with(&here, "http://127.0.0.1:18502/cc"));
        assert!(!origin.starts_with(&here, "http://127.0.0.1:9/cb"));
    }
}
