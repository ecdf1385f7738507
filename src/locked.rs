//! Secret text that stays out of swap: [`LockedText`] keeps its bytes in pages of its
//! own, locked in memory (`mlock`, Windows `VirtualLock`), wiped and unlocked when it is
//! dropped. The daemon keeps what it caches for a long time (keys, netrc text) in it.
//! Locking is best effort: past the locked-memory limit (`RLIMIT_MEMLOCK`) the text is
//! kept unlocked, and the daemon says so once in its log.

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::sync::atomic::{AtomicBool, Ordering};

use zeroize::Zeroize;

/// Whether a failure to lock was already logged.
static SAID: AtomicBool = AtomicBool::new(false);

/// UTF-8 text in locked pages of its own (a page is never shared with other data, so
/// unlocking it on drop cannot unlock anything else).
pub struct LockedText {
    ptr: *mut u8,
    len: usize,
    layout: Layout,
    locked: bool,
}

// SAFETY: the buffer is owned exclusively by this value and only read through `&self`.
unsafe impl Send for LockedText {}
// SAFETY: shared access only ever reads the buffer.
unsafe impl Sync for LockedText {}

impl LockedText {
    pub fn new(text: &str) -> Self {
        let page = crate::sys::page_size();
        let size = text.len().max(1).div_ceil(page) * page;
        let layout = Layout::from_size_align(size, page).expect("a page-aligned layout");
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        if ptr.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        let locked = match crate::sys::lock_pages(ptr, size) {
            Ok(()) => true,
            Err(e) => {
                if !SAID.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "cannot lock cached keys in memory (raise the locked-memory limit, ulimit -l); they are kept unlocked and may reach swap");
                }
                false
            }
        };
        // SAFETY: `ptr` is valid for `size >= text.len()` bytes and does not overlap `text`.
        unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), ptr, text.len()) };
        Self {
            ptr,
            len: text.len(),
            layout,
            locked,
        }
    }

    pub fn as_str(&self) -> &str {
        // SAFETY: the first `len` bytes were copied from a `&str` and never changed.
        unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(self.ptr, self.len)) }
    }

    /// Whether the pages are locked in memory.
    pub fn is_locked(&self) -> bool {
        self.locked
    }
}

impl Clone for LockedText {
    fn clone(&self) -> Self {
        Self::new(self.as_str())
    }
}

impl Drop for LockedText {
    fn drop(&mut self) {
        // SAFETY: the buffer is ours for `layout.size()` bytes until dealloc below.
        let bytes = unsafe { std::slice::from_raw_parts_mut(self.ptr, self.layout.size()) };
        bytes.zeroize();
        if self.locked {
            let _ = crate::sys::unlock_pages(self.ptr, self.layout.size());
        }
        // SAFETY: allocated in `new` with this very layout.
        unsafe { dealloc(self.ptr, self.layout) };
    }
}

impl std::fmt::Debug for LockedText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LockedText(****)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_text_in_pages_of_its_own() {
        let text = LockedText::new("wandb_v1_secret");
        assert_eq!(text.as_str(), "wandb_v1_secret");
        assert_eq!(text.ptr as usize % crate::sys::page_size(), 0);
        let copy = text.clone();
        drop(text);
        assert_eq!(copy.as_str(), "wandb_v1_secret");
        assert_eq!(LockedText::new("").as_str(), "");
        let long = "k".repeat(3 * crate::sys::page_size() + 1);
        assert_eq!(LockedText::new(&long).as_str(), long);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn locks_its_pages() {
        // Root, or any user within the default limit of a few MiB.
        let text = LockedText::new("wandb_v1_secret");
        assert!(text.is_locked());
    }
}
