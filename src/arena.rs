//! The binary's allocator: a bump arena in front of the system allocator.
//!
//! A shim lives for a few hundred microseconds and then becomes another
//! program, so it never needs memory back. glibc's malloc, free and
//! realloc cost a shim a fifth of its own instructions (bins, chunk
//! headers, the first-use set-up). Here an allocation is an aligned bump
//! in a fixed static block; freeing or growing the newest allocation (a
//! `PathBuf` being pushed to, a temporary) is done in place, any other free
//! is forgotten. Once the block is used up, everything goes to the system
//! allocator, so a long-lived face (the CLI, `--init` as PID 1) holds at
//! most [`SIZE`] bytes it cannot reuse.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Far more than a shim's decision allocates (a few KiB, paths included).
pub const SIZE: usize = 64 * 1024;

pub struct Arena {
    /// Offset of the first free byte in `block`.
    top: AtomicUsize,
    block: UnsafeCell<Block>,
}

/// The largest alignment served from the block; anything stricter goes to
/// the system allocator.
const ALIGN: usize = 16;

#[repr(C, align(16))]
struct Block([u8; SIZE]);

// SAFETY: bytes of `block` are handed out at most once at a time (the bump
// is a compare-and-swap on `top`), so threads never share a live range.
unsafe impl Sync for Arena {}

impl Default for Arena {
    fn default() -> Self {
        Arena::new()
    }
}

impl Arena {
    pub const fn new() -> Arena {
        Arena {
            top: AtomicUsize::new(0),
            block: UnsafeCell::new(Block([0; SIZE])),
        }
    }

    fn base(&self) -> *mut u8 {
        self.block.get().cast()
    }

    /// The offset of `ptr` in the block, if it is one of ours.
    fn offset_of(&self, ptr: *mut u8) -> Option<usize> {
        let off = (ptr as usize).wrapping_sub(self.base() as usize);
        (off < SIZE).then_some(off)
    }

    /// Moves `top` from `from` to `to` if nobody else moved it meanwhile.
    fn bump(&self, from: usize, to: usize) -> bool {
        self.top
            .compare_exchange(from, to, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }

    /// `size` bytes at `align` from the block, or None when it is full.
    fn take(&self, size: usize, align: usize) -> Option<*mut u8> {
        if align > ALIGN {
            return None;
        }
        let mut top = self.top.load(Ordering::Relaxed);
        loop {
            let start = top.checked_add(align - 1)? & !(align - 1);
            let end = start.checked_add(size).filter(|&e| e <= SIZE)?;
            match self
                .top
                .compare_exchange_weak(top, end, Ordering::AcqRel, Ordering::Relaxed)
            {
                // SAFETY: start <= SIZE, inside (or one past) the block.
                Ok(_) => return Some(unsafe { self.base().add(start) }),
                Err(now) => top = now,
            }
        }
    }
}

// SAFETY: every pointer returned is either a fresh range of the block,
// suitably aligned and never handed out twice while live, or comes from
// `System`; each is given back to whichever allocator it came from.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.take(layout.size(), layout.align()) {
            Some(p) => p,
            // SAFETY: forwarded as received.
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match self.offset_of(ptr) {
            // The newest allocation gives its bytes back; others are left.
            Some(off) => {
                self.bump(off + layout.size(), off);
            }
            // SAFETY: not ours, so System's, with this layout.
            None => unsafe { System.dealloc(ptr, layout) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(off) = self.offset_of(ptr) else {
            // SAFETY: not ours, so System's, with this layout.
            return unsafe { System.realloc(ptr, layout, new_size) };
        };
        // The newest allocation grows (or shrinks) where it is.
        if let Some(end) = off.checked_add(new_size).filter(|&e| e <= SIZE)
            && self.bump(off + layout.size(), end)
        {
            return ptr;
        }
        if new_size <= layout.size() {
            return ptr;
        }
        // SAFETY: the caller guarantees new_size is a valid size for this
        // alignment.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: a valid layout.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both ranges are live and distinct; the old one holds
            // layout.size() initialised bytes.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size());
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn allocations_are_aligned_distinct_and_then_fall_back() {
        let a = Box::leak(Box::new(Arena::new()));
        unsafe {
            let p = a.alloc(layout(3, 1));
            let q = a.alloc(layout(8, 8));
            assert!(a.offset_of(p).is_some() && a.offset_of(q).is_some());
            assert_eq!(q as usize % 8, 0);
            assert!(q as usize >= p as usize + 3);
            // Stricter than the block's alignment: the system's.
            let page = a.alloc(layout(64, 4096));
            assert!(a.offset_of(page).is_none());
            assert_eq!(page as usize % 4096, 0);
            a.dealloc(page, layout(64, 4096));
            // Too big for what is left: the system's, and freed there.
            let big = a.alloc(layout(SIZE, 1));
            assert!(!big.is_null() && a.offset_of(big).is_none());
            a.dealloc(big, layout(SIZE, 1));
        }
    }

    #[test]
    fn the_newest_allocation_is_freed_and_grown_in_place() {
        let a = Box::leak(Box::new(Arena::new()));
        unsafe {
            let p = a.alloc(layout(16, 8));
            let q = a.alloc(layout(16, 8));
            a.dealloc(q, layout(16, 8));
            assert_eq!(a.alloc(layout(16, 8)), q, "the newest bytes are reused");
            q.write_bytes(7, 16);
            let grown = a.realloc(q, layout(16, 8), 4096);
            assert_eq!(grown, q, "the newest allocation grows in place");
            assert_eq!(*grown.add(15), 7);
            // An older one is copied, contents kept.
            p.write_bytes(9, 16);
            let moved = a.realloc(p, layout(16, 8), 32);
            assert_ne!(moved, p);
            assert_eq!(std::slice::from_raw_parts(moved, 16), &[9u8; 16]);
        }
    }

    #[test]
    fn a_full_block_moves_growth_to_the_system() {
        let a = Box::leak(Box::new(Arena::new()));
        unsafe {
            let p = a.alloc(layout(SIZE - 8, 8));
            p.write_bytes(1, SIZE - 8);
            let _fill = a.alloc(layout(8, 8));
            let moved = a.realloc(p, layout(SIZE - 8, 8), SIZE);
            assert!(a.offset_of(moved).is_none());
            assert_eq!(*moved.add(SIZE - 9), 1);
            a.dealloc(moved, layout(SIZE, 8));
        }
    }

    #[test]
    fn threads_never_share_bytes() {
        let a: &'static Arena = Box::leak(Box::new(Arena::new()));
        let handles: Vec<_> = (0..4u8)
            .map(|t| {
                std::thread::spawn(move || {
                    (0..200)
                        .map(|_| unsafe {
                            let p = a.alloc(layout(16, 8));
                            p.write_bytes(t, 16);
                            p as usize
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<usize> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n);
    }
}
