//! Columns: one value or none per key slot of a window partition, for one batch or a run of
//! consecutive batches (their fold, slot by slot), and the few passes the time-major window
//! makes over them.
//!
//! A column is a dense vector indexed by slot; `None` (and a missing tail: a column may be
//! shorter than the partition's slot count) is the identity of the fold, so combining two
//! columns is one sequential pass, whatever the keys.

/// One value or none per slot.
pub(crate) type Column<V> = Vec<Option<V>>;

/// Slot `s` of `col`: `None` past its end.
#[inline]
pub(crate) fn at<V>(col: &[Option<V>], s: usize) -> Option<&V> {
    col.get(s).and_then(Option::as_ref)
}

/// `*d = *d ⊕ v` (`d` the older), where `None` is the identity.
#[inline]
fn fold_newer<V: Clone>(d: &mut Option<V>, v: &V, f: &impl Fn(V, V) -> V) {
    *d = Some(match d.take() {
        Some(old) => f(old, v.clone()),
        None => v.clone(),
    });
}

/// `*d = v ⊕ *d` (`v` the older), where `None` is the identity.
#[inline]
fn fold_older<V: Clone>(d: &mut Option<V>, v: &V, f: &impl Fn(V, V) -> V) {
    *d = Some(match d.take() {
        Some(new) => f(v.clone(), new),
        None => v.clone(),
    });
}

/// `dst = dst ⊕ src` slot by slot (`dst` the older): one pass over `src`.
pub(crate) fn append<V: Clone>(dst: &mut Column<V>, src: &[Option<V>], f: &impl Fn(V, V) -> V) {
    if dst.len() < src.len() {
        dst.resize(src.len(), None);
    }
    for (d, s) in dst.iter_mut().zip(src) {
        if let Some(s) = s {
            fold_newer(d, s, f);
        }
    }
}

/// Folds one batch's `(slot, value)` partials into `dst` on its newer side, in their order.
pub(crate) fn append_batch<'v, V: Clone + 'v>(
    dst: &mut Column<V>,
    partials: impl Iterator<Item = (u32, &'v V)>,
    f: &impl Fn(V, V) -> V,
) {
    fold_batch(dst, partials, |d, v| fold_newer(d, v, f));
}

/// Folds one batch's `(slot, value)` partials into `dst` on its older side; `partials` come
/// newest first (the batch's order reversed), so a key named twice folds in order.
pub(crate) fn prepend_batch<'v, V: Clone + 'v>(
    dst: &mut Column<V>,
    partials: impl Iterator<Item = (u32, &'v V)>,
    f: &impl Fn(V, V) -> V,
) {
    fold_batch(dst, partials, |d, v| fold_older(d, v, f));
}

/// `fold(dst[slot], value)` for each partial, growing `dst` to the slot.
fn fold_batch<'v, V: Clone + 'v>(
    dst: &mut Column<V>,
    partials: impl Iterator<Item = (u32, &'v V)>,
    fold: impl Fn(&mut Option<V>, &V),
) {
    for (s, v) in partials {
        let s = s as usize;
        if dst.len() <= s {
            dst.resize(s + 1, None);
        }
        fold(&mut dst[s], v);
    }
}

/// Spare column buffers, so a steady window allocates nothing: a column that leaves comes
/// back for the next one made.
#[derive(Debug)]
pub(crate) struct Pool<V>(Vec<Column<V>>);

/// Spare buffers kept at most: a slide frees and takes a few, a chunk's turn a few more.
const SPARE: usize = 32;

impl<V: Clone> Pool<V> {
    pub(crate) fn new() -> Self {
        Pool(Vec::new())
    }

    /// An empty column.
    pub(crate) fn take(&mut self) -> Column<V> {
        self.0.pop().unwrap_or_default()
    }

    /// A copy of `src`.
    pub(crate) fn copy(&mut self, src: &[Option<V>]) -> Column<V> {
        let mut c = self.take();
        c.extend_from_slice(src);
        c
    }

    /// Takes `col` back for reuse.
    pub(crate) fn give(&mut self, mut col: Column<V>) {
        if self.0.len() < SPARE {
            col.clear();
            self.0.push(col);
        }
    }

    /// Takes back `col`, if any.
    pub(crate) fn give_opt(&mut self, col: Option<Column<V>>) {
        if let Some(c) = col {
            self.give(c);
        }
    }
}
