//! A counting allocator: the largest single allocation per thread (tests run on several
//! threads at once; each case is measured on the thread that runs it).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

pub struct Counting;

thread_local! {
    // Const-initialised and without a destructor: usable from inside the allocator.
    static THREAD_LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = THREAD_LARGEST.try_with(|largest| {
        if size > largest.get() {
            largest.set(size);
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded as given.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded as given.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as given.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: forwarded as given.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Starts measuring this thread's largest allocation afresh.
pub fn reset_thread() {
    THREAD_LARGEST.with(|largest| largest.set(0));
}

/// This thread's largest allocation since [`reset_thread`].
pub fn thread_largest() -> usize {
    THREAD_LARGEST.with(Cell::get)
}
