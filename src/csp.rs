//! The Content-Security-Policy texts (both targets compile it; only the server sends them).
//! The page shell sets [`page`] with its response's nonce; the server's header layer sets
//! [`STRICT`] on everything else.

/// The policy for a server-rendered page whose inline hydration script carries `nonce`.
/// `wasm-unsafe-eval` lets the page compile its WebAssembly; no inline script runs without
/// the nonce, no page may frame us. `form_targets`: more `form-action` sources (forward-auth's
/// allowed hosts, where signing in may redirect a form post to); empty for none.
pub fn page(nonce: &str, form_targets: &str) -> String {
    let space = if form_targets.is_empty() { "" } else { " " };
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'{space}{form_targets}; frame-ancestors 'none'"
    )
}

/// For responses that are not pages (JSON, files, redirects).
pub const STRICT: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
