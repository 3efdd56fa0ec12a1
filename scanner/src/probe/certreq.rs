//! Whether the server asks for a client certificate: OpenSSL calls a
//! context's client certificate callback (`SSL_CTX_set_client_cert_cb`)
//! exactly when the server's CertificateRequest arrives, in TLS 1.3 as in
//! 1.2, and the client has no certificate of its own (the probe never
//! has). The callback records that it was called and the CA names the
//! server listed (`SSL_get_client_CA_list`, which on the client side returns
//! the list the server sent), and answers 0: no certificate, the handshake
//! goes on exactly as without the callback.
//!
//! The openssl crate exposes neither function, so this is the one module of
//! the scanner with `unsafe` code: four `extern "C"` declarations of
//! OpenSSL 1.1+/3 functions (libssl and libcrypto are linked by
//! `openssl-sys`), a callback that only reads, and no pointer kept past the
//! call. What it saw goes to a thread-local: OpenSSL runs the callback on
//! the thread that runs the handshake, and every probe handshake runs on
//! one thread from [`begin`] to [`take`].
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::ffi::{c_int, c_uchar, c_void};

use openssl::ssl::SslContextBuilder;
use openssl::x509::X509Name;

thread_local! {
    /// The CertificateRequest of the current thread's handshake: `None`
    /// until the server sends one, then the CA names it listed.
    static REQUEST: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

type ClientCertCb =
    unsafe extern "C" fn(ssl: *mut c_void, x509: *mut *mut c_void, pkey: *mut *mut c_void) -> c_int;

// SAFETY (of the declarations): the signatures are those of OpenSSL 1.1.0
// and later (ssl.h, safestack.h, x509.h), with the opaque SSL, SSL_CTX,
// X509, EVP_PKEY and STACK_OF(X509_NAME) types as `c_void` pointers.
unsafe extern "C" {
    fn SSL_CTX_set_client_cert_cb(ctx: *mut c_void, cb: Option<ClientCertCb>);
    fn SSL_get_client_CA_list(ssl: *const c_void) -> *mut c_void;
    fn OPENSSL_sk_num(stack: *const c_void) -> c_int;
    fn OPENSSL_sk_value(stack: *const c_void, i: c_int) -> *mut c_void;
    fn i2d_X509_NAME(name: *const c_void, out: *mut *mut c_uchar) -> c_int;
}

/// Installs the callback on a context being built.
pub(super) fn install(b: &mut SslContextBuilder) {
    // SAFETY: `as_ptr` is the live SSL_CTX the builder owns; the callback
    // is a plain function that outlives every context.
    unsafe { SSL_CTX_set_client_cert_cb(b.as_ptr().cast(), Some(client_cert_cb)) }
}

/// Forgets any earlier handshake's request: call before a handshake.
pub(super) fn begin() {
    REQUEST.with(|r| {
        if let Ok(mut r) = r.try_borrow_mut() {
            *r = None;
        }
    });
}

/// Whether the handshake since [`begin`] saw a CertificateRequest, and the
/// CA names it listed.
pub(super) fn take() -> (bool, Vec<String>) {
    REQUEST.with(|r| match r.try_borrow_mut() {
        Ok(mut r) => match r.take() {
            Some(names) => (true, names),
            None => (false, Vec::new()),
        },
        Err(_) => (false, Vec::new()),
    })
}

/// At most this many CA names are kept (a server may list hundreds).
const MAX_NAMES: usize = 32;

unsafe extern "C" fn client_cert_cb(
    ssl: *mut c_void,
    _x509: *mut *mut c_void,
    _pkey: *mut *mut c_void,
) -> c_int {
    // SAFETY: OpenSSL passes the SSL of the handshake in progress.
    let names = unsafe { ca_names(ssl) };
    REQUEST.with(|r| {
        if let Ok(mut r) = r.try_borrow_mut() {
            *r = Some(names);
        }
    });
    // No certificate: OpenSSL sends an empty Certificate message.
    0
}

/// The CA names of the CertificateRequest, as `CN=..., O=...`.
///
/// # Safety
/// `ssl` must be a live SSL handle.
unsafe fn ca_names(ssl: *mut c_void) -> Vec<String> {
    let mut out = Vec::new();
    // SAFETY: a live SSL; the stack it returns belongs to it and is only
    // read here, while the callback runs.
    unsafe {
        let stack = SSL_get_client_CA_list(ssl);
        if stack.is_null() {
            return out;
        }
        let n = OPENSSL_sk_num(stack).max(0);
        for i in 0..n.min(MAX_NAMES as c_int) {
            let name = OPENSSL_sk_value(stack, i);
            if name.is_null() {
                continue;
            }
            let len = i2d_X509_NAME(name, std::ptr::null_mut());
            if len <= 0 {
                continue;
            }
            let mut der = vec![0u8; len as usize];
            let mut p = der.as_mut_ptr();
            if i2d_X509_NAME(name, &mut p) != len {
                continue;
            }
            if let Ok(parsed) = X509Name::from_der(&der) {
                out.push(display(&parsed));
            }
        }
    }
    out
}

/// `CN=db-ca, O=Example`: each entry's short name and value.
pub(super) fn display(name: &openssl::x509::X509NameRef) -> String {
    name.entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let value = e.data().to_string().unwrap_or_else(|_| "?".to_string());
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}
