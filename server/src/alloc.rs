//! The process's allocator: jemalloc, with SurrealKV's memtable made
//! resident when it is allocated.
//!
//! - **jemalloc.** A bulk load spent a quarter of its time in glibc's
//!   malloc and free (SurrealDB allocates per field, per index entry and per
//!   key). mimalloc, used before, kept about 3 MB a minute of freed memory
//!   under a steady mixed load; jemalloc returns freed pages to the system
//!   after its ten-second decay, on its own background thread. See
//!   docs/PERFORMANCE.md, "The allocator" and "Soak".
//! - **The memtable.** SurrealKV allocates each memtable's arena whole
//!   (`max_memtable_size` zeroed bytes) but the system only maps a page
//!   when a write first lands on it, so the server's resident memory crept
//!   up for as long as a memtable lasted (some 40 minutes at 40 events a
//!   second with the default 256 MiB) and fell at each flush: growth that
//!   looked like a leak and hid how much memory the server would use. The
//!   arena is now faulted in when it is allocated, as a JVM's
//!   `AlwaysPreTouch` does for its heap: the memory a store is configured
//!   with is resident from the start.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};

use tikv_jemallocator::Jemalloc;

/// The allocator of the `mlgraph` binary.
pub struct Allocator;

/// The size of a zeroed allocation to fault in at once: the memtable's.
/// 0 until an embedded store is opened.
static RESIDENT_SIZE: AtomicUsize = AtomicUsize::new(0);

/// The system's page size on every platform mlgraph runs on; touching one
/// byte in each 4 KiB faults in every page of a larger size too.
const PAGE: usize = 4096;

/// Makes every zeroed allocation of exactly `bytes` resident when it is
/// made: SurrealKV's memtable arenas, which are the only allocations of
/// that size. `serve` calls it before it opens an embedded store.
pub fn keep_resident(bytes: usize) {
    RESIDENT_SIZE.store(bytes, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to jemalloc with the same arguments;
// `alloc_zeroed` only writes zeros into the memory it has just allocated,
// which no one else can see yet.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Jemalloc.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = Jemalloc.alloc_zeroed(layout);
        let size = layout.size();
        if !p.is_null() && size > 0 && size == RESIDENT_SIZE.load(Ordering::Relaxed) {
            let mut offset = 0;
            while offset < size {
                // The memory is zero already: writing a zero changes
                // nothing but makes the page resident.
                std::ptr::write_volatile(p.add(offset), 0);
                offset += PAGE;
            }
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        Jemalloc.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Jemalloc.realloc(ptr, layout, new_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many of the pages of `[p, p + len)` are resident (mincore(2)).
    fn resident_pages(p: *const u8, len: usize) -> usize {
        let start = p as usize / PAGE * PAGE;
        let len = p as usize + len - start;
        let mut pages = vec![0u8; len.div_ceil(PAGE)];
        // SAFETY: the range is mapped (it holds a live allocation) and
        // `pages` has a byte for each of its pages.
        let rc = unsafe { libc::mincore(start as *mut libc::c_void, len, pages.as_mut_ptr()) };
        assert_eq!(rc, 0, "mincore failed");
        pages.iter().filter(|&&b| b & 1 == 1).count()
    }

    /// A zeroed allocation of the kept size is resident as soon as it is
    /// made, and still zero.
    #[test]
    fn the_memtable_size_is_resident_when_allocated() {
        const SIZE: usize = 96 << 20;
        keep_resident(SIZE);
        let kept = vec![0u8; SIZE];
        let resident = resident_pages(kept.as_ptr(), SIZE);
        assert!(
            resident >= SIZE / PAGE,
            "{resident} of {} pages resident",
            SIZE / PAGE
        );
        assert!(kept.iter().step_by(PAGE / 2).all(|&b| b == 0));
        keep_resident(0);
    }
}
