//! [`State`]: the state of one key as a `map_with_state` function sees it.

/// A misuse of [`State`], with Spark's messages. The call that returns it leaves the state
/// unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// [`State::get`] on a key without state (Spark's `NoSuchElementException`).
    #[error("State is not set")]
    NotSet,
    /// [`State::update`] after [`State::remove`].
    #[error("requirement failed: Cannot update the state after it has been removed")]
    UpdateAfterRemove,
    /// [`State::update`] in the call that reports a timeout.
    #[error("requirement failed: Cannot update the state that is timing out")]
    UpdateWhileTimingOut,
    /// [`State::remove`] in the call that reports a timeout.
    #[error("requirement failed: Cannot remove the state that is timing out")]
    RemoveWhileTimingOut,
    /// A second [`State::remove`].
    #[error("requirement failed: Cannot remove the state that has already been removed")]
    AlreadyRemoved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Untouched,
    Updated,
    Removed,
    TimingOut,
}

/// The state of one key during a `map_with_state` call (Spark's `State[S]`): read it, set it
/// with [`update`](Self::update) or delete it with [`remove`](Self::remove). Misuse returns a
/// typed [`StateError`] with Spark's message instead of throwing.
///
/// ```
/// use stream_runtime::{State, StateError};
/// let mut s: State<i32> = State::new(None);
/// assert!(!s.exists());
/// assert_eq!(s.get(), Err(StateError::NotSet));
/// s.update(2).unwrap();
/// assert_eq!(s.get(), Ok(&2));
/// s.remove().unwrap();
/// assert!(!s.exists());
/// assert_eq!(s.update(3).unwrap_err().to_string(), "requirement failed: Cannot update the state after it has been removed");
/// assert_eq!(s.remove(), Err(StateError::AlreadyRemoved));
///
/// let mut t = State::timing_out(3);
/// assert!(t.is_timing_out());
/// assert_eq!(t.get(), Ok(&3));
/// assert_eq!(t.update(4), Err(StateError::UpdateWhileTimingOut));
/// assert_eq!(t.remove(), Err(StateError::RemoveWhileTimingOut));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State<S> {
    value: Option<S>,
    phase: Phase,
}

impl<S> State<S> {
    /// The state of a key that has state `value` (`None`: no state yet), as the mapping
    /// function sees it for a record; for unit-testing mapping functions.
    pub fn new(value: Option<S>) -> Self {
        State { value, phase: Phase::Untouched }
    }

    /// The state of a key that is timing out, as the mapping function sees it then.
    pub fn timing_out(value: S) -> Self {
        State { value: Some(value), phase: Phase::TimingOut }
    }

    /// Whether the key has state.
    pub fn exists(&self) -> bool {
        self.value.is_some()
    }

    /// The state, or [`StateError::NotSet`].
    pub fn get(&self) -> Result<&S, StateError> {
        self.value.as_ref().ok_or(StateError::NotSet)
    }

    /// The state, if any.
    pub fn get_option(&self) -> Option<&S> {
        self.value.as_ref()
    }

    /// Sets the state. Refused after [`remove`](Self::remove) and while timing out.
    pub fn update(&mut self, value: S) -> Result<(), StateError> {
        match self.phase {
            Phase::Removed => Err(StateError::UpdateAfterRemove),
            Phase::TimingOut => Err(StateError::UpdateWhileTimingOut),
            Phase::Untouched | Phase::Updated => {
                self.value = Some(value);
                self.phase = Phase::Updated;
                Ok(())
            }
        }
    }

    /// Deletes the state. Refused while timing out and a second time.
    pub fn remove(&mut self) -> Result<(), StateError> {
        match self.phase {
            Phase::TimingOut => Err(StateError::RemoveWhileTimingOut),
            Phase::Removed => Err(StateError::AlreadyRemoved),
            Phase::Untouched | Phase::Updated => {
                self.value = None;
                self.phase = Phase::Removed;
                Ok(())
            }
        }
    }

    /// Whether this call reports that the key timed out; its state is removed after the call.
    pub fn is_timing_out(&self) -> bool {
        self.phase == Phase::TimingOut
    }

    /// Whether [`update`](Self::update) was called.
    pub fn is_updated(&self) -> bool {
        self.phase == Phase::Updated
    }

    /// Whether [`remove`](Self::remove) was called.
    pub fn is_removed(&self) -> bool {
        self.phase == Phase::Removed
    }

    /// What to keep after the call: `None` to delete the key, else the state and whether it
    /// was updated.
    pub(crate) fn outcome(self) -> Option<(S, bool)> {
        match self.phase {
            Phase::Removed | Phase::TimingOut => None,
            Phase::Updated | Phase::Untouched => self.value.map(|v| (v, self.phase == Phase::Updated)),
        }
    }
}

impl<S: std::fmt::Display> std::fmt::Display for State<S> {
    /// The state, or `<state not set>` (Spark's `toString`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            Some(v) => v.fmt(f),
            None => f.write_str("<state not set>"),
        }
    }
}
