//! The one graph walker, for apply and resume (forward: a step starts once
//! its dependencies are done) and for rollback (reverse: a step's undo
//! starts once everything that depends on it is undone). It knows nothing
//! of steps, stores or terminals: a [`Frontier`] says which step may start
//! next, a [`Visitor`] starts a step and judges how it ended, and [`walk`]
//! runs at most `parallelism` of them at once. `exec/forward.rs` and
//! `exec/rollback.rs` are its two visitors.

use std::collections::BinaryHeap;
use std::future::Future;

use tokio::task::JoinSet;

use crate::graph::Dag;

/// Which way the walk goes along the dependency edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Dependencies first; among ready steps, the earliest in execution order.
    Forward,
    /// Dependents first; among ready steps, the latest in execution order.
    Reverse,
}

/// What the walk does with a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mark {
    /// Visit it once everything before it is released.
    Visit,
    /// Nothing to do (done already, or nothing to undo): it releases what
    /// follows it as soon as everything before it is released.
    PassThrough,
    /// Not in this walk and not done: what follows it never starts.
    Hold,
}

/// The steps that may start, and what each still waits for.
pub(crate) struct Frontier {
    /// Per step, the steps its release may free: its dependents (forward)
    /// or its dependencies (reverse).
    follows: Vec<Vec<usize>>,
    /// Per step, how many steps before it are not released yet.
    waiting: Vec<usize>,
    marks: Vec<Mark>,
    /// Ready steps by priority (highest first), then index.
    ready: BinaryHeap<(usize, usize)>,
    priority: Vec<usize>,
}

impl Frontier {
    /// `dependencies[i]`: the steps step `i` depends on; `positions[i]`:
    /// its place in execution order.
    pub(crate) fn new(
        direction: Direction,
        dependencies: &[Vec<usize>],
        positions: &[usize],
        marks: Vec<Mark>,
    ) -> Self {
        let count = dependencies.len();
        let mut dependents = vec![Vec::new(); count];
        for (step, deps) in dependencies.iter().enumerate() {
            for &dependency in deps {
                dependents[dependency].push(step);
            }
        }
        let (before, follows) = match direction {
            Direction::Forward => (dependencies.to_vec(), dependents),
            Direction::Reverse => (dependents, dependencies.to_vec()),
        };
        let priority = positions
            .iter()
            .map(|&position| match direction {
                Direction::Forward => usize::MAX - position,
                Direction::Reverse => position,
            })
            .collect();
        let mut frontier = Frontier {
            follows,
            waiting: before.iter().map(Vec::len).collect(),
            marks,
            ready: BinaryHeap::new(),
            priority,
        };
        // The roots first, all of them: a root passing through frees steps
        // that must not be counted as roots too.
        let roots: Vec<usize> = (0..count).filter(|&step| frontier.waiting[step] == 0).collect();
        for step in roots {
            frontier.arrive(step);
        }
        frontier
    }

    /// The frontier of `dag`'s steps.
    pub(crate) fn of(dag: &Dag, direction: Direction, marks: Vec<Mark>) -> Self {
        let dependencies: Vec<Vec<usize>> = (0..dag.len()).map(|step| dag.dependencies(step)).collect();
        Frontier::new(direction, &dependencies, &dag.positions(), marks)
    }

    /// Everything before `step` is released.
    fn arrive(&mut self, step: usize) {
        match self.marks[step] {
            Mark::Visit => self.ready.push((self.priority[step], step)),
            Mark::PassThrough => self.release(step),
            Mark::Hold => {}
        }
    }

    /// `step` is done with: what follows it may start once nothing else holds it.
    pub(crate) fn release(&mut self, step: usize) {
        let mut freed = Vec::new();
        for &next in &self.follows[step] {
            self.waiting[next] -= 1;
            if self.waiting[next] == 0 {
                freed.push(next);
            }
        }
        for next in freed {
            self.arrive(next);
        }
    }

    /// The next step to start, if one is ready.
    pub(crate) fn pop(&mut self) -> Option<usize> {
        self.ready.pop().map(|(_, step)| step)
    }
}

/// What the walk asks of its user.
pub(crate) trait Visitor {
    /// What a step's task gives back.
    type Ended: Send + 'static;
    type Error: From<Panicked>;

    /// Whether nothing new may start (an interrupt, a failure).
    fn stopping(&self) -> bool;

    /// The task that runs `step`, spawned as it is.
    fn start(&mut self, step: usize) -> impl Future<Output = Self::Ended> + Send + 'static;

