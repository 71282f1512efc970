//! The DNS answers DKIM verification asks for (the signers' public keys), kept until their
//! time to live runs out, so that a busy sender's key is looked up once, not once per mail.
//! Tests fill it with the records they sign with, so that they need no network.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use mail_auth::common::resolver::ToFqdn;
use mail_auth::{ResolverCache, Txt};

/// The most answers kept: one per signing key and domain seen recently.
const MAX_ENTRIES: usize = 10_000;

/// TXT answers by fully qualified name, with their expiry.
#[derive(Default)]
pub struct DnsCache {
    txt: Mutex<HashMap<Box<str>, (Txt, std::time::Instant)>>,
}

impl std::fmt::Debug for DnsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries = self.txt.lock().map_or(0, |t| t.len());
        f.debug_struct("DnsCache")
            .field("entries", &entries)
            .finish()
    }
}

impl DnsCache {
    /// Puts `record` under `name` (`s1._domainkey.example.com`) until `valid_until`: what a
    /// lookup would have answered.
    pub fn insert_txt(&self, name: &str, record: Txt, valid_until: std::time::Instant) {
        let name = name.to_fqdn().into_owned().into_boxed_str();
        ResolverCache::insert(self, name, record, valid_until);
    }
}

impl ResolverCache<Box<str>, Txt> for DnsCache {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let txt = self.txt.lock().unwrap_or_else(|p| p.into_inner());
        txt.get(name)
            .filter(|(_, until)| *until > std::time::Instant::now())
            .map(|(record, _)| record.clone())
    }

    fn remove<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut txt = self.txt.lock().unwrap_or_else(|p| p.into_inner());
        txt.remove(name).map(|(record, _)| record)
    }

    fn insert(&self, name: Box<str>, record: Txt, valid_until: std::time::Instant) {
        let mut txt = self.txt.lock().unwrap_or_else(|p| p.into_inner());
        if txt.len() >= MAX_ENTRIES {
            let now = std::time::Instant::now();
            txt.retain(|_, (_, until)| *until > now);
            if txt.len() >= MAX_ENTRIES {
                txt.clear();
            }
        }
        txt.insert(name, (record, valid_until));
    }
}
