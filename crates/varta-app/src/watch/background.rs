//! Detection too slow for the main loop: narratives embed every new document with e5 (tens of
//! seconds for ten minutes of posts on two cores), and the main loop must keep storing and
//! alerting within seconds meanwhile. The job runs on its own thread over a read-only store and
//! keeps what it would write ([`Buffered`]); the main loop applies those writes (vectors to the
//! cache, findings) when the job is done, under its own writer lock.

use varta_core::{Actor, Claim, Document, Finding};
use varta_store::{
    BatchOutcome, Consistency, EmbeddedStore, PageCursor, Result, SearchHit, SearchQuery, Stats,
    Store, StoreError, StoredTaxiiObject, TaxiiObject, TaxiiQuery, TokenRecord, Volume,
};

/// A read-only store that keeps the findings and vectors written to it, for the main loop to
/// store. Other writes are refused (the background jobs make none).
pub struct Buffered {
    inner: EmbeddedStore,
    pub findings: Vec<Finding>,
    /// (model, owner, vector)
    pub embeddings: Vec<(String, String, Vec<f32>)>,
}

impl Buffered {
    pub fn new(inner: EmbeddedStore) -> Buffered {
        Buffered {
            inner,
            findings: Vec::new(),
            embeddings: Vec::new(),
        }
    }

    /// Stores what was kept into `store`.
    pub fn apply(self, store: &mut impl Store) -> Result<usize> {
        let mut by_model: std::collections::BTreeMap<&str, Vec<(&str, &[f32])>> =
            Default::default();
        for (m, o, v) in &self.embeddings {
            by_model.entry(m).or_default().push((o, v));
        }
        for (m, items) in by_model {
            store.put_embeddings(m, &items)?;
        }
        store.put_findings(&self.findings)?;
        Ok(self.findings.len())
    }
}

fn refused(op: &'static str) -> StoreError {
    StoreError::ReadOnly { op }
}

impl Store for Buffered {
    fn put_batch(&mut self, _: &[Document], _: &[Actor]) -> Result<BatchOutcome> {
        Err(refused("put_batch"))
    }
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
    fn get(&self, id: &str) -> Result<Option<Document>> {
        self.inner.get(id)
    }
    fn get_actor(&self, id: &str) -> Result<Option<Actor>> {
        self.inner.get_actor(id)
    }
    fn actors_page(&self, after: &str, limit: usize) -> Result<Vec<Actor>> {
        self.inner.actors_page(after, limit)
    }
    fn stats(&self) -> Result<Stats> {
        self.inner.stats()
    }
    fn search(&self, query: &SearchQuery) -> Result<Vec<SearchHit>> {
        self.inner.search(query)
    }
    fn for_each_document(
        &self,
        since: Option<chrono::DateTime<chrono::Utc>>,
        f: &mut dyn FnMut(Document) -> Result<()>,
    ) -> Result<()> {
        self.inner.for_each_document(since, f)
    }
    fn documents_page(
        &self,
        since: Option<chrono::DateTime<chrono::Utc>>,
        after: PageCursor,
        limit: usize,
    ) -> Result<(Vec<Document>, PageCursor)> {
        self.inner.documents_page(since, after, limit)
    }
    fn put_findings(&mut self, findings: &[Finding]) -> Result<()> {
        self.findings.extend_from_slice(findings);
        Ok(())
    }
    fn end_cursor(&self) -> Result<PageCursor> {
        self.inner.end_cursor()
    }
    fn findings(&self, kind: Option<&str>) -> Result<Vec<Finding>> {
        self.inner.findings(kind)
    }
    fn finding(&self, id: &str) -> Result<Option<Finding>> {
        self.inner.finding(id)
    }
    fn delete_findings(&mut self, _: &[&str]) -> Result<usize> {
        Err(refused("delete_findings"))
    }
    fn put_claims(&mut self, _: &[Claim]) -> Result<usize> {
        Err(refused("put_claims"))
    }
    fn claims(&self) -> Result<Vec<Claim>> {
        self.inner.claims()
    }
    fn embeddings(&self, model: &str, owners: &[&str]) -> Result<Vec<Option<Vec<f32>>>> {
        self.inner.embeddings(model, owners)
    }
    fn put_embeddings(&mut self, model: &str, items: &[(&str, &[f32])]) -> Result<()> {
        self.embeddings.extend(
            items
                .iter()
                .map(|(o, v)| (model.to_string(), o.to_string(), v.to_vec())),
        );
        Ok(())
    }
    fn check(&self) -> Result<Consistency> {
        self.inner.check()
    }
    fn repair(&mut self) -> Result<Consistency> {
        Err(refused("repair"))
    }
    fn volume(&self) -> Result<Vec<Volume>> {
        self.inner.volume()
    }
    fn put_token(&mut self, _: &TokenRecord) -> Result<bool> {
        Err(refused("put_token"))
    }
    fn tokens(&self) -> Result<Vec<TokenRecord>> {
        self.inner.tokens()
    }
    fn revoke_token(&mut self, _: &str) -> Result<bool> {
        Err(refused("revoke_token"))
    }
    fn publish(&mut self, _: &str, _: &[TaxiiObject]) -> Result<usize> {
        Err(refused("publish"))
    }
    fn taxii_page(&self, query: &TaxiiQuery) -> Result<(Vec<StoredTaxiiObject>, bool)> {
        self.inner.taxii_page(query)
    }
}