    /// `step` ended: records it; `Ok(true)` releases what follows it.
    fn ended(&mut self, step: usize, ended: Self::Ended) -> impl Future<Output = Result<bool, Self::Error>>;

    /// The walk is about to wait for a running step to end, having started
    /// what it could.
    fn waiting(&mut self) -> impl Future<Output = Result<(), Self::Error>> {
        async { Ok(()) }
    }
}

/// A step's task panicked: a bug in planrun (or in a kind), not an outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Panicked {
    pub(crate) step: usize,
    pub(crate) message: String,
}

/// Walks `frontier` with `visitor`, at most `parallelism` steps at once,
/// until no step is ready and none runs. After a panic nothing new starts;
/// the running steps end and are recorded, then the panic is returned.
pub(crate) async fn walk<V: Visitor>(
    frontier: &mut Frontier,
    parallelism: usize,
    visitor: &mut V,
) -> Result<(), V::Error> {
    let mut running: JoinSet<(usize, V::Ended)> = JoinSet::new();
    let mut tasks = std::collections::HashMap::new();
    let mut panicked: Option<Panicked> = None;
    loop {
        while panicked.is_none() && !visitor.stopping() && running.len() < parallelism.max(1) {
            let Some(step) = frontier.pop() else { break };
            let task = visitor.start(step);
            let handle = running.spawn(async move { (step, task.await) });
            tasks.insert(handle.id(), step);
        }
        visitor.waiting().await?;
        let Some(joined) = running.join_next_with_id().await else {
            break;
        };
        match joined {
            Ok((id, (step, ended))) => {
                tasks.remove(&id);
                if visitor.ended(step, ended).await? {
                    frontier.release(step);
                }
            }
            Err(error) => {
                let step = tasks.remove(&error.id()).unwrap_or(usize::MAX);
                let message = if error.is_panic() {
                    panic_message(error.into_panic())
                } else {
                    "its task was cancelled".to_string()
                };
                panicked.get_or_insert(Panicked { step, message });
            }
        }
    }
    match panicked {
        Some(panicked) => Err(panicked.into()),
        None => Ok(()),
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// A fake step: how long it takes and whether it passes.
    #[derive(Clone, Copy)]
    struct Fake {
        millis: u64,
        passes: bool,
        panics: bool,
    }

    const OK: Fake = Fake {
        millis: 0,
        passes: true,
        panics: false,
    };

    /// (The tests run on paused time: a fake's sleep ends only once every
    /// task is idle, so "running at once" does not depend on the machine.)
    ///
    /// Visits fakes, records the order they started and ended in, the
    /// largest number running at once, and stops after `stop_after` ends.
    struct Recorder {
        fakes: Vec<Fake>,
        started: Vec<usize>,
        ended: Vec<usize>,
        /// Starts (`true`) and ends, in the order the walker made them.
        events: Vec<(bool, usize)>,
        now: Arc<AtomicUsize>,
        peak: Arc<AtomicUsize>,
        stop_after: usize,
        stop_on_failure: bool,
        failed: bool,
    }

    impl Recorder {
        fn new(fakes: Vec<Fake>) -> Self {
            Recorder {
                fakes,
                started: Vec::new(),
                ended: Vec::new(),
                events: Vec::new(),
                now: Arc::default(),
                peak: Arc::default(),
                stop_after: usize::MAX,
                stop_on_failure: true,
                failed: false,
            }
        }
    }

    #[derive(Debug, PartialEq)]
    enum TestError {
        Panicked(Panicked),
    }

    impl From<Panicked> for TestError {
        fn from(panicked: Panicked) -> Self {
            TestError::Panicked(panicked)
        }
    }

    impl Visitor for Recorder {
        type Ended = bool;
        type Error = TestError;

        fn stopping(&self) -> bool {
            self.ended.len() >= self.stop_after || (self.failed && self.stop_on_failure)
        }

        fn start(&mut self, step: usize) -> impl Future<Output = bool> + Send + 'static {
            self.started.push(step);
            self.events.push((true, step));
            let fake = self.fakes[step];
            let (now, peak) = (self.now.clone(), self.peak.clone());
            async move {
                let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(running, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(fake.millis)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                assert!(!fake.panics, "fake step {step} panics");
                fake.passes
            }
        }

        async fn ended(&mut self, step: usize, passed: bool) -> Result<bool, TestError> {
            self.ended.push(step);
            self.events.push((false, step));
            self.failed |= !passed;
            Ok(passed)
        }
    }

    fn identity(count: usize) -> Vec<usize> {
        (0..count).collect()
    }

    async fn run(
        direction: Direction,
        deps: &[Vec<usize>],
        marks: Vec<Mark>,
        recorder: &mut Recorder,
        parallelism: usize,
    ) -> Result<(), TestError> {
        let mut frontier = Frontier::new(direction, deps, &identity(deps.len()), marks);
        walk(&mut frontier, parallelism, recorder).await
    }

    /// a → b → d, a → c → d, e alone.
    fn diamond() -> Vec<Vec<usize>> {
        vec![vec![], vec![0], vec![0], vec![1, 2], vec![]]
    }

    #[tokio::test(start_paused = true)]
    async fn forward_starts_a_step_only_after_its_dependencies_in_execution_order() {
        let mut recorder = Recorder::new(vec![OK; 5]);
        run(Direction::Forward, &diamond(), vec![Mark::Visit; 5], &mut recorder, 1)
            .await
            .expect("the walk ends");
        assert_eq!(recorder.started, vec![0, 1, 2, 3, 4]);
    }

    #[tokio::test(start_paused = true)]
    async fn reverse_undoes_dependents_before_their_dependencies_latest_first() {
        let mut recorder = Recorder::new(vec![OK; 5]);
        run(Direction::Reverse, &diamond(), vec![Mark::Visit; 5], &mut recorder, 1)
            .await
            .expect("the walk ends");
        assert_eq!(recorder.started, vec![4, 3, 2, 1, 0]);
    }

    #[tokio::test(start_paused = true)]
    async fn reverse_passes_through_steps_with_nothing_to_undo() {
        let mut recorder = Recorder::new(vec![OK; 5]);
        let marks = vec![
            Mark::Visit,
            Mark::PassThrough,
            Mark::PassThrough,
            Mark::PassThrough,
            Mark::Visit,
        ];
        run(Direction::Reverse, &diamond(), marks, &mut recorder, 1)
            .await
            .expect("the walk ends");
        assert_eq!(recorder.started, vec![4, 0]);
    }

    #[tokio::test(start_paused = true)]
    async fn forward_treats_done_steps_as_released_and_held_steps_as_blocking() {
        let mut recorder = Recorder::new(vec![OK; 5]);
        // a done, b to run, c held (neither done nor in this walk): d never starts.
        let marks = vec![Mark::PassThrough, Mark::Visit, Mark::Hold, Mark::Visit, Mark::Visit];
        run(Direction::Forward, &diamond(), marks, &mut recorder, 1)
            .await
            .expect("the walk ends");
        assert_eq!(recorder.started, vec![1, 4]);
    }

    #[tokio::test(start_paused = true)]
    async fn never_runs_more_than_parallelism_steps_at_once() {
        let fakes = vec![
            Fake {
                millis: 30,
                passes: true,
                panics: false
            };
            8
        ];
        let deps = vec![Vec::new(); 8];
        for (parallelism, expected) in [(1, 1), (3, 3), (16, 8)] {
            let mut recorder = Recorder::new(fakes.clone());
            run(
                Direction::Forward,
                &deps,
                vec![Mark::Visit; 8],
                &mut recorder,
                parallelism,
            )
            .await
            .expect("the walk ends");
            assert_eq!(
                recorder.peak.load(Ordering::SeqCst),
                expected,
                "parallelism {parallelism}"
            );
            assert_eq!(recorder.ended.len(), 8);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_blocks_its_dependents_and_nothing_new_starts_after_it() {
        let mut fakes = vec![OK; 5];
        fakes[1].passes = false;
        let mut recorder = Recorder::new(fakes);
        run(Direction::Forward, &diamond(), vec![Mark::Visit; 5], &mut recorder, 1)
            .await
            .expect("the walk ends");
        assert_eq!(recorder.started, vec![0, 1]);
    }

    #[tokio::test(start_paused = true)]
    async fn keep_going_runs_everything_a_failure_does_not_block() {
        let mut fakes = vec![OK; 5];
        fakes[1].passes = false;
        let mut recorder = Recorder::new(fakes);
        recorder.stop_on_failure = false;
        run(Direction::Forward, &diamond(), vec![Mark::Visit; 5], &mut recorder, 1)
            .await
            .expect("the walk ends");
        // d waits on the failed b: never started.
        assert_eq!(recorder.started, vec![0, 1, 2, 4]);
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_stop_running_steps_end_and_nothing_new_starts() {
        let fakes = vec![
            Fake {
                millis: 20,
                passes: true,
                panics: false
            };
            6
        ];
        let mut recorder = Recorder::new(fakes);
        recorder.stop_after = 1;
        run(
            Direction::Forward,
            &[Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new()],
            vec![Mark::Visit; 6],
            &mut recorder,
            2,
        )
        .await
        .expect("the walk ends");
        // Two started together; once one ended (the stop), the other still ended.
        assert_eq!(recorder.started, vec![0, 1]);
        assert_eq!(recorder.ended.len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_step_is_returned_as_such_after_the_others_end() {
        let mut fakes = vec![
            Fake {
                millis: 20,
                passes: true,
                panics: false
            };
            3
        ];
        fakes[0] = Fake {
            millis: 0,
            passes: true,
            panics: true,
        };
        let mut recorder = Recorder::new(fakes);
        let error = run(
            Direction::Forward,
            &[Vec::new(), Vec::new(), Vec::new()],
            vec![Mark::Visit; 3],
            &mut recorder,
            2,
        )
        .await
        .expect_err("a panic is an error");
        let TestError::Panicked(panicked) = error;
        assert_eq!(panicked.step, 0);
        assert!(panicked.message.contains("fake step 0 panics"), "{}", panicked.message);
        // Step 1 was running: it ended and was recorded; step 2 never started.
        assert_eq!(recorder.ended, vec![1]);
        assert_eq!(recorder.started, vec![0, 1]);
    }

    /// Any graph, any marks, any parallelism: every step is visited at most
    /// once, only after everything before it ended (or passed through), and
    /// exactly the steps nothing held back are visited.
    fn check_any_graph(direction: Direction, edges: &[(usize, usize)], marks: &[u8], parallelism: usize) {
        let count = marks.len();
        let mut deps = vec![Vec::new(); count];
        for &(a, b) in edges {
            let (low, high) = (a.min(b) % count, a.max(b) % count);
            if low != high && !deps[high].contains(&low) {
                deps[high].push(low);
            }
        }
        let marks: Vec<Mark> = marks
            .iter()
            .map(|m| match m % 4 {
                0 => Mark::PassThrough,
                1 => Mark::Hold,
                _ => Mark::Visit,
            })
            .collect();
        let mut recorder = Recorder::new(vec![OK; count]);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("a runtime");
        runtime
            .block_on(run(direction, &deps, marks.clone(), &mut recorder, parallelism))
            .expect("the walk ends");
        // `before[s]`: what must be released before s.
        let before = |s: usize| -> Vec<usize> {
            match direction {
                Direction::Forward => deps[s].clone(),
                Direction::Reverse => (0..count).filter(|&d| deps[d].contains(&s)).collect(),
            }
        };
        let mut released = vec![false; count];
        let mut seen = vec![false; count];
        // Replays: a step released when visited, or when passing through.
        let mut progress = true;
        let mut expected_visits = Vec::new();
        while progress {
            progress = false;
            for s in 0..count {
                if released[s] || seen[s] || !before(s).iter().all(|&b| released[b]) {
                    continue;
                }
                match marks[s] {
                    Mark::PassThrough => {
                        released[s] = true;
                        progress = true;
                    }
                    Mark::Visit => {
                        seen[s] = true;
                        released[s] = true;
                        expected_visits.push(s);
                        progress = true;
                    }
                    Mark::Hold => {}
                }
            }
        }
        let mut visited = recorder.started.clone();
        visited.sort_unstable();
        expected_visits.sort_unstable();
        assert_eq!(visited, expected_visits, "deps {deps:?} marks {marks:?}");
        // Each visit started after every visited step before it ended.
        let mut ended = vec![false; count];
        for &(start, step) in &recorder.events {
            if !start {
                ended[step] = true;
                continue;
            }
            for b in before(step) {
                assert!(
                    ended[b] || marks[b] == Mark::PassThrough,
                    "{step} started before {b} ended: deps {deps:?} marks {marks:?}"
                );
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn any_graph_is_walked_once_in_dependency_order(
            edges in proptest::collection::vec((0usize..12, 0usize..12), 0..30),
            marks in proptest::collection::vec(0u8..4, 1..12),
            parallelism in 1usize..4,
            reverse in proptest::bool::ANY,
        ) {
            let direction = if reverse { Direction::Reverse } else { Direction::Forward };
            check_any_graph(direction, &edges, &marks, parallelism);
        }
    }
}
