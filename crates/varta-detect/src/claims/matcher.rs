//! Which reviewed claim a text repeats.
//!
//! Two signals, fused:
//! - *lexical*: words folded as search folds them, transliterated to Latin and cut to their first
//!   five letters ("stems"), so that inflected forms, the Ukrainian and Russian spellings of a word
//!   and transliterated names ("Зеленський", "Зеленский", "Zelensky") meet. BM25 through tantivy
//!   over the claims' stems picks candidates; a candidate's lexical score is the share of its
//!   stems' weight (idf over the claims) that the text contains.
//! - *semantic*: cosine of multilingual embeddings (e5; the "query: " prefix on both sides, as the
//!   model card advises for symmetric similarity), against every claim, since a translation
//!   shares no words with its original.
//!
//! A text is worth embedding only if it shares some rare stem with a claim ([`ClaimMatcher::worth_embedding`]):
//! names, places and numbers survive translation, and most posts in a stream share none.

use std::collections::HashMap;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::{Index, IndexReader, TantivyDocument, Term};
use varta_core::Claim;

/// Embeds texts for similarity: unit vectors, one per text, comparable by dot product.
pub trait Embedder: Sync {
    /// Names the model and its version, for the embedding cache.
    fn model_id(&self) -> &str;
    /// One vector per text, in order.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;
}

/// Why an [`Embedder`] gave no vectors.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// It answered with another number of vectors than it was given texts: pairing them up
    /// would give texts each other's vectors.
    #[error("{vectors} vectors for {texts} texts")]
    Count { texts: usize, vectors: usize },
    /// The model behind it failed: a file that cannot be read or parsed when it is loaded on
    /// first use, a service that did not answer. Display and source are the wrapped error's.
    #[error(transparent)]
    Model(Box<dyn std::error::Error + Send + Sync>),
}

#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    #[error("claims index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("embedding: {0}")]
    Embed(#[from] EmbedError),
}

/// How scores become verdicts. The defaults are tuned on `dev.jsonl` of
/// `crates/varta-cli/tests/data/claims` (66 claims; 360 queries): "match" where the false-match
/// rate is under 1%, "suggest" where 95% of the repeats ranked first reach it; `test.jsonl`
/// (the other 168 queries) checks them (see README "Debunked claims").
#[derive(Clone, Debug, serde::Serialize)]
pub struct Params {
    /// Fused score at which a claim is suggested to the analyst.
    pub suggest: f32,
    /// Fused score at which a text is taken to repeat the claim.
    pub matched: f32,
    /// Weight of the lexical score added to the cosine.
    pub lexical_weight: f32,
    /// Lexical candidates fetched per text.
    pub candidates: usize,
    /// A text whose best lexical score is below this is not embedded (it cannot match).
    pub embed_gate: f32,
    /// Subtracted from the score of a text that reads as a refutation ("спростували", "debunked",
    /// "не соответствует действительности"): a fact-check quoting the claim is not a repeat.
    pub refutation_penalty: f32,
    /// How much of a claim's hubness is subtracted from its cosines: a claim close to many other
    /// claims (a crowded topic) is close to many unrelated texts on that topic too.
    pub hub_weight: f32,
    /// Nearest other claims whose mean cosine is a claim's hubness.
    pub hub_neighbours: usize,
    /// The hubness at which nothing is subtracted: the mean over the 66 claims the thresholds
    /// were tuned on. A larger database is denser, its claims' hubness higher, and the best
    /// cosine of an unrelated text higher too; measuring hubness from this fixed point (not
    /// from the database's own mean) lowers every claim's cosines by as much.
    pub hub_reference: f32,
    /// Hubness below this counts as this: a claim alone on its topic gains at most
    /// `hub_weight × (hub_reference − hub_floor)`.
    pub hub_floor: f32,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            suggest: 0.865,
            matched: 0.93,
            lexical_weight: 0.05,
            candidates: 20,
            embed_gate: 0.05,
            refutation_penalty: 0.15,
            hub_weight: 0.5,
            hub_neighbours: 10,
            hub_reference: 0.84,
            hub_floor: 0.80,
        }
    }
}

