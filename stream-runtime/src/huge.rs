//! Transparent huge pages for the large tables a keyed state keeps across batches.
//!
//! A state of a million keys is a hash table of tens of MiB, and every key a batch brings is
//! looked up at a random place in it: with 4 KiB pages, each lookup also misses the TLB (the
//! page walk itself often misses the cache), and every page of a table that grows, or of a
//! copy of the state, faults in one at a time. Linux backs a region with 2 MiB pages when
//! asked (`madvise(MADV_HUGEPAGE)`; the default policy of many distributions,
//! `transparent_hugepage=madvise`, gives them to no one else). [`Huge`] is the allocator of
//! the state's tables: blocks of at least [`HUGE`] bytes are aligned to 2 MiB and advised;
//! smaller ones are the global allocator's. [`advise`] asks the same for the spare capacity
//! of a large `Vec` about to be filled (the copy of a state a batch outputs).

use std::alloc::Layout;
use std::mem::MaybeUninit;
use std::ptr::NonNull;

use allocator_api2::alloc::{AllocError, Allocator, Global};

/// The size of a huge page (x86_64, and aarch64 with 4 KiB base pages).
pub(crate) const HUGE: usize = 2 << 20;

/// The allocator of a keyed state's tables (see the module): the global allocator, with
/// blocks of at least [`HUGE`] bytes aligned to [`HUGE`] and backed by huge pages where the
/// system gives them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Huge;

impl Huge {
    /// The layout a block of `layout` is allocated with.
    fn layout(layout: Layout) -> Layout {
        if layout.size() >= HUGE {
            // Cannot fail: `HUGE` is a power of two, and a size that fits its layout's
            // alignment fits a larger one unless it is within `HUGE` of `isize::MAX`; then
            // the block keeps its own alignment.
            layout.align_to(HUGE).unwrap_or(layout)
        } else {
            layout
        }
    }
}

// SAFETY: every block comes from `Global` with `Huge::layout(layout)` and goes back to it with
// the same layout (the function is pure, and `deallocate` is given the layout `allocate`
// was), so `Global`'s guarantees carry over; the block handed out is at least `layout.size()`
// bytes aligned to at least `layout.align()`. `advise` changes no byte of memory.
#[allow(unsafe_code)]
unsafe impl Allocator for Huge {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let block = Global.allocate(Huge::layout(layout))?;
        advise_range(block.as_ptr().cast::<u8>(), block.len());
        Ok(block)
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: `ptr` was allocated by `Global` with `Huge::layout(layout)` (see above).
        unsafe { Global.deallocate(ptr, Huge::layout(layout)) }
    }
}

/// Asks for huge pages under the spare capacity of `v` when it spans at least [`HUGE`] bytes
/// (a hint: the contents do not change, and nothing fails).
pub(crate) fn advise<T>(v: &mut Vec<T>) {
    let spare: &mut [MaybeUninit<T>] = v.spare_capacity_mut();
    advise_range(spare.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(spare));
}

/// `madvise(MADV_HUGEPAGE)` over the whole huge pages inside `len` bytes at `start`, when
/// there are any.
fn advise_range(start: *mut u8, len: usize) {
    if len < HUGE {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        let first = (start as usize).next_multiple_of(HUGE);
        let end = (start as usize + len) / HUGE * HUGE;
        if first < end {
            // SAFETY: `[first, end)` lies inside the `len` bytes at `start`, memory this
            // process owns (a block of its allocator). `MADV_HUGEPAGE` only sets how the
            // kernel backs those pages: it reads and writes none of them, and an error (no
            // huge page support) leaves everything as it was, so it is ignored.
            #[allow(unsafe_code)]
            unsafe {
                libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = start;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_blocks_are_aligned_to_a_huge_page_and_small_ones_are_not_padded() {
        let big = Layout::from_size_align(HUGE + 5, 8).unwrap();
        assert_eq!(Huge::layout(big).align(), HUGE);
        assert_eq!(Huge::layout(big).size(), HUGE + 5);
        let small = Layout::from_size_align(4096, 16).unwrap();
        assert_eq!(Huge::layout(small), small);
    }

    #[test]
    fn a_table_in_huge_blocks_keeps_its_keys() {
        // Large enough that the table's block is above `HUGE` and is reallocated as it grows.
        let mut m: hashbrown::HashMap<u64, u64, crate::data::FastHasher, Huge> =
            hashbrown::HashMap::with_hasher_in(crate::data::FastHasher::default(), Huge);
        for i in 0..200_000u64 {
            m.insert(i, i * 3);
        }
        assert_eq!(m.len(), 200_000);
        assert!((0..200_000u64).all(|i| m.get(&i) == Some(&(i * 3))));
        m.retain(|k, _| k % 2 == 0);
        m.shrink_to_fit();
        assert!((0..200_000u64).all(|i| m.get(&i).copied() == (i % 2 == 0).then_some(i * 3)));
    }

    #[test]
    fn advising_a_vec_keeps_its_contents() {
        let mut v: Vec<u64> = (0..10).collect();
        v.reserve(HUGE);
        advise(&mut v);
        v.extend(10..HUGE as u64);
        assert!(v.iter().enumerate().all(|(i, x)| *x == i as u64));
    }
}
