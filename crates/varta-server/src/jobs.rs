//! Detector runs started over HTTP: each is a job on the writer thread whose state and progress
//! a client polls (`GET /api/v1/jobs/{id}`).

use crate::error::ApiResult;
use crate::state::State;
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use utoipa::ToSchema;
use varta_app::{Notice, Observer, Progress};

/// A detector the API can run, with the defaults `varta detect` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Detector {
    /// Copy-paste campaigns (`varta detect campaigns`).
    Campaigns,
    /// Coordinated groups (`varta detect coordination`).
    Coordination,
    /// Repeated debunked claims (`varta detect claims`; semantic when the e5 model is installed).
    Claims,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
}

/// A job as a client sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Job {
    pub id: u64,
    pub detector: Detector,
    pub state: JobState,
    pub queued_at: chrono::DateTime<chrono::Utc>,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The step running now ("embedding documents").
    pub step: Option<String>,
    /// Units of the step done, and its size when known.
    pub done: u64,
    pub total: Option<u64>,
    /// What the run found (counts), when done.
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    pub error: Option<String>,
}

struct JobObserver(Arc<Mutex<Job>>);
struct JobProgress(Arc<Mutex<Job>>);

impl Progress for JobProgress {
    fn inc(&self, n: u64) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).done += n;
    }
    fn inc_total(&self, n: u64) {
        let mut j = self.0.lock().unwrap_or_else(|p| p.into_inner());
        j.total = Some(j.total.unwrap_or(0) + n);
    }
    fn message(&self, _: &str) {}
    fn finish(&self) {}
}

impl Observer for JobObserver {
    fn start(&self, what: &str, total: Option<u64>) -> Box<dyn Progress> {
        {
            let mut j = self.0.lock().unwrap_or_else(|p| p.into_inner());
            j.step = Some(what.to_string());
            j.done = 0;
            j.total = total;
        }
        Box::new(JobProgress(self.0.clone()))
    }
    fn notice(&self, notice: Notice) {
        varta_app::Logged.notice(notice);
    }
}

/// Queues a run of `detector`; returns the job.
pub fn start(state: &Arc<State>, detector: Detector) -> ApiResult<Job> {
    let id = state.next_job.fetch_add(1, Ordering::Relaxed) as u64;
    let job = Arc::new(Mutex::new(Job {
        id,
        detector,
        state: JobState::Queued,
        queued_at: chrono::Utc::now(),
        started_at: None,
        finished_at: None,
        step: None,
        done: 0,
        total: None,
        result: None,
        error: None,
    }));
    {
        let mut jobs = state.jobs.lock().unwrap_or_else(|p| p.into_inner());
        // Keep the last thousand jobs.
        while jobs.len() >= 1000 {
            let Some(first) = jobs.keys().next().copied() else {
                break;
            };
            jobs.remove(&first);
        }
        jobs.insert(id, job.clone());
    }
    let (data_dir, model) = (state.dir.clone(), state.options.model.clone());
    let j = job.clone();
    state.submit(Box::new(move |store| {
        {
            let mut g = j.lock().unwrap_or_else(|p| p.into_inner());
            g.state = JobState::Running;
            g.started_at = Some(chrono::Utc::now());
        }
        let observer = JobObserver(j.clone());
        let outcome = run(store, detector, &data_dir, model.as_deref(), &observer);
        let mut g = j.lock().unwrap_or_else(|p| p.into_inner());
        g.finished_at = Some(chrono::Utc::now());
        match outcome {
            Ok(v) => {
                g.state = JobState::Done;
                g.result = Some(v);
            }
            Err(e) => {
                tracing::warn!(job = g.id, error = %e.message, "detector job failed");
                g.state = JobState::Failed;
                g.error = Some(e.message);
            }
        }
    }))?;
    let snapshot = job.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Ok(snapshot)
}

fn run(
    store: &mut varta_store::EmbeddedStore,
    detector: Detector,
    data_dir: &std::path::Path,
    model: Option<&std::path::Path>,
    observer: &dyn Observer,
) -> ApiResult<serde_json::Value> {
    let v = match detector {
        Detector::Campaigns => {
            let found = varta_app::detect::campaigns(
                store,
                varta_detect::campaigns::Params::default(),
                None,
            )?;
            serde_json::json!({"documents": found.documents, "campaigns": found.found.len()})
        }
        Detector::Coordination => {
            let params = varta_detect::coord::network::Params::default();
            let found = varta_app::coord::detect(store, &params, None)?;
            serde_json::json!({"groups": found.groups().count()})
        }
        Detector::Claims => {
            let (embedder, params) = varta_app::claims::match_setup(
                false,
                model,
                data_dir,
                &Default::default(),
                observer,
            )?;
            let r = varta_app::claims::detect(
                store,
                embedder.as_deref(),
                &params,
                None,
                varta_app::claims::DETECT_PAGE,
                observer,
            )?;
            serde_json::json!({"documents": r.documents, "claims": r.claims, "semantic": r.semantic, "matches": r.matches, "suggestions": r.suggestions})
        }
    };
    Ok(v)
}