impl Params {
    /// Thresholds for the lexical score alone (no embedding model).
    pub fn lexical() -> Params {
        Params {
            suggest: 0.45,
            matched: 0.6,
            ..Params::default()
        }
    }
}

/// One claim a text may repeat.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ClaimMatch {
    /// Index into [`ClaimMatcher::claims`].
    pub claim: usize,
    pub score: f32,
    pub lexical: f32,
    pub semantic: Option<f32>,
    /// The claim's stems found in the text, rarest first.
    pub shared: Vec<String>,
    /// Words that make the text read as a refutation of what it quotes.
    pub refutes: Vec<String>,
}

/// Stems of words with which fact-checkers and officials refute a claim. Propaganda calls things
/// "fake" too, so only verbs and phrases of refutation count.
const REFUTATION: &[&str] = &[
    "spros",       // спростували, спростування
    "oprov",       // опровергли, опровержение
    "debun",       // debunked
    "factc",       // factcheck
    "fact chec",   // fact-check
    "faktc",       // фактчек
    "vidpo diisn", // не відповідає дійсності
    "sootv deist", // не соответствует действительности
    "nemae pidtv", // немає підтверджень
    "net podtv",   // нет подтверждений
];

/// The refutation markers a text contains (each a sequence of stem prefixes).
pub fn refutation_markers(text: &str) -> Vec<String> {
    let st = stems(text);
    REFUTATION
        .iter()
        .filter(|m| {
            let parts: Vec<&str> = m.split(' ').collect();
            st.windows(parts.len())
                .any(|w| w.iter().zip(&parts).all(|(s, p)| s.starts_with(p)))
        })
        .map(|m| m.to_string())
        .collect()
}

/// Folded, transliterated, cut words of a text: the lexical signal's units.
pub fn stems(text: &str) -> Vec<String> {
    let folded = varta_text::fold::fold(text);
    let mut out = Vec::new();
    for (_, w) in varta_text::fold::tokens(&folded) {
        let mut t = String::with_capacity(w.len());
        for c in w.chars() {
            translit(c, &mut t);
        }
        let is_number = t.chars().all(|c| c.is_ascii_digit());
        if t.chars().count() < 3 && !is_number {
            continue;
        }
        let cut: String = if is_number {
            t
        } else {
            t.chars().take(5).collect()
        };
        out.push(cut);
    }
    out
}

/// One letter in a Latin spelling shared by Ukrainian, Russian and English forms of a word: the
/// two Cyrillic spellings of a name must meet, and meet its English transliteration more often
/// than not (`и`, `і`, `ї`, `й`, `ы`, Latin `y` and `j` all become `i`).
fn translit(c: char, out: &mut String) {
    let s = match c {
        'а' => "a",
        'б' => "b",
        'в' | 'w' => "v",
        'г' | 'ґ' => "g",
        'д' => "d",
        'е' | 'є' | 'э' | 'ё' => "e",
        'ж' => "zh",
        'з' => "z",
        'и' | 'і' | 'ї' | 'й' | 'ы' | 'y' | 'j' => "i",
        'к' | 'q' => "k",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' => "u",
        'ф' => "f",
        'х' => "h",
        'ц' => "c",
        'ч' => "ch",
        'ш' | 'щ' => "sh",
        'ъ' | 'ь' | '\'' => "",
        'ю' => "iu",
        'я' => "ia",
        _ => {
            out.push(c);
            return;
        }
    };
    out.push_str(s);
}

/// A lexical candidate: (claim, share of its stem weight in the text, the shared stems).
pub type LexicalHit = (usize, f32, Vec<String>);

/// The claims, indexed for matching.
pub struct ClaimMatcher {
    claims: Vec<Claim>,
    reader: IndexReader,
    stems_field: Field,
    ord_field: Field,
    /// Per claim: its distinct stems with their idf, and their total.
    weights: Vec<(Vec<(String, f32)>, f32)>,
    idf: HashMap<String, f32>,
    vectors: Option<Vec<Vec<f32>>>,
    /// Per claim: the amount subtracted from its cosines (see [`Params::hub_weight`]).
    hub: Vec<f32>,
}

