//! [`State`]: the state of one key as a `map_with_state` function sees it.

/// A misuse of [`State`], with Spark's messages. The call that makes it leaves the state
/// unchanged; [`State::update`] and [`State::remove`] record it (and the batch then fails
/// with [`BatchError::State`](crate::BatchError::State)), [`State::try_update`] and
/// [`State::try_remove`] return it.
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
/// with [`update`](Self::update) or delete it with [`remove`](Self::remove).
///
/// As in Spark, `update` and `remove` return nothing. A misuse (an update after a remove, an
/// update or remove of a state that is timing out, a second remove) leaves the state
/// unchanged and is recorded in it ([`error`](Self::error)); `map_with_state` then fails the
/// batch with [`BatchError::State`](crate::BatchError::State), whose message is Spark's. Code
/// that wants to handle the misuse itself calls [`try_update`](Self::try_update) and
/// [`try_remove`](Self::try_remove), which return it and record nothing.
///
/// ```
/// use stream_runtime::{State, StateError};
/// let mut s: State<i32> = State::new(None);
/// assert!(!s.exists());
/// assert_eq!(s.get(), Err(StateError::NotSet));
/// s.update(2);
/// assert_eq!(s.get(), Ok(&2));
/// s.remove();
/// assert!(!s.exists());
/// assert_eq!(s.error(), None);
/// s.update(3);
/// assert_eq!(s.error(), Some(StateError::UpdateAfterRemove));
/// assert_eq!(s.error().unwrap().to_string(), "requirement failed: Cannot update the state after it has been removed");
/// assert_eq!(s.try_remove(), Err(StateError::AlreadyRemoved));
///
/// let mut t = State::timing_out(3);
/// assert!(t.is_timing_out());
/// assert_eq!(t.get(), Ok(&3));
/// assert_eq!(t.try_update(4), Err(StateError::UpdateWhileTimingOut));
/// assert_eq!(t.try_remove(), Err(StateError::RemoveWhileTimingOut));
/// assert_eq!(t.error(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State<S> {
    value: Option<S>,
    phase: Phase,
    /// The first misuse by `update` or `remove`.
    error: Option<StateError>,
}

impl<S> State<S> {
    /// The state of a key that has state `value` (`None`: no state yet), as the mapping
    /// function sees it for a record; for unit-testing mapping functions.
    pub fn new(value: Option<S>) -> Self {
        State { value, phase: Phase::Untouched, error: None }
    }

    /// The state of a key that is timing out, as the mapping function sees it then.
    pub fn timing_out(value: S) -> Self {
        State { value: Some(value), phase: Phase::TimingOut, error: None }
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

    /// Sets the state (Spark's `update`). After [`remove`](Self::remove) or while timing out
    /// the state is left unchanged and the misuse recorded: the batch then fails with Spark's
    /// message (see [`error`](Self::error)).
    ///
    /// ```
    /// use stream_runtime::State;
    /// let mut s = State::new(Some(1));
    /// s.update(s.get_option().copied().unwrap_or(0) + 1);
    /// assert_eq!(s.get_option(), Some(&2));
    /// ```
    pub fn update(&mut self, value: S) {
        if let Err(e) = self.try_update(value) {
            self.error.get_or_insert(e);
        }
    }

    /// Deletes the state (Spark's `remove`). While timing out or a second time the state is
    /// left unchanged and the misuse recorded (see [`error`](Self::error)).
    ///
    /// ```
    /// use stream_runtime::State;
    /// let mut s = State::new(Some(1));
    /// s.remove();
    /// assert!(!s.exists() && s.is_removed());
    /// ```
    pub fn remove(&mut self) {
        if let Err(e) = self.try_remove() {
            self.error.get_or_insert(e);
        }
    }

    /// [`update`](Self::update), returning a misuse instead of recording it.
    ///
    /// ```
    /// use stream_runtime::{State, StateError};
    /// let mut s = State::timing_out(1);
    /// assert_eq!(s.try_update(2), Err(StateError::UpdateWhileTimingOut));
    /// assert_eq!(s.get(), Ok(&1));
    /// ```
    pub fn try_update(&mut self, value: S) -> Result<(), StateError> {
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

    /// [`remove`](Self::remove), returning a misuse instead of recording it.
    ///
    /// ```
    /// use stream_runtime::{State, StateError};
    /// let mut s = State::new(Some(1));
    /// assert_eq!(s.try_remove(), Ok(()));
    /// assert_eq!(s.try_remove(), Err(StateError::AlreadyRemoved));
    /// ```
    pub fn try_remove(&mut self) -> Result<(), StateError> {
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

    /// The first misuse of [`update`](Self::update) or [`remove`](Self::remove) in this call,
    /// if any; `map_with_state` fails the batch with it.
    ///
    /// ```
    /// use stream_runtime::{State, StateError};
    /// let mut s = State::timing_out(1);
    /// s.remove();
    /// assert_eq!(s.error(), Some(StateError::RemoveWhileTimingOut));
    /// ```
    pub fn error(&self) -> Option<StateError> {
        self.error
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
    /// was updated; or the misuse the call made.
    pub(crate) fn outcome(self) -> Result<Option<(S, bool)>, StateError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        Ok(match self.phase {
            Phase::Removed | Phase::TimingOut => None,
            Phase::Updated | Phase::Untouched => self.value.map(|v| (v, self.phase == Phase::Updated)),
        })
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
