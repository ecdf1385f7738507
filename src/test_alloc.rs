//! Unit tests only: the process allocator, which on a thread that asks for it checks
//! every block given back for a marker, so a test can show that secret bytes were wiped
//! before their memory was freed (what `zeroize` promises).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

pub struct Scanning;

thread_local! {
    static MARKER: Cell<Option<&'static [u8]>> = const { Cell::new(None) };
    static FOUND: Cell<usize> = const { Cell::new(0) };
}

fn watching() -> Option<&'static [u8]> {
    MARKER.try_with(Cell::get).ok().flatten()
}

// SAFETY: every call is passed to the system allocator unchanged; the only addition is
// reading a block that is about to be freed, which the caller still owns.
unsafe impl GlobalAlloc for Scanning {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as the caller promised for this layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(marker) = watching() {
            // SAFETY: the block is `layout.size()` bytes, allocated and not yet freed.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            if block.windows(marker.len()).any(|w| w == marker) {
                let _ = FOUND.try_with(|f| f.set(f.get() + 1));
            }
        }
        // SAFETY: as the caller promised.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if watching().is_none() {
            // SAFETY: as the caller promised.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // Moved by hand, so that the old block is checked as it is freed.
        // SAFETY: a valid layout of the same alignment; the copy stays within both blocks.
        unsafe {
            let new = self.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}

/// Starts checking freed blocks on this thread for `marker`.
pub fn watch(marker: &'static [u8]) {
    FOUND.with(|f| f.set(0));
    MARKER.with(|m| m.set(Some(marker)));
}

/// Stops checking; how many freed blocks still held the marker.
pub fn stop() -> usize {
    MARKER.with(|m| m.set(None));
    FOUND.with(Cell::get)
}