impl ClaimMatcher {
    pub fn new(claims: Vec<Claim>) -> Result<ClaimMatcher, MatchError> {
        let mut schema = Schema::builder();
        let stems_field = schema.add_text_field(
            "stems",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("whitespace")
                    .set_index_option(IndexRecordOption::WithFreqs),
            ),
        );
        let ord_field = schema.add_u64_field("ord", INDEXED | STORED);
        let index = Index::create_in_ram(schema.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000)?;
        let texts: Vec<Vec<String>> = claims.iter().map(|c| stems(&claim_text(c))).collect();
        let mut df: HashMap<String, u32> = HashMap::new();
        for s in &texts {
            let mut distinct: Vec<&String> = s.iter().collect();
            distinct.sort();
            distinct.dedup();
            for t in distinct {
                *df.entry(t.clone()).or_default() += 1;
            }
        }
        let n = claims.len().max(1) as f32;
        let idf: HashMap<String, f32> = df
            .into_iter()
            .map(|(t, d)| (t, (1.0 + (n - d as f32 + 0.5) / (d as f32 + 0.5)).ln()))
            .collect();
        let mut weights = Vec::with_capacity(texts.len());
        for (i, s) in texts.iter().enumerate() {
            let mut doc = TantivyDocument::default();
            doc.add_text(stems_field, s.join(" "));
            doc.add_u64(ord_field, i as u64);
            writer.add_document(doc)?;
            let mut distinct: Vec<(String, f32)> = s
                .iter()
                .map(|t| (t.clone(), idf.get(t).copied().unwrap_or(0.0)))
                .collect();
            distinct.sort_by(|a, b| a.0.cmp(&b.0));
            distinct.dedup_by(|a, b| a.0 == b.0);
            let total = distinct.iter().map(|(_, w)| w).sum::<f32>();
            weights.push((distinct, total));
        }
        writer.commit()?;
        let reader = index.reader()?;
        Ok(ClaimMatcher {
            claims,
            reader,
            stems_field,
            ord_field,
            weights,
            idf,
            vectors: None,
            hub: Vec::new(),
        })
    }

    pub fn claims(&self) -> &[Claim] {
        &self.claims
    }

    /// The claims' embeddings, in claim order (from [`claim_text`]), and from them each claim's
    /// hubness: the mean cosine of its `hub_neighbours` nearest other claims, floored at
    /// `hub_floor`, less `hub_reference`, weighted by `hub_weight` (with 10 claims or fewer, none).
    pub fn set_vectors(&mut self, vectors: Vec<Vec<f32>>, params: &Params) {
        use rayon::prelude::*;
        if vectors.len() != self.claims.len() {
            self.vectors = None;
            return;
        }
        let n = vectors.len();
        let k = params.hub_neighbours.min(n.saturating_sub(1));
        self.hub = if n > 10 && k > 0 && params.hub_weight != 0.0 {
            let refs: Vec<&[f32]> = vectors.iter().map(Vec::as_slice).collect();
            let r: Vec<f32> = refs
                .par_chunks(QUERY_BLOCK)
                .enumerate()
                .flat_map_iter(|(b, block)| {
                    // Each claim's own cosine (1) is among its k + 1 nearest; the others are the k.
                    block_tops(&vectors, &[], block, k + 1)
                        .into_iter()
                        .enumerate()
                        .map(move |(r, top)| {
                            let me = b * QUERY_BLOCK + r;
                            let near: Vec<f32> = top
                                .iter()
                                .filter(|x| x.0 != me)
                                .take(k)
                                .map(|x| x.2)
                                .collect();
                            near.iter().sum::<f32>() / near.len().max(1) as f32
                        })
                })
                .collect();
            r.iter()
                .map(|x| params.hub_weight * (x.max(params.hub_floor) - params.hub_reference))
                .collect()
        } else {
            vec![0.0; n]
        };
        self.vectors = Some(vectors);
    }

    /// For each query vector, the `k` claims of highest hub-corrected cosine: (claim, cosine).
    /// Queries go in blocks so that each claim vector is read once per block, not per query.
    pub fn semantic_top(&self, queries: &[&[f32]], k: usize) -> Vec<Vec<(usize, f32)>> {
        use rayon::prelude::*;
        let Some(claims) = &self.vectors else {
            return vec![Vec::new(); queries.len()];
        };
        queries
            .par_chunks(QUERY_BLOCK)
            .flat_map_iter(|block| {
                let tops = block_tops(claims, &self.hub, block, k);
                tops.into_iter().map(|t| {
                    t.into_iter()
                        .map(|(c, _, cos)| (c, cos))
                        .collect::<Vec<_>>()
                })
            })
            .collect()
    }

    pub fn has_vectors(&self) -> bool {
        self.vectors.is_some()
    }

    /// Lexical candidates for a text: (claim, lexical score, shared stems), best first.
    pub fn lexical(&self, text: &str, k: usize) -> Result<Vec<LexicalHit>, MatchError> {
        let mut mine = stems(text);
        mine.sort_unstable();
        mine.dedup();
        // Each stem's idf looked up once, not in every comparison of the sort; stems no claim
        // has are dropped.
        let mut weighted: Vec<(f32, String)> = mine
            .into_iter()
            .filter_map(|t| Some((*self.idf.get(&t)?, t)))
            .collect();
        // Rare stems first: a long post's query keeps the ones that discriminate.
        weighted.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        weighted.truncate(64);
        let mine: Vec<String> = weighted.into_iter().map(|(_, t)| t).collect();
        if mine.is_empty() {
            return Ok(Vec::new());
        }
        let clauses: Vec<(Occur, Box<dyn Query>)> = mine
            .iter()
            .map(|t| {
                let q: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_text(self.stems_field, t),
                    IndexRecordOption::WithFreqs,
                ));
                (Occur::Should, q)
            })
            .collect();
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(k.max(1)).order_by_score())?;
        let set: std::collections::HashSet<&str> = mine.iter().map(String::as_str).collect();
        let mut out = Vec::with_capacity(top.len());
        for (_, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let Some(i) = doc.get_first(self.ord_field).and_then(|v| v.as_u64()) else {
                continue;
            };
            let i = i as usize;
            let Some((terms, total)) = self.weights.get(i) else {
                continue;
            };
            let mut shared: Vec<(String, f32)> = terms
                .iter()
                .filter(|(t, _)| set.contains(t.as_str()))
                .cloned()
                .collect();
            let got: f32 = shared.iter().map(|(_, w)| w).sum();
            shared.sort_by(|a, b| b.1.total_cmp(&a.1));
            let lex = if *total > 0.0 { got / total } else { 0.0 };
            out.push((i, lex, shared.into_iter().map(|(t, _)| t).collect()));
        }
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(out)
    }

    /// Whether embedding a text can change its verdict, from its [`ClaimMatcher::lexical`]
    /// candidates: it shares at least `embed_gate` of some claim's stem weight.
    pub fn worth_embedding(&self, lexical: &[LexicalHit], params: &Params) -> bool {
        params.embed_gate <= 0.0 || lexical.first().is_some_and(|h| h.1 >= params.embed_gate)
    }

    /// The best claims for a text, fused score first; `vector` is the text's embedding, if any.
    pub fn rank(
        &self,
        text: &str,
        vector: Option<&[f32]>,
        params: &Params,
        k: usize,
    ) -> Result<Vec<ClaimMatch>, MatchError> {
        let top = vector.map(|v| {
            self.semantic_top(&[v], k.max(params.candidates))
                .pop()
                .unwrap_or_default()
        });
        let lexical = self.lexical(text, params.candidates)?;
        self.rank_with(text, lexical, vector, top.as_deref(), params, k)
    }

    /// [`ClaimMatcher::rank`] with the text's candidates already found: lexical (by
    /// [`ClaimMatcher::lexical`] with `params.candidates`) and semantic (by
    /// [`ClaimMatcher::semantic_top`], for many texts at once).
    pub fn rank_with(
        &self,
        text: &str,
        lexical: Vec<LexicalHit>,
        vector: Option<&[f32]>,
        semantic: Option<&[(usize, f32)]>,
        params: &Params,
        k: usize,
    ) -> Result<Vec<ClaimMatch>, MatchError> {
        let refutes = refutation_markers(text);
        let penalty = if refutes.is_empty() {
            0.0
        } else {
            params.refutation_penalty
        };
        let mut by_claim: HashMap<usize, (f32, Vec<String>, Option<f32>)> = lexical
            .into_iter()
            .map(|(i, l, s)| (i, (l, s, None)))
            .collect();
        if let (Some(v), Some(claims)) = (vector, &self.vectors) {
            for &(c, cos) in semantic.unwrap_or(&[]) {
                by_claim.entry(c).or_insert((0.0, Vec::new(), None)).2 = Some(cos);
            }
            for (c, e) in by_claim.iter_mut() {
                if e.2.is_none() {
                    e.2 = claims.get(*c).map(|cv| dot(v, cv));
                }
            }
        }
        let mut out: Vec<ClaimMatch> = by_claim
            .into_iter()
            .map(|(i, (lex, shared, cos))| {
                let base = match cos {
                    Some(c) => {
                        c - self.hub.get(i).copied().unwrap_or(0.0) + params.lexical_weight * lex
                    }
                    None => lex,
                };
                ClaimMatch {
                    claim: i,
                    score: base - penalty,
                    lexical: lex,
                    semantic: cos,
                    shared,
                    refutes: refutes.clone(),
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.claim.cmp(&b.claim))
        });
        out.truncate(k);
        Ok(out)
    }
}

