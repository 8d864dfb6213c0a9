//! The service run inside the test process: [`InProcess`] calls `scar_guide::service::run`
//! with a shutdown future the test resolves, the way `main` passes the signals. For what needs
//! no real process (no exit code, signal or log): the Bot API calls and the HTTP server.

use std::collections::HashMap;
use std::thread::JoinHandle;
use std::time::Duration;

use scar_guide::config::Config;
use scar_guide::service;
use tokio::sync::oneshot;

use super::wait_until;
use crate::fake_api::{FakeTelegram, TOKEN};
use crate::util::content;

/// `service::run` on a runtime of its own (on a thread), against a [`FakeTelegram`].
/// Dropping it asks it to stop and waits for the end.
pub struct InProcess {
    stop: Option<oneshot::Sender<()>>,
    run: Option<JoinHandle<Result<(), String>>>,
}

impl InProcess {
    /// Runs the bot against `api` with the test token and `env` on top, as `scar-guide run`
    /// would with those variables and no others.
    pub fn start(api: &FakeTelegram, env: &[(&str, &str)]) -> Self {
        let mut vars: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        vars.insert("TELOXIDE_TOKEN".to_owned(), TOKEN.to_owned());
        vars.insert("TELOXIDE_API_URL".to_owned(), api.url());
        let config = Config::from_lookup(|name| vars.get(name).cloned())
            .unwrap_or_else(|errors| panic!("a valid configuration: {errors:?}"));
        let (stop, stopped) = oneshot::channel::<()>();
        let run = std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
            let shutdown = async move {
                // A dropped sender is a stop too.
                let _ = stopped.await;
            };
            runtime
                .block_on(service::run(config, content(), shutdown))
                .map_err(|err| err.to_string())
        });
        Self {
            stop: Some(stop),
            run: Some(run),
        }
    }

    /// Whether `service::run` has not returned.
    pub fn is_running(&self) -> bool {
        self.run.as_ref().is_some_and(|run| !run.is_finished())
    }

    /// Resolves the shutdown future and waits up to `deadline` for `run` to return `Ok`, as a
    /// clean stop after SIGTERM exits with status 0.
    pub fn stop_cleanly(&mut self, deadline: Duration) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let run = self.run.take().expect("the bot runs");
        wait_until(
            deadline,
            || "service::run to return".to_owned(),
            || run.is_finished().then_some(()),
        );
        let result = run.join().expect("service::run did not panic");
        assert_eq!(result, Ok(()), "service::run after the stop");
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(run) = self.run.take() {
            let _ = run.join();
        }
    }
}