/// Keeps the `k` largest by score in `top` (unsorted; small k).
/// Keeps the `k` best (claim, corrected, raw cosine) triples by the corrected score, best first.
fn push_top3(top: &mut Vec<(usize, f32, f32)>, k: usize, x: (usize, f32, f32)) {
    if top.len() == k && top.last().is_some_and(|l| l.1 >= x.1) {
        return;
    }
    let at = top.partition_point(|y| y.1 >= x.1);
    top.insert(at, x);
    top.truncate(k);
}

/// What of a claim is indexed and embedded: its text and keywords.
pub fn claim_text(c: &Claim) -> String {
    if c.keywords.is_empty() {
        c.text.clone()
    } else {
        format!("{} {}", c.text, c.keywords.join(" "))
    }
}

/// Dot product in 16 running lanes: a single running sum is a chain of dependent additions that
/// the compiler may not reorder, 10× slower over a 384-wide vector.
#[inline(always)]
#[allow(clippy::needless_range_loop)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..16 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// For each query of a block, the `k` claims of highest cosine less the claim's `hub` (0 where
/// `hub` is shorter): (claim, corrected, cosine), best first. Compiled for AVX2 where the
/// processor has it (8 lanes a vector instead of the baseline's 4): 100,000 posts against
/// 10,000 claims are 4 · 10¹¹ multiply-adds.
/// Claims whose vectors (1.5 KB each) a block's queries pass over together.
const CLAIMS_AT_ONCE: usize = 64;
/// Queries of one parallel task: every claim is read from memory once per block.
const QUERY_BLOCK: usize = 256;

fn block_tops(
    claims: &[Vec<f32>],
    hub: &[f32],
    block: &[&[f32]],
    k: usize,
) -> Vec<Vec<(usize, f32, f32)>> {
    #[inline(always)]
    fn run<const AVX2: bool>(
        claims: &[Vec<f32>],
        hub: &[f32],
        block: &[&[f32]],
        k: usize,
    ) -> Vec<Vec<(usize, f32, f32)>> {
        let mut tops: Vec<Vec<(usize, f32, f32)>> = vec![Vec::with_capacity(k + 1); block.len()];
        // Claims a few dozen at a time, each group passed over every query of the block while
        // it is in L1/L2 (streamed from memory once per query instead, they made the loop wait
        // on its loads). Each query still sees the claims in order, so ties rank as before.
        for (g, group) in claims.chunks(CLAIMS_AT_ONCE).enumerate() {
            let first = g * CLAIMS_AT_ONCE;
            let mut at = 0;
            #[cfg(target_arch = "x86_64")]
            if AVX2 {
                // Four queries at a time: eight independent running sums instead of two, each
                // claim value loaded once for the four.
                for q in block.chunks_exact(4) {
                    for (j, cv) in group.iter().enumerate() {
                        let c = first + j;
                        let h = hub.get(c).copied().unwrap_or(0.0);
                        // SAFETY: run::<true> is only called where the processor has AVX2.
                        let cos = unsafe { dot4_avx2([q[0], q[1], q[2], q[3]], cv) };
                        for (r, &cos) in cos.iter().enumerate() {
                            push_top3(&mut tops[at + r], k, (c, cos - h, cos));
                        }
                    }
                    at += 4;
                }
            }
            for (q, top) in block[at..].iter().zip(&mut tops[at..]) {
                for (j, cv) in group.iter().enumerate() {
                    let c = first + j;
                    let h = hub.get(c).copied().unwrap_or(0.0);
                    let cos = dot(q, cv);
                    push_top3(top, k, (c, cos - h, cos));
                }
            }
        }
        tops
    }
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        fn avx2(
            claims: &[Vec<f32>],
            hub: &[f32],
            block: &[&[f32]],
            k: usize,
        ) -> Vec<Vec<(usize, f32, f32)>> {
            run::<true>(claims, hub, block, k)
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2.
            return unsafe { avx2(claims, hub, block, k) };
        }
    }
    run::<false>(claims, hub, block, k)
}

/// [`dot`] of four vectors with one, in AVX2: the same additions in the same order (lane l
/// sums elements l, l + 16, …; then the lanes in order), so the same values.
///
/// # Safety
/// The processor must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot4_avx2(q: [&[f32]; 4], b: &[f32]) -> [f32; 4] {
    use std::arch::x86_64::*;
    let len = q.iter().map(|v| v.len()).fold(b.len(), usize::min);
    let n = len / 16 * 16;
    let mut acc = [[_mm256_setzero_ps(); 2]; 4];
    let mut i = 0;
    while i < n {
        // SAFETY: i + 16 ≤ n ≤ the length of b and of every q.
        unsafe {
            let y0 = _mm256_loadu_ps(b.as_ptr().add(i));
            let y1 = _mm256_loadu_ps(b.as_ptr().add(i + 8));
            for r in 0..4 {
                let x = q[r].as_ptr().add(i);
                acc[r][0] = _mm256_add_ps(acc[r][0], _mm256_mul_ps(_mm256_loadu_ps(x), y0));
                acc[r][1] = _mm256_add_ps(acc[r][1], _mm256_mul_ps(_mm256_loadu_ps(x.add(8)), y1));
            }
        }
        i += 16;
    }
    let mut out = [0f32; 4];
    for r in 0..4 {
        let mut lanes = [0f32; 16];
        // SAFETY: lanes holds 16 values.
        unsafe {
            _mm256_storeu_ps(lanes.as_mut_ptr(), acc[r][0]);
            _mm256_storeu_ps(lanes.as_mut_ptr().add(8), acc[r][1]);
        }
        let tail: f32 = q[r][n..len]
            .iter()
            .zip(&b[n..len])
            .map(|(x, y)| x * y)
            .sum();
        out[r] = lanes.iter().sum::<f32>() + tail;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The blocked, four-at-a-time search against one dot product per pair, in order.
    #[test]
    fn block_tops_equals_plain_search() {
        let mut seed = 11u64;
        let mut rnd = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let claims: Vec<Vec<f32>> = (0..150).map(|_| (0..40).map(|_| rnd()).collect()).collect();
        let hub: Vec<f32> = (0..150).map(|i| (i % 7) as f32 * 0.01).collect();
        let queries: Vec<Vec<f32>> = (0..11).map(|_| (0..40).map(|_| rnd()).collect()).collect();
        let refs: Vec<&[f32]> = queries.iter().map(Vec::as_slice).collect();
        let got = block_tops(&claims, &hub, &refs, 5);
        for (q, top) in refs.iter().zip(&got) {
            let mut want = Vec::new();
            for (c, cv) in claims.iter().enumerate() {
                let cos = dot(q, cv);
                push_top3(&mut want, 5, (c, cos - hub[c], cos));
            }
            assert_eq!(top, &want);
        }
    }

    fn claim(text: &str) -> Claim {
        Claim {
            id: Claim::derive_id(None, text, None),
            text: text.into(),
            rating: None,
            review_url: None,
            reviewer: None,
            review_date: None,
            claimant: None,
            claim_date: None,
            appearances: vec![],
            languages: vec![],
            keywords: vec![],
            disproof: None,
            origin: "manual".into(),
        }
    }

    #[test]
    fn refutations_are_recognized() {
        assert_eq!(
            refutation_markers("В «Укренерго» спростували фейк про графіки"),
            ["spros"]
        );
        assert_eq!(
            refutation_markers("Это не соответствует действительности, заявили в министерстве"),
            ["sootv deist"]
        );
        assert_eq!(
            refutation_markers("Fact-checkers debunked the claim"),
            ["debun", "fact chec"]
        );
        assert!(refutation_markers("Западные фейки о России").is_empty());
    }

    #[test]
    fn stems_meet_across_spellings() {
        let uk = stems("Зеленський продав землі");
        let ru = stems("Зеленский продал земли");
        let en = stems("Zelensky sold the land");
        assert_eq!(uk[0], ru[0]);
        assert_eq!(uk[0], en[0]);
        assert_eq!(stems("НАТО")[0], stems("NATO")[0]);
        assert_eq!(stems("60 мільярдів")[0], "60");
    }

    #[test]
    fn lexical_finds_the_claim_a_reworded_text_repeats() {
        let m = ClaimMatcher::new(vec![
            claim("Біолабораторії США в Україні створюють біологічну зброю"),
            claim("Зеленський купив віллу в Єгипті за гроші допомоги"),
            claim("Вакцини Pfizer змінюють ДНК людини"),
        ])
        .unwrap();
        let got = m
            .rank(
                "Американские биолаборатории в Украине создают биологическое оружие!",
                None,
                &Params::default(),
                3,
            )
            .unwrap();
        assert_eq!(got[0].claim, 0);
        assert!(got[0].lexical >= 0.4, "{got:?}");
        assert!(
            m.rank("Погода на завтра: дощ", None, &Params::default(), 3)
                .unwrap()
                .is_empty()
        );
    }

    /// An embedder's failure reaches a matcher's caller as [`MatchError::Embed`], saying what
    /// failed, with the model's own error as its source.
    #[test]
    fn embed_errors_say_what_failed() {
        struct Broken;
        impl Embedder for Broken {
            fn model_id(&self) -> &str {
                "broken"
            }
            fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
                match texts.len() {
                    1 => Err(EmbedError::Model(Box::new(std::io::Error::other(
                        "model file truncated",
                    )))),
                    n => Err(EmbedError::Count {
                        texts: n,
                        vectors: 1,
                    }),
                }
            }
        }
        fn embed(e: &dyn Embedder, texts: &[&str]) -> Result<Vec<Vec<f32>>, MatchError> {
            Ok(e.embed(texts)?)
        }
        let err = embed(&Broken, &["a"]).unwrap_err();
        assert_eq!(err.to_string(), "embedding: model file truncated");
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("model file truncated"));
        let err = embed(&Broken, &["a", "b", "c"]).unwrap_err();
        assert_eq!(err.to_string(), "embedding: 1 vectors for 3 texts");
        assert!(matches!(
            err,
            MatchError::Embed(EmbedError::Count {
                texts: 3,
                vectors: 1
            })
        ));
    }
}
